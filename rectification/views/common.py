"""Helpers shared by the views: the chosen round, the ISO week asked for, the unit of a staff member."""

import datetime

from django.urls import reverse
from django.utils import timezone

from .. import selectors
from ..access import staff_unit  # noqa: F401 - the views' name for it
from ..models import (
    CloseOutState,
)
from ..workdays import iso_week_of, report_cutoff, unknown_years, week_from_key, week_key, week_monday

PAGE_SIZE = 20
# An item in review or already closed offers no new application.
ACTIVE_CLOSEOUT_STATES = {
    CloseOutState.PENDING_LEAD_UNIT,
    CloseOutState.PENDING_LEADER,
    CloseOutState.PENDING_OFFICE,
    CloseOutState.CLOSED,
}


def current_round(user, round_id=None):
    """The round the user asked for (if visible), else the newest; plus all rounds for the picker."""
    rounds = list(selectors.rounds_visible_to(user))
    chosen = next((r for r in rounds if str(r.pk) == str(round_id)), None) if round_id else None
    return chosen or (rounds[0] if rounds else None), rounds


def week_from_request(request):
    """The ISO week asked for as ``?week=2026-W48``, else the current week (Asia/Shanghai)."""
    raw = request.GET.get("week") or request.POST.get("week") or ""
    try:
        return week_from_key(raw)
    except ValueError:
        return iso_week_of(timezone.localdate())


def week_context(iso_year, iso_week):
    monday = week_monday(iso_year, iso_week)
    previous_year, previous_week = iso_week_of(monday - datetime.timedelta(days=7))
    next_year, next_week = iso_week_of(monday + datetime.timedelta(days=7))
    cutoff = report_cutoff(iso_year, iso_week)
    return {
        "iso_year": iso_year,
        "iso_week": iso_week,
        "week_param": week_key(iso_year, iso_week),
        "week_start": monday,
        "week_end": monday + datetime.timedelta(days=6),
        "cutoff": cutoff,
        # The cut-off moves with holidays: the page says so when its year's are unknown
        # (a page showing more dates passes them to ``unknown_years`` with the cut-off).
        "calendar_gaps": unknown_years([cutoff]),
        "previous_week_param": week_key(previous_year, previous_week),
        "next_week_param": week_key(next_year, next_week),
    }


def url_prefix(name):
    """What the URL named ``name`` of any object starts with: the URL is the prefix, the object's
    pk and "/". For lists of hundreds of rows, one ``reverse`` instead of one per row."""
    url = reverse(name, args=[0])
    if not url.endswith("/0/"):
        raise ValueError(f"{name} does not end with its pk: {url}")
    return url[:-2]
