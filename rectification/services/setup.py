"""Setting up a round in the browser: decomposition by the lead unit, claiming by the owner units,
changes after claiming (approved by the office), and the round's leading group.

Before its owner claims a measure, the lead unit may edit, reorder and withdraw it freely;
afterwards every change is a request that the office approves, and both are logged.
"""

import hashlib

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import access, selectors
from ..access import permissions_sync_for_problem
from ..lights import REVIEW_STATES
from ..models import (
    AcceptanceCriterion,
    CloseOutState,
    Measure,
    MeasureChangeRequest,
    Milestone,
    Notification,
    RoundMember,
    measure_due_refusal,
)
from ..workdays import milestones_backwards
from .audit import audit_record
from .notifications import notices_write, notify

ClaimState = Measure.ClaimState
# The fields a lead unit may change on a measure (and request to change after it is claimed).
EDITABLE_FIELDS = (
    "text",
    "kind",
    "start_date",
    "due_date",
    "ongoing_after_due",
    "expected_deliverable",
    "handler_name",
    "handler_phone",
)
DEFAULT_MILESTONES = ("制定整改工作方案", "取得阶段性成果", "收集整理佐证材料", "申请销号")


def _require_decompose(actor, problem):
    if not access.may_decompose(actor, problem):
        raise PermissionDenied(_("只有该问题的牵头单位或整改办可以分解和调整整改措施。"))


def _jsonable(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def _check_dates(measure):
    if refusal := measure_due_refusal(due_date=measure.due_date, problem_due_date=measure.problem.due_date):
        raise ValidationError(refusal)
    measure.full_clean()


@transaction.atomic
def measure_update(*, actor, measure, **fields):
    """Edit an unclaimed measure (lead unit or office), or any measure (office, logged)."""
    measure = Measure.objects.select_for_update().select_related("problem").get(pk=measure.pk)
    _require_decompose(actor, measure.problem)
    if measure.claim_state == ClaimState.CLAIMED and not access.may_change_claimed_measure(actor):
        raise PermissionDenied(_("责任单位已认领该措施，调整需报整改办审批。请提交变更申请。"))
    before = {name: _jsonable(getattr(measure, name)) for name in fields}
    for name, value in fields.items():
        if name not in EDITABLE_FIELDS:
            raise ValidationError(_("不能修改“%(field)s”。") % {"field": name})
        setattr(measure, name, value)
    _check_dates(measure)
    measure.save()
    after = {name: _jsonable(getattr(measure, name)) for name in fields}
    audit_record(
        actor=actor,
        action="measure.update",
        target=measure,
        changes={k: [before[k], after[k]] for k in fields if before[k] != after[k]},
    )
    return measure


@transaction.atomic
def measure_withdraw(*, actor, measure):
    """Withdraw a measure its owner has not claimed yet. Nothing of it remains but the audit row."""
    measure = Measure.objects.select_for_update().select_related("problem").get(pk=measure.pk)
    _require_decompose(actor, measure.problem)
    if measure.claim_state == ClaimState.CLAIMED:
        raise ValidationError(_("责任单位已认领的措施不能撤回。"))
    if measure.reports.exists() or measure.evidence.exists():
        raise ValidationError(_("该措施已有进展报告或佐证材料，不能撤回。"))
    problem = measure.problem
    audit_record(
        actor=actor,
        action="measure.withdraw",
        target=measure,
        changes={"code": measure.code, "text": measure.text, "owner_unit": measure.owner_unit.name},
    )
    measure.delete()
    permissions_sync_for_problem(problem)


def measure_withdraw_refusal(measure):
    """Why the office cannot withdraw ``measure`` from the ledger ("" when it can): a closed
    measure is history, one in a close-out review belongs to its reviewers, and one with reports,
    evidence, notices or close-out applications has a record that must stay with it."""
    values = {"code": measure.code}
    if measure.closeout_state == CloseOutState.CLOSED:
        return _("措施“%(code)s”已销号，不能撤销。") % values
    if measure.closeout_state in REVIEW_STATES:
        return _("措施“%(code)s”正在销号审核中，不能撤销。") % values
    if (
        measure.reports.exists()
        or measure.evidence.exists()
        or measure.closeouts.exists()
        or measure.notices.exists()
        or measure.missed_reports.exists()
        or measure.change_requests.exists()
        or measure.coordination.exists()
    ):
        return _("措施“%(code)s”已有进展报告、佐证材料、督办、变更或销号等记录，不能撤销，请保留。") % values
    return ""


@transaction.atomic
def measures_withdraw_by_office(*, actor, measures, reason, file_name=""):
    """Withdraw measures the office decided to drop (a re-imported ledger leaves them out),
    claimed or not. Each is removed like ``measure_withdraw``'s, with an audit row saying who,
    when and why, and its unit's staff are told. All or none: one refusal (see
    ``measure_withdraw_refusal``) keeps every measure."""
    if not access.may_manage_ledger(actor):
        raise PermissionDenied(_("只有整改办可以撤销已认领的整改措施。"))
    locked = list(
        Measure.objects.select_for_update()
        .select_related("problem", "owner_unit")
        .filter(pk__in=[m.pk for m in measures])
        .order_by("problem__seq", "problem__code", "seq", "code")
    )
    if refusals := [text for m in locked if (text := measure_withdraw_refusal(m))]:
        raise ValidationError(refusals)
    notices = []
    for measure in locked:
        audit_record(
            actor=actor,
            action="measure.withdraw",
            target=measure,
            # Why, under "step" (a fixed wording, kept readable); the measure's text as its digest.
            changes={
                "code": measure.code,
                "text": measure.text,
                "owner_unit": measure.owner_unit.name,
                "state": measure.claim_state,
                "step": reason,
                **({"file": file_name} if file_name else {}),
            },
        )
        text = _("整改办撤销了措施 %(code)s（%(text)s），原因：%(reason)s。该措施不再需要填报。") % {
            "code": measure.code,
            "text": measure.text[:40],
            "reason": reason,
        }
        notices += [
            Notification(
                recipient=person,
                kind=Notification.Kind.DISPATCH,
                text=text,
                link=reverse("rectification:worklist"),
                dedup_key=f"measure-withdrawn:{measure.pk}",
            )
            for person in access.unit_staff(measure.owner_unit)
        ]
    problems = {m.problem_id: m.problem for m in locked}
    for measure in locked:
        measure.delete()
    for problem in problems.values():
        permissions_sync_for_problem(problem)
    notices_write(notices)
    return len(locked)


@transaction.atomic
def measures_reorder(*, actor, problem, ordered_ids):
    _require_decompose(actor, problem)
    measures = {m.pk: m for m in problem.measures.select_for_update()}
    if set(ordered_ids) != set(measures):
        raise ValidationError(_("排序必须包含该问题的全部措施。"))
    for seq, pk in enumerate(ordered_ids, start=1):
        measures[pk].seq = seq
    Measure.objects.bulk_update(measures.values(), ["seq"])
    audit_record(
        actor=actor,
        action="measure.reorder",
        target=problem,
        changes={"order": [measures[pk].code for pk in ordered_ids]},
    )


@transaction.atomic
def criteria_set(*, actor, measure, texts):
    """Replace a measure's own acceptance criteria.

    Before it is claimed, the lead unit sets them freely. Once claimed, the unit took the measure
    on those terms, so changing them is the office's (or a change request); but a claimed measure
    that has no criteria at all (neither its own nor its problem's) may get them from the lead
    unit, which is what the office asks of it: nothing agreed is changed, a gap is filled.
    """
    _require_decompose(actor, measure.problem)
    has_criteria = AcceptanceCriterion.objects.filter(
        Q(measure=measure) | Q(problem=measure.problem, measure__isnull=True)
    ).exists()
    if measure.claim_state == ClaimState.CLAIMED and has_criteria and not access.may_change_claimed_measure(actor):
        raise PermissionDenied(_("责任单位已认领该措施，调整需报整改办审批。"))
    texts = [t.strip() for t in texts if t.strip()]
    if not texts:
        raise ValidationError(_("请填写验收标准，每行一条。"))
    AcceptanceCriterion.objects.filter(measure=measure).delete()
    AcceptanceCriterion.objects.bulk_create(
        AcceptanceCriterion(problem=measure.problem, measure=measure, seq=i, text=t[:300])
        for i, t in enumerate(texts, start=1)
    )
    audit_record(actor=actor, action="measure.criteria", target=measure, changes={"criteria": texts})


@transaction.atomic
def milestones_generate(*, actor, measure, titles=DEFAULT_MILESTONES):
    """倒排时间节点: replace the measure's undone milestones by ones worked back from its due date."""
    _require_decompose(actor, measure.problem)
    # Done and waived milestones are history and stay; only the open ones are planned again,
    # numbered after the last one kept.
    measure.milestones.open().delete()
    last_kept = measure.milestones.aggregate(last=Max("seq"))["last"] or 0
    plan = milestones_backwards(start=measure.start_date, due=measure.due_date, titles=list(titles))
    Milestone.objects.bulk_create(
        Milestone(measure=measure, seq=last_kept + i, title=title, due_date=day)
        for i, (title, day) in enumerate(plan, start=1)
    )
    audit_record(
        actor=actor,
        action="milestone.generate",
        target=measure,
        changes={"plan": [[title, day.isoformat()] for title, day in plan]},
    )
    return list(measure.milestones.order_by("seq"))


@transaction.atomic
def milestone_update(*, actor, milestone, title, due_date):
    measure = milestone.measure
    _require_decompose(actor, measure.problem)
    if not milestone.is_open:
        raise ValidationError(_("已完成或已免除的时间节点不能修改。"))
    if not measure.start_date <= due_date <= measure.due_date:
        raise ValidationError(
            _("时间节点须在措施的起止日期（%(start)s 至 %(due)s）之内。")
            % {"start": measure.start_date.isoformat(), "due": measure.due_date.isoformat()}
        )
    before = [milestone.title, milestone.due_date.isoformat()]
    milestone.title = title
    milestone.due_date = due_date
    milestone.save(update_fields=["title", "due_date"])
    audit_record(
        actor=actor,
        action="milestone.update",
        target=milestone,
        changes={"from": before, "to": [title, due_date.isoformat()]},
    )
    return milestone


# --- claiming --------------------------------------------------------------------------------------


def _require_owner(actor, measure):
    if not access.may_report(actor, measure):
        raise PermissionDenied(_("只有该措施的责任单位可以认领或提出异议。"))


@transaction.atomic
def measure_claim(*, actor, measure, handler_name, handler_phone):
    measure = Measure.objects.select_for_update().select_related("problem__lead_unit").get(pk=measure.pk)
    _require_owner(actor, measure)
    if measure.claim_state == ClaimState.CLAIMED:
        raise ValidationError(_("该措施已经认领。"))
    handler_name, handler_phone = (handler_name or "").strip(), (handler_phone or "").strip()
    if not handler_name or not handler_phone:
        raise ValidationError(_("认领时须填写经办人姓名和联系电话。"))
    measure.claim_state = ClaimState.CLAIMED
    measure.claimed_by = actor
    measure.claimed_at = timezone.now()
    measure.handler_name = handler_name[:50]
    measure.handler_phone = handler_phone[:30]
    measure.objection_reason = ""
    measure.save(
        update_fields=[
            "claim_state",
            "claimed_by",
            "claimed_at",
            "handler_name",
            "handler_phone",
            "objection_reason",
            "updated_at",
        ]
    )
    audit_record(actor=actor, action="measure.claim", target=measure, changes={"handler": handler_name})
    for person in access.unit_staff(measure.problem.lead_unit):
        notify(
            recipient=person,
            kind="new_assignment",
            text=_("%(unit)s已认领措施 %(code)s。") % {"unit": measure.owner_unit.display_name, "code": measure.code},
            link=measure.get_absolute_url(),
            dedup_key=f"claimed:{measure.pk}:{measure.claimed_at.timestamp()}",
        )
    return measure


@transaction.atomic
def measure_object(*, actor, measure, reason):
    """The owner unit says the task is not theirs; the office decides who gets it."""
    measure = Measure.objects.select_for_update().get(pk=measure.pk)
    _require_owner(actor, measure)
    if measure.claim_state == ClaimState.CLAIMED:
        raise ValidationError(_("已认领的措施不能再提出异议，请联系整改办。"))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("提出异议须说明理由。"))
    measure.claim_state = ClaimState.OBJECTED
    measure.objection_reason = reason[:300]
    measure.save(update_fields=["claim_state", "objection_reason", "updated_at"])
    audit_record(actor=actor, action="measure.object", target=measure, changes={"reason": reason})
    for person in access.office_staff():
        notify(
            recipient=person,
            kind="new_assignment",
            text=_("%(unit)s对措施 %(code)s 提出异议：%(reason)s")
            % {"unit": measure.owner_unit.display_name, "code": measure.code, "reason": reason[:80]},
            link=f"/setup/rounds/{measure.problem.round_id}/",
            dedup_key=f"objected:{measure.pk}:{timezone.now().timestamp()}",
        )
    return measure


# --- asking for acceptance criteria --------------------------------------------------------------

# How many measure codes one notice names; the bell keeps 300 characters.
CODES_IN_NOTICE = 30


@transaction.atomic
def criteria_ask(*, actor, inspection_round):
    """Ask each lead unit of the round to add acceptance criteria to its open measures that have
    none (neither their own nor their problem's): one notice per lead unit naming its measures, to
    each of its liaisons and heads, and one audit row per lead unit. Asking again the same day for
    the same measures tells nobody twice. Returns how many lead units were asked."""
    if not access.may_manage_ledger(actor):
        raise PermissionDenied(_("只有整改办可以要求牵头单位补充验收标准。"))
    measures = selectors.lacking_criteria_list(
        access.measures_visible_to(actor).filter(problem__round=inspection_round)
    )
    by_lead_unit: dict[int, list[Measure]] = {}
    for measure in measures:
        by_lead_unit.setdefault(measure.problem.lead_unit_id, []).append(measure)
    if not by_lead_unit:
        raise ValidationError(_("本轮所有未销号措施都已有验收标准，无需通知。"))
    staff: dict[int, list] = {}
    for person in access.units_staff(by_lead_unit):
        staff.setdefault(person.unit_id, []).append(person)
    today = timezone.localdate().isoformat()
    notices, entries = [], []
    for unit_id, unit_measures in by_lead_unit.items():
        codes = [m.code for m in unit_measures]
        shown = "、".join(codes[:CODES_IN_NOTICE]) + (
            _("等 %(count)d 项") % {"count": len(codes)} if len(codes) > CODES_IN_NOTICE else ""
        )
        text = _("整改办提醒：本单位牵头的以下整改措施还没有验收标准，无法申请销号，请尽快补充：%(codes)s") % {
            "codes": shown
        }
        # The same measures asked for on the same day are one notice, whoever presses the button.
        key = f"criteria-ask:{inspection_round.pk}:{unit_id}:{today}:{_codes_digest(codes)}"
        # Where the lead unit adds them: the decomposition page of the first problem concerned.
        link = reverse("rectification:problem_decompose", args=[unit_measures[0].problem_id])
        notices += [
            Notification(recipient=person, kind=Notification.Kind.NEW_ASSIGNMENT, text=text, link=link, dedup_key=key)
            for person in staff.get(unit_id, ())
        ]
        entries.append({"unit": unit_measures[0].problem.lead_unit.name, "measures": codes})
    notices_write(notices)
    for changes in entries:
        audit_record(actor=actor, action="measure.criteria_ask", target=inspection_round, changes=changes)
    return len(by_lead_unit)


def _codes_digest(codes):
    """A short fingerprint of a list of codes, for a notice's ``dedup_key`` (120 characters)."""
    return hashlib.sha256("|".join(codes).encode("utf-8")).hexdigest()[:16]


# --- changes after claiming ------------------------------------------------------------------------


@transaction.atomic
def change_request_create(*, actor, measure, changes, reason):
    _require_decompose(actor, measure.problem)
    if measure.claim_state != ClaimState.CLAIMED:
        raise ValidationError(_("未认领的措施可直接修改，无需申请。"))
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown or not changes:
        raise ValidationError(_("请填写要变更的内容。"))
    if not (reason or "").strip():
        raise ValidationError(_("请说明变更理由。"))
    # Refused now rather than when the office approves: such a request could never be applied.
    if refusal := measure_due_refusal(due_date=changes.get("due_date"), problem_due_date=measure.problem.due_date):
        raise ValidationError(refusal)
    request = MeasureChangeRequest.objects.create(
        measure=measure,
        changes={k: _jsonable(v) for k, v in changes.items()},
        reason=reason.strip()[:300],
        requested_by=actor,
    )
    audit_record(actor=actor, action="measure.change_request", target=request, changes=request.changes)
    return request


@transaction.atomic
def change_request_decide(*, actor, request, approve):
    import datetime

    if not access.may_manage_ledger(actor):
        raise PermissionDenied(_("只有整改办可以审批措施变更。"))
    request = MeasureChangeRequest.objects.select_for_update().get(pk=request.pk)
    if request.state != MeasureChangeRequest.State.PENDING:
        raise ValidationError(_("该申请已处理。"))
    request.state = MeasureChangeRequest.State.APPROVED if approve else MeasureChangeRequest.State.REJECTED
    request.decided_by = actor
    request.decided_at = timezone.now()
    request.save(update_fields=["state", "decided_by", "decided_at"])
    if approve:
        values = {
            k: datetime.date.fromisoformat(v) if k in ("start_date", "due_date") else v
            for k, v in request.changes.items()
        }
        measure_update(actor=actor, measure=request.measure, **values)
    audit_record(actor=actor, action=f"measure.change_{request.state}", target=request, changes=request.changes)
    return request


# --- the round's leading group ----------------------------------------------------------------------


@transaction.atomic
def round_member_add(*, actor, inspection_round, user, role):
    if not access.may_manage_ledger(actor):
        raise PermissionDenied(_("只有整改办可以设置领导小组和整改办成员。"))
    member, created = RoundMember.objects.get_or_create(round=inspection_round, user=user, role=role)
    if not created:
        raise ValidationError(_("%(user)s 已是%(role)s。") % {"user": user, "role": member.get_role_display()})
    audit_record(
        actor=actor, action="round.member_add", target=inspection_round, changes={"user": str(user), "role": role}
    )
    return member
