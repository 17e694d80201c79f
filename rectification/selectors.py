"""Every read that depends on who is asking. Each starts from an ``access`` chokepoint."""

from django.db.models import Count, Prefetch, Q

from .access import measures_visible_to, problems_visible_to
from .models import CloseOutState, InspectionRound, Measure, Problem, Track


def rounds_visible_to(user):
    """Rounds in which the user can see at least one problem, newest first."""
    return InspectionRound.objects.filter(pk__in=problems_visible_to(user).values("round_id")).order_by(
        "-feedback_date", "-id"
    )


def problem_list(*, user, inspection_round=None, track_kind=None, closeout_state=None, search=""):
    problems = problems_visible_to(user)
    if inspection_round is not None:
        problems = problems.filter(round=inspection_round)
    if track_kind:
        problems = problems.filter(track__kind=track_kind)
    if closeout_state:
        problems = problems.filter(closeout_state=closeout_state)
    if search:
        problems = problems.filter(Q(title__icontains=search) | Q(code__icontains=search) | Q(text__icontains=search))
    return (
        problems.select_related("track", "aspect", "lead_unit", "lead_official")
        .annotate(
            measure_count=Count("measures", distinct=True),
            closed_measure_count=Count(
                "measures", filter=Q(measures__closeout_state=CloseOutState.CLOSED), distinct=True
            ),
        )
        .order_by("round_id", "seq", "id")
    )


def problem_detail(*, problem):
    """Everything a problem page shows, in a fixed number of queries. Access was checked by the caller."""
    return (
        Problem.objects.select_related(
            "round", "aspect", "track", "lead_unit", "lead_official", "campaign", "previous_problem"
        )
        .prefetch_related(
            "responsible_leaders",
            "responsible_units",
            "manifestations",
            "criteria",
            Prefetch(
                "measures",
                queryset=Measure.objects.select_related("owner_unit").prefetch_related("milestones"),
            ),
        )
        .get(pk=problem.pk)
    )


def measure_detail(*, measure):
    return (
        Measure.objects.select_related("problem__round", "problem__lead_unit", "problem__lead_official", "owner_unit")
        .prefetch_related("milestones", "criteria")
        .get(pk=measure.pk)
    )


def unit_measures(*, user, unit):
    """The open measures a unit owns, among those the user may see."""
    return (
        measures_visible_to(user)
        .filter(owner_unit=unit)
        .exclude(closeout_state=CloseOutState.CLOSED)
        .select_related("problem", "owner_unit")
        .order_by("due_date", "id")
    )


def led_problems(*, user, unit):
    return problems_visible_to(user).filter(lead_unit=unit).select_related("track").order_by("round_id", "seq")


def leader_problems(*, user):
    return (
        problems_visible_to(user)
        .filter(Q(lead_official=user) | Q(responsible_leaders=user))
        .distinct()
        .select_related("track", "lead_unit")
        .order_by("round_id", "seq")
    )


def round_overview(*, user, inspection_round):
    """Counts per close-out state for the problems and measures the user may see in a round."""
    problems = problems_visible_to(user).filter(round=inspection_round)
    measures = measures_visible_to(user).filter(problem__round=inspection_round)
    closed = Q(closeout_state=CloseOutState.CLOSED)
    problem_counts = problems.aggregate(total=Count("id"), closed=Count("id", filter=closed))
    measure_counts = measures.aggregate(total=Count("id"), closed=Count("id", filter=closed))
    by_track = (
        problems.values("track__kind")
        .annotate(total=Count("id"), closed=Count("id", filter=closed))
        .order_by("track__kind")
    )
    labels = dict(Track.Kind.choices)
    return {
        "problems": problem_counts,
        "measures": measure_counts,
        "by_track": [
            {"kind": row["track__kind"], "label": labels[row["track__kind"]], **row} for row in by_track
        ],
    }
