"""The writes of the ledger import: applying a confirmed plan, and the two updates it needs.

Creating problems and measures and moving responsibilities go through the services of
``rectification.services`` (problem_create, measure_create, problem_assign, measure_reassign),
so object permissions are re-synced and audit rows written exactly as when the office works on
screen. The two updates below do the same for the ledger fields those services do not change.
"""

from collections import Counter

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max, ProtectedError
from django.utils.translation import gettext as _

from accounts.roles import Role
from accounts.services import audit_record
from rectification import services as ledger
from rectification.access import permissions_sync_for_problem
from rectification.models import AcceptanceCriterion, Manifestation, Measure, Problem

PROBLEM_UPDATABLE = (
    "aspect",
    "track",
    "title",
    "text",
    "problem_type",
    "deadline_category",
    "due_date",
    "goal",
    "campaign",
    "previous_problem",
    "is_secretary_led",
)
RESPONSIBILITY_FIELDS = ("lead_official", "lead_unit", "responsible_leaders", "responsible_units")
MEASURE_UPDATABLE = ("text", "kind", "handler_name", "handler_phone", "start_date", "due_date", "expected_deliverable")


def _require_office(actor):
    if not actor.has_role(Role.OFFICE):
        raise PermissionDenied(_("只有整改办可以进行此项操作。"))


def _shown(value):
    if value is None:
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "_meta"):
        return str(value)
    return value


def _texts_replace(existing, texts, create):
    """Bring numbered child texts (具体表现, 验收标准) in line with ``texts``, keeping rows in place."""
    for row, text in zip(existing, texts, strict=False):
        if row.text != text:
            row.text = text
            row.save(update_fields=["text"])
    for seq, text in enumerate(texts[len(existing):], start=len(existing) + 1):
        create(seq, text)
    for row in existing[len(texts):]:
        try:
            row.delete()
        except ProtectedError:
            # A criterion ticked in a close-out application is history and is never removed.
            raise ValidationError(
                _("“%(text)s”已被销号申请等记录引用，不能通过导入删除。") % {"text": row.text[:30]}
            ) from None


@transaction.atomic
def problem_update(*, actor, problem, manifestations=None, criteria=None, **fields):
    """Change the ledger fields of a problem. Its responsibilities change through problem_assign."""
    _require_office(actor)
    unknown = set(fields) - set(PROBLEM_UPDATABLE)
    if unknown:
        raise TypeError(f"problem_update() cannot change {sorted(unknown)}")
    problem = Problem.objects.select_for_update().get(pk=problem.pk)
    changes = {}
    for name, value in fields.items():
        old = getattr(problem, name)
        if old != value:
            changes[name] = [_shown(old), _shown(value)]
            setattr(problem, name, value)
    if problem.aspect.round_id != problem.round_id or problem.track.round_id != problem.round_id:
        raise ValidationError(_("方面和专项必须属于同一巡视轮次。"))
    problem.full_clean()
    problem.save()
    if manifestations is not None:
        rows = list(problem.manifestations.order_by("seq"))
        old = [row.text for row in rows]
        if old != list(manifestations):
            _texts_replace(
                rows,
                list(manifestations),
                lambda seq, text: Manifestation.objects.create(problem=problem, seq=seq, text=text),
            )
            changes["manifestations"] = [old, list(manifestations)]
    if criteria is not None:
        rows = list(problem.criteria.filter(measure__isnull=True).order_by("seq", "id"))
        old = [row.text for row in rows]
        if old != list(criteria):
            _texts_replace(
                rows,
                list(criteria),
                lambda seq, text: AcceptanceCriterion.objects.create(problem=problem, seq=seq, text=text),
            )
            changes["criteria"] = [old, list(criteria)]
    # A new track changes which track office reads the problem; re-syncing keeps every grant exact.
    permissions_sync_for_problem(problem)
    audit_record(actor=actor, action="problem.update", target=problem, changes=changes)
    return problem


@transaction.atomic
def measure_update(*, actor, measure, **fields):
    """Change the ledger fields of a measure. Its owner unit changes through measure_reassign."""
    _require_office(actor)
    unknown = set(fields) - set(MEASURE_UPDATABLE)
    if unknown:
        raise TypeError(f"measure_update() cannot change {sorted(unknown)}")
    measure = Measure.objects.select_for_update().get(pk=measure.pk)
    changes = {}
    for name, value in fields.items():
        old = getattr(measure, name)
        if old != value:
            changes[name] = [_shown(old), _shown(value)]
            setattr(measure, name, value)
    measure.full_clean()
    measure.save()
    audit_record(actor=actor, action="measure.update", target=measure, changes=changes)
    return measure


def _problem_apply(actor, draft, inspection_round, aspects, next_seq):
    values = dict(draft.values)
    if isinstance(values.get("aspect"), str):
        values["aspect"] = aspects[values["aspect"]]
    if draft.existing is None:
        # Its grants are synced once, after its measures (see ledger_import).
        return ledger.problem_create(
            actor=actor, inspection_round=inspection_round, code=draft.code, seq=next_seq(), sync_permissions=False, **values
        )
    problem = draft.existing
    if any(name in values for name in RESPONSIBILITY_FIELDS):
        problem = ledger.problem_assign(
            actor=actor,
            problem=problem,
            lead_official=values.get("lead_official", problem.lead_official),
            lead_unit=values.get("lead_unit", problem.lead_unit),
            responsible_leaders=values.get("responsible_leaders", list(problem.responsible_leaders.all())),
            responsible_units=values.get("responsible_units", list(problem.responsible_units.all())),
        )
    others = {name: value for name, value in values.items() if name not in RESPONSIBILITY_FIELDS}
    if others:
        problem = problem_update(actor=actor, problem=problem, **others)
    return problem


def _measure_apply(actor, draft, problem, next_seq):
    values = dict(draft.values)
    if draft.existing is None:
        # The problem's grants are synced once after all its new measures (see ledger_import).
        return ledger.measure_create(
            actor=actor, problem=problem, code=draft.code, seq=next_seq(problem), sync_permissions=False, **values
        )
    measure = draft.existing
    if "owner_unit" in values:
        measure = ledger.measure_reassign(
            actor=actor,
            measure=measure,
            owner_unit=values.pop("owner_unit"),
            handler_name=values.pop("handler_name", measure.handler_name),
            handler_phone=values.pop("handler_phone", measure.handler_phone),
        )
    if values:
        measure = measure_update(actor=actor, measure=measure, **values)
    return measure


@transaction.atomic
def ledger_import(*, actor, plan, file_name="", sha256=""):
    """Apply a confirmed import plan: everything is saved, or (on any error) nothing is."""
    _require_office(actor)
    if plan.errors:
        raise ValidationError(_("导入文件存在错误，未保存任何数据。"))
    inspection_round = plan.inspection_round
    aspects = {aspect.title: aspect for aspect in inspection_round.aspects.all()}
    aspect_seq = inspection_round.aspects.aggregate(top=Max("seq"))["top"] or 0
    for offset, title in enumerate(plan.new_aspects, start=1):
        aspects[title] = ledger.aspect_create(
            actor=actor, inspection_round=inspection_round, seq=aspect_seq + offset, title=title
        )

    # New problems and measures go after the ones already in the ledger, in the file's order.
    problem_seq = [Problem.objects.filter(round=inspection_round).aggregate(top=Max("seq"))["top"] or 0]

    def next_problem_seq():
        problem_seq[0] += 1
        return problem_seq[0]

    measure_seq = {}

    def next_measure_seq(problem):
        if problem.pk not in measure_seq:
            measure_seq[problem.pk] = problem.measures.aggregate(top=Max("seq"))["top"] or 0
        measure_seq[problem.pk] += 1
        return measure_seq[problem.pk]

    counts = Counter()
    saved = {}
    # New problems and problems given new measures: their grants are written once, at the end
    # (still in this transaction), rather than once per problem and again per measure.
    unsynced = {}
    for draft in plan.problems:
        if draft.action == "unchanged":
            saved[draft.code] = draft.existing
            continue
        saved[draft.code] = _problem_apply(actor, draft, inspection_round, aspects, next_problem_seq)
        counts[f"problems_{draft.action}d"] += 1
        if draft.existing is None:
            unsynced[saved[draft.code].pk] = saved[draft.code]
    for draft in plan.measures:
        if draft.action == "unchanged":
            continue
        problem = saved.get(draft.problem_code) or draft.problem
        _measure_apply(actor, draft, problem, next_measure_seq)
        counts[f"measures_{draft.action}d"] += 1
        if draft.existing is None:
            unsynced[problem.pk] = problem
    for problem in unsynced.values():
        permissions_sync_for_problem(problem)
    audit_record(
        actor=actor,
        action="excel.import",
        target=inspection_round,
        changes={"file": file_name, "sha256": sha256, "aspects_created": len(plan.new_aspects), **counts},
    )
    return dict(counts)
