"""The writes of the ledger import: applying a confirmed plan, and the problem update it needs.

Creating problems and measures and moving responsibilities go through the services of
``rectification.services`` (problem_create, measure_create, problem_assign, measure_reassign),
so object permissions are re-synced and audit rows written exactly as when the office works on
screen; a measure's other fields change through ``measure_update``, the one the decomposition page
uses. ``problem_update`` below does the same for a problem's ledger fields.
"""

import datetime
from collections import Counter

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max, ProtectedError
from django.utils.translation import gettext as _

from rectification import access
from rectification.access import permissions_sync_for_problem, permissions_sync_for_problems
from rectification.models import AcceptanceCriterion, Manifestation, Measure, Notification, Problem
from rectification.services import ledger
from rectification.services.notifications import notify_each
from rectification.services.setup import measure_update, measures_withdraw_by_office, milestone_update

from .audit import audit_record
from .pending import pending_resolve

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


def _require_office(actor):
    if not access.may_manage_ledger(actor):
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
    for seq, text in enumerate(texts[len(existing) :], start=len(existing) + 1):
        create(seq, text)
    for row in existing[len(texts) :]:
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


def _with_aspect(values, aspects):
    """A draft's values, with an aspect given by its title (one this import creates) as the aspect itself."""
    values = dict(values)
    if isinstance(values.get("aspect"), str):
        values["aspect"] = aspects[values["aspect"]]
    return values


def _distinct(problems):
    return list({problem.pk: problem for problem in problems}.values())


def _problem_apply(actor, draft, aspects):
    """An existing problem changed by the file: through the services, one at a time."""
    values = _with_aspect(draft.values, aspects)
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


def _measure_apply(actor, draft):
    """An existing measure changed by the file: through the services, one at a time."""
    values = dict(draft.values)
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


def _due_date_moved(actor, measure, old_due):
    """A claimed measure's due date moved by the file: its open milestones keep their share of the
    span from the start date (a milestone half-way stays half-way), and its unit is told."""
    measure = Measure.objects.select_related("owner_unit").get(pk=measure.pk)
    start, new_due = measure.start_date, measure.due_date
    old_span, new_span = (old_due - start).days, (new_due - start).days
    for milestone in measure.milestones.open().order_by("seq"):
        share = (milestone.due_date - start).days / old_span if old_span > 0 else 1
        day = start + datetime.timedelta(days=min(new_span, max(0, round(share * new_span))))
        if day != milestone.due_date:
            milestone_update(actor=actor, milestone=milestone, title=milestone.title, due_date=day)
    notify_each(
        recipients=access.unit_staff(measure.owner_unit),
        kind=Notification.Kind.DISPATCH,
        text=_(
            "整改办导入台账时调整了措施 %(code)s 的完成时限：%(old)s → %(new)s，未完成的时间节点已相应调整，请核对。"
        )
        % {"code": measure.code, "old": old_due.isoformat(), "new": new_due.isoformat()},
        link=measure.get_absolute_url(),
        dedup_key=f"due-moved:{measure.pk}:{new_due.isoformat()}",
    )


def _measure_seq_top(problems):
    """The highest measure number of each of these problems already in the ledger, in one query."""
    tops = Measure.objects.filter(problem__in=problems).values("problem_id").annotate(top=Max("seq"))
    return {problem.pk: 0 for problem in problems} | {row["problem_id"]: row["top"] for row in tops}


@transaction.atomic
def ledger_import(*, actor, plan, file_name="", sha256="", withdraw=()):
    """Apply a confirmed import plan: everything is saved, or (on any error) nothing is.

    ``withdraw``: measures of ``plan.missing_measures`` (left out of the file) the office chose to
    withdraw in the preview; the others are kept. Withdrawn through ``measures_withdraw_by_office``.

    New problems and measures, most of a first import, are written together by
    ``problem_create_many`` and ``measure_create_many`` (the same rows, grants, audit rows and
    notices as one by one, in a number of queries that does not grow with the file). Changes to
    problems and measures already in the ledger go one by one through the services.
    """
    _require_office(actor)
    if plan.errors:
        raise ValidationError(_("导入文件存在错误，未保存任何数据。"))
    # Leaders and units the system does not know yet are kept under their written names (待开通).
    pending_resolve(actor=actor, plan=plan)
    inspection_round = plan.inspection_round
    aspects = {aspect.title: aspect for aspect in inspection_round.aspects.all()}
    aspect_seq = inspection_round.aspects.aggregate(top=Max("seq"))["top"] or 0
    for offset, title in enumerate(plan.new_aspects, start=1):
        aspects[title] = ledger.aspect_create(
            actor=actor, inspection_round=inspection_round, seq=aspect_seq + offset, title=title
        )

    counts: Counter[str] = Counter()
    saved = {}
    new_problems = []
    for draft in plan.problems:
        if draft.action == "unchanged":
            saved[draft.code] = draft.existing
            continue
        counts[f"problems_{draft.action}d"] += 1
        if draft.existing is None:
            new_problems.append(draft)
        else:
            saved[draft.code] = _problem_apply(actor, draft, aspects)
    # New problems go after the ones already in the ledger, in the file's order.
    problem_seq = Problem.objects.filter(round=inspection_round).aggregate(top=Max("seq"))["top"] or 0
    created = ledger.problem_create_many(
        actor=actor,
        inspection_round=inspection_round,
        problems=[
            {**_with_aspect(draft.values, aspects), "code": draft.code, "seq": problem_seq + n}
            for n, draft in enumerate(new_problems, start=1)
        ],
        # Their grants are written once, with their measures', below.
        sync_permissions=False,
    )
    saved.update((problem.code, problem) for problem in created)

    new_measures = []
    for draft in plan.measures:
        if draft.action == "unchanged":
            continue
        counts[f"measures_{draft.action}d"] += 1
        if draft.existing is None:
            new_measures.append((draft, saved.get(draft.problem_code) or draft.problem))
        else:
            _measure_apply(actor, draft)
    # New measures go after the ones their problem already has, in the file's order.
    measure_seq = _measure_seq_top(_distinct(problem for _draft, problem in new_measures))
    rows = []
    for draft, problem in new_measures:
        measure_seq[problem.pk] += 1
        rows.append({**draft.values, "problem": problem, "code": draft.code, "seq": measure_seq[problem.pk]})
    ledger.measure_create_many(actor=actor, measures=rows, sync_permissions=False)

    for measure, old_due, _new_due in plan.moved_due_dates:
        _due_date_moved(actor, measure, old_due)

    if withdraw:
        missing = {measure.pk for measure in plan.missing_measures}
        if any(measure.pk not in missing for measure in withdraw):
            raise ValidationError(_("只能撤销本文件中未列出的措施。"))
        counts["measures_withdrawn"] = measures_withdraw_by_office(
            actor=actor, measures=withdraw, reason=_("重新导入台账时文件中未列出"), file_name=file_name
        )

    # The grants of every new problem and of every problem given new measures, once each, in
    # this transaction: not once per problem and again per measure.
    permissions_sync_for_problems(_distinct([*created, *(problem for _draft, problem in new_measures)]))
    audit_record(
        actor=actor,
        action="excel.import",
        target=inspection_round,
        changes={"file": file_name, "sha256": sha256, "aspects_created": len(plan.new_aspects), **counts},
    )
    return dict(counts)
