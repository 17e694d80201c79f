"""Writes to the ledger itself: rounds, aspects, campaigns, problems, measures and their assignment.

Each service checks the actor's right, writes an audit row and, where assignments change,
moves the object permissions in the same transaction.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import CheckConstraint, Max
from django.utils.translation import gettext as _

from .. import access
from ..access import permissions_sync_for_problem, permissions_sync_for_problems
from ..models import (
    AcceptanceCriterion,
    Aspect,
    Campaign,
    DeadlineCategory,
    InspectionRound,
    Manifestation,
    Measure,
    Milestone,
    Problem,
    Track,
    measure_due_refusal,
)
from .audit import audit_record, audit_record_many
from .notifications import notify_new_assignment, notify_new_assignments


def _require_office(actor):
    if not access.may_manage_ledger(actor):
        raise PermissionDenied(_("只有整改办可以进行此项操作。"))


def _validated(instance):
    # full_clean runs the Meta constraints too, so a bad row is refused with a Chinese message
    # before the database would refuse it with a bare integrity error.
    instance.full_clean()
    return instance


# The check constraints of the models created in bulk, as Python predicates: Django checks each
# constraint with a query of its own, one per row. A constraint added to the model without its
# predicate here makes ``_validated_in_python`` fail loudly rather than go unchecked.
_CHECKS = {
    "problem_by_date_needs_due_date": lambda p: (
        p.deadline_category != DeadlineCategory.BY_DATE or p.due_date is not None
    ),
    "problem_campaign_only_for_common": lambda p: p.problem_type == Problem.ProblemType.COMMON or p.campaign_id is None,
    "measure_percent_at_most_100": lambda m: m.percent <= 100,
    "measure_due_after_start": lambda m: m.due_date >= m.start_date,
}


def _validated_in_python(instance, label):
    """``full_clean`` without a query: the caller vouches for the related objects and for uniqueness.

    Fields are checked by their own validators (lengths, choices, blanks), foreign keys excepted
    (the caller passes loaded objects); check constraints by their predicate in ``_CHECKS``.
    Messages name the item (``label``), as there may be hundreds in one batch.
    """
    try:
        instance.clean_fields(exclude=[f.name for f in instance._meta.concrete_fields if f.is_relation])
        for constraint in instance._meta.constraints:
            if isinstance(constraint, CheckConstraint) and not _CHECKS[constraint.name](instance):
                raise ValidationError(constraint.get_violation_error_message())
    except ValidationError as refused:
        raise ValidationError([f"{label}：{message}" for message in refused.messages]) from None
    return instance


def _unique_in_batch(instances, key, fields, taken, label):
    """Refuse a batch where two items share ``key`` or one takes a key in ``taken`` (read in one query)."""
    seen = set(taken)
    for instance in instances:
        if key(instance) in seen:
            refused = instance.unique_error_message(type(instance), fields)
            raise ValidationError(f"{label(instance)}：{refused.messages[0]}")
        seen.add(key(instance))


def _problem_label(code):
    return _("问题“%(code)s”") % {"code": code}


def _measure_label(code):
    return _("措施“%(code)s”") % {"code": code}


def _distinct(objects):
    return list({obj.pk: obj for obj in objects}.values())


def _links(relation, pairs):
    """Rows of a many-to-many table, for ``bulk_create``: ``pairs`` of (owner, related object)."""
    field = relation.field
    return [
        relation.through(**{field.m2m_field_name(): owner, field.m2m_reverse_field_name(): other})
        for owner, other in pairs
    ]


@transaction.atomic
def round_create(
    *,
    actor,
    title,
    inspection_team,
    feedback_date,
    report_deadline,
    track_offices,
    kind=InspectionRound.Kind.PROVINCIAL,
    period_start=None,
    period_end=None,
    rectification_end=None,
    previous_round=None,
    track_offices_review=False,
):
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
            track_offices_review=track_offices_review,
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
def round_after_deadline_set(*, actor, inspection_round, cadence, look_back_date):
    """The office sets how often the cycle runs after the report deadline and the look-back date."""
    _require_office(actor)
    inspection_round = _round_locked(inspection_round)
    before = {
        "after_deadline_cadence": inspection_round.after_deadline_cadence,
        "look_back_date": inspection_round.look_back_date.isoformat() if inspection_round.look_back_date else None,
    }
    inspection_round.after_deadline_cadence = cadence
    inspection_round.look_back_date = look_back_date
    _validated(inspection_round)
    inspection_round.save(update_fields=["after_deadline_cadence", "look_back_date"])
    after = {
        "after_deadline_cadence": cadence,
        "look_back_date": look_back_date.isoformat() if look_back_date else None,
    }
    changes = {key: [before[key], after[key]] for key in after if before[key] != after[key]}
    if changes:
        audit_record(actor=actor, action="round.after_deadline", target=inspection_round, changes=changes)
    return inspection_round


def _round_locked(inspection_round):
    # New aspects and problems are numbered one past the highest number in use: holding the
    # round's row until commit keeps two additions at once from taking the same number.
    return InspectionRound.objects.select_for_update().get(pk=inspection_round.pk)


@transaction.atomic
def aspect_create(*, actor, inspection_round, title, seq=None):
    """Add an aspect to a round, numbered after the last one unless ``seq`` is given."""
    _require_office(actor)
    if seq is None:
        _round_locked(inspection_round)
        seq = (Aspect.objects.filter(round=inspection_round).aggregate(top=Max("seq"))["top"] or 0) + 1
    aspect = _validated(Aspect(round=inspection_round, seq=seq, title=title))
    aspect.save()
    audit_record(actor=actor, action="aspect.create", target=aspect, changes={"title": title})
    return aspect


@transaction.atomic
def campaign_create(*, actor, inspection_round, name, lead_unit, description="", deadline=None):
    _require_office(actor)
    campaign = _validated(
        Campaign(round=inspection_round, name=name, lead_unit=lead_unit, description=description, deadline=deadline)
    )
    campaign.save()
    audit_record(
        actor=actor,
        action="campaign.create",
        target=campaign,
        changes={"name": name, "lead_unit": lead_unit.name, "deadline": deadline.isoformat() if deadline else None},
    )
    return campaign


def _responsibility_snapshot(problem, responsible_leaders=None, responsible_units=None):
    """The four responsibility fields as the audit log shows them; the lists default to the stored ones."""
    if responsible_leaders is None:
        responsible_leaders = problem.responsible_leaders.all()
    if responsible_units is None:
        responsible_units = problem.responsible_units.all()
    return {
        "lead_official": str(problem.lead_official),
        "responsible_leaders": sorted(str(u) for u in responsible_leaders),
        "lead_unit": problem.lead_unit.name,
        "responsible_units": sorted(u.name for u in responsible_units),
    }


def _problem_new(
    *,
    inspection_round,
    aspect,
    track,
    code,
    title,
    text,
    problem_type,
    deadline_category,
    lead_official,
    lead_unit,
    due_date=None,
    goal="",
    previous_problem=None,
    is_secretary_led=False,
    campaign=None,
    seq=0,
):
    """The unsaved problem that ``problem_create`` and ``problem_create_many`` write."""
    if aspect.round_id != inspection_round.pk or track.round_id != inspection_round.pk:
        raise ValidationError(_("方面和专项必须属于同一巡视轮次。"))
    return Problem(
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


def _problem_texts(problem, manifestations, criteria):
    """The numbered 具体表现 and 验收标准 of a new problem, unsaved."""
    return (
        [Manifestation(problem=problem, seq=i, text=t) for i, t in enumerate(manifestations, start=1)],
        [AcceptanceCriterion(problem=problem, seq=i, text=t) for i, t in enumerate(criteria, start=1)],
    )


@transaction.atomic
def problem_create(
    *,
    actor,
    inspection_round,
    aspect,
    track,
    code,
    title,
    text,
    problem_type,
    deadline_category,
    lead_official,
    lead_unit,
    due_date=None,
    goal="",
    responsible_leaders=(),
    responsible_units=(),
    manifestations=(),
    criteria=(),
    previous_problem=None,
    is_secretary_led=False,
    campaign=None,
    seq=None,
    sync_permissions=True,
):
    """Create a problem with its responsibilities; see ``measure_create`` for ``sync_permissions``.

    It is placed after the round's other problems unless ``seq`` is given.
    """
    _require_office(actor)
    if seq is None:
        _round_locked(inspection_round)
        seq = (Problem.objects.filter(round=inspection_round).aggregate(top=Max("seq"))["top"] or 0) + 1
    problem = _validated(
        _problem_new(
            inspection_round=inspection_round,
            aspect=aspect,
            track=track,
            code=code,
            title=title,
            text=text,
            problem_type=problem_type,
            deadline_category=deadline_category,
            lead_official=lead_official,
            lead_unit=lead_unit,
            due_date=due_date,
            goal=goal,
            previous_problem=previous_problem,
            is_secretary_led=is_secretary_led,
            campaign=campaign,
            seq=seq,
        )
    )
    problem.save()
    problem.responsible_leaders.set(responsible_leaders)
    problem.responsible_units.set(responsible_units)
    problem_manifestations, problem_criteria = _problem_texts(problem, manifestations, criteria)
    Manifestation.objects.bulk_create(problem_manifestations)
    AcceptanceCriterion.objects.bulk_create(problem_criteria)
    if sync_permissions:
        permissions_sync_for_problem(problem)
    audit_record(
        actor=actor,
        action="problem.create",
        target=problem,
        changes={"code": code, **_responsibility_snapshot(problem)},
    )
    return problem


@transaction.atomic
def problem_create_many(*, actor, inspection_round, problems, sync_permissions=True):
    """``problem_create`` for many problems of one round, in a fixed number of queries.

    ``problems`` holds one dict of ``problem_create``'s arguments per problem (without ``actor``,
    ``inspection_round`` and ``sync_permissions``). The same rows, grants and audit rows (one per
    problem) as that many calls, checked in Python instead of one query per constraint and row;
    all or nothing. Returns the problems, in the given order.
    """
    _require_office(actor)
    built = []
    for values in problems:
        values = dict(values)
        leaders = _distinct(values.pop("responsible_leaders", ()))
        units = _distinct(values.pop("responsible_units", ()))
        texts = (values.pop("manifestations", ()), values.pop("criteria", ()))
        problem = _problem_new(inspection_round=inspection_round, **values)
        built.append((_validated_in_python(problem, _problem_label(problem.code)), leaders, units, texts))
    created = [problem for problem, *_rest in built]
    _unique_in_batch(
        created,
        key=lambda problem: problem.code,
        fields=("round", "code"),
        taken=Problem.objects.filter(round=inspection_round, code__in=[p.code for p in created]).values_list(
            "code", flat=True
        ),
        label=lambda problem: _problem_label(problem.code),
    )
    Problem.objects.bulk_create(created)
    Problem.responsible_leaders.through.objects.bulk_create(
        _links(
            Problem.responsible_leaders,
            [(problem, leader) for problem, leaders, _units, _t in built for leader in leaders],
        )
    )
    Problem.responsible_units.through.objects.bulk_create(
        _links(Problem.responsible_units, [(problem, unit) for problem, _leaders, units, _t in built for unit in units])
    )
    manifestations, criteria = [], []
    for problem, _leaders, _units, texts in built:
        problem_manifestations, problem_criteria = _problem_texts(problem, *texts)
        manifestations += problem_manifestations
        criteria += problem_criteria
    Manifestation.objects.bulk_create(manifestations)
    AcceptanceCriterion.objects.bulk_create(criteria)
    if sync_permissions:
        permissions_sync_for_problems(created)
    audit_record_many(
        actor=actor,
        entries=[
            ("problem.create", problem, {"code": problem.code, **_responsibility_snapshot(problem, leaders, units)})
            for problem, leaders, units, _texts in built
        ],
    )
    return created


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


def _measure_new(
    *,
    problem,
    code,
    text,
    kind,
    owner_unit,
    start_date,
    due_date,
    handler_name="",
    handler_phone="",
    expected_deliverable="",
    seq=0,
    ongoing_after_due=False,
):
    """The unsaved measure that ``measure_create`` and ``measure_create_many`` write."""
    if refusal := measure_due_refusal(due_date=due_date, problem_due_date=problem.due_date):
        raise ValidationError(refusal)
    return Measure(
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
        ongoing_after_due=ongoing_after_due,
        expected_deliverable=expected_deliverable,
    )


def _milestones_new(measure, milestones):
    return [
        Milestone(measure=measure, seq=i, title=title, due_date=day)
        for i, (title, day) in enumerate(milestones, start=1)
    ]


def _measure_created_changes(measure):
    return {"code": measure.code, "owner_unit": measure.owner_unit.name, "due_date": measure.due_date.isoformat()}


def _require_decompose(actor, problem):
    if not access.may_decompose(actor, problem):
        raise PermissionDenied(_("只有整改办或该问题的牵头单位可以分解整改措施。"))


def _measure_number_next(problem):
    """One past the highest number a measure of ``problem`` has, by its code or its place in order.

    Taken from the highest rather than from a count, so a withdrawn measure leaves no gap that
    the next number would fall into (and collide with the measure after it). The caller holds the
    problem's row lock, so two additions at once cannot take the same number.
    """
    prefix = f"{problem.code}."
    top = 0
    for code, seq in Measure.objects.filter(problem=problem).values_list("code", "seq"):
        number = code.removeprefix(prefix)
        top = max(top, seq, int(number) if code.startswith(prefix) and number.isdecimal() else 0)
    return top + 1


@transaction.atomic
def measure_create(
    *,
    actor,
    problem,
    text,
    kind,
    owner_unit,
    start_date,
    due_date,
    code=None,
    handler_name="",
    handler_phone="",
    expected_deliverable="",
    milestones=(),
    seq=0,
    ongoing_after_due=False,
    sync_permissions=True,
):
    """Add a measure to a problem: the office, or the lead unit decomposing its own problem.

    Without a ``code`` the measure takes the problem's next number (code "<problem>.<n>", placed
    last). ``milestones`` is a sequence of (title, due_date) pairs. A caller that adds many
    measures of a problem in one transaction passes ``sync_permissions=False`` and calls
    ``permissions_sync_for_problem`` once afterwards, in that same transaction.
    """
    _require_decompose(actor, problem)
    if code is None:
        Problem.objects.select_for_update().filter(pk=problem.pk).get()
        seq = _measure_number_next(problem)
        code = f"{problem.code}.{seq}"
    measure = _validated(
        _measure_new(
            problem=problem,
            code=code,
            text=text,
            kind=kind,
            owner_unit=owner_unit,
            start_date=start_date,
            due_date=due_date,
            handler_name=handler_name,
            handler_phone=handler_phone,
            expected_deliverable=expected_deliverable,
            seq=seq,
            ongoing_after_due=ongoing_after_due,
        )
    )
    measure.save()
    Milestone.objects.bulk_create(_milestones_new(measure, milestones))
    if sync_permissions:
        permissions_sync_for_problem(problem)
    audit_record(actor=actor, action="measure.create", target=measure, changes=_measure_created_changes(measure))
    notify_new_assignment(measure)
    return measure


@transaction.atomic
def measure_create_many(*, actor, measures, sync_permissions=True):
    """``measure_create`` for many measures (of one problem or several), in a fixed number of queries.

    ``measures`` holds one dict of ``measure_create``'s arguments per measure, ``problem``
    included (without ``actor`` and ``sync_permissions``). The same rows, grants, audit rows (one
    per measure) and new-assignment notices as that many calls, checked in Python instead of one
    query per constraint and row; all or nothing. Returns the measures, in the given order.
    """
    problems = _distinct(values["problem"] for values in measures)
    for problem in problems:
        _require_decompose(actor, problem)
    built = []
    for values in measures:
        values = dict(values)
        milestones = values.pop("milestones", ())
        try:
            measure = _measure_new(**values)
        except ValidationError as refused:
            raise ValidationError([f"{_measure_label(values['code'])}：{m}" for m in refused.messages]) from None
        built.append((_validated_in_python(measure, _measure_label(measure.code)), milestones))
    created = [measure for measure, _milestones in built]
    _unique_in_batch(
        created,
        key=lambda measure: (measure.problem_id, measure.code),
        fields=("problem", "code"),
        taken=Measure.objects.filter(problem__in=problems, code__in={m.code for m in created}).values_list(
            "problem_id", "code"
        ),
        label=lambda measure: _measure_label(measure.code),
    )
    Measure.objects.bulk_create(created)
    Milestone.objects.bulk_create(
        [row for measure, milestones in built for row in _milestones_new(measure, milestones)]
    )
    if sync_permissions:
        permissions_sync_for_problems(problems)
    audit_record_many(
        actor=actor, entries=[("measure.create", measure, _measure_created_changes(measure)) for measure in created]
    )
    notify_new_assignments(created)
    return created


@transaction.atomic
def measure_reassign(*, actor, measure, owner_unit, handler_name="", handler_phone=""):
    """Give a measure to another unit; the old unit loses access in the same commit."""
    _require_office(actor)
    measure = Measure.objects.select_for_update().select_related("owner_unit").get(pk=measure.pk)
    old_unit = measure.owner_unit
    measure.owner_unit = owner_unit
    measure.handler_name = handler_name
    measure.handler_phone = handler_phone
    # The new unit has to claim it afresh (百分之百全面认领).
    measure.claim_state = Measure.ClaimState.PENDING
    measure.claimed_by = None
    measure.claimed_at = None
    measure.objection_reason = ""
    measure.save(
        update_fields=[
            "owner_unit",
            "handler_name",
            "handler_phone",
            "claim_state",
            "claimed_by",
            "claimed_at",
            "objection_reason",
            "updated_at",
        ]
    )
    permissions_sync_for_problem(measure.problem)
    audit_record(
        actor=actor,
        action="measure.reassign",
        target=measure,
        changes={"owner_unit": [old_unit.name, owner_unit.name]},
    )
    notify_new_assignment(measure)
    return measure
