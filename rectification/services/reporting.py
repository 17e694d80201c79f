"""Weekly progress reports, evidence, milestones and coordination items: the unit's weekly work."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import access
from ..evidence import evidence_check, evidence_discard, evidence_store
from ..models import (
    CloseOutState,
    CoordinationItem,
    Evidence,
    InspectionRound,
    Measure,
    Milestone,
    Notification,
    ProgressReport,
)
from ..workdays import round_cutoff, week_key, week_short_label
from .audit import audit_record
from .notifications import notify


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
    access.require_measures(actor, [measure], action, message)


def claim_refusal(measure):
    """Why nobody may report on, or close, a measure its unit has not claimed; empty when claimed.

    Until the unit claims it (待认领) or while it objects (有异议), the measure is not its work yet:
    it is left out of the weekly report, and its progress, milestones, evidence and close-out wait.
    """
    if measure.claim_state == Measure.ClaimState.CLAIMED:
        return ""
    return _("措施 %(code)s 尚未认领（%(state)s），认领后才能填报和申请销号。") % {
        "code": measure.code,
        "state": measure.get_claim_state_display(),
    }


def _require_claimed(measure):
    if refusal := claim_refusal(measure):
        raise ValidationError(refusal)


@transaction.atomic
def report_save(*, actor, measure, iso_year, iso_week, data, lock_version):
    """Save a draft row of the weekly report.

    ``lock_version`` is the counter the editor saw (None when there was no report yet). If
    anyone saved in between, nothing is written and ReportConflict carries their version.
    """
    _require_measure_action(actor, measure, "report", _("只有责任单位的联络员或负责人可以填报该措施。"))
    _require_claimed(measure)
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
        ProgressReport.objects.select_for_update(of=("self",))
        .filter(measure__in=_unit_open_measures(unit), iso_year=iso_year, iso_week=iso_week)
        .select_related("measure__problem__lead_official", "measure__problem__round")
        .order_by("measure_id", "-version")
    )
    latest: dict[int, ProgressReport] = {}
    for report in reports:
        latest.setdefault(report.measure_id, report)
    return latest


MISSING_SHOWN = 20


def _missing_codes(measures):
    """The codes still without this week's progress, by round when there are several (the same
    code can exist in two rounds), at most ``MISSING_SHOWN`` of them and then how many in all."""
    by_round: dict[InspectionRound, list[str]] = {}
    for measure in measures:
        by_round.setdefault(measure.problem.round, []).append(measure.code)
    parts, shown = [], 0
    for inspection_round, codes in by_round.items():
        taken = codes[: MISSING_SHOWN - shown]
        shown += len(taken)
        if taken:
            listed = "、".join(taken)
            parts.append(f"{inspection_round.title}：{listed}" if len(by_round) > 1 else listed)
    text = "；".join(parts)
    if shown < len(measures):
        text += _("（共%(n)s项，以上为前%(shown)s项）") % {"n": len(measures), "shown": shown}
    return text


@transaction.atomic
def report_submit(*, actor, unit, iso_year, iso_week, measure_ids=None):
    """Submit the unit's rows for the week: all of them, or only ``measure_ids`` (the rows that
    are ready; the others stay drafts to be submitted later in the week).

    Every row submitted needs this week's progress. Whether every open measure has one is the
    week's cut-off question (the cycle counts rows not submitted by then as missing), not each
    submission's. Measures not yet claimed are not the unit's to report on and are never part of
    the week.
    """
    measures = list(
        _unit_open_measures(unit)
        .filter(claim_state=Measure.ClaimState.CLAIMED)
        .select_related("problem__round")
        .order_by("problem__round__feedback_date", "problem__round_id", "problem__seq", "seq", "id")
    )
    if measure_ids is not None:
        wanted = set(measure_ids)
        if not wanted:
            raise ValidationError(_("请勾选要提交的措施。"))
        if wanted - {m.pk for m in measures}:
            raise ValidationError(_("所选措施中有不属于本单位、已销号或尚未认领的措施，请刷新页面后重试。"))
        measures = [m for m in measures if m.pk in wanted]
    # One permission read for all the unit's rows, however many there are.
    access.require_measures(actor, measures, "report", _("只有本单位的联络员或负责人可以提交周报。"))
    latest = _week_reports_for_update(unit, iso_year, iso_week)
    missing = [m for m in measures if m.pk not in latest or not latest[m.pk].progress_this_week.strip()]
    if missing:
        message = _("以下措施还没有填写本周进展，不能提交：%(codes)s") % {"codes": _missing_codes(missing)}
        if measure_ids is not None:
            message += _("。可以先取消勾选这些措施，提交其余已填好的。")
        raise ValidationError(message)
    chosen = {m.pk for m in measures}
    latest = {pk: report for pk, report in latest.items() if pk in chosen}
    now = timezone.now()
    submitted = []
    for report in latest.values():
        if report.state not in (ProgressReport.State.DRAFT, ProgressReport.State.RETURNED):
            continue
        report.state = ProgressReport.State.SUBMITTED
        report.submitted_at = now
        # Each round sets its own cut-off, so lateness is judged per report.
        report.is_late = now > round_cutoff(report.measure.problem.round, iso_year, iso_week)
        # The last return reason stays on the row: the count of returns is a formalism signal.
        report.lock_version += 1
        report.save(update_fields=["state", "submitted_at", "is_late", "lock_version", "updated_at"])
        submitted.append(report)
        if report.difficulties.strip():
            _coordination_raise(report)
    if not submitted:
        raise ValidationError(_("本周报告已经提交过了，没有需要提交的内容。"))
    audit_record(
        actor=actor,
        action="report.submit",
        target=unit,
        changes={
            "week": week_key(iso_year, iso_week),
            "reports": len(submitted),
            "late": any(r.is_late for r in submitted),
        },
    )
    for head in access.unit_heads(unit):
        notify(
            recipient=head,
            kind=Notification.Kind.REPORT_SUBMITTED,
            text=_("%(unit)s%(week)s的周报已提交，请确认。")
            % {"unit": unit.display_name, "week": week_short_label(iso_week)},
            link=f"/unit/report/?week={week_key(iso_year, iso_week)}",
            dedup_key=f"submitted:{unit.pk}:{week_key(iso_year, iso_week)}:{now.timestamp()}",
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
            text=_("措施 %(code)s 提出需协调解决的困难：%(text)s")
            % {"code": report.measure.code, "text": item.text[:80]},
            link="/coordination/",
            dedup_key=f"coordination:{item.pk}",
        )
    return item


def _submitted_reports(actor, unit, iso_year, iso_week, measure_ids=None):
    latest = _week_reports_for_update(unit, iso_year, iso_week)
    reports = [r for r in latest.values() if r.state == ProgressReport.State.SUBMITTED]
    if measure_ids is not None:
        reports = [r for r in reports if r.measure_id in set(measure_ids)]
    access.require_measures(actor, [r.measure for r in reports], "confirm", _("只有本单位负责人可以确认或退回周报。"))
    if not reports:
        raise ValidationError(_("没有待确认的周报。"))
    return reports


CONFIRM, RETURN = "confirm", "return"


@transaction.atomic
def report_review(*, actor, unit, iso_year, iso_week, decisions):
    """The unit head decides row by row: ``decisions`` maps a measure id to ``("confirm", "")`` or
    ``("return", reason)``. Confirmed rows give their measure the reported progress; each returned
    row goes back to the liaison with its own reason. Rows without a decision stay submitted.

    Every row decided must be this unit's report of the week waiting for confirmation, read
    again under its row lock: a row the liaison took back, or another head decided meanwhile,
    is refused with the rest of the batch rather than decided twice.
    """
    if not decisions:
        raise ValidationError(_("请至少对一项措施选择“确认”或“退回”。"))
    latest = _week_reports_for_update(unit, iso_year, iso_week)
    waiting = {pk: r for pk, r in latest.items() if r.state == ProgressReport.State.SUBMITTED}
    # A measure that is not the unit's, or not submitted this week, looks the same: not waiting.
    strangers = [pk for pk in decisions if pk not in waiting]
    if strangers:
        codes = "、".join(sorted(latest[pk].measure.code for pk in strangers if pk in latest))
        raise ValidationError(
            _("以下措施本周没有待确认的周报，不能确认或退回：%(codes)s。请刷新页面后重试。")
            % {"codes": codes or _("（不是本单位的措施）")}
        )
    reports = [waiting[pk] for pk in decisions]
    access.require_measures(actor, [r.measure for r in reports], "confirm", _("只有本单位负责人可以确认或退回周报。"))
    unknown = [
        waiting[pk].measure.code for pk, (choice, _reason) in decisions.items() if choice not in (CONFIRM, RETURN)
    ]
    if unknown:
        raise ValidationError(_("措施 %(codes)s 的处理意见无效。") % {"codes": "、".join(unknown)})
    unexplained = [
        waiting[pk].measure.code
        for pk, (choice, reason) in decisions.items()
        if choice == RETURN and not (reason or "").strip()
    ]
    if unexplained:
        raise ValidationError(
            _("退回的措施须逐项填写退回原因：%(codes)s 还没有填写。") % {"codes": "、".join(unexplained)}
        )
    now = timezone.now()
    confirmed, returned = [], []
    for pk, (choice, reason) in decisions.items():
        report = waiting[pk]
        report.lock_version += 1
        if choice == CONFIRM:
            report.state = ProgressReport.State.CONFIRMED
            report.confirmed_by = actor
            report.confirmed_at = now
            report.save(update_fields=["state", "confirmed_by", "confirmed_at", "lock_version", "updated_at"])
            measure = report.measure
            measure.percent = report.percent
            measure.progress_state = report.cumulative_state
            measure.latest_progress = report.progress_this_week
            measure.last_reported_at = now
            measure.save(
                update_fields=["percent", "progress_state", "latest_progress", "last_reported_at", "updated_at"]
            )
            confirmed.append(report)
        else:
            report.state = ProgressReport.State.RETURNED
            report.return_reason = reason.strip()[:300]
            report.save(update_fields=["state", "return_reason", "lock_version", "updated_at"])
            returned.append(report)
    audit_record(
        actor=actor,
        action="report.review",
        target=unit,
        changes={
            "week": week_key(iso_year, iso_week),
            # The decision on each row is the act; the reasons are findings' text (kept as digests).
            "measures": {
                **{r.measure.code: "confirmed" for r in confirmed},
                **{r.measure.code: "returned" for r in returned},
            },
            "reason": {r.measure.code: r.return_reason for r in returned},
        },
    )
    link = f"/unit/report/?week={week_key(iso_year, iso_week)}"
    # The liaison learns of each returned row apart, with its own reason, so none is missed.
    for report in returned:
        if report.filled_by and report.filled_by != actor:
            notify(
                recipient=report.filled_by,
                kind=Notification.Kind.REPORT_RETURNED,
                text=_("%(week)s措施 %(code)s 的周报被退回：%(reason)s")
                % {
                    "week": week_short_label(iso_week),
                    "code": report.measure.code,
                    "reason": report.return_reason[:100],
                },
                link=f"{link}#m{report.measure_id}",
                dedup_key=f"returned:{report.pk}:{report.lock_version}",
            )
    for person in {r.filled_by for r in confirmed if r.filled_by and r.filled_by != actor}:
        notify(
            recipient=person,
            kind=Notification.Kind.REPORT_CONFIRMED,
            text=_("%(week)s的周报已由单位负责人确认%(n)s项。")
            % {"week": week_short_label(iso_week), "n": len(confirmed)},
            link=link,
            dedup_key=f"confirmed:{unit.pk}:{week_key(iso_year, iso_week)}:{now.timestamp()}",
        )
    return confirmed, returned


def report_confirm(*, actor, unit, iso_year, iso_week):
    """The unit head confirms every submitted row of the week at once."""
    with transaction.atomic():
        reports = _submitted_reports(actor, unit, iso_year, iso_week)
        decisions = {r.measure_id: (CONFIRM, "") for r in reports}
        confirmed, _returned = report_review(
            actor=actor, unit=unit, iso_year=iso_year, iso_week=iso_week, decisions=decisions
        )
    return confirmed


def report_return(*, actor, unit, iso_year, iso_week, reason, measure_ids=None):
    """The unit head sends submitted rows (all of them, or ``measure_ids``) back with one reason,
    recorded on each row as if given row by row."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("退回时必须填写退回原因。"))
    with transaction.atomic():
        reports = _submitted_reports(actor, unit, iso_year, iso_week, measure_ids)
        decisions = {r.measure_id: (RETURN, reason) for r in reports}
        _confirmed, returned = report_review(
            actor=actor, unit=unit, iso_year=iso_year, iso_week=iso_week, decisions=decisions
        )
    return returned


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
    _require_claimed(measure)
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
def _milestone_still_open(milestone):
    """The milestone re-read under its row lock; refused if it is already done or waived."""
    milestone = Milestone.objects.select_for_update().select_related("measure").get(pk=milestone.pk)
    if milestone.done_on is not None:
        raise ValidationError(_("该时间节点已于 %(day)s 标记完成。") % {"day": milestone.done_on.isoformat()})
    if milestone.waived_at is not None:
        raise ValidationError(
            _("该时间节点已于 %(day)s 免除。") % {"day": timezone.localtime(milestone.waived_at).date().isoformat()}
        )
    return milestone


@transaction.atomic
def milestone_mark_done(*, actor, milestone, done_on, uploaded=None, kind=Evidence.Kind.OTHER):
    measure = milestone.measure
    _require_measure_action(actor, measure, "report", _("只有责任单位可以标记该措施的时间节点。"))
    _require_claimed(measure)
    if done_on > timezone.localdate():
        raise ValidationError(_("完成日期不能晚于今天。"))
    milestone = _milestone_still_open(milestone)
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
def milestone_waive(*, actor, milestone, reason):
    """免除: a milestone that turned out unnecessary stops counting as open, with the reason on
    record for every reviewer of the close-out. Only the responsible unit waives its own."""
    measure = milestone.measure
    _require_measure_action(actor, measure, "report", _("只有责任单位可以免除该措施的时间节点。"))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("免除时间节点须填写理由。"))
    milestone = _milestone_still_open(milestone)
    milestone.waived_at = timezone.now()
    milestone.waived_by = actor
    milestone.waived_reason = reason[:300]
    milestone.save(update_fields=["waived_at", "waived_by", "waived_reason"])
    audit_record(
        actor=actor,
        action="milestone.waive",
        target=milestone,
        changes={"measure": measure.code, "reason": milestone.waived_reason},
    )
    return milestone


@transaction.atomic
def coordination_resolve(*, actor, item, resolution):
    if not access.may_resolve_coordination(actor, item):
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
