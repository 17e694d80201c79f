"""Every write to the ledger. Each service checks the actor's right, writes an audit row and,
where assignments change, moves the object permissions in the same transaction."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.roles import Role
from accounts.services import audit_record

from .access import can_act_on_measure, can_act_on_problem, permissions_sync_for_problem
from .evidence import evidence_check, evidence_discard, evidence_store
from .models import (
    AcceptanceCriterion,
    Aspect,
    Campaign,
    CloseOutState,
    CoordinationItem,
    Evidence,
    InspectionRound,
    Manifestation,
    Measure,
    Milestone,
    Notification,
    Problem,
    ProgressReport,
    Track,
)
from .workdays import report_cutoff


def _require_office(actor):
    if not actor.has_role(Role.OFFICE):
        raise PermissionDenied(_("只有整改办可以进行此项操作。"))


def _validated(instance):
    # full_clean runs the Meta constraints too, so a bad row is refused with a Chinese message
    # before the database would refuse it with a bare integrity error.
    instance.full_clean()
    return instance


@transaction.atomic
def round_create(*, actor, title, inspection_team, feedback_date, report_deadline, track_offices,
                 kind=InspectionRound.Kind.PROVINCIAL, period_start=None, period_end=None,
                 rectification_end=None, previous_round=None):
    """Create a round with its tracks; ``track_offices`` maps a ``Track.Kind`` to its office unit."""
    _require_office(actor)
    inspection_round = _validated(
        InspectionRound(
            title=title,
            kind=kind,
            inspection_team=inspection_team,
            period_start=period_start,
            period_end=period_end,
            feedback_date=feedback_date,
            report_deadline=report_deadline,
            rectification_end=rectification_end,
            previous_round=previous_round,
        )
    )
    inspection_round.save()
    if Track.Kind.GENERAL not in track_offices:
        raise ValidationError(_("必须指定综合专项的牵头办公室。"))
    for kind_value, office_unit in track_offices.items():
        Track.objects.create(round=inspection_round, kind=kind_value, office_unit=office_unit)
    audit_record(
        actor=actor,
        action="round.create",
        target=inspection_round,
        changes={"title": title, "report_deadline": report_deadline.isoformat()},
    )
    return inspection_round


@transaction.atomic
def aspect_create(*, actor, inspection_round, seq, title):
    _require_office(actor)
    aspect = _validated(Aspect(round=inspection_round, seq=seq, title=title))
    aspect.save()
    audit_record(actor=actor, action="aspect.create", target=aspect, changes={"title": title})
    return aspect


@transaction.atomic
def campaign_create(*, actor, inspection_round, name, lead_unit, description=""):
    _require_office(actor)
    campaign = _validated(Campaign(round=inspection_round, name=name, lead_unit=lead_unit, description=description))
    campaign.save()
    audit_record(actor=actor, action="campaign.create", target=campaign, changes={"name": name})
    return campaign


def _responsibility_snapshot(problem):
    return {
        "lead_official": str(problem.lead_official),
        "responsible_leaders": sorted(str(u) for u in problem.responsible_leaders.all()),
        "lead_unit": problem.lead_unit.name,
        "responsible_units": sorted(u.name for u in problem.responsible_units.all()),
    }


@transaction.atomic
def problem_create(*, actor, inspection_round, aspect, track, code, title, text, problem_type,
                   deadline_category, lead_official, lead_unit, due_date=None, goal="",
                   responsible_leaders=(), responsible_units=(), manifestations=(), criteria=(),
                   previous_problem=None, is_secretary_led=False, campaign=None, seq=0):
    _require_office(actor)
    if aspect.round_id != inspection_round.pk or track.round_id != inspection_round.pk:
        raise ValidationError(_("方面和专项必须属于同一巡视轮次。"))
    problem = _validated(
        Problem(
            round=inspection_round,
            aspect=aspect,
            track=track,
            code=code,
            seq=seq,
            title=title,
            text=text,
            problem_type=problem_type,
            deadline_category=deadline_category,
            due_date=due_date,
            goal=goal,
            lead_official=lead_official,
            lead_unit=lead_unit,
            previous_problem=previous_problem,
            is_secretary_led=is_secretary_led,
            campaign=campaign,
        )
    )
    problem.save()
    problem.responsible_leaders.set(responsible_leaders)
    problem.responsible_units.set(responsible_units)
    Manifestation.objects.bulk_create(
        Manifestation(problem=problem, seq=i, text=t) for i, t in enumerate(manifestations, start=1)
    )
    AcceptanceCriterion.objects.bulk_create(
        AcceptanceCriterion(problem=problem, seq=i, text=t) for i, t in enumerate(criteria, start=1)
    )
    permissions_sync_for_problem(problem)
    audit_record(
        actor=actor,
        action="problem.create",
        target=problem,
        changes={"code": code, **_responsibility_snapshot(problem)},
    )
    return problem


@transaction.atomic
def problem_assign(*, actor, problem, lead_official, lead_unit, responsible_leaders, responsible_units):
    """Change the four responsibility fields; access moves with them in the same transaction."""
    _require_office(actor)
    problem = Problem.objects.select_for_update().get(pk=problem.pk)
    before = _responsibility_snapshot(problem)
    problem.lead_official = lead_official
    problem.lead_unit = lead_unit
    problem.save(update_fields=["lead_official", "lead_unit", "updated_at"])
    problem.responsible_leaders.set(responsible_leaders)
    problem.responsible_units.set(responsible_units)
    permissions_sync_for_problem(problem)
    after = _responsibility_snapshot(problem)
    audit_record(
        actor=actor,
        action="problem.assign",
        target=problem,
        changes={key: [before[key], after[key]] for key in before if before[key] != after[key]},
    )
    return problem


@transaction.atomic
def measure_create(*, actor, problem, code, text, kind, owner_unit, start_date, due_date,
                   handler_name="", handler_phone="", expected_deliverable="", milestones=(), seq=0):
    """Add a measure to a problem: the office, or the lead unit decomposing its own problem.

    ``milestones`` is a sequence of (title, due_date) pairs.
    """
    if not (actor.has_role(Role.OFFICE) or can_act_on_problem(actor, problem, "decompose")):
        raise PermissionDenied(_("只有整改办或该问题的牵头单位可以分解整改措施。"))
    measure = _validated(
        Measure(
            problem=problem,
            code=code,
            seq=seq,
            text=text,
            kind=kind,
            owner_unit=owner_unit,
            handler_name=handler_name,
            handler_phone=handler_phone,
            start_date=start_date,
            due_date=due_date,
            expected_deliverable=expected_deliverable,
        )
    )
    measure.save()
    Milestone.objects.bulk_create(
        Milestone(measure=measure, seq=i, title=title, due_date=day) for i, (title, day) in enumerate(milestones, start=1)
    )
    permissions_sync_for_problem(problem)
    audit_record(
        actor=actor,
        action="measure.create",
        target=measure,
        changes={"code": code, "owner_unit": owner_unit.name, "due_date": due_date.isoformat()},
    )
    _notify_new_assignment(measure)
    return measure


@transaction.atomic
def measure_reassign(*, actor, measure, owner_unit, handler_name="", handler_phone=""):
    """Give a measure to another unit; the old unit loses access in the same commit."""
    _require_office(actor)
    measure = Measure.objects.select_for_update().select_related("owner_unit").get(pk=measure.pk)
    old_unit = measure.owner_unit
    measure.owner_unit = owner_unit
    measure.handler_name = handler_name
    measure.handler_phone = handler_phone
    measure.save(update_fields=["owner_unit", "handler_name", "handler_phone", "updated_at"])
    permissions_sync_for_problem(measure.problem)
    audit_record(
        actor=actor,
        action="measure.reassign",
        target=measure,
        changes={"owner_unit": [old_unit.name, owner_unit.name]},
    )
    _notify_new_assignment(measure)
    return measure


# --- notifications ------------------------------------------------------------------------


def notify(*, recipient, kind, text, link="", dedup_key):
    """Put a notice in the recipient's bell (once per ``dedup_key``) and e-mail it after commit."""
    notification, created = Notification.objects.get_or_create(
        recipient=recipient, dedup_key=dedup_key, defaults={"kind": kind, "text": text[:300], "link": link}
    )
    if created and recipient.email:
        transaction.on_commit(
            lambda: send_mail(
                subject=f"【巡视整改督办台账】{Notification.Kind(kind).label}",
                message=f"{text}\n\n{link}",
                from_email=None,
                recipient_list=[recipient.email],
                fail_silently=True,
            )
        )
    return notification


def _unit_staff(unit, *roles):
    return unit.members.filter(is_active=True, groups__name__in=[Role(r).value for r in roles]).distinct()


def notifications_mark_read(*, actor, ids=None):
    unread = Notification.objects.filter(recipient=actor, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=timezone.now())


def _notify_new_assignment(measure):
    for person in _unit_staff(measure.owner_unit, Role.LIAISON, Role.UNIT_HEAD):
        notify(
            recipient=person,
            kind=Notification.Kind.NEW_ASSIGNMENT,
            text=_("新分配给本单位的整改措施 %(code)s：%(text)s") % {"code": measure.code, "text": measure.text[:60]},
            link=measure.get_absolute_url(),
            dedup_key=f"assign:{measure.pk}:{measure.owner_unit_id}",
        )


# --- weekly progress reports --------------------------------------------------------------


class ReportConflict(Exception):
    """Someone else saved the same draft first; ``current`` is what they saved."""

    def __init__(self, current):
        super().__init__(current)
        self.current = current


REPORT_FIELDS = ("progress_this_week", "cumulative_state", "percent", "next_week_plan", "difficulties")


def report_latest(measure, iso_year, iso_week):
    return (
        ProgressReport.objects.filter(measure=measure, iso_year=iso_year, iso_week=iso_week)
        .order_by("-version")
        .first()
    )


def _require_measure_action(actor, measure, action, message):
    if not can_act_on_measure(actor, measure, action):
        raise PermissionDenied(message)


@transaction.atomic
def report_save(*, actor, measure, iso_year, iso_week, data, lock_version):
    """Save a draft row of the weekly report.

    ``lock_version`` is the counter the editor saw (None when there was no report yet). If
    anyone saved in between, nothing is written and ReportConflict carries their version.
    """
    _require_measure_action(actor, measure, "report", _("只有责任单位的联络员或负责人可以填报该措施。"))
    report = report_latest(measure, iso_year, iso_week)
    values = {field: data[field] for field in REPORT_FIELDS}
    if report is None:
        if lock_version is not None:
            raise ReportConflict(None)
        try:
            with transaction.atomic():
                report = ProgressReport.objects.create(
                    measure=measure, iso_year=iso_year, iso_week=iso_week, filled_by=actor, **values
                )
        except IntegrityError:
            raise ReportConflict(report_latest(measure, iso_year, iso_week)) from None
    else:
        if report.state in (ProgressReport.State.SUBMITTED, ProgressReport.State.CONFIRMED):
            raise ValidationError(
                _("措施 %(code)s 本周的报告%(state)s，不能再修改。")
                % {"code": measure.code, "state": report.get_state_display()}
            )
        updated = ProgressReport.objects.filter(pk=report.pk, lock_version=lock_version).update(
            **values,
            state=ProgressReport.State.DRAFT,
            filled_by=actor,
            lock_version=F("lock_version") + 1,
            updated_at=timezone.now(),
        )
        if updated == 0:
            report.refresh_from_db()
            raise ReportConflict(report)
        report.refresh_from_db()
    audit_record(actor=actor, action="report.save", target=report, changes=values)
    return report


def _unit_open_measures(unit):
    return Measure.objects.filter(owner_unit=unit).exclude(closeout_state=CloseOutState.CLOSED)


def _week_reports_for_update(unit, iso_year, iso_week):
    """The latest version of each of the unit's reports for the week, locked."""
    reports = (
        ProgressReport.objects.select_for_update()
        .filter(measure__in=_unit_open_measures(unit), iso_year=iso_year, iso_week=iso_week)
        .select_related("measure__problem__lead_official")
        .order_by("measure_id", "-version")
    )
    latest = {}
    for report in reports:
        latest.setdefault(report.measure_id, report)
    return latest


@transaction.atomic
def report_submit(*, actor, unit, iso_year, iso_week):
    """Submit the unit's report for the week: every open measure needs this week's progress."""
    measures = list(_unit_open_measures(unit).order_by("problem__seq", "seq"))
    for measure in measures:
        _require_measure_action(actor, measure, "report", _("只有本单位的联络员或负责人可以提交周报。"))
    latest = _week_reports_for_update(unit, iso_year, iso_week)
    missing = [m.code for m in measures if m.pk not in latest or not latest[m.pk].progress_this_week.strip()]
    if missing:
        raise ValidationError(_("以下措施还没有填写本周进展，不能提交：%(codes)s") % {"codes": "、".join(missing)})
    now = timezone.now()
    late = now > report_cutoff(iso_year, iso_week)
    submitted = []
    for report in latest.values():
        if report.state not in (ProgressReport.State.DRAFT, ProgressReport.State.RETURNED):
            continue
        report.state = ProgressReport.State.SUBMITTED
        report.submitted_at = now
        report.is_late = late
        report.return_reason = ""
        report.lock_version += 1
        report.save(update_fields=["state", "submitted_at", "is_late", "return_reason", "lock_version", "updated_at"])
        submitted.append(report)
        if report.difficulties.strip():
            _coordination_raise(report)
    if not submitted:
        raise ValidationError(_("本周报告已经提交过了，没有需要提交的内容。"))
    audit_record(
        actor=actor,
        action="report.submit",
        target=unit,
        changes={"week": f"{iso_year}-W{iso_week:02d}", "reports": len(submitted), "late": late},
    )
    for head in _unit_staff(unit, Role.UNIT_HEAD):
        notify(
            recipient=head,
            kind=Notification.Kind.REPORT_SUBMITTED,
            text=_("%(unit)s第%(week)s周的周报已提交，请确认。") % {"unit": unit.display_name, "week": iso_week},
            link=f"/unit/report/?week={iso_year}-W{iso_week:02d}",
            dedup_key=f"submitted:{unit.pk}:{iso_year}-{iso_week}:{now.timestamp()}",
        )
    return submitted


def _coordination_raise(report):
    item, created = CoordinationItem.objects.get_or_create(
        report=report, defaults={"measure": report.measure, "text": report.difficulties.strip()}
    )
    if created:
        notify(
            recipient=report.measure.problem.lead_official,
            kind=Notification.Kind.COORDINATION,
            text=_("措施 %(code)s 提出需协调解决的困难：%(text)s") % {"code": report.measure.code, "text": item.text[:80]},
            link="/coordination/",
            dedup_key=f"coordination:{item.pk}",
        )
    return item


def _submitted_reports(actor, unit, iso_year, iso_week, measure_ids=None):
    latest = _week_reports_for_update(unit, iso_year, iso_week)
    reports = [r for r in latest.values() if r.state == ProgressReport.State.SUBMITTED]
    if measure_ids is not None:
        reports = [r for r in reports if r.measure_id in set(measure_ids)]
    for report in reports:
        _require_measure_action(actor, report.measure, "confirm", _("只有本单位负责人可以确认或退回周报。"))
    if not reports:
        raise ValidationError(_("没有待确认的周报。"))
    return reports


@transaction.atomic
def report_confirm(*, actor, unit, iso_year, iso_week):
    """The unit head confirms the submitted reports; the measures take on the reported progress."""
    reports = _submitted_reports(actor, unit, iso_year, iso_week)
    now = timezone.now()
    for report in reports:
        report.state = ProgressReport.State.CONFIRMED
        report.confirmed_by = actor
        report.confirmed_at = now
        report.lock_version += 1
        report.save(update_fields=["state", "confirmed_by", "confirmed_at", "lock_version", "updated_at"])
        measure = report.measure
        measure.percent = report.percent
        measure.progress_state = report.cumulative_state
        measure.latest_progress = report.progress_this_week
        measure.last_reported_at = now
        measure.save(update_fields=["percent", "progress_state", "latest_progress", "last_reported_at", "updated_at"])
    audit_record(
        actor=actor,
        action="report.confirm",
        target=unit,
        changes={"week": f"{iso_year}-W{iso_week:02d}", "reports": len(reports)},
    )
    for person in {r.filled_by for r in reports if r.filled_by and r.filled_by != actor}:
        notify(
            recipient=person,
            kind=Notification.Kind.REPORT_CONFIRMED,
            text=_("第%(week)s周的周报已由单位负责人确认。") % {"week": iso_week},
            link=f"/unit/report/?week={iso_year}-W{iso_week:02d}",
            dedup_key=f"confirmed:{unit.pk}:{iso_year}-{iso_week}:{now.timestamp()}",
        )
    return reports


@transaction.atomic
def report_return(*, actor, unit, iso_year, iso_week, reason, measure_ids=None):
    """The unit head sends submitted reports back to the liaison with a reason."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("退回时必须填写退回原因。"))
    reports = _submitted_reports(actor, unit, iso_year, iso_week, measure_ids)
    now = timezone.now()
    for report in reports:
        report.state = ProgressReport.State.RETURNED
        report.return_reason = reason[:300]
        report.lock_version += 1
        report.save(update_fields=["state", "return_reason", "lock_version", "updated_at"])
    audit_record(
        actor=actor,
        action="report.return",
        target=unit,
        changes={"week": f"{iso_year}-W{iso_week:02d}", "measures": [r.measure.code for r in reports], "reason": reason},
    )
    for person in {r.filled_by for r in reports if r.filled_by and r.filled_by != actor}:
        notify(
            recipient=person,
            kind=Notification.Kind.REPORT_RETURNED,
            text=_("第%(week)s周的周报被退回：%(reason)s") % {"week": iso_week, "reason": reason[:100]},
            link=f"/unit/report/?week={iso_year}-W{iso_week:02d}",
            dedup_key=f"returned:{unit.pk}:{iso_year}-{iso_week}:{now.timestamp()}",
        )
    return reports


@transaction.atomic
def report_correct(*, actor, report, reason, data):
    """Correct a confirmed report: a new version with the reason, to be submitted and confirmed again."""
    _require_measure_action(actor, report.measure, "report", _("只有责任单位的联络员或负责人可以更正周报。"))
    latest = report_latest(report.measure, report.iso_year, report.iso_week)
    if latest.pk != report.pk or report.state != ProgressReport.State.CONFIRMED:
        raise ValidationError(_("只能更正已确认的最新版本周报。"))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("更正已确认的周报必须说明原因。"))
    correction = ProgressReport.objects.create(
        measure=report.measure,
        iso_year=report.iso_year,
        iso_week=report.iso_week,
        version=report.version + 1,
        correction_reason=reason[:300],
        filled_by=actor,
        **{field: data[field] for field in REPORT_FIELDS},
    )
    audit_record(
        actor=actor,
        action="report.correct",
        target=correction,
        changes={"version": correction.version, "reason": reason},
    )
    return correction


# --- evidence and milestones ----------------------------------------------------------------


def evidence_upload(*, actor, measure, uploaded, kind, report=None, milestone=None):
    """Check and store one evidence file for a measure the actor's unit reports on."""
    _require_measure_action(actor, measure, "report", _("只有责任单位可以上传该措施的佐证材料。"))
    if kind not in Evidence.Kind.values:
        raise ValidationError(_("请选择佐证材料的类别。"))
    extension = evidence_check(uploaded)
    stored_name, sha256, mime = evidence_store(uploaded, extension)
    try:
        with transaction.atomic():
            evidence = Evidence.objects.create(
                measure=measure,
                report=report,
                milestone=milestone,
                kind=kind,
                original_name=uploaded.name[:200],
                stored_name=stored_name,
                content_type=mime,
                size=uploaded.size,
                sha256=sha256,
                uploaded_by=actor,
            )
            audit_record(
                actor=actor,
                action="evidence.upload",
                target=evidence,
                changes={"measure": measure.code, "sha256": sha256, "size": uploaded.size},
            )
    except Exception:
        # The row was not written, so the file must not stay behind either.
        evidence_discard(stored_name)
        raise
    return evidence


@transaction.atomic
def milestone_mark_done(*, actor, milestone, done_on, uploaded=None, kind=Evidence.Kind.OTHER):
    measure = milestone.measure
    _require_measure_action(actor, measure, "report", _("只有责任单位可以标记该措施的时间节点。"))
    if done_on > timezone.localdate():
        raise ValidationError(_("完成日期不能晚于今天。"))
    if milestone.done_on is not None:
        raise ValidationError(_("该时间节点已于 %(day)s 标记完成。") % {"day": milestone.done_on.isoformat()})
    milestone.done_on = done_on
    milestone.done_by = actor
    milestone.save(update_fields=["done_on", "done_by"])
    audit_record(
        actor=actor,
        action="milestone.done",
        target=milestone,
        changes={"measure": measure.code, "done_on": done_on.isoformat()},
    )
    if uploaded is not None:
        evidence_upload(actor=actor, measure=measure, uploaded=uploaded, kind=kind, milestone=milestone)
    return milestone


@transaction.atomic
def coordination_resolve(*, actor, item, resolution):
    problem = item.measure.problem
    if not (actor.has_role(Role.OFFICE) or can_act_on_problem(actor, problem, "sign_off")):
        raise PermissionDenied(_("只有牵头领导、责任领导或整改办可以答复协调事项。"))
    resolution = (resolution or "").strip()
    if not resolution:
        raise ValidationError(_("请填写协调结果。"))
    item = CoordinationItem.objects.select_for_update().get(pk=item.pk)
    if item.state == CoordinationItem.State.RESOLVED:
        raise ValidationError(_("该协调事项已经答复。"))
    item.state = CoordinationItem.State.RESOLVED
    item.resolution = resolution
    item.resolved_by = actor
    item.resolved_at = timezone.now()
    item.save(update_fields=["state", "resolution", "resolved_by", "resolved_at"])
    audit_record(actor=actor, action="coordination.resolve", target=item, changes={"resolution": resolution})
    return item
