"""Close-out (销号): application, review chain, reopen, pending list and the problem's records."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.ui import error_text, id_param, paginate, search_param

from .. import access, selectors, services
from ..access import closeout_for_user, measure_for_user, problem_for_user
from ..forms import (
    AccountabilityForm,
    CloseOutApplyForm,
    CloseOutDecisionForm,
    RecoveryForm,
    ReopenForm,
    RuleForm,
)
from ..models import (
    CloseOutRequest,
    CloseOutState,
    DeadlineCategory,
    Evidence,
)

PENDING_PAGE_SIZE = 20
PENDING_ORDERS = {"oldest": gettext_lazy("最早申请的在前"), "newest": gettext_lazy("最新申请的在前")}


def _closeout_apply(request, problem, measure):
    evidence = (
        Evidence.objects.filter(measure=measure) if measure else Evidence.objects.filter(measure__problem=problem)
    )
    criteria = services.closeout_criteria(problem=problem, measure=measure)
    form_kwargs = {
        "criteria": criteria,
        "evidence": list(evidence.order_by("-uploaded_at")),
        "allow_staged": problem.deadline_category == DeadlineCategory.LONG_TERM,
    }
    target = measure or problem
    if request.method == "POST":
        form = CloseOutApplyForm(request.POST, **form_kwargs)
        if form.is_valid():
            try:
                closeout = services.closeout_apply(
                    actor=request.user,
                    problem=problem,
                    measure=measure,
                    statement=form.cleaned_data["statement"],
                    pledged=form.cleaned_data["pledged"],
                    checks=form.checks(),
                    notes=form.notes(),
                    kind=form.cleaned_data["kind"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(
                    request, _("销号申请已提交，进入%(state)s环节。") % {"state": closeout.get_state_display()}
                )
                return redirect(closeout.get_absolute_url())
    else:
        form = CloseOutApplyForm(**form_kwargs)
    return render(
        request,
        "rectification/closeout_apply.html",
        {
            "form": form,
            "target": target,
            "problem": problem,
            "measure": measure,
            # What still stands in the way of a full close-out, said before anyone fills the form.
            "not_ready": services.closeout_readiness(problem=problem, measure=measure),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def measure_closeout_apply(request, pk):
    measure = measure_for_user(request.user, pk, "apply_closeout")
    return _closeout_apply(request, measure.problem, measure)


@login_required
@require_http_methods(["GET", "POST"])
def problem_closeout_apply(request, pk):
    problem = problem_for_user(request.user, pk, "apply_closeout")
    return _closeout_apply(request, problem, None)


@login_required
@require_GET
def closeout_detail(request, pk):
    closeout = selectors.closeout_detail(request=closeout_for_user(request.user, pk))
    can_decide = access.may_decide_closeout(request.user, closeout)
    return render(
        request,
        "rectification/closeout_detail.html",
        {
            "closeout": closeout,
            "tests": services.three_tests(closeout),
            "can_decide": can_decide,
            "needs_password": can_decide and closeout.state == CloseOutRequest.State.PENDING_LEADER,
            "is_office_step": closeout.state == CloseOutRequest.State.PENDING_OFFICE,
            "decision_form": CloseOutDecisionForm(),
            "can_reopen": access.may_reopen_closeout(request.user)
            and closeout.state == CloseOutRequest.State.CLOSED
            and closeout.target.closeout_state == CloseOutState.CLOSED,
            "reopen_form": ReopenForm(),
            "history": selectors.closeout_history(problem=closeout.problem, measure=closeout.measure),
        },
    )


@login_required
@require_POST
def closeout_decide(request, pk):
    closeout = closeout_for_user(request.user, pk)
    form = CloseOutDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请选择通过或退回。"))
        return redirect(closeout.get_absolute_url())
    data = form.cleaned_data
    try:
        services.closeout_decide(
            actor=request.user,
            request=closeout,
            approve=data["decision"] == "approve",
            comment=data["comment"],
            no_accountability_reason=data["no_accountability_reason"],
            no_rules_reason=data["no_rules_reason"],
            password=data["password"],
            http_request=request,
        )
    except ValidationError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, _("已办理。"))
    return redirect(closeout.get_absolute_url())


@login_required
@require_POST
def closeout_reopen(request, pk):
    closeout = closeout_for_user(request.user, pk)
    form = ReopenForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("重启时必须说明理由。"))
    else:
        try:
            services.closeout_reopen(actor=request.user, request=closeout, reason=form.cleaned_data["reason"])
        except ValidationError as error:
            messages.error(request, error_text(error))
        else:
            messages.success(request, _("事项已重启，原签批记录保留。"))
    return redirect(closeout.get_absolute_url())


@login_required
@require_GET
def closeout_pending(request):
    requests = list(selectors.closeouts_pending_for(request.user))
    # What waits for one person is a short list, read whole: the round filter, the search, the order
    # and the pages work on it without another query, and the badge shows its full length.
    rounds = list({r.problem.round.pk: r.problem.round for r in requests}.values())
    round_id = id_param(request, "round")
    q = search_param(request)
    order = request.GET.get("order") if request.GET.get("order") in PENDING_ORDERS else "oldest"
    shown = [r for r in requests if (not round_id or r.problem.round.pk == round_id) and _pending_matches(r, q)]
    if order == "newest":
        shown.reverse()
    return render(
        request,
        "rectification/closeout_pending.html",
        {
            "page": paginate(request, shown, PENDING_PAGE_SIZE),
            "shown_count": len(shown),
            "rounds": rounds,
            "filters": {"round": round_id, "q": q, "order": order},
            "orders": PENDING_ORDERS.items(),
            "pending_count": len(requests),
        },
    )


def _pending_matches(request, q):
    """Whether a waiting request matches the search: the problem's or measure's code or title, or
    the applicant unit's name."""
    if not q:
        return True
    texts = [
        request.problem.code,
        request.problem.title,
        request.applicant_unit.name,
        request.applicant_unit.short_name,
    ]
    if request.measure is not None:
        texts += [request.measure.code, request.measure.text]
    return any(q.lower() in (text or "").lower() for text in texts)


RECORD_FORMS = {
    "accountability": (AccountabilityForm, "accountability_record_create", _("追责问责记录已录入。")),
    "rule": (RuleForm, "rule_record_create", _("建章立制记录已录入。")),
    "recovery": (RecoveryForm, "recovery_create", _("资金追缴记录已录入。")),
}


@login_required
@require_http_methods(["GET", "POST"])
def problem_records(request, pk):
    problem = problem_for_user(request.user, pk)
    forms_by_kind = {kind: form_class(prefix=kind) for kind, (form_class, _s, _m) in RECORD_FORMS.items()}
    if request.method == "POST":
        kind = request.POST.get("record")
        if kind not in RECORD_FORMS:
            raise Http404
        form_class, service_name, done = RECORD_FORMS[kind]
        form = form_class(request.POST, prefix=kind)
        forms_by_kind[kind] = form
        if form.is_valid():
            try:
                getattr(services, service_name)(actor=request.user, problem=problem, **form.cleaned_data)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, done)
                return redirect("rectification:problem_records", pk=problem.pk)
    return render(
        request,
        "rectification/problem_records.html",
        {
            "problem": problem,
            "forms": forms_by_kind,
            "accountability": problem.accountability.all(),
            "rules": problem.rules.select_related("issuing_unit"),
            "recoveries": problem.recoveries.all(),
        },
    )
