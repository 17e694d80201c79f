"""The office dashboard, the leader's page and the measure list behind every number."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from accounts.ui import id_param, paginate

from .. import access, selectors
from ..dashboard import leader_page, office_dashboard_served, stuck_with_reviewers, trend_chart
from ..lights import LIGHTS, REVIEW_STUCK_DAYS, mark_lights, with_light_inputs
from ..models import (
    CloseOutState,
    ProgressState,
    Track,
)
from ..workdays import unknown_years
from .common import PAGE_SIZE, current_round

# The unit ranking and the lead-unit table show the units that most need attention first; a
# city has hundreds of units, and the whole list is one click away (?ranking=all).
RANKING_SHOWN = 20
TREND_TABLE_WEEKS = 8


def _dashboard_filters(request):
    """The dashboard's filters from the query string, each checked against its choices, and for a
    track office the scope of its own tracks (the dashboard and the lists behind its cards alike)."""
    get = request.GET
    filters = {}
    if (track_unit := access.figures_track_unit(request.user)) is not None:
        filters["track_office_unit"] = track_unit
    if get.get("track") in Track.Kind.values:
        filters["track"] = get["track"]
    if get.get("state") in CloseOutState.values:
        filters["state"] = get["state"]
    for key in ("unit", "leader", "campaign"):
        if (value := id_param(request, key)) is not None:
            filters[key] = value
    if get.get("overdue") == "1":
        filters["overdue"] = True
    return filters


def _follow_up_query(current, filters):
    """The query string of the lists behind the follow-up cards: the round and the filters the
    cards were counted under (the overdue switch narrows the measure list only)."""
    if current is None:
        return ""
    params = {"round": current.pk, **{key: value for key, value in filters.items() if key != "overdue"}}
    return urlencode(params)


@login_required
@require_GET
def dashboard(request):
    user = request.user
    if not access.may_view_dashboard(user):
        raise Http404
    current, rounds = current_round(user, request.GET.get("round"))
    today = timezone.localdate()
    filters = _dashboard_filters(request)
    data = None
    track_scope = "track_office_unit" in filters
    if current is not None:
        data = office_dashboard_served(user=user, inspection_round=current, today=today, filters=filters)
        if track_scope:
            # The frozen weekly snapshots are the round's figures: not a track office's.
            data["trend"], data["snapshots"] = [], []
    from accounts.models import Unit

    show_all = request.GET.get("ranking") == "all"
    shown = None if show_all else RANKING_SHOWN
    ranking = data["ranking"] if data else []
    by_lead_unit = data["by_lead_unit"] if data else []

    return render(
        request,
        "rectification/dashboard.html",
        {
            "round": current,
            "rounds": rounds,
            "d": data,
            "chart": trend_chart(data["trend"]) if data else None,
            # What the person chose (the filter note under the trend); a track office's scope is no choice.
            "filters": {key: value for key, value in filters.items() if key != "track_office_unit"},
            "track_scope": track_scope,
            "show_all": show_all,
            "shown": RANKING_SHOWN,
            "ranking": ranking[:shown],
            # The table under the chart: the latest weeks (the chart draws them all).
            "trend_recent": data["trend"][-TREND_TABLE_WEEKS:] if data else [],
            "trend_hidden": max(0, len(data["trend"]) - TREND_TABLE_WEEKS) if data else 0,
            "ranking_hidden": max(0, len(ranking) - RANKING_SHOWN) if shown else 0,
            "by_lead_unit": by_lead_unit[:shown],
            "lead_units_hidden": max(0, len(by_lead_unit) - RANKING_SHOWN) if shown else 0,
            "track_choices": Track.Kind.choices,
            "state_choices": CloseOutState.choices,
            "progress_labels": dict(ProgressState.choices),
            "closeout_labels": dict(CloseOutState.choices),
            "units": Unit.objects.filter(is_active=True).exclude(level=Unit.Level.VILLAGE).only("id", "name"),
            "leaders": access.leader_accounts().only("id", "full_name"),
            # Read with the trend, in the same query (newest first).
            "snapshots": data["snapshots"] if data else [],
            # The countdown's working days run from today to the report deadline.
            "calendar_gaps": unknown_years([today, current.report_deadline, current.look_back_date]) if current else [],
            # The claim and criteria cards are the office's follow-up; their lists keep the filters.
            "may_follow_up": access.may_manage_ledger(user),
            "follow_up_query": _follow_up_query(current, filters),
            "stuck_reviews": data["stuck_reviews"] if data else 0,
            "stuck_days": REVIEW_STUCK_DAYS,
        },
    )


@login_required
@require_GET
def review_stuck(request):
    """The items stuck with reviewers behind the dashboard's card: who holds each, since when."""
    user = request.user
    if not access.may_view_dashboard(user):
        raise Http404
    current, rounds = current_round(user, request.GET.get("round"))
    today = timezone.localdate()
    rows = stuck_with_reviewers(user=user, inspection_round=current, today=today) if current else []
    return render(
        request,
        "rectification/review_stuck.html",
        {"round": current, "rounds": rounds, "rows": rows, "stuck_days": REVIEW_STUCK_DAYS, "today": today},
    )


@login_required
@require_GET
def leader_dashboard(request):
    if not access.may_view_leader_page(request.user):
        raise Http404
    page = leader_page(user=request.user, today=timezone.localdate())
    # The due dates on the page, by which the lights count days.
    page["calendar_gaps"] = unknown_years(
        [*(m.due_date for m in page["all_measures"]), *(p.due_date for p in page["all_problems"])]
    )
    return render(request, "rectification/leader.html", page)


MEASURE_ORDER_CHOICES = [
    ("", gettext_lazy("完成时限")),
    ("percent", gettext_lazy("进度从低到高")),
    ("unit", gettext_lazy("责任单位")),
    ("reported", gettext_lazy("最久未报")),
]


@login_required
@require_GET
def measure_list(request):
    user = request.user
    current, rounds = current_round(user, request.GET.get("round"))
    today = timezone.localdate()
    filters = _dashboard_filters(request)
    light = request.GET.get("light") if request.GET.get("light") in {candidate.code for candidate in LIGHTS} else None
    order = request.GET.get("order", "") if request.GET.get("order", "") in selectors.MEASURE_ORDERS else ""
    measures = selectors.measure_list(
        user=user, inspection_round=current, filters=filters, light=light, today=today, order=order
    )
    page = paginate(request, with_light_inputs(measures), PAGE_SIZE)
    mark_lights(page, today)
    return render(
        request,
        "rectification/measure_list.html",
        {
            "page": page,
            "round": current,
            "rounds": rounds,
            "light_label": next((candidate.label for candidate in LIGHTS if candidate.code == light), ""),
            "order": order,
            "order_choices": MEASURE_ORDER_CHOICES,
            "filters": filters,
            # The campaign a count on its page was opened from, named above the list.
            "campaign": selectors.campaign_list(user=user).filter(pk=filters["campaign"]).first()
            if filters.get("campaign")
            else None,
        },
    )
