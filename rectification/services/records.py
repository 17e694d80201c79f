"""The records behind the figures, the office's penalties and what is released to the province.

- 信访件和问题线索 (petitions and clues), meetings and on-site visits, the secretary's 书记领办
  events: each entered by the roles that own it (``access.may_enter_*``), linked to problems where
  they belong, counted by ``figures.round_record_figures``;
- penalties on units and leading cadres entered by hand, and the weekly cycle's drafts
  confirmed in bulk;
- releasing a week's package (and the final report) to the provincial team.

Every write checks the actor's right here, whatever page called it, and writes one audit row per
object in the same transaction.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import access
from ..evidence import evidence_check, evidence_discard, evidence_store
from ..models import (
    MEETING_KINDS,
    VISIT_KINDS,
    InspectionRound,
    Penalty,
    PetitionClue,
    RecordFile,
    Release,
    SecretaryEvent,
    WorkActivity,
)
from .audit import audit_record, audit_record_many

# --- petitions and clues, meetings, visits -------------------------------------------------------


def _problems_of_round(problems, inspection_round):
    problems = list(problems or ())
    if any(problem.round_id != inspection_round.pk for problem in problems):
        raise ValidationError(_("相关问题必须属于本轮次。"))
    return problems


@transaction.atomic
def petition_clue_create(*, actor, inspection_round, problem=None, **fields):
    """A batch of 信访件 or 问题线索 from one source. Closed without a count of handled items means
    all of them were handled."""
    if not access.may_enter_petitions(actor):
        raise PermissionDenied(_("只有整改办或纪委监委可以录入信访件和问题线索。"))
    if problem is not None:
        _problems_of_round([problem], inspection_round)
    if fields.get("handled") is None:
        fields["handled"] = (fields.get("quantity") or 1) if fields.get("closed_on") else 0
    if fields.get("transferred") is None:
        fields["transferred"] = 0
    record = PetitionClue(round=inspection_round, problem=problem, entered_by=actor, **fields)
    record.full_clean()
    record.save()
    audit_record(
        actor=actor,
        action="record.petition_clue",
        target=record,
        changes={"code": record.code, "kind": record.kind, "rows": record.quantity},
    )
    return record


_REQUIRED_FOR = {
    "meeting": {"chair": _("主持人"), "decisions": _("议定事项")},
    "visit": {"participants": _("参加人员"), "place": _("地点或被督导单位"), "findings": _("发现的问题")},
}


@transaction.atomic
def activity_create(*, actor, inspection_round, kind, problems=(), **fields):
    """A meeting (chair and decisions) or an on-site supervision or inspection visit (who, where, what
    was found)."""
    if kind in MEETING_KINDS:
        group, allowed = "meeting", access.may_enter_meetings(actor)
        refusal = _("只有整改办可以录入会议记录。")
    elif kind in VISIT_KINDS:
        group, allowed = "visit", access.may_enter_visits(actor)
        refusal = _("只有整改办或纪委监委可以录入督导督查记录。")
    else:
        raise ValidationError(_("请选择类别。"))
    if not allowed:
        raise PermissionDenied(refusal)
    missing = [str(label) for name, label in _REQUIRED_FOR[group].items() if not str(fields.get(name) or "").strip()]
    if missing:
        raise ValidationError(_("请填写：%(fields)s。") % {"fields": "、".join(missing)})
    problems = _problems_of_round(problems, inspection_round)
    activity = WorkActivity(round=inspection_round, kind=kind, entered_by=actor, **fields)
    activity.full_clean()
    activity.save()
    activity.problems.set(problems)
    audit_record(
        actor=actor,
        action=f"record.{group}",
        target=activity,
        changes={"kind": kind, "date": activity.held_on.isoformat(), "problems": len(problems)},
    )
    return activity


# --- 书记领办 and the files of records -------------------------------------------------------------


def record_file_attach(*, actor, uploaded, secretary_event=None, penalty=None):
    """Check and store one photo or document of a record, as the measures' evidence is checked."""
    if secretary_event is not None:
        allowed = access.may_enter_secretary_events(actor, secretary_event.problem)
    else:
        allowed = penalty is not None and access.may_decide_penalty(actor)
    if not allowed:
        raise PermissionDenied(_("只有整改办可以上传该记录的附件。"))
    extension = evidence_check(uploaded)
    stored_name, sha256, mime = evidence_store(uploaded, extension)
    try:
        with transaction.atomic():
            record_file = RecordFile.objects.create(
                secretary_event=secretary_event,
                penalty=penalty,
                original_name=uploaded.name[:200],
                stored_name=stored_name,
                content_type=mime,
                size=uploaded.size,
                sha256=sha256,
                uploaded_by=actor,
            )
            audit_record(
                actor=actor,
                action="record.file_upload",
                target=secretary_event or penalty,
                changes={"sha256": sha256, "size": uploaded.size},
            )
    except Exception:
        evidence_discard(stored_name)
        raise
    return record_file


def _files_checked(files):
    """Every file checked before anything is written, so one bad photo refuses the whole entry."""
    files = list(files or ())
    for uploaded in files:
        evidence_check(uploaded)
    return files


def secretary_event_create(*, actor, problem, files=(), **fields):
    """现场部署、现场调度、现场督办 by the secretary on a problem they lead, with notes and photos."""
    if not access.may_enter_secretary_events(actor):
        raise PermissionDenied(_("只有整改办可以录入书记领办活动。"))
    if not problem.is_secretary_led:
        raise ValidationError(_("问题“%(code)s”不是书记领办问题。") % {"code": problem.code})
    files = _files_checked(files)
    with transaction.atomic():
        event = SecretaryEvent(round=problem.round, problem=problem, entered_by=actor, **fields)
        event.full_clean()
        event.save()
        audit_record(
            actor=actor,
            action="record.secretary_event",
            target=event,
            changes={"kind": event.kind, "date": event.held_on.isoformat(), "code": problem.code},
        )
        for uploaded in files:
            record_file_attach(actor=actor, uploaded=uploaded, secretary_event=event)
    return event


# --- penalties -----------------------------------------------------------------------------------


def penalty_enter(*, actor, inspection_round, unit, kind, reason, target=Penalty.Target.UNIT, files=(), **fields):
    """A penalty the office decides by hand, on a unit or one of its leading cadres: confirmed at once."""
    if not access.may_decide_penalty(actor):
        raise PermissionDenied(_("只有整改办可以录入通报和扣分。"))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("请填写事由。"))
    points = fields.get("points") or 0
    if kind == Penalty.Kind.DEDUCTION and not points:
        raise ValidationError(_("年末实绩考评扣分须填写扣分分值。"))
    if kind != Penalty.Kind.DEDUCTION and points:
        raise ValidationError(_("只有年末实绩考评扣分填写分值，通报批评和取消评优评先资格不扣分。"))
    if target == Penalty.Target.CADRE and not str(fields.get("cadre_name") or "").strip():
        raise ValidationError(_("对领导干部的处理须填写干部姓名。"))
    if target == Penalty.Target.UNIT:
        fields["cadre_name"] = fields["cadre_post"] = ""
    files = _files_checked(files)
    now = timezone.now()
    fields.setdefault("assessment_year", timezone.localdate().year)
    with transaction.atomic():
        penalty = Penalty(
            round=inspection_round,
            unit=unit,
            kind=kind,
            target=target,
            rule=Penalty.MANUAL,
            reason=reason,
            state=Penalty.State.CONFIRMED,
            entered_by=actor,
            decided_by=actor,
            decided_at=now,
            **{**fields, "points": points},
        )
        penalty.full_clean()
        penalty.save()
        audit_record(
            actor=actor,
            action="penalty.enter",
            target=penalty,
            changes={"kind": kind, "unit": unit.name, "year": penalty.assessment_year, "reason": reason},
        )
        for uploaded in files:
            record_file_attach(actor=actor, uploaded=uploaded, penalty=penalty)
    return penalty


@transaction.atomic
def penalties_confirm_many(*, actor, penalty_ids):
    """Confirm many of the weekly cycle's drafts at once; returns how many were confirmed.

    Only drafts are confirmed (one already decided, by someone else meanwhile, is left as it is);
    each confirmed penalty gets its own audit row.
    """
    if not access.may_decide_penalty(actor):
        raise PermissionDenied(_("只有整改办可以确认通报和扣分。"))
    ids = sorted({int(pk) for pk in penalty_ids if str(pk).isdecimal()})
    if not ids:
        raise ValidationError(_("请勾选要确认的待确认记录。"))
    drafts = list(
        Penalty.objects.select_for_update(of=("self",))
        .filter(pk__in=ids, state=Penalty.State.DRAFT)
        .select_related("unit", "cycle")
        .order_by("pk")
    )
    now = timezone.now()
    for penalty in drafts:
        penalty.state = Penalty.State.CONFIRMED
        penalty.decided_by = actor
        penalty.decided_at = now
        if penalty.assessment_year is None:
            penalty.assessment_year = penalty.cycle.iso_year if penalty.cycle else timezone.localdate().year
    Penalty.objects.bulk_update(drafts, ["state", "decided_by", "decided_at", "assessment_year"])
    audit_record_many(
        actor=actor,
        entries=[("penalty.confirmed", penalty, {"kind": penalty.kind, "rows": len(drafts)}) for penalty in drafts],
    )
    return len(drafts)


# --- releasing to the provincial team --------------------------------------------------------------


@transaction.atomic
def release_create(*, actor, inspection_round, kind, snapshot=None, final_report=None, note=""):
    """Release a week's package (``snapshot``) or the round's final report (``final_report``, an
    uploaded 整改情况报告定稿) to the provincial team.

    Releasing is one-way and once: the provincial team may already have downloaded it.
    """
    if not access.may_release(actor):
        raise PermissionDenied(_("只有整改办可以向省巡视组报送。"))
    if kind == Release.Kind.WEEKLY_PACKAGE:
        final_report = None
        if snapshot is None or not snapshot.package_name:
            raise ValidationError(_("该周尚未生成报送材料包，不能报送。"))
        if Release.objects.filter(snapshot=snapshot).exists():
            raise ValidationError(_("该周材料已报送。"))
    elif kind == Release.Kind.FINAL_REPORT:
        snapshot = None
        if final_report is None or final_report.round_id != inspection_round.pk:
            raise ValidationError(_("请先上传本轮的整改情况报告定稿，再报送。"))
        # The round's row, locked: two offices releasing at once wait for each other here.
        InspectionRound.objects.select_for_update().filter(pk=inspection_round.pk).first()
        if Release.objects.filter(round=inspection_round, kind=Release.Kind.FINAL_REPORT).exists():
            raise ValidationError(_("本轮整改情况报告已报送省巡视组，不能再次报送或撤回。"))
    else:
        raise ValidationError(_("请选择报送类别。"))
    release = Release.objects.create(
        round=inspection_round,
        kind=kind,
        snapshot=snapshot,
        final_report=final_report,
        note=note[:200],
        released_by=actor,
    )
    changes = {"kind": kind}
    if snapshot is not None:
        changes["week"] = f"{snapshot.cycle.iso_year}-W{snapshot.cycle.iso_week:02d}"
    if final_report is not None:
        changes.update(file=final_report.original_name, sha256=final_report.sha256)
    audit_record(actor=actor, action=f"release.{kind}", target=release, changes=changes)
    return release
