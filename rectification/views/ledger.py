"""Browsing the ledger: the home page per role, problem and measure lists and details."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from accounts.ui import id_param, paginate, search_param

from .. import access, selectors
from ..access import measure_for_user, problem_for_user
from ..forms import (
    EvidenceForm,
    MilestoneDoneForm,
)
from ..models import (
    CloseOutState,
    Track,
)
from ..workdays import round_countdown, unknown_years
from .common import ACTIVE_CLOSEOUT_STATES, PAGE_SIZE, current_round


@login_required
@require_GET
def home(request):
    user = request.user
    if access.home_is_worklist(user):
        return redirect("rectification:worklist")
    today = timezone.localdate()
    context = {"today": today}
    if access.sees_round_overview(user):
        current, _rounds = current_round(user)
        if current is not None:
            context["round"] = current
            context["countdown"] = round_countdown(current, today)
            context["overview"] = selectors.round_overview(user=user, inspection_round=current)
    if access.is_leader(user):
        # This round's problems apart from what is left of earlier rounds.
        leader_round, context["leader_problems"], context["leader_earlier"] = selectors.split_by_round(
            selectors.leader_problems(user=user), lambda problem: problem.round
        )
        context["leader_round"] = leader_round
    if access.is_unit_staff(user):
        context["led_problems"] = selectors.led_problems(user=user, unit=user.unit)
        context["unit_measures"] = selectors.unit_measures(user=user, unit=user.unit)
    context["is_admin_only"] = access.sees_no_findings(user)
    context["released_only"] = access.reads_released_only(user)
    return render(request, "rectification/home.html", context)


PROBLEM_ORDER_CHOICES = [
    ("", gettext_lazy("按编号")),
    ("due", gettext_lazy("按整改时限")),
    ("lead_unit", gettext_lazy("按牵头单位")),
]


@login_required
@require_GET
def problem_list(request):
    user = request.user
    current, rounds = current_round(user, request.GET.get("round"))
    track_kind = request.GET.get("track") if request.GET.get("track") in Track.Kind.values else ""
    state = request.GET.get("state") if request.GET.get("state") in CloseOutState.values else ""
    search = search_param(request)
    campaign_id = id_param(request, "campaign")
    order = request.GET.get("order", "") if request.GET.get("order", "") in selectors.PROBLEM_ORDERS else ""
    problems = selectors.problem_list(
        user=user,
        inspection_round=current,
        track_kind=track_kind,
        closeout_state=state,
        search=search,
        campaign_id=campaign_id,
        order=order,
    )
    page = paginate(request, problems, PAGE_SIZE)
    return render(
        request,
        "rectification/problem_list.html",
        {
            "page": page,
            "rounds": rounds,
            "round": current,
            "track_choices": Track.Kind.choices,
            "state_choices": CloseOutState.choices,
            "filters": {"track": track_kind, "state": state, "q": search, "campaign": campaign_id, "order": order},
            "order_choices": PROBLEM_ORDER_CHOICES,
            "campaigns": selectors.campaign_list(user=user, inspection_round=current),
        },
    )


@login_required
@require_GET
def problem_detail(request, pk):
    problem = selectors.problem_detail(problem=problem_for_user(request.user, pk))
    return render(
        request,
        "rectification/problem_detail.html",
        {
            "problem": problem,
            "today": timezone.localdate(),
            "closeouts": selectors.closeout_history(problem=problem),
            "calendar_gaps": unknown_years(
                [problem.due_date]
                + [
                    day
                    for m in problem.measures.all()
                    for day in (m.due_date, *(s.due_date for s in m.milestones.all()))
                ]
            ),
            "can_decompose": access.may_decompose(request.user, problem),
            "can_edit": access.may_manage_ledger(request.user),
            "can_apply": access.may_apply_closeout(request.user, problem)
            and problem.closeout_state not in ACTIVE_CLOSEOUT_STATES,
        },
    )


@login_required
@require_GET
def measure_detail(request, pk):
    measure = selectors.measure_detail(measure=measure_for_user(request.user, pk), today=timezone.localdate())
    return render(
        request,
        "rectification/measure_detail.html",
        {
            "measure": measure,
            "today": timezone.localdate(),
            "reports": selectors.measure_reports(measure=measure),
            # Milestones are worked backwards from the due date on working days.
            "calendar_gaps": unknown_years([measure.due_date, *(m.due_date for m in measure.milestones.all())]),
            "evidence": measure.evidence.select_related("uploaded_by"),
            "can_report": access.may_report(request.user, measure),
            "can_apply": access.may_apply_closeout(request.user, measure.problem, measure)
            and measure.closeout_state not in ACTIVE_CLOSEOUT_STATES,
            "closeouts": selectors.closeout_history(problem=measure.problem, measure=measure),
            "evidence_form": EvidenceForm(),
            "milestone_form": MilestoneDoneForm(initial={"done_on": timezone.localdate()}),
        },
    )
