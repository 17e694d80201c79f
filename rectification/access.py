"""The access chokepoints. Every view, export, dashboard, e-mail and task asks here.

Who sees what:
- the office (整改办), supervision and the provincial team read every finding;
- a track office reads the findings of the tracks its unit runs;
- everyone else reads only the problems and measures on which guardian grants them, or their
  unit's group, an object permission (see ``permissions_sync_for_problem``);
- the three administrators hold no object permissions and read nothing.

Global (model-level) permissions are never consulted for findings, so a stray global grant
cannot let a unit's staff see another unit's rows.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import Http404
from guardian.shortcuts import get_objects_for_user

from accounts.models import Unit
from accounts.roles import READ_ALL_ROLES, Role

from .models import (
    Measure,
    MeasureGroupObjectPermission,
    MeasureUserObjectPermission,
    Problem,
    ProblemGroupObjectPermission,
    ProblemUserObjectPermission,
)

# For each action beyond "view": the object permission it needs and the roles that may use it.
PROBLEM_ACTIONS = {
    "decompose": ("decompose_problem", {Role.LIAISON, Role.UNIT_HEAD}),
    "sign_off": ("sign_off_problem", {Role.LEADER}),
}
MEASURE_ACTIONS = {
    "report": ("report_measure", {Role.LIAISON, Role.UNIT_HEAD}),
    # The unit head confirms (or returns) what the liaison reported.
    "confirm": ("report_measure", {Role.UNIT_HEAD}),
    "review": ("review_measure", {Role.LIAISON, Role.UNIT_HEAD}),
    "sign_off": ("sign_off_measure", {Role.LEADER}),
}
# Only the office edits the ledger itself (responsibilities, due dates, texts).
MANAGE_ROLES = {Role.OFFICE}


class _ProvincialRelease:
    """The provincial team as a whole, not one of its accounts: the reader the system builds the
    weekly package for. It reads exactly what a provincial account reads, and acts on nothing."""

    pk = None
    unit_id = None
    is_active = True
    is_authenticated = True
    username = "system"

    def has_role(self, *roles):
        return Role.PROVINCIAL in roles

    def has_perm(self, perm, obj=None):
        return False

    def __str__(self):
        return "系统（省巡视组报送包）"


PROVINCIAL_RELEASE = _ProvincialRelease()


def _is_active(user):
    return user is not None and user.is_authenticated and user.is_active


def _objects_granted(user, model, codename):
    return get_objects_for_user(
        user, f"rectification.{codename}", klass=model, with_superuser=False, accept_global_perms=False
    )


def problems_visible_to(user):
    if not _is_active(user):
        return Problem.objects.none()
    if user.has_role(*READ_ALL_ROLES):
        return Problem.objects.all()
    visible = _objects_granted(user, Problem, "view_problem")
    if user.has_role(Role.TRACK_OFFICE) and user.unit_id:
        visible = visible | Problem.objects.filter(track__office_unit_id=user.unit_id)
    return visible


def measures_visible_to(user):
    if not _is_active(user):
        return Measure.objects.none()
    if user.has_role(*READ_ALL_ROLES):
        return Measure.objects.all()
    visible = _objects_granted(user, Measure, "view_measure")
    if user.has_role(Role.TRACK_OFFICE) and user.unit_id:
        visible = visible | Measure.objects.filter(problem__track__office_unit_id=user.unit_id)
    return visible


def _may(user, obj, action, actions):
    if action == "view":
        return True
    if action == "manage":
        return user.has_role(*MANAGE_ROLES)
    codename, roles = actions[action]
    return user.has_role(*roles) and user.has_perm(f"rectification.{codename}", obj)


def can_act_on_problem(user, problem, action):
    return _may(user, problem, action, PROBLEM_ACTIONS)


def can_act_on_measure(user, measure, action):
    return _may(user, measure, action, MEASURE_ACTIONS)


def problem_for_user(user, pk, action="view", queryset=None):
    """The problem if the user may see it, else 404 (never revealing whether it exists)."""
    base = problems_visible_to(user)
    if queryset is not None:
        base = queryset & base
    problem = base.filter(pk=pk).first()
    if problem is None:
        raise Http404
    if not can_act_on_problem(user, problem, action):
        raise PermissionDenied
    return problem


def measure_for_user(user, pk, action="view", queryset=None):
    base = measures_visible_to(user)
    if queryset is not None:
        base = queryset & base
    measure = base.filter(pk=pk).first()
    if measure is None:
        raise Http404
    if not can_act_on_measure(user, measure, action):
        raise PermissionDenied
    return measure


def _grants_for_problem(problem, measures):
    """The object permissions a problem and its measures should carry, as (holder, codename, object)."""
    units = {problem.lead_unit}
    units.update(problem.responsible_units.all())
    units.update(m.owner_unit for m in measures)
    leaders = {problem.lead_official}
    leaders.update(problem.responsible_leaders.all())

    group_grants = [(problem.lead_unit.group, "decompose_problem", problem)]
    group_grants += [(unit.group, "view_problem", problem) for unit in units]
    user_grants = []
    for leader in leaders:
        user_grants += [(leader, "view_problem", problem), (leader, "sign_off_problem", problem)]
    for measure in measures:
        group_grants += [(unit.group, "view_measure", measure) for unit in units]
        group_grants += [
            (measure.owner_unit.group, "report_measure", measure),
            (problem.lead_unit.group, "review_measure", measure),
        ]
        for leader in leaders:
            user_grants += [(leader, "view_measure", measure), (leader, "sign_off_measure", measure)]
    return group_grants, user_grants


def permissions_sync_for_problem(problem):
    """Rewrite the object permissions of a problem and all its measures from their assignments.

    Called by every service that changes who leads or works on a problem, inside the same
    transaction, so access always follows the assignment: re-assigning a measure to another
    unit takes the old unit's rights away in the same commit that gives them to the new one.
    """
    permissions_sync_for_problems([problem])


def permissions_sync_for_problems(problems):
    """``permissions_sync_for_problem`` for many problems at once, in as many queries as for one."""
    from django.contrib.auth.models import Permission

    ids = [problem.pk for problem in problems]
    if not ids:
        return
    measures: dict[int, list[Measure]] = {pk: [] for pk in ids}
    for measure in Measure.objects.filter(problem_id__in=ids).select_related("owner_unit__group"):
        measures[measure.problem_id].append(measure)
    # Everything the rules read, in three queries rather than one per unit and leader.
    loaded = (
        Problem.objects.filter(pk__in=ids)
        .select_related("lead_unit__group", "lead_official")
        .prefetch_related(Prefetch("responsible_units", queryset=Unit.objects.select_related("group")), "responsible_leaders")
    )
    group_grants, user_grants = [], []
    for problem in loaded:
        problem_groups, problem_users = _grants_for_problem(problem, measures[problem.pk])
        group_grants += problem_groups
        user_grants += problem_users
    perms = {
        p.codename: p
        for p in Permission.objects.filter(content_type__app_label="rectification").filter(
            codename__in={c for _, c, _ in group_grants + user_grants}
        )
    }

    ProblemGroupObjectPermission.objects.filter(content_object_id__in=ids).delete()
    ProblemUserObjectPermission.objects.filter(content_object_id__in=ids).delete()
    MeasureGroupObjectPermission.objects.filter(content_object__problem_id__in=ids).delete()
    MeasureUserObjectPermission.objects.filter(content_object__problem_id__in=ids).delete()

    def rows(grants, problem_model, measure_model, holder_field):
        seen = set()
        for holder, codename, obj in grants:
            key = (holder.pk, codename, obj.pk, type(obj))
            if key in seen:
                continue
            seen.add(key)
            model = problem_model if isinstance(obj, Problem) else measure_model
            # By id: an import writes tens of thousands of these, and setting related objects costs.
            yield model(**{holder_field: holder.pk, "permission_id": perms[codename].pk, "content_object_id": obj.pk})

    group_rows = list(rows(group_grants, ProblemGroupObjectPermission, MeasureGroupObjectPermission, "group_id"))
    user_rows = list(rows(user_grants, ProblemUserObjectPermission, MeasureUserObjectPermission, "user_id"))
    # One bulk insert per table, each named so the rows' type is plain to a reader and to mypy.
    ProblemGroupObjectPermission.objects.bulk_create([r for r in group_rows if isinstance(r, ProblemGroupObjectPermission)])
    MeasureGroupObjectPermission.objects.bulk_create([r for r in group_rows if isinstance(r, MeasureGroupObjectPermission)])
    ProblemUserObjectPermission.objects.bulk_create([r for r in user_rows if isinstance(r, ProblemUserObjectPermission)])
    MeasureUserObjectPermission.objects.bulk_create([r for r in user_rows if isinstance(r, MeasureUserObjectPermission)])
