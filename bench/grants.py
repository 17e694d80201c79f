"""Object permissions for a bulk-loaded dataset, written straight into guardian's direct FK tables.

``permissions_sync_for_problem`` rewrites one problem at a time (a handful of queries each),
which would take minutes for a city. This module applies exactly the rules of
``rectification.access._grants_for_problem`` to plain ids and writes the rows with bulk inserts;
tests/test_bench_generator.py checks, for a sample of problems, that the rows written here are
the rows the service would write.
"""

from dataclasses import dataclass, field

from django.contrib.auth.models import Permission

from rectification.models import (
    MeasureGroupObjectPermission,
    MeasureUserObjectPermission,
    ProblemGroupObjectPermission,
    ProblemUserObjectPermission,
)

BATCH = 5000
CODENAMES = (
    "view_problem",
    "decompose_problem",
    "sign_off_problem",
    "view_measure",
    "report_measure",
    "review_measure",
    "sign_off_measure",
)


@dataclass
class ProblemAssignment:
    """Who a problem is assigned to, by id: what ``_grants_for_problem`` reads from the objects."""

    problem_id: int
    lead_unit_id: int
    lead_official_id: int
    responsible_unit_ids: list = field(default_factory=list)
    responsible_leader_ids: list = field(default_factory=list)
    # (measure id, owner unit id) for every measure of the problem.
    measures: list = field(default_factory=list)


def grant_keys(assignment, group_of_unit):
    """The grants of one problem and its measures as sets of keys.

    Returns ``(group_keys, user_keys)``; a key is ``(holder id, codename, "problem"|"measure", object id)``.
    Mirrors ``_grants_for_problem``: the lead unit decomposes; every unit involved (lead unit,
    responsible units, owners of its measures) views the problem and all its measures; the owner
    reports on its measure and the lead unit reviews it; the lead official and the responsible
    leaders view and sign off the problem and every measure.
    """
    a = assignment
    units = {a.lead_unit_id, *a.responsible_unit_ids, *(owner for _measure, owner in a.measures)}
    leaders = {a.lead_official_id, *a.responsible_leader_ids}
    group_keys = {(group_of_unit[a.lead_unit_id], "decompose_problem", "problem", a.problem_id)}
    group_keys |= {(group_of_unit[unit], "view_problem", "problem", a.problem_id) for unit in units}
    user_keys = set()
    for leader in leaders:
        user_keys |= {
            (leader, "view_problem", "problem", a.problem_id),
            (leader, "sign_off_problem", "problem", a.problem_id),
        }
    for measure, owner in a.measures:
        group_keys |= {(group_of_unit[unit], "view_measure", "measure", measure) for unit in units}
        group_keys.add((group_of_unit[owner], "report_measure", "measure", measure))
        group_keys.add((group_of_unit[a.lead_unit_id], "review_measure", "measure", measure))
        for leader in leaders:
            user_keys |= {
                (leader, "view_measure", "measure", measure),
                (leader, "sign_off_measure", "measure", measure),
            }
    return group_keys, user_keys


def permission_ids():
    return dict(
        Permission.objects.filter(content_type__app_label="rectification", codename__in=CODENAMES).values_list(
            "codename", "pk"
        )
    )


def grants_bulk_write(assignments, group_of_unit):
    """Write the grants of every assignment with bulk inserts; returns the row count per table."""
    perms = permission_ids()
    tables = {
        ("group", "problem"): (ProblemGroupObjectPermission, "group_id"),
        ("group", "measure"): (MeasureGroupObjectPermission, "group_id"),
        ("user", "problem"): (ProblemUserObjectPermission, "user_id"),
        ("user", "measure"): (MeasureUserObjectPermission, "user_id"),
    }
    pending = {key: [] for key in tables}
    written = {model.__name__: 0 for model, _holder in tables.values()}

    def flush(key, force=False):
        rows = pending[key]
        if rows and (force or len(rows) >= BATCH):
            model, _holder = tables[key]
            model.objects.bulk_create(rows, batch_size=BATCH)
            written[model.__name__] += len(rows)
            pending[key] = []

    for assignment in assignments:
        group_keys, user_keys = grant_keys(assignment, group_of_unit)
        for kind, keys in (("group", group_keys), ("user", user_keys)):
            for holder, codename, target, object_id in keys:
                model, holder_field = tables[(kind, target)]
                pending[(kind, target)].append(
                    model(**{holder_field: holder, "permission_id": perms[codename], "content_object_id": object_id})
                )
        for key in tables:
            flush(key)
    for key in tables:
        flush(key, force=True)
    return written


def stored_grant_keys(problem_ids):
    """The grants stored for these problems and their measures, as the keys of ``grant_keys``."""
    group_keys, user_keys = set(), set()
    for model, holder, target, scope, keys in (
        (ProblemGroupObjectPermission, "group_id", "problem", "content_object_id__in", group_keys),
        (MeasureGroupObjectPermission, "group_id", "measure", "content_object__problem_id__in", group_keys),
        (ProblemUserObjectPermission, "user_id", "problem", "content_object_id__in", user_keys),
        (MeasureUserObjectPermission, "user_id", "measure", "content_object__problem_id__in", user_keys),
    ):
        for holder_id, codename, object_id in model.objects.filter(**{scope: problem_ids}).values_list(
            holder, "permission__codename", "content_object_id"
        ):
            keys.add((holder_id, codename, target, object_id))
    return group_keys, user_keys
