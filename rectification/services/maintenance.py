"""The office maintaining its ledger in the browser: editing a problem, the 专项整治 campaigns, and
handing a leader's items to another after a personnel change (领导调整).

Each write checks the actor, writes audit rows and, where who is responsible changes, rewrites the
object permissions in the same transaction (``access.permissions_sync_for_problems``), so that access
follows the assignment at the commit that changes it.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import access
from ..access import permissions_sync_for_problems
from ..models import Campaign, Notification, Problem
from ..selectors import leader_items
from .audit import audit_record, audit_record_many
from .ledger import _responsibility_snapshot, problem_assign
from .ledger_import import problem_update
from .notifications import notify


def _require_office(actor):
    if not access.may_manage_ledger(actor):
        raise PermissionDenied(_("只有整改办可以进行此项操作。"))


def _shown(value):
    return value.isoformat() if value is not None else None


@transaction.atomic
def problem_edit(
    *,
    actor,
    problem,
    lead_official,
    lead_unit,
    responsible_leaders,
    responsible_units,
    manifestations=None,
    criteria=None,
    **fields,
):
    """Change a problem's texts, type, track, campaign, dates and its four responsibility fields at once.

    The responsibilities go through ``problem_assign`` (only when they change) and everything else
    through ``problem_update``: the same services, audit rows and permission re-sync as the import.
    """
    _require_office(actor)
    campaign = fields.get("campaign")
    if campaign is not None and campaign.round_id != problem.round_id:
        raise ValidationError(_("专项整治必须属于该问题所在的巡视轮次。"))
    current = Problem.objects.prefetch_related("responsible_leaders", "responsible_units").get(pk=problem.pk)
    unchanged = (
        current.lead_official_id == lead_official.pk
        and current.lead_unit_id == lead_unit.pk
        and {u.pk for u in current.responsible_leaders.all()} == {u.pk for u in responsible_leaders}
        and {u.pk for u in current.responsible_units.all()} == {u.pk for u in responsible_units}
    )
    if not unchanged:
        problem_assign(
            actor=actor,
            problem=problem,
            lead_official=lead_official,
            lead_unit=lead_unit,
            responsible_leaders=responsible_leaders,
            responsible_units=responsible_units,
        )
    return problem_update(actor=actor, problem=problem, manifestations=manifestations, criteria=criteria, **fields)


@transaction.atomic
def campaign_update(*, actor, campaign, name, lead_unit, deadline=None, description=""):
    """Rename a campaign, or change its lead unit, deadline or description."""
    _require_office(actor)
    campaign = Campaign.objects.select_for_update().select_related("lead_unit").get(pk=campaign.pk)
    before = {
        "name": campaign.name,
        "lead_unit": campaign.lead_unit.name,
        "deadline": _shown(campaign.deadline),
        "description": campaign.description,
    }
    campaign.name, campaign.lead_unit, campaign.deadline, campaign.description = name, lead_unit, deadline, description
    campaign.full_clean()
    campaign.save()
    after = {"name": name, "lead_unit": lead_unit.name, "deadline": _shown(deadline), "description": description}
    changes = {key: [before[key], after[key]] for key in after if before[key] != after[key]}
    if changes:
        audit_record(actor=actor, action="campaign.update", target=campaign, changes=changes)
    return campaign


@transaction.atomic
def leader_items_reassign(*, actor, inspection_round, old_leader, new_leader):
    """Hand every item of ``old_leader`` in a round to ``new_leader`` (a personnel change, 领导调整).

    Where the old leader is the lead official (牵头领导) the new one becomes it; where a responsible
    leader (责任领导), the new one takes that place. Close-outs waiting for a leader follow the problem,
    so they wait for the new leader from this commit on, and the old leader's object permissions on
    these problems and their measures are gone in the same commit. One audit row per problem, as for
    a single re-assignment, plus one for the hand-over as a whole. Returns the problems changed.
    """
    _require_office(actor)
    if old_leader.pk == new_leader.pk:
        raise ValidationError(_("原领导和新领导不能是同一人。"))
    if not (new_leader.is_active and access.is_leader(new_leader)):
        raise ValidationError(_("接任者必须是在岗的区领导账号。"))
    ids = list(leader_items(inspection_round=inspection_round, leader=old_leader).values_list("pk", flat=True))
    # Locked by id: PostgreSQL refuses FOR UPDATE together with the DISTINCT above.
    problems = list(
        Problem.objects.select_for_update()
        .filter(pk__in=ids)
        .select_related("lead_official", "lead_unit")
        .prefetch_related("responsible_leaders", "responsible_units")
        .order_by("seq", "id")
    )
    if not problems:
        raise ValidationError(_("%(name)s在该轮次没有牵头或负责的问题。") % {"name": old_leader.full_name})
    links = Problem.responsible_leaders.through
    entries, led, responsible = [], [], []
    leaders_after = {}
    for problem in problems:
        before = _responsibility_snapshot(problem)
        leaders = [u for u in problem.responsible_leaders.all() if u.pk != old_leader.pk]
        if problem.lead_official_id == old_leader.pk:
            led.append(problem.pk)
            problem.lead_official = new_leader
        if len(leaders) != len(problem.responsible_leaders.all()):
            responsible.append(problem.pk)
            leaders.append(new_leader)
        # The lead official is not also one of the responsible leaders.
        leaders = [u for u in {u.pk: u for u in leaders}.values() if u.pk != problem.lead_official_id]
        after = _responsibility_snapshot(problem, leaders, problem.responsible_units.all())
        entries.append(("problem.assign", problem, {k: [before[k], after[k]] for k in before if before[k] != after[k]}))
        leaders_after[problem.pk] = leaders
    Problem.objects.filter(pk__in=led).update(lead_official=new_leader, updated_at=timezone.now())
    links.objects.filter(problem_id__in=[p.pk for p in problems]).delete()
    links.objects.bulk_create(
        [
            links(problem_id=problem.pk, user_id=leader.pk)
            for problem in problems
            for leader in leaders_after[problem.pk]
        ]
    )
    permissions_sync_for_problems(problems)
    audit_record_many(actor=actor, entries=entries)
    handover = audit_record(
        actor=actor,
        action="leader.handover",
        target=inspection_round,
        changes={
            "leader": [str(old_leader), str(new_leader)],
            "lead_official_problems": len(led),
            "responsible_leader_problems": len(responsible),
        },
    )
    # Counts only: a message may leave the network, a finding's text never does.
    notify(
        recipient=new_leader,
        kind=Notification.Kind.NEW_ASSIGNMENT,
        text=_("整改办已将%(old)s牵头或负责的 %(count)s 个问题移交给您，请在“我的牵头事项”中查看。")
        % {"old": old_leader.full_name, "count": len(problems)},
        link=reverse("rectification:leader"),
        dedup_key=f"leader-handover:{handover.pk}",
    )
    return problems
