from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.roles import ADMIN_ROLES, READ_ALL_ROLES, UNIT_STAFF_ROLES, Role

from . import selectors
from .access import measure_for_user, problem_for_user
from .models import CloseOutState, Track

PAGE_SIZE = 20


def _current_round(user, round_id=None):
    """The round the user asked for (if visible), else the newest; plus all rounds for the picker."""
    rounds = list(selectors.rounds_visible_to(user))
    chosen = next((r for r in rounds if str(r.pk) == str(round_id)), None) if round_id else None
    return chosen or (rounds[0] if rounds else None), rounds


@login_required
@require_GET
def home(request):
    user = request.user
    today = timezone.localdate()
    context = {"today": today}
    if user.has_role(*READ_ALL_ROLES, Role.TRACK_OFFICE):
        current, _rounds = _current_round(user)
        if current is not None:
            context["round"] = current
            context["days_left"] = (current.report_deadline - today).days
            context["days_overdue"] = -context["days_left"]
            context["overview"] = selectors.round_overview(user=user, inspection_round=current)
    if user.has_role(Role.LEADER):
        context["leader_problems"] = selectors.leader_problems(user=user)
    if user.has_role(*UNIT_STAFF_ROLES) and user.unit_id:
        context["led_problems"] = selectors.led_problems(user=user, unit=user.unit)
        context["unit_measures"] = selectors.unit_measures(user=user, unit=user.unit)
    context["is_admin_only"] = user.has_role(*ADMIN_ROLES) and not (
        user.has_role(*READ_ALL_ROLES, Role.TRACK_OFFICE, Role.LEADER, *UNIT_STAFF_ROLES)
    )
    return render(request, "rectification/home.html", context)


@login_required
@require_GET
def problem_list(request):
    user = request.user
    current, rounds = _current_round(user, request.GET.get("round"))
    track_kind = request.GET.get("track") if request.GET.get("track") in Track.Kind.values else ""
    state = request.GET.get("state") if request.GET.get("state") in CloseOutState.values else ""
    search = request.GET.get("q", "").strip()[:50]
    problems = selectors.problem_list(
        user=user, inspection_round=current, track_kind=track_kind, closeout_state=state, search=search
    )
    page = Paginator(problems, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "rectification/problem_list.html",
        {
            "page": page,
            "rounds": rounds,
            "round": current,
            "track_choices": Track.Kind.choices,
            "state_choices": CloseOutState.choices,
            "filters": {"track": track_kind, "state": state, "q": search},
        },
    )


@login_required
@require_GET
def problem_detail(request, pk):
    problem = selectors.problem_detail(problem=problem_for_user(request.user, pk))
    return render(
        request,
        "rectification/problem_detail.html",
        {"problem": problem, "today": timezone.localdate()},
    )


@login_required
@require_GET
def measure_detail(request, pk):
    measure = selectors.measure_detail(measure=measure_for_user(request.user, pk))
    return render(request, "rectification/measure_detail.html", {"measure": measure, "today": timezone.localdate()})
