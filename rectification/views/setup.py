"""Setting up a round in the browser: the office's forms, the lead unit's decomposition,
each unit's claiming, change requests after claiming, and the battle map."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.ui import error_text

from .. import access, selectors, services
from ..access import change_request_for_user, measure_for_user, milestone_for_user, problem_for_user
from ..forms import (
    AfterDeadlineForm,
    AspectForm,
    ChangeRequestForm,
    ClaimForm,
    MeasureForm,
    MemberForm,
    MilestoneEditForm,
    ObjectionForm,
    ProblemForm,
    ReassignForm,
    RoundForm,
    split_lines,
)
from ..models import InspectionRound, MeasureChangeRequest
from ..workdays import unknown_years
from .common import staff_unit


def _office_only(user):
    """The office's own pages are not there for anyone else."""
    if not access.may_manage_ledger(user):
        raise Http404


@login_required
@require_http_methods(["GET", "POST"])
def round_create(request):
    _office_only(request.user)
    form = RoundForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            inspection_round = services.round_create(
                actor=request.user,
                title=data["title"],
                kind=data["kind"],
                inspection_team=data["inspection_team"],
                period_start=data["period_start"],
                period_end=data["period_end"],
                feedback_date=data["feedback_date"],
                report_deadline=data["report_deadline"],
                rectification_end=data["rectification_end"],
                previous_round=data["previous_round"],
                track_offices=form.track_offices(),
                track_offices_review=data["track_offices_review"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("巡视轮次已创建，请添加问题方面和反馈问题。"))
            return redirect("rectification:round_setup", pk=inspection_round.pk)
    return render(request, "rectification/setup/round_form.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def round_setup(request, pk):
    _office_only(request.user)
    inspection_round = get_object_or_404(InspectionRound, pk=pk)
    aspect_form, member_form = AspectForm(), MemberForm()
    after_deadline_form = AfterDeadlineForm(
        initial={
            "after_deadline_cadence": inspection_round.after_deadline_cadence,
            "look_back_date": inspection_round.look_back_date,
        }
    )
    if request.method == "POST":
        try:
            if request.POST.get("form") == "aspect":
                aspect_form = AspectForm(request.POST)
                if aspect_form.is_valid():
                    services.aspect_create(
                        actor=request.user,
                        inspection_round=inspection_round,
                        title=aspect_form.cleaned_data["title"],
                    )
                    messages.success(request, _("问题方面已添加。"))
                    return redirect("rectification:round_setup", pk=pk)
            elif request.POST.get("form") == "member":
                member_form = MemberForm(request.POST)
                if member_form.is_valid():
                    services.round_member_add(
                        actor=request.user, inspection_round=inspection_round, **member_form.cleaned_data
                    )
                    messages.success(request, _("已添加。"))
                    return redirect("rectification:round_setup", pk=pk)
            elif request.POST.get("form") == "after_deadline":
                after_deadline_form = AfterDeadlineForm(request.POST)
                if after_deadline_form.is_valid():
                    services.round_after_deadline_set(
                        actor=request.user,
                        inspection_round=inspection_round,
                        cadence=after_deadline_form.cleaned_data["after_deadline_cadence"],
                        look_back_date=after_deadline_form.cleaned_data["look_back_date"],
                    )
                    messages.success(request, _("报送期限后的调度已保存。"))
                    return redirect("rectification:round_setup", pk=pk)
        except ValidationError as error:
            messages.error(request, error_text(error))
    return render(
        request,
        "rectification/setup/round_setup.html",
        {
            "round": inspection_round,
            "aspect_form": aspect_form,
            "member_form": member_form,
            "after_deadline_form": after_deadline_form,
            "members": inspection_round.members.select_related("user"),
            "problems": inspection_round.problems.select_related("lead_unit", "lead_official", "track").order_by("seq"),
            "claims": selectors.claim_rates(user=request.user, inspection_round=inspection_round),
            "reassign_form": ReassignForm(),
            "changes": MeasureChangeRequest.objects.filter(
                measure__problem__round=inspection_round, state=MeasureChangeRequest.State.PENDING
            ).select_related("measure", "requested_by"),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def problem_create(request, pk):
    _office_only(request.user)
    inspection_round = get_object_or_404(InspectionRound, pk=pk)
    form = ProblemForm(request.POST or None, inspection_round=inspection_round)
    if request.method == "POST" and form.is_valid():
        try:
            problem = services.problem_create(
                actor=request.user, inspection_round=inspection_round, **form.service_kwargs()
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("问题 %(code)s 已创建，已通知牵头单位分解整改措施。") % {"code": problem.code})
            return redirect("rectification:round_setup", pk=pk)
    return render(request, "rectification/setup/problem_form.html", {"form": form, "round": inspection_round})


@login_required
@require_http_methods(["GET", "POST"])
def problem_decompose(request, pk):
    problem = problem_for_user(request.user, pk, "decompose")
    form = MeasureForm(request.POST or None, initial={"start_date": timezone.localdate(), "due_date": problem.due_date})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            measure = services.measure_create(
                actor=request.user,
                problem=problem,
                text=data["text"],
                kind=data["kind"],
                owner_unit=data["owner_unit"],
                handler_name=data["handler_name"],
                handler_phone=data["handler_phone"],
                start_date=data["start_date"],
                due_date=data["due_date"],
                expected_deliverable=data["expected_deliverable"],
            )
            if split_lines(data["criteria"]):
                services.criteria_set(actor=request.user, measure=measure, texts=split_lines(data["criteria"]))
            if data["generate_milestones"]:
                services.milestones_generate(actor=request.user, measure=measure)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _("措施 %(code)s 已分解给%(unit)s，待其认领。")
                % {"code": measure.code, "unit": measure.owner_unit.display_name},
            )
            return redirect("rectification:problem_decompose", pk=pk)
    measures = list(
        problem.measures.select_related("owner_unit").prefetch_related("milestones", "criteria").order_by("seq", "id")
    )
    # The milestones are planned backwards in working days from the due dates.
    dates = [problem.due_date, *(m.due_date for m in measures)]
    dates += [milestone.due_date for m in measures for milestone in m.milestones.all()]
    return render(
        request,
        "rectification/setup/decompose.html",
        {
            "problem": problem,
            "form": form,
            "measures": measures,
            "milestone_form": MilestoneEditForm(),
            # Measures without their own criteria take the problem's; with none there, they have none.
            "problem_has_criteria": problem.criteria.filter(measure__isnull=True).exists(),
            "calendar_gaps": unknown_years(dates),
        },
    )


@login_required
@require_POST
def measure_setup_action(request, pk):
    """Withdraw, move up, or regenerate milestones of one measure on the decomposition page."""
    measure = measure_for_user(request.user, pk, "decompose")
    action = request.POST.get("action")
    try:
        if action == "withdraw":
            services.measure_withdraw(actor=request.user, measure=measure)
            messages.success(request, _("措施已撤回。"))
        elif action == "up":
            ids = list(measure.problem.measures.order_by("seq", "id").values_list("pk", flat=True))
            index = ids.index(measure.pk)
            if index > 0:
                ids[index - 1], ids[index] = ids[index], ids[index - 1]
                services.measures_reorder(actor=request.user, problem=measure.problem, ordered_ids=ids)
        elif action == "milestones":
            services.milestones_generate(actor=request.user, measure=measure)
            messages.success(request, _("已按完成时限倒排时间节点（遇节假日提前到上一个工作日）。"))
        elif action == "criteria":
            services.criteria_set(
                actor=request.user, measure=measure, texts=split_lines(request.POST.get("criteria", ""))
            )
            messages.success(request, _("措施 %(code)s 的验收标准已保存。") % {"code": measure.code})
        else:
            raise Http404
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, error_text(error))
    return redirect("rectification:problem_decompose", pk=measure.problem_id)


@login_required
@require_POST
def milestone_edit(request, pk):
    milestone = milestone_for_user(request.user, pk, "edit")
    measure = milestone.measure
    form = MilestoneEditForm(request.POST)
    if form.is_valid():
        try:
            services.milestone_update(actor=request.user, milestone=milestone, **form.cleaned_data)
        except ValidationError as error:
            messages.error(request, error_text(error))
        else:
            messages.success(request, _("时间节点已调整。"))
    else:
        messages.error(request, _("请填写节点名称和日期。"))
    return redirect("rectification:problem_decompose", pk=measure.problem_id)


@login_required
@require_http_methods(["GET", "POST"])
def measure_change_request(request, pk):
    measure = measure_for_user(request.user, pk, "decompose")
    form = ChangeRequestForm(
        request.POST or None,
        initial={
            "text": measure.text,
            "due_date": measure.due_date,
            "expected_deliverable": measure.expected_deliverable,
        },
    )
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        reason = data.pop("reason")
        changes = {k: v for k, v in data.items() if getattr(measure, k) != v}
        try:
            services.change_request_create(actor=request.user, measure=measure, changes=changes, reason=reason)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("变更申请已提交整改办审批。"))
            return redirect("rectification:problem_decompose", pk=measure.problem_id)
    return render(request, "rectification/setup/change_request.html", {"form": form, "measure": measure})


@login_required
@require_POST
def change_request_decide(request, pk):
    _office_only(request.user)
    change = change_request_for_user(request.user, pk, "decide")
    try:
        services.change_request_decide(
            actor=request.user, request=change, approve=request.POST.get("decision") == "approve"
        )
    except ValidationError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, _("已处理变更申请。"))
    return redirect("rectification:round_setup", pk=change.measure.problem.round_id)


@login_required
@require_POST
def measure_reassign(request, pk):
    _office_only(request.user)
    measure = measure_for_user(request.user, pk, "manage")
    form = ReassignForm(request.POST)
    if form.is_valid():
        services.measure_reassign(actor=request.user, measure=measure, owner_unit=form.cleaned_data["owner_unit"])
        messages.success(request, _("措施 %(code)s 已改派，待新单位认领。") % {"code": measure.code})
    return redirect("rectification:round_setup", pk=measure.problem.round_id)


@login_required
@require_GET
def unit_claims(request):
    unit = staff_unit(request.user)
    return render(
        request,
        "rectification/setup/claims.html",
        {
            "unit": unit,
            "measures": selectors.unit_claims(user=request.user, unit=unit),
            "claim_form": ClaimForm(),
            "objection_form": ObjectionForm(),
        },
    )


@login_required
@require_POST
def measure_claim(request, pk):
    measure = measure_for_user(request.user, pk, "report")
    try:
        if request.POST.get("action") == "object":
            form = ObjectionForm(request.POST)
            services.measure_object(actor=request.user, measure=measure, reason=form.data.get("reason", ""))
            messages.success(request, _("异议已提交整改办。"))
        else:
            services.measure_claim(
                actor=request.user,
                measure=measure,
                handler_name=request.POST.get("handler_name", ""),
                handler_phone=request.POST.get("handler_phone", ""),
            )
            messages.success(request, _("已认领措施 %(code)s。") % {"code": measure.code})
    except ValidationError as error:
        messages.error(request, error_text(error))
    return redirect("rectification:unit_claims")


@login_required
@require_GET
def problem_battle_map(request, pk):
    problem = selectors.problem_detail(problem=problem_for_user(request.user, pk))
    today = timezone.localdate()
    return render(
        request,
        "rectification/setup/battle_map.html",
        {"problem": problem, "map": selectors.battle_map(problem=problem, today=today), "today": today},
    )


@login_required
@require_GET
def round_list(request):
    _office_only(request.user)
    return render(
        request,
        "rectification/setup/round_list.html",
        {"rounds": InspectionRound.objects.order_by("-feedback_date", "-id")},
    )
