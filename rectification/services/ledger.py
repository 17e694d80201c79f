"""Writes to the ledger itself: rounds, aspects, campaigns, problems, measures and their assignment.

Each service checks the actor's right, writes an audit row and, where assignments change,
moves the object permissions in the same transaction.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.roles import Role
from accounts.services import audit_record

from ..access import can_act_on_problem, permissions_sync_for_problem
from ..models import AcceptanceCriterion, Aspect, Campaign, InspectionRound, Manifestation, Measure, Milestone, Problem, Track
from .notifications import notify_new_assignment

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
                 rectification_end=None, previous_round=None, track_offices_review=False):
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
                   previous_problem=None, is_secretary_led=False, campaign=None, seq=0, sync_permissions=True):
    """Create a problem with its responsibilities; see ``measure_create`` for ``sync_permissions``."""
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
                   handler_name="", handler_phone="", expected_deliverable="", milestones=(), seq=0,
                   sync_permissions=True):
    """Add a measure to a problem: the office, or the lead unit decomposing its own problem.

    ``milestones`` is a sequence of (title, due_date) pairs. A caller that adds many measures of a
    problem in one transaction (the ledger import) passes ``sync_permissions=False`` and calls
    ``permissions_sync_for_problem`` once afterwards, in that same transaction.
    """
    if not (actor.has_role(Role.OFFICE) or can_act_on_problem(actor, problem, "decompose")):
        raise PermissionDenied(_("只有整改办或该问题的牵头单位可以分解整改措施。"))
    if problem.due_date and due_date > problem.due_date:
        raise ValidationError(
            _("措施完成时限（%(due)s）不能晚于问题的整改时限（%(limit)s）。")
            % {"due": due_date.isoformat(), "limit": problem.due_date.isoformat()}
        )
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
    if sync_permissions:
        permissions_sync_for_problem(problem)
    audit_record(
        actor=actor,
        action="measure.create",
        target=measure,
        changes={"code": code, "owner_unit": owner_unit.name, "due_date": due_date.isoformat()},
    )
    notify_new_assignment(measure)
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
    # The new unit has to claim it afresh (百分之百全面认领).
    measure.claim_state = Measure.ClaimState.PENDING
    measure.claimed_by = None
    measure.claimed_at = None
    measure.objection_reason = ""
    measure.save(
        update_fields=[
            "owner_unit", "handler_name", "handler_phone", "claim_state", "claimed_by", "claimed_at",
            "objection_reason", "updated_at",
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
