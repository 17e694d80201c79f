"""Reads for the office dashboard and the leaders' pages, built on the access chokepoints.

Every figure comes from a fixed number of queries whatever the data size: conditional
counts grouped in the database, plus one pass in Python over the round's open measures
(for the lights and medians, which need per-row dates). The weekly trend reads the frozen
snapshots, never a recomputation, so past weeks stay as they were reported.
"""

import datetime
import statistics
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone

from accounts.models import Unit

from . import counters
from .access import measures_visible_to, problems_visible_to, reports_visible_to
from .formalism import formalism_signals, units_with_many_returns
from .lights import (
    GREY,
    IN_REVIEW,
    RED,
    YELLOW,
    mark_lights,
    measure_light,
    reports_stuck_with_heads,
    review_holder,
    stuck_in_review,
    waiting_days,
    with_light_inputs,
    with_oldest_open_milestone,
)
from .models import (
    CloseOutState,
    CoordinationItem,
    ProgressReport,
    ProgressState,
    SignOffStep,
    Track,
    WeeklySnapshot,
)
from .selectors import (
    claim_counts,
    closeouts_pending_for,
    closeouts_visible_to,
    coordination_for,
    dashboard_filters,
    split_by_round,
)
from .workdays import iso_week_of, round_countdown, week_monday, week_short_label

CLOSED = Q(closeout_state=CloseOutState.CLOSED)


def _rate(part, whole):
    return round(100 * part / whole) if whole else 0


def _problem_counts(problems):
    """Totals and both state breakdowns of the problems, from one grouped query.

    Every figure counts a problem once, also under the unit filter, which joins the problems
    to their measures (a problem with three of the unit's measures is still one problem).
    """
    rows = list(problems.order_by().values("progress_state", "closeout_state").annotate(n=Count("id", distinct=True)))
    by_progress: dict[str, int] = {}
    by_closeout: dict[str, int] = {}
    for row in rows:
        by_progress[row["progress_state"]] = by_progress.get(row["progress_state"], 0) + row["n"]
        by_closeout[row["closeout_state"]] = by_closeout.get(row["closeout_state"], 0) + row["n"]
    total = sum(row["n"] for row in rows)
    closed = sum(row["n"] for row in rows if row["closeout_state"] == CloseOutState.CLOSED)
    return {"total": total, "closed": closed, "by_progress": by_progress, "by_closeout": by_closeout}


def _measure_counts(measures):
    """Totals, state breakdowns, per-track figures and closed counts per owner unit, from one grouped query."""
    totals = {"total": 0, "closed": 0}
    by_progress: dict[str, int] = {}
    by_closeout: dict[str, int] = {}
    tracks: dict[str, dict[str, Any]] = {}
    closed_by_owner: dict[int, int] = {}
    for row in (
        measures.order_by()
        .values("problem__track__kind", "progress_state", "closeout_state", "owner_unit_id")
        .annotate(n=Count("id"))
    ):
        n, closed = row["n"], row["closeout_state"] == CloseOutState.CLOSED
        totals["total"] += n
        by_progress[row["progress_state"]] = by_progress.get(row["progress_state"], 0) + n
        by_closeout[row["closeout_state"]] = by_closeout.get(row["closeout_state"], 0) + n
        track = tracks.setdefault(
            row["problem__track__kind"], {"problem__track__kind": row["problem__track__kind"], "total": 0, "closed": 0}
        )
        track["total"] += n
        if closed:
            totals["closed"] += n
            track["closed"] += n
            closed_by_owner[row["owner_unit_id"]] = closed_by_owner.get(row["owner_unit_id"], 0) + n
    return totals, by_progress, by_closeout, list(tracks.values()), closed_by_owner


@dataclass(frozen=True, slots=True)
class UnitLabel:
    """What the dashboard shows of a unit; one per unit, shared by all its measures."""

    id: int
    name: str
    display_name: str
    level: str


@dataclass(slots=True)
class OpenMeasure:
    """An open measure as the dashboard reads it: the fields ``measure_light``, ``expected_percent``
    and the formalism signals use, with its owner unit and the labels of its problem's leader and
    lead unit, from one ``values()`` query instead of five model instances per row."""

    pk: int
    code: str
    percent: int
    start_date: datetime.date
    due_date: datetime.date
    progress_state: str
    closeout_state: str
    last_reported_at: datetime.datetime | None
    oldest_open_milestone: datetime.date | None
    owner_unit: UnitLabel
    leader_id: int
    leader_label: str
    lead_unit_id: int
    lead_unit_label: str


OPEN_MEASURE_COLUMNS = (
    "pk",
    "code",
    "percent",
    "start_date",
    "due_date",
    "progress_state",
    "closeout_state",
    "last_reported_at",
    "oldest_open_milestone",
    "owner_unit_id",
    "owner_unit__name",
    "owner_unit__short_name",
    "owner_unit__level",
    "problem__lead_official_id",
    "problem__lead_official__full_name",
    "problem__lead_official__username",
    "problem__lead_unit_id",
    "problem__lead_unit__name",
    "problem__lead_unit__short_name",
)


def open_measure_rows(measures):
    """The open measures of ``measures`` (access-filtered) as ``OpenMeasure`` rows, in one query."""
    units: dict[int, UnitLabel] = {}
    rows = []
    for (
        pk,
        code,
        percent,
        start,
        due,
        progress,
        closeout,
        reported,
        milestone,
        unit_id,
        unit_name,
        unit_short,
        unit_level,
        leader_id,
        leader_name,
        leader_username,
        lead_unit_id,
        lead_name,
        lead_short,
    ) in with_oldest_open_milestone(measures.exclude(CLOSED)).order_by().values_list(*OPEN_MEASURE_COLUMNS):
        unit = units.get(unit_id)
        if unit is None:
            unit = units[unit_id] = UnitLabel(unit_id, unit_name, unit_short or unit_name, unit_level)
        rows.append(
            OpenMeasure(
                pk,
                code,
                percent,
                start,
                due,
                progress,
                closeout,
                reported,
                milestone,
                unit,
                leader_id,
                leader_name or leader_username,
                lead_unit_id,
                lead_short or lead_name,
            )
        )
    return rows


def office_dashboard(*, user, inspection_round, today, filters):
    """Every figure of the office dashboard in a fixed number of queries (tests/test_dashboard.py
    pins it): the counts come from two grouped queries, the lights from one pass over the open
    measures (each carrying its oldest open milestone), which the formalism signals reuse."""
    problems = problems_visible_to(user).filter(round=inspection_round)
    measures = measures_visible_to(user).filter(problem__round=inspection_round)
    problems, measures = dashboard_filters(problems=problems, measures=measures, filters=filters)

    problem_counts = _problem_counts(problems)
    measure_totals, measures_by_progress, measures_by_closeout, by_track, closed_by_owner = _measure_counts(measures)
    track_labels = dict(Track.Kind.choices)
    for row in by_track:
        row["label"] = track_labels[row["problem__track__kind"]]
        row["rate"] = _rate(row["closed"], row["total"])

    open_measures = open_measure_rows(measures)
    iso_year, iso_week = iso_week_of(today)
    monday = week_monday(iso_year, iso_week)
    # How many open measures show each light; the lists behind them are the measure list page.
    light_counts = {"red": 0, "yellow": 0, "grey": 0, "overdue": 0}
    by_leader: dict[int, dict[str, Any]] = {}
    by_lead_unit: dict[int, dict[str, Any]] = {}
    by_owner: dict[int, dict[str, Any]] = {}
    by_level: dict[str, dict[str, Any]] = {}
    for measure in open_measures:
        light = measure_light(measure, today, oldest_open_milestone_due=measure.oldest_open_milestone)
        overdue = measure.due_date < today and measure.progress_state != ProgressState.COMPLETED
        if light in (RED, YELLOW, GREY):
            light_counts[light.code] += 1
        light_counts["overdue"] += overdue
        for table, key, label in (
            (by_leader, measure.leader_id, measure.leader_label),
            (by_lead_unit, measure.lead_unit_id, measure.lead_unit_label),
            (by_owner, measure.owner_unit.id, measure.owner_unit.display_name),
        ):
            row = table.setdefault(key, {"id": key, "label": label, "open": 0, "red": 0, "yellow": 0, "overdue": 0})
            row["open"] += 1
            row["red"] += light is RED
            row["yellow"] += light is YELLOW
            row["overdue"] += overdue
        level = by_level.setdefault(measure.owner_unit.level, {"open": 0, "overdue": 0, "updated": 0, "ages": []})
        level["open"] += 1
        level["overdue"] += overdue
        if measure.last_reported_at is not None:
            reported = timezone.localtime(measure.last_reported_at).date()
            level["ages"].append((today - reported).days)
            level["updated"] += reported >= monday
        else:
            level["ages"].append((today - measure.start_date).days)

    for row in by_owner.values():
        closed = closed_by_owner.get(row["id"], 0)
        row["closed"] = closed
        row["rate"] = _rate(closed, closed + row["open"])
    ranking = sorted(
        by_owner.values(), key=lambda r: (-(r["red"] * 3 + r["yellow"] + r["overdue"]), -r["rate"], r["label"])
    )
    snapshots = round_snapshots(inspection_round=inspection_round)

    return {
        "countdown": round_countdown(inspection_round, today),
        "problems": {
            "total": problem_counts["total"],
            "closed": problem_counts["closed"],
            "rate": _rate(problem_counts["closed"], problem_counts["total"]),
            "by_progress": problem_counts["by_progress"],
            "by_closeout": problem_counts["by_closeout"],
        },
        "measures": {
            **measure_totals,
            "rate": _rate(measure_totals["closed"], measure_totals["total"]),
            "by_progress": measures_by_progress,
            "by_closeout": measures_by_closeout,
        },
        "by_track": sorted(by_track, key=lambda r: r["problem__track__kind"]),
        "by_leader": sorted(by_leader.values(), key=lambda r: (-r["red"], -r["overdue"], r["label"])),
        "by_lead_unit": sorted(by_lead_unit.values(), key=lambda r: (-r["red"], -r["overdue"], r["label"])),
        "ranking": ranking,
        "levels": level_engagement(measures=measures, open_stats=by_level, today=today),
        "light_counts": light_counts,
        "returned": list(
            measures.filter(closeout_state=CloseOutState.RETURNED).select_related("owner_unit").order_by("code")[:50]
        ),
        "coordination": list(
            CoordinationItem.objects.filter(measure__in=measures, state=CoordinationItem.State.OPEN)
            .select_related("measure__problem__lead_official", "measure__owner_unit")
            .order_by("created_at")[:50]
        ),
        "previous_round": list(
            problems.filter(previous_problem__isnull=False)
            .select_related("previous_problem", "lead_unit")
            .order_by("seq")
        ),
        "trend": weekly_trend(snapshots=snapshots),
        # The same snapshots, newest first, for the list of weekly packages.
        "snapshots": snapshots[::-1],
        "signals": _signals_summary(
            formalism_signals(measures=open_measures, today=today, scope=measures.exclude(CLOSED))
        ),
        "many_returns": units_with_many_returns(measures=measures),
        # The set-up's follow-up: the claim rate and the measures without an acceptance criterion,
        # counted by the same reads as the lists they link to (selectors.setup_scope).
        "claims": claim_counts(problems=problems, measures=measures),
    }


SIGNALS_SHOWN = 20


def _signals_summary(signals):
    """Copy-paste and unproven jumps first (the clearest signs), then lagging; capped for the page."""
    order = {"copy": 0, "jump": 1, "behind": 2}
    ranked = sorted(signals, key=lambda s: (order[s.kind], s.measure_code))
    counts: dict[str, int] = {}
    for signal in signals:
        counts[signal.label] = counts.get(signal.label, 0) + 1
    hidden: dict[str, int] = {}
    for signal in ranked[SIGNALS_SHOWN:]:
        hidden[signal.label] = hidden.get(signal.label, 0) + 1
    return {
        "shown": ranked[:SIGNALS_SHOWN],
        "hidden": sum(hidden.values()),
        "hidden_by_label": hidden,
        "counts": counts,
    }


def level_engagement(*, measures, open_stats, today):
    """上热中温下冷: per unit level, how engaged the units are."""
    iso_year, iso_week = iso_week_of(today - datetime.timedelta(days=7))
    # The open measures per owner level were counted in the caller's pass over them.
    expected = {level: stats["open"] for level, stats in open_stats.items()}
    on_time = dict(
        ProgressReport.objects.filter(
            measure__in=measures.exclude(CLOSED),
            iso_year=iso_year,
            iso_week=iso_week,
            state__in=[ProgressReport.State.SUBMITTED, ProgressReport.State.CONFIRMED],
            is_late=False,
        )
        .order_by()
        .values_list("measure__owner_unit__level")
        .annotate(n=Count("measure", distinct=True))
    )
    decisions = {
        (row["request__applicant_unit__level"], row["decision"]): row["n"]
        for row in SignOffStep.objects.filter(
            request__measure__in=measures,
            decision__in=[SignOffStep.Decision.APPROVED, SignOffStep.Decision.RETURNED],
        )
        .order_by()
        .values("request__applicant_unit__level", "decision")
        .annotate(n=Count("id"))
    }
    rows = []
    for level, label in Unit.Level.choices:
        stats = open_stats.get(level, {"open": 0, "overdue": 0, "updated": 0, "ages": []})
        returned = decisions.get((level, SignOffStep.Decision.RETURNED), 0)
        approved = decisions.get((level, SignOffStep.Decision.APPROVED), 0)
        rows.append(
            {
                "level": level,
                "label": label,
                "open": stats["open"],
                "punctuality": _rate(on_time.get(level, 0), expected.get(level, 0)),
                "updated_share": _rate(stats["updated"], stats["open"]),
                "median_days": round(statistics.median(stats["ages"])) if stats["ages"] else None,
                "overdue_share": _rate(stats["overdue"], stats["open"]),
                "rejection_rate": _rate(returned, returned + approved),
            }
        )
    return rows


def round_snapshots(*, inspection_round):
    """The round's frozen weekly snapshots, oldest first, in one query.

    Only their headline columns are read: the figures themselves (a JSON document of ~150 KB
    for a city) stay in the database.
    """
    return list(
        WeeklySnapshot.objects.filter(cycle__round=inspection_round)
        .select_related("cycle")
        .defer("figures")
        .order_by("cycle__iso_year", "cycle__iso_week")
    )


def weekly_trend(*, snapshots):
    """Open and cumulative closed measures per week, read from the frozen snapshots."""
    return [
        {
            "week": week_short_label(snapshot.cycle.iso_week),
            "open": snapshot.measures_total - snapshot.measures_closed,
            "closed": snapshot.measures_closed,
        }
        for snapshot in snapshots
    ]


def trend_chart(points, *, width=560, height=180, pad=28):
    """SVG polyline coordinates for the trend, drawn server-side: no script, no CDN."""
    if not points:
        return None
    top = max(max(p["open"], p["closed"]) for p in points) or 1
    step = (width - 2 * pad) / max(1, len(points) - 1)

    def line(key):
        return " ".join(
            f"{pad + i * step:.1f},{height - pad - (height - 2 * pad) * p[key] / top:.1f}" for i, p in enumerate(points)
        )

    # About eight week labels whatever the number of weeks (a year of them would overlap), the
    # latest always among them.
    every = -(-len(points) // 8)
    labels = [
        {"x": round(pad + i * step, 1), "text": p["week"]}
        for i, p in enumerate(points)
        if (len(points) - 1 - i) % every == 0
    ]
    return {
        "width": width,
        "height": height,
        "open": line("open"),
        "closed": line("closed"),
        "labels": labels,
        "top": top,
        "baseline": height - pad,
        "pad": pad,
    }


def leader_page(*, user, today):
    """A lead official's items: problems, their open measures, what waits for them, coordination."""

    problems = (
        problems_visible_to(user)
        .filter(Q(lead_official=user) | Q(responsible_leaders=user))
        .distinct()
        .select_related("track", "lead_unit", "round")
        .annotate(
            measure_count=Count("measures", distinct=True),
            closed_count=Count("measures", filter=Q(measures__closeout_state=CloseOutState.CLOSED), distinct=True),
        )
        .order_by("round_id", "seq")
    )
    measures = mark_lights(
        list(
            with_light_inputs(
                measures_visible_to(user)
                .filter(Q(problem__lead_official=user) | Q(problem__responsible_leaders=user))
                .exclude(CLOSED)
                .distinct()
            )
            .select_related("owner_unit", "problem__round")
            .order_by("due_date")
        ),
        today,
    )
    problems = list(problems)
    # What needs the leader's attention, including what waits for a reviewer (审核中).
    attention = [m for m in measures if m.light in (RED, YELLOW, GREY, IN_REVIEW)]
    # This round's items first; what is left of earlier rounds apart, so the two are not mixed. A
    # measure needing attention belongs to one of these problems, so to one of their rounds.
    current, current_problems, earlier_problems = split_by_round(problems, lambda p: p.round)
    earlier = [
        {"round": r, "problems": items, "measures": [m for m in attention if m.problem.round_id == r.pk]}
        for r, items in earlier_problems
    ]
    return {
        "round": current,
        "problems": current_problems,
        "secretary_items": [p for p in problems if p.is_secretary_led],
        "measures": [m for m in attention if current is None or m.problem.round_id == current.pk],
        "earlier": earlier,
        "all_problems": problems,
        "all_measures": attention,
        "pending": closeouts_pending_for(user),
        "coordination": coordination_for(user=user, state=CoordinationItem.State.OPEN),
    }


# --- items stuck with reviewers (督责任 applies to reviewers too) ---------------------------------


def _stuck_reports(user, inspection_round, today):
    return reports_stuck_with_heads(reports_visible_to(user).filter(measure__problem__round=inspection_round), today)


def stuck_with_reviewers(*, user, inspection_round, today):
    """The round's close-outs left with the lead unit, a leader or the office, and its weekly
    reports left with the unit head, ``REVIEW_STUCK_DAYS`` days or more; longest waiting first,
    each with who holds it, since when and for how many days.

    The dashboard's card counts this list and links to it; the weekly cycle escalates the same items.
    """
    requests = (
        stuck_in_review(closeouts_visible_to(user).filter(problem__round=inspection_round), today)
        .select_related("problem__lead_unit", "problem__lead_official", "measure", "applicant_unit")
        .order_by("waiting_since", "id")
    )
    rows = list(requests)
    for request in rows:
        problem = request.problem
        request.holder = review_holder(
            request.state, lead_unit=problem.lead_unit.display_name, leader=problem.lead_official
        )
        request.waiting_days = waiting_days(request.waiting_since, today)
    for report in _stuck_reports(user, inspection_round, today).select_related("measure__owner_unit"):
        unit = report.measure.owner_unit
        report.holder = f"待单位负责人确认：{unit.display_name}"
        report.applicant_unit = unit
        report.waiting_since = report.submitted_at
        report.waiting_days = waiting_days(report.submitted_at, today)
        rows.append(report)
    rows.sort(key=lambda row: row.waiting_since)
    return rows


def stuck_with_reviewers_count(*, user, inspection_round, today):
    """The card's number: the rows of ``stuck_with_reviewers``, counted in the database."""
    closeouts = stuck_in_review(closeouts_visible_to(user).filter(problem__round=inspection_round), today)
    return closeouts.count() + _stuck_reports(user, inspection_round, today).count()


def office_dashboard_served(*, user, inspection_round, today, filters):
    """The office dashboard's figures and its stuck-reviews card, as ``office_dashboard`` and
    ``stuck_with_reviewers_count`` compute them, from this process's cache while no write changed
    the findings or who sees them since (``rectification.counters``): a repeat load costs one
    small query instead of the aggregates. A fresh dictionary each time, so a page may adjust it."""
    generations = counters.figures()
    scopes = counters.WORK_SCOPES
    key = (user.pk, inspection_round.pk, today, tuple(sorted(filters.items())))
    data = generations.cached(
        "dashboard",
        key,
        scopes,
        lambda: office_dashboard(user=user, inspection_round=inspection_round, today=today, filters=filters),
        large=True,
    )
    stuck = generations.cached(
        "stuck_reviews",
        key[:3],
        scopes,
        lambda: stuck_with_reviewers_count(user=user, inspection_round=inspection_round, today=today),
    )
    return {**data, "stuck_reviews": stuck}
