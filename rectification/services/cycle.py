"""The weekly cycle: 一周一调度、一周一汇报、一周一小结, run by Celery beat and by hand.

``cycle_tick`` is what beat calls every quarter hour: it makes sure each active round has a
cycle for the current week and runs every step whose time has come and which has not run.
A step is claimed by a compare-and-set update of its state, so two workers or a beat firing
twice never run it together; within a step each unit's output has a unique key, so a
re-run after a crash finishes the units that were missed and repeats none.
"""

import datetime
import logging
from collections import defaultdict

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Unit, User

from .. import access
from ..figures import round_week_figures
from ..lights import REVIEW_STATES, reports_stuck_with_heads, review_holder, stuck_in_review, waiting_days
from ..models import (
    CloseOutRequest,
    CloseOutState,
    DispatchSheet,
    InspectionRound,
    Measure,
    Milestone,
    MissedReport,
    Notification,
    Penalty,
    ProgressReport,
    StepState,
    SupervisionNotice,
    WeeklyCycle,
    WeeklySnapshot,
)
from ..workdays import (
    add_workdays,
    iso_week_of,
    next_workday,
    previous_workday,
    round_countdown,
    round_cutoff,
    week_in_cadence,
    week_key,
    week_monday,
    week_short_label,
)
from .audit import audit_record
from .closeout import closeout_reviewers
from .notifications import notify_each
from .outbox import robots_post
from .queue import task_after_commit

logger = logging.getLogger(__name__)
Step = WeeklyCycle.Step
STEPS = [Step.DISPATCH, Step.REMIND_EVE, Step.REMIND_DAY, Step.COLLECT, Step.SUMMARY]
# A step left "running" this long ago is taken to have crashed and may be claimed again.
STALE_AFTER = datetime.timedelta(minutes=30)
MAX_ATTEMPTS = 5


def _at(day, hour, minute=0):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def step_due_at(inspection_round, iso_year, iso_week, step):
    """When a step of a week becomes due, holiday-aware."""
    cutoff = round_cutoff(inspection_round, iso_year, iso_week)
    if step == Step.DISPATCH:
        first_workday = next_workday(week_monday(iso_year, iso_week))
        day = first_workday if iso_week_of(first_workday) == (iso_year, iso_week) else week_monday(iso_year, iso_week)
        return min(_at(day, 8, 30), cutoff)
    if step == Step.REMIND_EVE:
        return _at(previous_workday(cutoff.date() - datetime.timedelta(days=1)), 9)
    if step == Step.REMIND_DAY:
        return min(_at(cutoff.date(), 9), cutoff)
    if step == Step.COLLECT:
        return cutoff
    summary_day = previous_workday(datetime.date.fromisocalendar(iso_year, iso_week, inspection_round.summary_weekday))
    return max(timezone.make_aware(datetime.datetime.combine(summary_day, inspection_round.summary_time)), cutoff)


def cycle_for(inspection_round, iso_year, iso_week):
    cycle, _created = WeeklyCycle.objects.get_or_create(round=inspection_round, iso_year=iso_year, iso_week=iso_week)
    return cycle


def _log(cycle, step, **entry):
    """Merge ``entry`` into the step's log with one UPDATE of the JSON (re-read to keep others' keys)."""
    with transaction.atomic():
        fresh = WeeklyCycle.objects.select_for_update().get(pk=cycle.pk)
        log = fresh.log
        log.setdefault(step, {}).update(entry)
        WeeklyCycle.objects.filter(pk=cycle.pk).update(log=log)


def _claim(cycle, step, *, force):
    field = f"{step}_state"
    claimable = Q(**{f"{field}__in": [StepState.PENDING, StepState.FAILED]})
    if force:
        claimable |= Q(**{field: StepState.DONE})
    started = cycle.log.get(step, {}).get("started_at")
    if started and timezone.now() - datetime.datetime.fromisoformat(started) > STALE_AFTER:
        claimable |= Q(**{field: StepState.RUNNING})
    claimed = WeeklyCycle.objects.filter(claimable, pk=cycle.pk).update(**{field: StepState.RUNNING})
    return claimed == 1


def step_run(cycle, step, *, force=False):
    """Run one step of a cycle if nobody else is running or has run it. Returns a summary dict."""
    cycle.refresh_from_db()
    if not _claim(cycle, step, force=force):
        return {"skipped": True}
    attempts = cycle.log.get(step, {}).get("attempts", 0) + 1
    _log(cycle, step, started_at=timezone.now().isoformat(), attempts=attempts, error="")
    try:
        result = STEP_FUNCTIONS[step](cycle)
    except Exception as error:
        WeeklyCycle.objects.filter(pk=cycle.pk).update(**{f"{step}_state": StepState.FAILED})
        _log(cycle, step, failed_at=timezone.now().isoformat(), error=f"{type(error).__name__}: {error}"[:500])
        logger.exception("weekly cycle step %s of %s failed", step, cycle)
        raise
    WeeklyCycle.objects.filter(pk=cycle.pk).update(**{f"{step}_state": StepState.DONE})
    _log(cycle, step, finished_at=timezone.now().isoformat(), **result)
    return result


def active_rounds(today):
    """Rounds whose cycle runs in ``today``'s week.

    From the feedback to the week of the report deadline every week; after it, while the round has
    open measures (长期坚持 and whatever is unfinished), in the weeks of the cadence the office set.
    """
    iso_year, iso_week = iso_week_of(today)
    open_work = Measure.objects.filter(problem__round=OuterRef("pk")).exclude(closeout_state=CloseOutState.CLOSED)
    candidates = InspectionRound.objects.filter(feedback_date__lte=today).filter(
        Q(report_deadline__gte=week_monday(iso_year, iso_week)) | Q(Exists(open_work))
    )
    return [r for r in candidates if week_in_cadence(r, iso_year, iso_week)]


def cycle_tick(*, now=None):
    """Run everything that is due. Safe to call any number of times, from any number of workers."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    iso_year, iso_week = iso_week_of(today)
    ran = []
    for inspection_round in active_rounds(today):
        cycle_for(inspection_round, iso_year, iso_week)
    # Also sweep earlier weeks whose steps are still pending or failed (a broker outage, a crash).
    unfinished = Q()
    for step in STEPS:
        unfinished |= Q(**{f"{step}_state__in": [StepState.PENDING, StepState.FAILED, StepState.RUNNING]})
    for cycle in WeeklyCycle.objects.filter(unfinished).select_related("round").order_by("iso_year", "iso_week", "id"):
        for step in STEPS:
            state = cycle.state_of(step)
            if state == StepState.DONE or now < step_due_at(cycle.round, cycle.iso_year, cycle.iso_week, step):
                continue
            if state == StepState.FAILED and cycle.log.get(step, {}).get("attempts", 0) >= MAX_ATTEMPTS:
                continue
            try:
                result = step_run(cycle, step)
            except Exception:  # noqa: BLE001
                # Logged and marked failed by step_run; later steps of this week wait for a retry.
                break
            if not result.get("skipped"):
                ran.append((cycle.pk, step))
            cycle.refresh_from_db()
    return ran


@transaction.atomic
def step_rerun_request(*, actor, cycle, step):
    """The office asks for a step to run again; the run itself happens in the background."""
    if not access.may_run_cycle(actor):
        raise PermissionDenied(_("只有整改办可以重新运行周工作循环。"))
    if step not in Step.values:
        raise ValidationError(_("没有这个环节。"))
    WeeklyCycle.objects.filter(pk=cycle.pk).update(**{f"{step}_state": StepState.PENDING})
    _log(cycle, step, attempts=0, rerun_by=actor.username, rerun_at=timezone.now().isoformat())
    audit_record(actor=actor, action="cycle.rerun", target=cycle, changes={"step": step})
    # The step is marked pending above: should the broker be down, the quarter-hourly sweep runs it.
    return task_after_commit("rectification.tasks.run_cycle_step", cycle.pk, step)


# --- the steps ---------------------------------------------------------------------------------


def _open_measures(inspection_round):
    return Measure.objects.filter(problem__round=inspection_round).exclude(closeout_state=CloseOutState.CLOSED)


def _units_with_open_work(inspection_round):
    return Unit.objects.filter(pk__in=_open_measures(inspection_round).values("owner_unit_id")).order_by(
        "sort_order", "id"
    )


def _item(measure, today):
    return {
        "id": measure.pk,
        "code": measure.code,
        "text": measure.text[:80],
        "due": measure.due_date.isoformat(),
        "days_left": (measure.due_date - today).days,
        "percent": measure.percent,
        "lead_official": str(measure.problem.lead_official),
        # Waiting for someone else's review (审核中): the unit cannot act on it, so it is chased
        # neither by reminders nor by a 督办单; its reviewer is (``_escalate_reviewers``).
        "in_review": measure.closeout_state in REVIEW_STATES,
    }


class _DispatchBatch:
    """What the dispatch of a round reads, once for all its units rather than once per unit.

    A city's dispatch covers ~270 units; reading each unit's measures, milestones, returned
    reports, missed reports and staff apart cost ~18 statements per unit.
    """

    def __init__(self, cycle, units):
        inspection_round = cycle.round
        unit_ids = [unit.pk for unit in units]
        self.monday = week_monday(cycle.iso_year, cycle.iso_week)
        sunday = self.monday + datetime.timedelta(days=6)
        self.measures = defaultdict(list)
        for measure in (
            _open_measures(inspection_round)
            .filter(owner_unit_id__in=unit_ids)
            .select_related("problem__lead_official", "problem__lead_unit")
            .order_by("due_date", "code")
        ):
            self.measures[measure.owner_unit_id].append(measure)
        open_ids = _open_measures(inspection_round).filter(owner_unit_id__in=unit_ids).values("pk")
        self.milestones = defaultdict(list)
        for milestone in (
            Milestone.objects.open()
            .filter(measure_id__in=open_ids, due_date__lte=sunday)
            .select_related("measure")
            .order_by("due_date", "measure__code", "seq")
        ):
            self.milestones[milestone.measure.owner_unit_id].append(milestone)
        self.returned = defaultdict(list)
        for unit_id, code, reason in ProgressReport.objects.filter(
            measure_id__in=open_ids, state=ProgressReport.State.RETURNED
        ).values_list("measure__owner_unit_id", "measure__code", "return_reason"):
            self.returned[unit_id].append((code, reason))
        previous_year, previous_week = iso_week_of(self.monday - datetime.timedelta(days=7))
        self.missed = defaultdict(list)
        for unit_id, code in MissedReport.objects.filter(
            cycle__round=inspection_round,
            cycle__iso_year=previous_year,
            cycle__iso_week=previous_week,
            unit_id__in=unit_ids,
        ).values_list("unit_id", "measure__code"):
            self.missed[unit_id].append(code)
        self.staff = defaultdict(list)
        for person in (
            User.objects.filter(unit_id__in=unit_ids, is_active=True).prefetch_related("groups").order_by("pk")
        ):
            self.staff[person.unit_id].append(person)
        self.dispatched = set(
            DispatchSheet.objects.filter(cycle=cycle, unit_id__in=unit_ids).values_list("unit_id", flat=True)
        )

    def staff_having(self, unit, rule):
        """The unit's active staff for whom ``rule`` (a predicate of ``access``) holds."""
        return [person for person in self.staff[unit.pk] if rule(person)]


def dispatch_sheet_content(cycle, unit, today, batch=None):
    """What one unit must do this week (调度单), as frozen JSON."""
    batch = batch or _DispatchBatch(cycle, [unit])
    inspection_round = cycle.round
    monday = batch.monday
    sunday = monday + datetime.timedelta(days=6)
    measures = batch.measures[unit.pk]
    actionable = [m for m in measures if m.closeout_state not in REVIEW_STATES]
    return {
        "week": week_key(cycle.iso_year, cycle.iso_week),
        "cutoff": round_cutoff(inspection_round, cycle.iso_year, cycle.iso_week).isoformat(),
        "countdown": round_countdown(inspection_round, today),
        "open": [_item(m, today) for m in measures],
        "due_this_week": [_item(m, today) for m in measures if monday <= m.due_date <= sunday],
        # Overdue and the unit's to act on: what a 督办单 is issued for.
        "overdue": [_item(m, today) for m in actionable if m.due_date < today],
        "in_review": [
            {
                **_item(m, today),
                "holder": review_holder(
                    m.closeout_state, lead_unit=m.problem.lead_unit.display_name, leader=m.problem.lead_official
                ),
            }
            for m in measures
            if m.closeout_state in REVIEW_STATES
        ],
        "milestones_due": [
            {"code": ms.measure.code, "title": ms.title, "due": ms.due_date.isoformat(), "late": ms.due_date < today}
            for ms in batch.milestones[unit.pk]
        ],
        "returned": [{"code": code, "reason": reason} for code, reason in batch.returned[unit.pk]],
        "missed_last_week": batch.missed[unit.pk],
    }


def _digest(recipients, *, cycle, unit, kind, text, link):
    """One notice per person per week and kind for this unit, however many items it covers."""
    notify_each(
        recipients=recipients,
        kind=Notification.Kind.DISPATCH,
        text=text,
        link=link,
        dedup_key=f"cycle:{cycle.pk}:{kind}:{unit.pk}",
    )


def _dispatch_unit(cycle, unit, today, batch=None):
    inspection_round = cycle.round
    batch = batch or _DispatchBatch(cycle, [unit])
    if unit.pk in batch.dispatched:
        return False
    content = dispatch_sheet_content(cycle, unit, today, batch)
    _sheet, created = DispatchSheet.objects.get_or_create(cycle=cycle, unit=unit, defaults={"content": content})
    if not created:
        return False

    def staff_having(rule):
        return batch.staff_having(unit, rule)

    staff = staff_having(access.is_unit_staff)
    countdown = content["countdown"]
    sheet_text = _("%(week)s调度单：未销号措施%(open)s项，本周到期%(due)s项，已逾期%(overdue)s项；%(countdown)s。") % {
        "week": week_short_label(cycle.iso_week),
        "open": len(content["open"]),
        "due": len(content["due_this_week"]),
        "overdue": len(content["overdue"]),
        "countdown": countdown["text"],
    }
    _digest(staff, cycle=cycle, unit=unit, kind="dispatch", text=sheet_text, link="/unit/dispatch/")
    _tell_unit_group(cycle, unit, sheet_text, content["overdue"])
    # Escalation by days left: the handler first, then the lead official, then the unit's head
    # and a supervision notice once the measure is overdue.
    # Only what the unit can act on: a measure waiting for a reviewer is chased at the reviewer.
    actionable = [i for i in content["open"] if not i.get("in_review")]
    near = [i for i in actionable if 0 <= i["days_left"] <= inspection_round.notice_days]
    close = [i for i in actionable if 0 <= i["days_left"] <= inspection_round.leader_days]
    if near:
        _digest(
            staff_having(access.is_liaison),
            cycle=cycle,
            unit=unit,
            kind="notice",
            text=_("以下措施距完成时限不足%(n)s天，请抓紧推进：%(codes)s")
            % {"n": inspection_round.notice_days, "codes": "、".join(i["code"] for i in near)},
            link="/unit/",
        )
    if close:
        close_ids = {i["id"] for i in close}
        leaders = list(
            {
                m.problem.lead_official_id: m.problem.lead_official
                for m in batch.measures[unit.pk]
                if m.pk in close_ids
            }.values()
        )
        _digest(
            leaders,
            cycle=cycle,
            unit=unit,
            kind="leader",
            text=_("%(unit)s有%(n)s项措施距完成时限不足%(days)s天：%(codes)s")
            % {
                "unit": unit.display_name,
                "n": len(close),
                "days": inspection_round.leader_days,
                "codes": "、".join(i["code"] for i in close),
            },
            link="/coordination/",
        )
    if content["overdue"]:
        reply_due = add_workdays(today, inspection_round.notice_reply_workdays)
        # One query for the unit's overdue measures that already have an open notice.
        noticed = set(
            SupervisionNotice.objects.filter(
                measure_id__in=[item["id"] for item in content["overdue"]], state=SupervisionNotice.State.OPEN
            ).values_list("measure_id", flat=True)
        )
        SupervisionNotice.objects.bulk_create(
            SupervisionNotice(
                cycle=cycle,
                unit=unit,
                measure_id=item["id"],
                text=_("措施 %(code)s 已超过完成时限%(days)s天，请于%(due)s前书面答复整改进展、逾期原因和完成时间。")
                % {"code": item["code"], "days": -item["days_left"], "due": reply_due.isoformat()},
                reply_due=reply_due,
            )
            for item in content["overdue"]
            if item["id"] not in noticed
        )
        _digest(
            staff_having(access.is_unit_staff),
            cycle=cycle,
            unit=unit,
            kind="overdue",
            text=_("督办：%(unit)s有%(n)s项措施已逾期，已下发督办单，请按期答复：%(codes)s")
            % {
                "unit": unit.display_name,
                "n": len(content["overdue"]),
                "codes": "、".join(i["code"] for i in content["overdue"]),
            },
            link="/notices/",
        )
    return True


def _tell_unit_group(cycle, unit, sheet_text, overdue):
    """The unit's group robots: the week's dispatch sheet in figures and, when measures are overdue,
    that supervision notices were issued. Measure codes only when ``NOTIFY_EXTERNAL_DETAIL`` is
    "text"; never a finding's text."""
    text = f"{unit.display_name}{sheet_text}"
    if overdue:
        text += _("已对逾期措施下发督办单，请按期书面答复。")
        if getattr(settings, "NOTIFY_EXTERNAL_DETAIL", "title") == "text":
            text += _("措施编号：%(codes)s。") % {"codes": "、".join(item["code"] for item in overdue)}
    robots_post(unit=unit, key=f"cycle:{cycle.pk}:dispatch", text=text, link="/unit/dispatch/")


def step_dispatch(cycle):
    today = timezone.localdate()
    sent = 0
    units = list(_units_with_open_work(cycle.round))
    batch = _DispatchBatch(cycle, units)
    for unit in units:
        # One transaction per unit: a crash loses at most the unit in progress, which the
        # re-run then completes (its sheet's unique key makes the finished ones no-ops).
        with transaction.atomic():
            sent += _dispatch_unit(cycle, unit, today, batch=batch)
    with transaction.atomic():
        escalated = _escalate_reviewers(cycle, today)
    return {"units": sent, "reviewers": escalated}


def _escalate_reviewers(cycle, today):
    """督责任 applies to reviewers too: a close-out left with the lead unit, a leader or the office
    ``REVIEW_STUCK_DAYS`` days or more is escalated to them, once a week while it stays there.

    A notification to each reviewer, not a 督办单: the 督办单 is the formal notice to the unit
    responsible for the work (with its reply deadline and penalty rules); the reviewer's delay is
    shown on the office dashboard's list of items stuck with reviewers instead.
    """
    stuck = (
        stuck_in_review(CloseOutRequest.objects.filter(problem__round=cycle.round), today)
        .select_related("problem__lead_unit", "problem__lead_official", "measure")
        .order_by("waiting_since", "id")
    )
    escalated = 0
    for request in stuck:
        problem = request.problem
        holder = review_holder(request.state, lead_unit=problem.lead_unit.display_name, leader=problem.lead_official)
        escalated += bool(
            notify_each(
                recipients=closeout_reviewers(request),
                kind=Notification.Kind.CLOSEOUT,
                text=_("督办：%(item)s已%(days)s天未审核（%(holder)s），请尽快办理。")
                % {"item": request, "days": waiting_days(request.waiting_since, today), "holder": holder},
                link=request.get_absolute_url(),
                dedup_key=f"cycle:{cycle.pk}:review_stuck:{request.pk}",
            )
        )
    # A weekly report left with the unit head: the head is the reviewer, chased the same way.
    waiting: dict[Unit, list[ProgressReport]] = {}
    for report in reports_stuck_with_heads(
        ProgressReport.objects.filter(measure__problem__round=cycle.round), today
    ).select_related("measure__owner_unit"):
        waiting.setdefault(report.measure.owner_unit, []).append(report)
    for unit, reports in waiting.items():
        oldest = min(report.submitted_at for report in reports if report.submitted_at is not None)
        escalated += bool(
            notify_each(
                recipients=access.unit_heads(unit),
                kind=Notification.Kind.DISPATCH,
                text=_("督办：本单位%(n)s项周报已提交%(days)s天未确认（%(codes)s），请尽快确认或退回。")
                % {
                    "n": len(reports),
                    "days": waiting_days(oldest, today),
                    "codes": "、".join(sorted({r.measure.code for r in reports})[:10]),
                },
                link=reverse("rectification:report_week"),
                dedup_key=f"cycle:{cycle.pk}:report_stuck:{unit.pk}",
            )
        )
    return escalated


def _units_not_submitted(cycle):
    """Units with at least one open measure this week that has no submitted or confirmed report.

    Only claimed measures: one waiting to be claimed or objected to cannot be reported on (the
    report refuses it), so it is never chased as missing nor counted as 未报."""
    measures = _open_measures(cycle.round).filter(
        claim_state=Measure.ClaimState.CLAIMED,
        start_date__lte=round_cutoff(cycle.round, cycle.iso_year, cycle.iso_week).date(),
    )
    done = ProgressReport.objects.filter(
        iso_year=cycle.iso_year,
        iso_week=cycle.iso_week,
        state__in=[ProgressReport.State.SUBMITTED, ProgressReport.State.CONFIRMED],
    ).values("measure_id")
    missing = measures.exclude(pk__in=done).select_related("owner_unit")
    by_unit: dict[Unit, list[Measure]] = {}
    for measure in missing:
        by_unit.setdefault(measure.owner_unit, []).append(measure)
    return by_unit


def _remind(cycle, kind):
    cutoff = round_cutoff(cycle.round, cycle.iso_year, cycle.iso_week)
    reminded = 0
    for unit, measures in _units_not_submitted(cycle).items():
        with transaction.atomic():
            _digest(
                access.unit_staff(unit),
                cycle=cycle,
                unit=unit,
                kind=kind,
                text=_("催报：本周周报将于%(cutoff)s截止，%(unit)s尚有%(n)s项措施未提交。")
                % {
                    "cutoff": timezone.localtime(cutoff).strftime("%m月%d日 %H:%M"),
                    "unit": unit.display_name,
                    "n": len(measures),
                },
                link=reverse("rectification:report_week"),
            )
        reminded += 1
    return {"units": reminded}


def step_remind_eve(cycle):
    return _remind(cycle, "remind_eve")


def step_remind_day(cycle):
    return _remind(cycle, "remind_day")


def step_collect(cycle):
    """At the cut-off: every open measure without a submitted report is recorded as 未报."""
    recorded = 0
    for unit, measures in _units_not_submitted(cycle).items():
        with transaction.atomic():
            for measure in measures:
                _, created = MissedReport.objects.get_or_create(cycle=cycle, measure=measure, defaults={"unit": unit})
                recorded += created
    return {"missed": recorded}


def _penalties_draft(cycle, wanted):
    """Draft a circular and a point deduction for each (unit, rule, reason) not drafted this week yet.

    Two queries however many there are: the week's existing drafts, then one insert of the rest.
    Returns the number of rows drafted.
    """
    inspection_round = cycle.round
    existing = set(Penalty.objects.filter(cycle=cycle).values_list("unit_id", "kind", "rule"))
    new = []
    for unit, rule, reason in wanted:
        for kind, points in ((Penalty.Kind.CIRCULAR, 0), (Penalty.Kind.DEDUCTION, inspection_round.penalty_points)):
            if (unit.pk, kind, rule) in existing:
                continue
            existing.add((unit.pk, kind, rule))
            new.append(
                Penalty(
                    cycle=cycle, unit=unit, kind=kind, rule=rule, round=inspection_round, reason=reason, points=points
                )
            )
    # The step was claimed, so nobody else drafts this week's rows; the unique key would skip them if they did.
    Penalty.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


def _apply_penalty_rules(cycle):
    """Draft circulars and point deductions from the round's rules; the office confirms or dismisses."""
    inspection_round = cycle.round
    wanted = []
    streak = inspection_round.penalty_missed_streak
    if streak:
        recent = list(
            WeeklyCycle.objects.filter(round=inspection_round)
            .filter(Q(iso_year__lt=cycle.iso_year) | Q(iso_year=cycle.iso_year, iso_week__lte=cycle.iso_week))
            .order_by("-iso_year", "-iso_week")[:streak]
        )
        if len(recent) == streak:
            unit_sets = [set(MissedReport.objects.filter(cycle=c).values_list("unit_id", flat=True)) for c in recent]
            for unit in Unit.objects.filter(pk__in=set.intersection(*unit_sets)):
                wanted.append((unit, "missed_streak", _("连续%(n)s周未按时报送整改进展。") % {"n": streak}))
    if inspection_round.penalty_unanswered_notice:
        today = timezone.localdate()
        late = SupervisionNotice.objects.filter(
            measure__problem__round=inspection_round, state=SupervisionNotice.State.OPEN, reply_due__lt=today
        ).select_related("unit", "measure")
        for notice in late:
            wanted.append(
                (
                    notice.unit,
                    f"notice_unanswered:{notice.pk}",
                    _("督办单（措施 %(code)s）逾期未答复。") % {"code": notice.measure.code},
                )
            )
    return _penalties_draft(cycle, wanted)


def step_summary(cycle):
    today = timezone.localdate()
    figures = round_week_figures(
        inspection_round=cycle.round, iso_year=cycle.iso_year, iso_week=cycle.iso_week, today=today
    )
    snapshot, created = WeeklySnapshot.objects.get_or_create(cycle=cycle, defaults={"figures": figures})
    if created:
        snapshot.package_name = weekly_package_store(cycle)
        snapshot.save(update_fields=["package_name"])
    drafted = _apply_penalty_rules(cycle)
    text = _(
        "%(week)s小结已生成：逾期%(overdue)s项，停滞%(stalled)s项，未报单位%(missed)s个，待确认通报%(drafts)s条。"
    ) % {
        "week": week_short_label(cycle.iso_week),
        "overdue": len(snapshot.figures["overdue"]),
        "stalled": len(snapshot.figures["stalled"]),
        "missed": len(snapshot.figures["missed_units"]),
        "drafts": drafted,
    }
    notify_each(
        recipients=access.office_staff(),
        kind=Notification.Kind.DISPATCH,
        text=text,
        link=f"/cycles/{cycle.pk}/",
        dedup_key=f"cycle:{cycle.pk}:summary",
    )
    # The office's own work groups hear it too: figures only.
    robots_post(unit=None, key=f"cycle:{cycle.pk}:summary", text=text, link=f"/cycles/{cycle.pk}/")
    return {"snapshot": snapshot.pk, "penalties_drafted": drafted}


def weekly_package_store(cycle):
    """Write the week's Excel package for the provincial team; returns its file name ('' if none)."""
    from .package import weekly_package_write

    name = f"{cycle.round_id}-{week_key(cycle.iso_year, cycle.iso_week)}.zip"
    path = package_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    return name if weekly_package_write(cycle=cycle, path=path) else ""


def package_path(name):
    return settings.PRIVATE_MEDIA_ROOT / "packages" / name


STEP_FUNCTIONS = {
    Step.DISPATCH: step_dispatch,
    Step.REMIND_EVE: step_remind_eve,
    Step.REMIND_DAY: step_remind_day,
    Step.COLLECT: step_collect,
    Step.SUMMARY: step_summary,
}


# --- supervision notices and penalties ----------------------------------------------------------


@transaction.atomic
def notice_reply(*, actor, notice, reply):
    if not access.may_reply_notice(actor, notice):
        raise PermissionDenied(_("只有责任单位可以答复督办单。"))
    reply = (reply or "").strip()
    if not reply:
        raise ValidationError(_("请填写答复内容。"))
    notice = SupervisionNotice.objects.select_for_update().get(pk=notice.pk)
    if notice.state != SupervisionNotice.State.OPEN:
        raise ValidationError(_("该督办单已答复。"))
    notice.state = SupervisionNotice.State.ANSWERED
    notice.reply = reply
    notice.replied_by = actor
    notice.replied_at = timezone.now()
    notice.save(update_fields=["state", "reply", "replied_by", "replied_at"])
    audit_record(actor=actor, action="notice.reply", target=notice, changes={"reply": reply})
    return notice


@transaction.atomic
def penalty_decide(*, actor, penalty, confirm):
    if not access.may_decide_penalty(actor):
        raise PermissionDenied(_("只有整改办可以确认或撤销通报和扣分。"))
    penalty = Penalty.objects.select_for_update().get(pk=penalty.pk)
    if penalty.state != Penalty.State.DRAFT:
        raise ValidationError(_("该条已处理。"))
    penalty.state = Penalty.State.CONFIRMED if confirm else Penalty.State.DISMISSED
    penalty.decided_by = actor
    penalty.decided_at = timezone.now()
    if penalty.assessment_year is None and penalty.cycle is not None:
        penalty.assessment_year = penalty.cycle.iso_year
    penalty.save(update_fields=["state", "decided_by", "decided_at", "assessment_year"])
    audit_record(actor=actor, action=f"penalty.{penalty.state}", target=penalty, changes={"kind": penalty.kind})
    return penalty
