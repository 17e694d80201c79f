"""The close-out (销号) chain: apply, lead unit review, leader confirmation, office check, reopen.

The applicant never approves its own item: a step whose reviewer would be the applicant's
own unit or person is refused. Each step locks the request row (``select_for_update``) and
checks that the request is still at that step, so two reviewers acting at once produce
exactly one decision. Every step appends a ``SignOffStep`` row in the same transaction.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.services import password_reconfirm

from .. import access
from ..models import (
    AccountabilityRecord,
    CloseOutRequest,
    CloseOutState,
    CriterionCheck,
    DeadlineCategory,
    Evidence,
    Measure,
    Notification,
    Problem,
    ProgressState,
    Recovery,
    RuleRecord,
    SignOffStep,
)
from .audit import audit_record
from .notifications import notify
from .reporting import claim_refusal

State = CloseOutRequest.State
Step = SignOffStep.Step
Decision = SignOffStep.Decision


def closeout_criteria(*, problem, measure=None):
    """The criteria an application must tick: the measure's own, else the problem's."""
    if measure is not None:
        own = list(measure.criteria.all())
        if own:
            return own
    return list(problem.criteria.filter(measure__isnull=True))


def _set_item_state(request, state, progress=None):
    item = request.target
    item.closeout_state = state
    fields = ["closeout_state", "updated_at"]
    if progress is not None:
        item.progress_state = progress
        fields.append("progress_state")
    item.save(update_fields=fields)


def _step(request, *, step, decision, actor, comment=""):
    return SignOffStep.objects.create(request=request, step=step, decision=decision, actor=actor, comment=comment)


def _check_problem_ready(problem, kind):
    measures = list(problem.measures.all())
    if not measures:
        raise ValidationError(_("该问题还没有整改措施，不能申请销号。"))
    allowed = {CloseOutState.CLOSED}
    open_codes = [m.code for m in measures if m.closeout_state not in allowed]
    if kind == CloseOutRequest.Kind.STAGED:
        open_codes = [
            m.code for m in measures if m.closeout_state not in allowed and m.progress_state != ProgressState.STAGED
        ]
    if open_codes:
        raise ValidationError(_("以下措施尚未销号，问题不能整体销号：%(codes)s") % {"codes": "、".join(open_codes)})


def closeout_readiness(*, problem, measure=None, kind=CloseOutRequest.Kind.FULL, today=None):
    """What still stands in the way of applying to close the item, each as a sentence naming it;
    empty when the item may be applied for. Shown on the application page before anyone types,
    and checked again by ``closeout_apply`` under the row lock.

    - a measure's progress is 已完成 at 100% (阶段性完成 or better for a staged application);
    - every milestone is done or waived with a reason (for a staged application: those due by today);
    - there is at least one acceptance criterion to tick;
    - the measure is claimed by its unit (not 待认领, not 有异议).
    """
    today = today or timezone.localdate()
    refusals = []
    if measure is not None:
        if refusal := claim_refusal(measure):
            refusals.append(refusal)
        progress = f"“{measure.get_progress_state_display()}”、{measure.percent}%"
        if kind == CloseOutRequest.Kind.STAGED:
            if measure.progress_state not in (ProgressState.STAGED, ProgressState.COMPLETED):
                refusals.append(
                    _("进度未达到阶段性完成：须在周报中报为“阶段性完成”，现为%(progress)s。") % {"progress": progress}
                )
        elif not (measure.progress_state == ProgressState.COMPLETED and measure.percent == 100):
            refusals.append(
                _("进度未完成：须为“已完成”且完成百分比为 100%%，现为%(progress)s。") % {"progress": progress}
            )
        milestones = measure.milestones.open().order_by("seq")
        if kind == CloseOutRequest.Kind.STAGED:
            milestones = milestones.filter(due_date__lte=today)
        undone = [f"{m.seq}“{m.title}”（{m.due_date:%Y-%m-%d}）" for m in milestones]
        if undone:
            refusals.append(
                _("以下时间节点既未完成也未免除（不再需要的节点可在措施页面说明理由后免除）：%(items)s")
                % {"items": "、".join(undone)}
            )
    if not closeout_criteria(problem=problem, measure=measure):
        refusals.append(
            _("该事项没有验收标准，无从核验：请牵头单位先补充验收标准（每项措施至少一条）。")
            if measure is not None
            else _("该问题没有验收标准，无从核验：请整改办或牵头单位先补充验收标准。")
        )
    return refusals


def _evidence_refusals(criteria, checks, notes, evidence_by_id):
    """Each criterion needs its own proof: a file ticked for several criteria needs, under each
    of them, a note saying why the one file proves it."""
    refusals = []
    missing = [c.text for c in criteria if not [i for i in checks.get(c.pk, []) if i in evidence_by_id]]
    if missing:
        refusals.append(
            _("每一条验收标准都要勾选并附上佐证材料，以下标准尚未提供：%(items)s") % {"items": "；".join(missing)}
        )
    position = {c.pk: number for number, c in enumerate(criteria, start=1)}
    used_by: dict[int, list] = {}
    for criterion in criteria:
        for evidence_id in set(checks.get(criterion.pk, [])) & set(evidence_by_id):
            used_by.setdefault(evidence_id, []).append(criterion)
    for evidence_id, sharing in used_by.items():
        unexplained = [c for c in sharing if not (notes.get(c.pk) or "").strip()]
        if len(sharing) > 1 and unexplained:
            refusals.append(
                _(
                    "佐证材料“%(file)s”同时用于第 %(numbers)s 条验收标准：请在第 %(missing)s 条下说明这一份材料为何能证明该条标准。"
                )
                % {
                    "file": evidence_by_id[evidence_id].original_name,
                    "numbers": "、".join(str(position[c.pk]) for c in sharing),
                    "missing": "、".join(str(position[c.pk]) for c in unexplained),
                }
            )
    return refusals


@transaction.atomic
def closeout_apply(
    *, actor, problem, measure=None, statement, pledged, checks, notes=None, kind=CloseOutRequest.Kind.FULL
):
    """Apply to close a measure (or a problem once all its measures are closed).

    ``checks`` maps each required AcceptanceCriterion id to the Evidence ids that prove it;
    ``notes`` maps a criterion id to the applicant's note on it (required where one file proves
    several criteria). Every precondition (``closeout_readiness``) is checked under the item's
    row lock, so nothing that changes at the same moment can slip through.
    """
    notes = notes or {}
    if not access.may_apply_closeout(actor, problem, measure):
        raise PermissionDenied(_("只有责任单位负责人可以申请销号。"))
    if not pledged:
        raise ValidationError(_("单位负责人须承诺所报情况真实准确，方可提交销号申请。"))
    if not (statement or "").strip():
        raise ValidationError(_("请填写完成情况说明。"))
    if kind == CloseOutRequest.Kind.STAGED and problem.deadline_category != DeadlineCategory.LONG_TERM:
        raise ValidationError(_("只有长期坚持类问题可以申请阶段性完成。"))
    if measure is not None:
        measure = Measure.objects.select_for_update().select_related("problem").get(pk=measure.pk)
        problem = measure.problem
    else:
        problem = Problem.objects.select_for_update().get(pk=problem.pk)
    target = measure or problem
    if measure is None:
        _check_problem_ready(problem, kind)
    if target.closeout_state in (
        CloseOutState.PENDING_LEAD_UNIT,
        CloseOutState.PENDING_LEADER,
        CloseOutState.PENDING_OFFICE,
    ):
        raise ValidationError(_("该事项已在销号审核中。"))
    if target.closeout_state == CloseOutState.CLOSED:
        raise ValidationError(_("该事项已销号。如需重新整改，请由整改办或监督部门重启。"))

    criteria = closeout_criteria(problem=problem, measure=measure)
    allowed_evidence = Evidence.objects.filter(measure__in=[measure] if measure else problem.measures.all())
    evidence_by_id = {e.pk: e for e in allowed_evidence.filter(pk__in={i for ids in checks.values() for i in ids})}
    refusals = closeout_readiness(problem=problem, measure=measure, kind=kind)
    if criteria:
        refusals += _evidence_refusals(criteria, checks, notes, evidence_by_id)
    if refusals:
        raise ValidationError(refusals)

    open_request = (
        CloseOutRequest.objects.select_for_update()
        .filter(problem=problem, measure=measure, state=State.RETURNED)
        .first()
    )
    previous = CloseOutRequest.objects.filter(problem=problem, measure=measure).order_by("-cycle").first()
    cycle = previous.cycle + (1 if target.closeout_state == CloseOutState.REOPENED else 0) if previous else 1
    applicant_unit = measure.owner_unit if measure else problem.lead_unit
    now = timezone.now()
    if open_request is not None:
        request = open_request
        request.statement = statement.strip()
        request.kind = kind
        request.applied_by = actor
        request.pledged_at = now
        request.checks.all().delete()
    else:
        request = CloseOutRequest(
            problem=problem,
            measure=measure,
            cycle=cycle,
            kind=kind,
            statement=statement.strip(),
            applicant_unit=applicant_unit,
            applied_by=actor,
            pledged_at=now,
        )
    # The lead unit does not review its own application: it goes straight to the leader.
    skip_lead_unit = applicant_unit.pk == problem.lead_unit_id
    request.state = State.PENDING_LEADER if skip_lead_unit else State.PENDING_LEAD_UNIT
    request.save()
    for criterion in criteria:
        check = CriterionCheck.objects.create(
            request=request, criterion=criterion, note=(notes.get(criterion.pk) or "").strip()[:300]
        )
        check.evidence.set([evidence_by_id[i] for i in checks[criterion.pk] if i in evidence_by_id])
    _step(request, step=Step.APPLY, decision=Decision.SUBMITTED, actor=actor, comment=request.statement)
    if skip_lead_unit:
        _step(request, step=Step.LEAD_UNIT, decision=Decision.SKIPPED, actor=None)
    _set_item_state(request, request.state)
    audit_record(
        actor=actor,
        action="closeout.apply",
        target=request,
        changes={"target": str(target), "kind": kind, "cycle": request.cycle, "state": request.state},
    )
    _notify_next_reviewers(request)
    return request


def three_tests(request):
    """事要解决、人要处理、长效机制要建立: each test with its proof, for the office's check."""
    problem = request.problem
    checks = list(request.checks.select_related("criterion").prefetch_related("evidence"))
    accountability = list(AccountabilityRecord.objects.filter(problem=problem))
    rules = list(RuleRecord.objects.filter(problems=problem))
    return {
        "solved": {"ok": bool(checks) and all(c.evidence.all() for c in checks), "checks": checks},
        "people": {
            "ok": bool(accountability) or bool(request.no_accountability_reason.strip()),
            "records": accountability,
            "reason": request.no_accountability_reason,
        },
        "mechanism": {
            "ok": bool(rules) or bool(request.no_rules_reason.strip()),
            "records": rules,
            "reason": request.no_rules_reason,
        },
    }


def closeout_decide(
    *,
    actor,
    request,
    approve,
    comment="",
    no_accountability_reason="",
    no_rules_reason="",
    password=None,
    http_request=None,
):
    """Approve or return the request at its current step.

    At the leader's step the leader re-enters the login password (``password``). It is checked
    here, under the request's lock, because only here is the step certain: the page the leader
    acted on may have shown an earlier one. A wrong password counts towards the account's lockout
    like a wrong login (``http_request`` is passed on for that) and is audited; both records are
    kept although the decision is refused.
    """
    with transaction.atomic():
        request = (
            CloseOutRequest.objects.select_for_update(of=("self",))
            .select_related("problem__round", "problem__track")
            .get(pk=request.pk)
        )
        expected_state = request.state
        if expected_state not in (State.PENDING_LEAD_UNIT, State.PENDING_LEADER, State.PENDING_OFFICE):
            raise ValidationError(_("该申请当前不在审核环节，可能已由他人处理，请刷新页面。"))
        if not access.may_decide_closeout(actor, request):
            raise PermissionDenied(_("您不能审核这一环节（申请人不能审核自己的申请）。"))
        step = {
            State.PENDING_LEAD_UNIT: Step.LEAD_UNIT,
            State.PENDING_LEADER: Step.LEADER,
            State.PENDING_OFFICE: Step.OFFICE,
        }[expected_state]
        refusal = _leader_password_refusal(actor, request, password, http_request) if step == Step.LEADER else None
        if refusal is None:
            return _decide(actor, request, step, approve, comment, no_accountability_reason, no_rules_reason)
    # Raised once the transaction has committed, so the record of a wrong password stays.
    raise ValidationError(refusal)


def _leader_password_refusal(actor, request, password, http_request):
    """Why the leader may not sign without (the right) password, or None when it was right."""
    if not password:
        # Not a failed guess: typically the page showed the lead unit's step and had no password field.
        return _("该申请已进入领导签批环节，签批须再次输入您的登录密码。请刷新页面后重新办理。")
    outcome = password_reconfirm(user=actor, password=password, request=http_request, reason="closeout_password")
    if outcome == "ok":
        return None
    if outcome == "wrong":
        # Signing is a sensitive action: the leader proves it is really them at the keyboard.
        audit_record(actor=actor, action="closeout.leader.password_failed", target=request)
        return _("密码不正确，未签批。")
    audit_record(actor=actor, action="closeout.leader.password_failed", target=request, changes={"locked": True})
    return _("您的账号因连续多次密码错误已被锁定，未签批。请稍后再试，或联系安全管理员解锁。")


def _decide(actor, request, step, approve, comment, no_accountability_reason, no_rules_reason):
    comment = (comment or "").strip()
    if not approve:
        if not comment:
            raise ValidationError(_("退回时必须填写退回原因。"))
        request.state = State.RETURNED
        request.save(update_fields=["state"])
        _step(request, step=step, decision=Decision.RETURNED, actor=actor, comment=comment)
        _set_item_state(request, CloseOutState.RETURNED)
        _audit_decision(actor, request, step, "returned", comment)
        _notify_applicant(request, _("销号申请被退回：%(reason)s") % {"reason": comment[:100]})
        return request

    if step == Step.OFFICE:
        request.no_accountability_reason = (no_accountability_reason or request.no_accountability_reason).strip()
        request.no_rules_reason = (no_rules_reason or request.no_rules_reason).strip()
        tests = three_tests(request)
        failing = [
            label
            for key, label in (
                ("solved", _("事要解决：验收标准须逐条附佐证材料")),
                ("people", _("人要处理：须有追责问责记录，或说明无需问责的理由")),
                ("mechanism", _("长效机制要建立：须有建章立制记录（文号），或说明无需建制的理由")),
            )
            if not tests[key]["ok"]
        ]
        if failing:
            raise ValidationError(_("未通过“三个标准”检查：%(items)s") % {"items": "；".join(failing)})
        request.state = State.CLOSED
        request.decided_at = timezone.now()
        request.save(update_fields=["state", "decided_at", "no_accountability_reason", "no_rules_reason"])
        _step(request, step=step, decision=Decision.APPROVED, actor=actor, comment=comment)
        if request.kind == CloseOutRequest.Kind.STAGED:
            # 阶段性完成 counts for the report, while the item stays open for its later milestones.
            _set_item_state(request, CloseOutState.NOT_APPLIED, ProgressState.STAGED)
        else:
            _set_item_state(request, CloseOutState.CLOSED, ProgressState.COMPLETED)
        _audit_decision(actor, request, step, "approved", comment)
        _notify_applicant(request, _("销号申请已通过，事项已%(what)s。") % {"what": request.get_kind_display()})
        return request

    request.state = State.PENDING_LEADER if step == Step.LEAD_UNIT else State.PENDING_OFFICE
    request.save(update_fields=["state"])
    _step(request, step=step, decision=Decision.APPROVED, actor=actor, comment=comment)
    _set_item_state(request, request.state)
    _audit_decision(actor, request, step, "approved", comment)
    _notify_next_reviewers(request)
    return request


@transaction.atomic
def closeout_reopen(*, actor, request, reason):
    """回头看: reopen a closed item. Its history stays; the next application is a new cycle."""
    if not access.may_reopen_closeout(actor):
        raise PermissionDenied(_("只有整改办或监督部门可以重启已销号事项。"))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("重启时必须说明理由。"))
    request = CloseOutRequest.objects.select_for_update().get(pk=request.pk)
    target = request.target
    if request.state != State.CLOSED or target.closeout_state != CloseOutState.CLOSED:
        raise ValidationError(_("只有已销号的事项可以重启。"))
    _step(request, step=Step.REOPEN, decision=Decision.REOPENED, actor=actor, comment=reason)
    _set_item_state(request, CloseOutState.REOPENED, ProgressState.IN_PROGRESS)
    if request.measure_id and request.problem.closeout_state == CloseOutState.CLOSED:
        # A problem cannot stay closed while one of its measures is open again.
        problem = request.problem
        problem.closeout_state = CloseOutState.REOPENED
        problem.progress_state = ProgressState.IN_PROGRESS
        problem.save(update_fields=["closeout_state", "progress_state", "updated_at"])
    audit_record(actor=actor, action="closeout.reopen", target=request, changes={"reason": reason})
    _notify_applicant(request, _("已销号事项在“回头看”中被重启：%(reason)s") % {"reason": reason[:100]})
    return request


def _audit_decision(actor, request, step, decision, comment):
    audit_record(
        actor=actor,
        action=f"closeout.{step}.{decision}",
        target=request,
        changes={"state": request.state, "comment": comment},
    )


def _notify_applicant(request, text):
    for person in access.unit_staff(request.applicant_unit):
        notify(
            recipient=person,
            kind=Notification.Kind.CLOSEOUT,
            text=f"{request}：{text}",
            link=request.get_absolute_url(),
            dedup_key=f"closeout:{request.pk}:{request.steps.count()}",
        )


def closeout_reviewers(request):
    """The people a pending close-out waits for: the lead unit's staff, the problem's leaders, or
    the office (a track office where its track reviews its own). Told when it arrives and, by the
    weekly cycle, when it has waited too long."""
    problem = request.problem
    if request.state == State.PENDING_LEAD_UNIT:
        return list(access.unit_staff(problem.lead_unit))
    if request.state == State.PENDING_LEADER:
        return [problem.lead_official, *problem.responsible_leaders.all()]
    if request.state == State.PENDING_OFFICE:
        track = access.closeout_track_office(request)
        return list(access.office_staff() if track is None else access.track_office_staff(track.office_unit))
    return []


def _notify_next_reviewers(request):
    for person in closeout_reviewers(request):
        notify(
            recipient=person,
            kind=Notification.Kind.CLOSEOUT,
            text=_("%(item)s待您审核（%(state)s）") % {"item": request, "state": request.get_state_display()},
            link=request.get_absolute_url(),
            dedup_key=f"closeout:{request.pk}:{request.steps.count()}",
        )


# --- accountability and rule-building records -----------------------------------------------------


def _record_create(actor, problem, instance, action, changes):
    if not access.may_enter_records(actor, problem):
        if problem is not None:
            raise PermissionDenied(_("只有承担该问题整改的单位或监督部门可以录入。"))
        raise PermissionDenied(_("只有整改办或监督部门可以录入。"))
    instance.entered_by = actor
    instance.full_clean()
    instance.save()
    audit_record(actor=actor, action=action, target=instance, changes=changes)
    return instance


@transaction.atomic
def accountability_record_create(*, actor, problem, **fields):
    record = AccountabilityRecord(round=problem.round, problem=problem, **fields)
    return _record_create(actor, problem, record, "record.accountability", {"kind": fields.get("kind")})


@transaction.atomic
def rule_record_create(*, actor, problem, **fields):
    record = RuleRecord(round=problem.round, **fields)
    record = _record_create(actor, problem, record, "record.rule", {"doc_number": fields.get("doc_number")})
    record.problems.add(problem)
    return record


@transaction.atomic
def recovery_create(*, actor, problem, **fields):
    record = Recovery(round=problem.round, problem=problem, **fields)
    return _record_create(actor, problem, record, "record.recovery", {"amount_wan": str(fields.get("amount_wan"))})
