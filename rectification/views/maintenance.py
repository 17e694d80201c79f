"""The office maintaining the ledger in the browser (a problem's fields, the hand-over of a leader's
items, the 专项整治 campaigns), each campaign's page, and the district battle board (挂图作战总图)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from .. import access, selectors, services
from ..access import campaign_for_user, problem_for_user
from ..forms import CampaignForm, LeaderHandoverForm, ProblemEditForm
from ..models import InspectionRound
from .common import current_round


def _office_only(user):
    """The office's own pages are not there for anyone else."""
    if not access.may_manage_ledger(user):
        raise Http404


@login_required
@require_http_methods(["GET", "POST"])
def problem_edit(request, pk):
    _office_only(request.user)
    problem = problem_for_user(request.user, pk)
    form = ProblemEditForm(
        request.POST or None, inspection_round=problem.round, initial=ProblemEditForm.initial_for(problem)
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.problem_edit(actor=request.user, problem=problem, **form.service_kwargs())
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request, _("问题 %(code)s 已保存，相关单位和领导的权限已同步调整。") % {"code": problem.code}
            )
            return redirect(problem.get_absolute_url())
    return render(request, "rectification/maintenance/problem_edit.html", {"form": form, "problem": problem})


def _handover_key(data):
    return f"{data['inspection_round'].pk}-{data['old_leader'].pk}-{data['new_leader'].pk}"


@login_required
@require_http_methods(["GET", "POST"])
def leader_handover(request):
    """领导调整: choose the old and the new leader, see what moves, confirm."""
    _office_only(request.user)
    form = LeaderHandoverForm(request.POST or None)
    preview = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        # What is confirmed is what was previewed: a choice changed after the preview is previewed again.
        previewed = (request.POST.get("previewed") or "") == _handover_key(data)
        if request.POST.get("step") == "confirm" and not previewed:
            messages.warning(request, _("选择已改变，请先核对新的预览再确认移交。"))
        elif request.POST.get("step") == "confirm":
            try:
                moved = services.leader_items_reassign(
                    actor=request.user,
                    inspection_round=data["inspection_round"],
                    old_leader=data["old_leader"],
                    new_leader=data["new_leader"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(
                    request,
                    _("已将%(old)s的 %(count)s 个问题移交%(new)s，权限已同步调整。")
                    % {"old": data["old_leader"].full_name, "count": len(moved), "new": data["new_leader"].full_name},
                )
                return redirect("rectification:leader_handover")
        preview = selectors.leader_handover_preview(
            inspection_round=data["inspection_round"], leader=data["old_leader"]
        )
    return render(
        request,
        "rectification/maintenance/leader_handover.html",
        {
            "form": form,
            "preview": preview,
            "old_leader": form.cleaned_data.get("old_leader") if preview else None,
            "previewed": _handover_key(form.cleaned_data) if preview else "",
        },
    )


@login_required
@require_GET
def campaign_list(request):
    current, rounds = current_round(request.user, request.GET.get("round"))
    return render(
        request,
        "rectification/maintenance/campaign_list.html",
        {
            "round": current,
            "rounds": rounds,
            "campaigns": selectors.campaign_list(user=request.user, inspection_round=current),
            "can_manage": access.may_manage_ledger(request.user),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def campaign_create(request, pk):
    _office_only(request.user)
    inspection_round = get_object_or_404(InspectionRound, pk=pk)
    form = CampaignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            campaign = services.campaign_create(
                actor=request.user, inspection_round=inspection_round, **form.cleaned_data
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("专项整治“%(name)s”已创建。") % {"name": campaign.name})
            return redirect(campaign.get_absolute_url())
    return render(
        request,
        "rectification/maintenance/campaign_form.html",
        {"form": form, "round": inspection_round, "campaign": None},
    )


@login_required
@require_http_methods(["GET", "POST"])
def campaign_edit(request, pk):
    _office_only(request.user)
    campaign = campaign_for_user(request.user, pk, "manage")
    form = CampaignForm(
        request.POST or None,
        initial={
            "name": campaign.name,
            "lead_unit": campaign.lead_unit_id,
            "deadline": campaign.deadline,
            "description": campaign.description,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.campaign_update(actor=request.user, campaign=campaign, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("专项整治已保存。"))
            return redirect(campaign.get_absolute_url())
    return render(
        request,
        "rectification/maintenance/campaign_form.html",
        {"form": form, "round": campaign.round, "campaign": campaign},
    )


@login_required
@require_GET
def campaign_detail(request, pk):
    campaign = campaign_for_user(request.user, pk)
    today = timezone.localdate()
    return render(
        request,
        "rectification/maintenance/campaign_detail.html",
        {
            "campaign": campaign,
            "today": today,
            "days_left": (campaign.deadline - today).days if campaign.deadline else None,
            "page": selectors.campaign_page(user=request.user, campaign=campaign, today=today),
            "can_manage": access.may_manage_ledger(request.user),
        },
    )


@login_required
@require_GET
def battle_board(request):
    if not access.may_view_battle_board(request.user):
        raise Http404
    current, rounds = current_round(request.user, request.GET.get("round"))
    group = request.GET.get("group") if request.GET.get("group") in selectors.BOARD_GROUPS else "aspect"
    today = timezone.localdate()
    return render(
        request,
        "rectification/maintenance/battle_board.html",
        {
            "round": current,
            "rounds": rounds,
            "group": group,
            "groups": selectors.BOARD_GROUPS,
            "today": today,
            "board": selectors.battle_board(user=request.user, inspection_round=current, group=group, today=today)
            if current
            else None,
        },
    )
