"""The office's follow-up of a round's set-up: what is not claimed yet, which measures have no
acceptance criterion, and asking the lead units to add them. Each list is the one a dashboard
card links to, read with the card's own scope (``selectors.setup_scope``)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.ui import MAX_ID, error_text, paginate

from .. import access, selectors, services
from .common import PAGE_SIZE, current_round
from .dashboards import _dashboard_filters


def _office_round(request, round_id):
    """The round asked for, for the office only: anyone else finds no such page."""
    if not access.may_manage_ledger(request.user):
        raise Http404
    current, rounds = current_round(request.user, round_id)
    if current is None:
        raise Http404
    return current, rounds


@login_required
@require_GET
def unclaimed_list(request):
    current, rounds = _office_round(request, request.GET.get("round"))
    filters = _dashboard_filters(request)
    kind = request.GET.get("kind") if request.GET.get("kind") in selectors.UNCLAIMED_KINDS else None
    problems, measures = selectors.setup_scope(user=request.user, inspection_round=current, filters=filters)
    today = timezone.localdate()
    page = paginate(request, selectors.unclaimed_items(problems=problems, measures=measures, kind=kind), PAGE_SIZE)
    for row in page:
        row["days"] = (today - timezone.localtime(row["since"]).date()).days
    return render(
        request,
        "rectification/followup/unclaimed.html",
        {
            "page": page,
            "round": current,
            "rounds": rounds,
            "kind": kind,
            "kinds": selectors.UNCLAIMED_KINDS,
            "filters": filters,
            "days_since_feedback": (today - current.feedback_date).days,
        },
    )


@login_required
@require_GET
def criteria_missing_list(request):
    current, rounds = _office_round(request, request.GET.get("round"))
    filters = _dashboard_filters(request)
    _problems, measures = selectors.setup_scope(user=request.user, inspection_round=current, filters=filters)
    page = paginate(request, selectors.lacking_criteria_list(measures), PAGE_SIZE)
    return render(
        request,
        "rectification/followup/criteria_missing.html",
        {"page": page, "round": current, "rounds": rounds, "filters": filters},
    )


@login_required
@require_POST
def criteria_ask(request):
    if not access.may_manage_ledger(request.user):
        raise Http404
    raw = request.POST.get("round", "").strip()
    round_id = int(raw) if raw.isascii() and raw.isdecimal() and 0 < int(raw) <= MAX_ID else None
    current, _rounds = current_round(request.user, round_id)
    # A round the office cannot see, or none at all, is not quietly replaced by the newest one.
    if current is None or current.pk != round_id:
        raise Http404
    try:
        asked = services.criteria_ask(actor=request.user, inspection_round=current)
    except ValidationError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, _("已通知 %(count)d 个牵头单位补充验收标准。") % {"count": asked})
    return redirect(f"{reverse('rectification:criteria_missing')}?round={current.pk}")
