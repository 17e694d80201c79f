"""The week's figures of a round: what the summary freezes and the dashboards show.

Computed from the raw tables with a fixed number of queries (aggregates and one pass over
the open measures), never from other snapshots, so a snapshot can always be checked
against a recomputation.
"""

import datetime

from django.db.models import Count, Min, Q, Sum
from django.utils import timezone

from .lights import GREY, RED, YELLOW, measure_light
from .models import (
    CloseOutState,
    CoordinationItem,
    Measure,
    Milestone,
    MissedReport,
    PetitionClue,
    Problem,
    ProgressReport,
    ProgressState,
    SecretaryEvent,
    SignOffStep,
    Track,
    WorkActivity,
)
from .workdays import round_countdown, week_key, week_monday


def _by_state(queryset, field):
    return {row[field]: row["n"] for row in queryset.values(field).annotate(n=Count("id")).order_by(field)}


def round_week_figures(*, inspection_round, iso_year, iso_week, today=None):
    """Everything the weekly summary reports, as plain JSON-ready data."""
    today = today or timezone.localdate()
    monday = week_monday(iso_year, iso_week)
    sunday = monday + datetime.timedelta(days=6)
    problems = Problem.objects.filter(round=inspection_round)
    measures = Measure.objects.filter(problem__round=inspection_round)
    closed = Q(closeout_state=CloseOutState.CLOSED)

    open_measures = list(
        measures.exclude(closed)
        .select_related("owner_unit", "problem__lead_official")
        .order_by("owner_unit__sort_order", "code")
    )
    oldest = {
        row["measure_id"]: row["due"]
        for row in Milestone.objects.open()
        .filter(measure__in=[m.pk for m in open_measures])
        .values("measure_id")
        .annotate(due=Min("due_date"))
    }
    by_unit: dict[str, dict] = {}
    by_leader: dict[str, dict] = {}
    red, yellow, stalled, overdue = [], [], [], []
    for measure in open_measures:
        light = measure_light(measure, today, oldest_open_milestone_due=oldest.get(measure.pk))
        item = {"code": measure.code, "unit": measure.owner_unit.name, "leader": str(measure.problem.lead_official)}
        unit_row = by_unit.setdefault(
            measure.owner_unit.name, {"unit": measure.owner_unit.name, "open": 0, "red": 0, "yellow": 0, "overdue": 0}
        )
        leader_row = by_leader.setdefault(item["leader"], {"leader": item["leader"], "open": 0, "red": 0, "yellow": 0})
        unit_row["open"] += 1
        leader_row["open"] += 1
        if light is RED:
            red.append(item)
            unit_row["red"] += 1
            leader_row["red"] += 1
        elif light is YELLOW:
            yellow.append(item)
            unit_row["yellow"] += 1
            leader_row["yellow"] += 1
        elif light is GREY:
            stalled.append(item)
        if measure.due_date < today and measure.progress_state != ProgressState.COMPLETED:
            overdue.append(item)
            unit_row["overdue"] += 1

    missed = {
        row["unit__name"]: row["n"]
        for row in MissedReport.objects.filter(
            cycle__round=inspection_round, cycle__iso_year=iso_year, cycle__iso_week=iso_week
        )
        .values("unit__name")
        .annotate(n=Count("id"))
        .order_by("unit__name")
    }
    for name, count in missed.items():
        by_unit.setdefault(name, {"unit": name, "open": 0, "red": 0, "yellow": 0, "overdue": 0})["missed"] = count
    closed_steps = SignOffStep.objects.filter(
        request__problem__round=inspection_round,
        step=SignOffStep.Step.OFFICE,
        decision=SignOffStep.Decision.APPROVED,
        created_at__date__gte=monday,
        created_at__date__lte=sunday,
    )
    closed_this_week = closed_steps.values("request_id").distinct().count()
    # What moved this week, for the 简报: the items the office closed, by code.
    moved = sorted(
        {
            (measure_code or problem_code, unit)
            for measure_code, problem_code, unit in closed_steps.values_list(
                "request__measure__code", "request__problem__code", "request__applicant_unit__name"
            )
        }
    )
    # Units named in the 简报: reports submitted after the cut-off, and reports returned to the unit.
    week_reports = ProgressReport.objects.filter(
        measure__problem__round=inspection_round, iso_year=iso_year, iso_week=iso_week
    )
    late_units = dict(
        week_reports.filter(is_late=True)
        .order_by()
        .values_list("measure__owner_unit__name")
        .annotate(n=Count("measure", distinct=True))
    )
    returned_units = dict(
        week_reports.filter(state=ProgressReport.State.RETURNED)
        .order_by()
        .values_list("measure__owner_unit__name")
        .annotate(n=Count("measure", distinct=True))
    )
    # By track, in the order the tracks are listed everywhere (综合 first).
    track_order = list(Track.Kind.values)
    track_labels = dict(Track.Kind.choices)
    by_track = [
        {"track": str(track_labels[row["problem__track__kind"]]), "total": row["total"], "closed": row["closed"]}
        for row in sorted(
            measures.order_by()
            .values("problem__track__kind")
            .annotate(total=Count("id"), closed=Count("id", filter=closed)),
            key=lambda row: track_order.index(row["problem__track__kind"]),
        )
    ]
    coordination = list(
        CoordinationItem.objects.filter(measure__problem__round=inspection_round, state=CoordinationItem.State.OPEN)
        .select_related("measure__problem__lead_official")
        .order_by("created_at")
        .values_list("measure__code", "measure__problem__lead_official__full_name", "text")
    )
    measure_counts = measures.aggregate(total=Count("id"), closed=Count("id", filter=closed))
    ranking = sorted(
        by_unit.values(),
        key=lambda row: (-(row["red"] * 3 + row["yellow"] + row.get("missed", 0) * 2), row["unit"]),
    )
    return {
        "round": inspection_round.title,
        "week": week_key(iso_year, iso_week),
        "as_of": today.isoformat(),
        "countdown": round_countdown(inspection_round, today),
        "problems": {
            "total": problems.count(),
            "by_progress": _by_state(problems, "progress_state"),
            "by_closeout": _by_state(problems, "closeout_state"),
        },
        "measures": {
            "total": measure_counts["total"],
            "closed": measure_counts["closed"],
            "by_progress": _by_state(measures, "progress_state"),
            "by_closeout": _by_state(measures, "closeout_state"),
        },
        "closed_this_week": closed_this_week,
        "closed_this_week_items": [{"code": code, "unit": unit} for code, unit in moved],
        "late_units": dict(sorted(late_units.items())),
        "returned_units": dict(sorted(returned_units.items())),
        "by_track": by_track,
        "overdue": overdue,
        "stalled": stalled,
        "red": red,
        "yellow": yellow,
        "missed_units": missed,
        "unit_ranking": ranking,
        "by_leader": sorted(by_leader.values(), key=lambda row: (-row["red"], -row["yellow"], row["leader"])),
        "coordination": [{"code": code, "leader": leader, "text": text} for code, leader, text in coordination],
    }


def round_record_figures(*, inspection_round):
    """The whole round's records behind the final report's figures, as plain JSON-ready data.

    The statistics export, the dashboard and the documents (简报, 整改情况报告) all count
    petitions and clues, meetings, visits and 书记领办 events through here, so the same data
    gives the same number everywhere. Whole-round counts: callers decide who may read them.
    """
    petitions = {}
    for kind in PetitionClue.Kind:
        sums = PetitionClue.objects.filter(round=inspection_round, kind=kind).aggregate(
            batches=Count("id"),
            received=Sum("quantity", default=0),
            handled=Sum("handled", default=0),
            transferred=Sum("transferred", default=0),
            case_filed=Count("id", filter=Q(case_filed=True)),
        )
        petitions[kind.value] = {"label": str(kind.label), **sums}
    activities = _by_state(WorkActivity.objects.filter(round=inspection_round), "kind")
    events = _by_state(SecretaryEvent.objects.filter(round=inspection_round), "kind")
    return {
        "petitions": petitions,
        "petition_cases_filed": sum(row["case_filed"] for row in petitions.values()),
        "activities": {kind.value: activities.get(kind.value, 0) for kind in WorkActivity.Kind},
        "secretary_events": {kind.value: events.get(kind.value, 0) for kind in SecretaryEvent.Kind},
        "secretary_problems": SecretaryEvent.objects.filter(round=inspection_round)
        .values("problem_id")
        .distinct()
        .count(),
    }
