import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.roles import ADMIN_ROLES, READ_ALL_ROLES, UNIT_STAFF_ROLES, Role
from accounts.services import audit_record

from . import selectors, services
from .access import can_act_on_measure, can_act_on_problem, measure_for_user, problem_for_user
from .evidence import evidence_path
from .forms import (
    REPORT_STATE_EDITABLE,
    AccountabilityForm,
    CloseOutApplyForm,
    CloseOutDecisionForm,
    CorrectionForm,
    EvidenceForm,
    MilestoneDoneForm,
    RecoveryForm,
    ReopenForm,
    ReportRowForm,
    ResolveForm,
    ReturnForm,
    RuleForm,
)
from .dashboard import leader_page, office_dashboard, provincial_summary, trend_chart
from .lights import LIGHTS, measure_light, with_oldest_open_milestone
from .models import (
    CloseOutRequest,
    CloseOutState,
    CoordinationItem,
    DeadlineCategory,
    Evidence,
    Milestone,
    ProgressReport,
    ProgressState,
    StepState,
    Track,
    WeeklyCycle,
)
from .workdays import iso_week_of, report_cutoff, week_monday

PAGE_SIZE = 20
# An item in review or already closed offers no new application.
ACTIVE_CLOSEOUT_STATES = {
    CloseOutState.PENDING_LEAD_UNIT,
    CloseOutState.PENDING_LEADER,
    CloseOutState.PENDING_OFFICE,
    CloseOutState.CLOSED,
}


def _current_round(user, round_id=None):
    """The round the user asked for (if visible), else the newest; plus all rounds for the picker."""
    rounds = list(selectors.rounds_visible_to(user))
    chosen = next((r for r in rounds if str(r.pk) == str(round_id)), None) if round_id else None
    return chosen or (rounds[0] if rounds else None), rounds


@login_required
@require_GET
def home(request):
    user = request.user
    only_unit_staff = user.has_role(*UNIT_STAFF_ROLES) and not user.has_role(
        *READ_ALL_ROLES, Role.TRACK_OFFICE, Role.LEADER
    )
    if only_unit_staff and user.unit_id:
        return redirect("rectification:worklist")
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
        {
            "problem": problem,
            "today": timezone.localdate(),
            "closeouts": selectors.closeout_history(problem=problem),
            "can_apply": request.user.has_role(Role.UNIT_HEAD)
            and can_act_on_problem(request.user, problem, "decompose")
            and problem.closeout_state not in ACTIVE_CLOSEOUT_STATES,
        },
    )


@login_required
@require_GET
def measure_detail(request, pk):
    measure = selectors.measure_detail(measure=measure_for_user(request.user, pk))
    return render(
        request,
        "rectification/measure_detail.html",
        {
            "measure": measure,
            "today": timezone.localdate(),
            "reports": selectors.measure_reports(measure=measure),
            "evidence": measure.evidence.select_related("uploaded_by"),
            "can_report": can_act_on_measure(request.user, measure, "report"),
            "can_apply": can_act_on_measure(request.user, measure, "confirm")
            and measure.closeout_state not in ACTIVE_CLOSEOUT_STATES,
            "closeouts": selectors.closeout_history(problem=measure.problem, measure=measure),
            "evidence_form": EvidenceForm(),
            "milestone_form": MilestoneDoneForm(initial={"done_on": timezone.localdate()}),
        },
    )


# --- the unit's weekly work -------------------------------------------------------------------


def _week_from_request(request):
    """The ISO week asked for as ``?week=2026-W48``, else the current week (Asia/Shanghai)."""
    raw = request.GET.get("week") or request.POST.get("week") or ""
    try:
        year, week = raw.split("-W")
        year, week = int(year), int(week)
        datetime.date.fromisocalendar(year, week, 1)
        return year, week
    except ValueError:
        return iso_week_of(timezone.localdate())


def _week_context(iso_year, iso_week):
    monday = week_monday(iso_year, iso_week)
    previous_year, previous_week = iso_week_of(monday - datetime.timedelta(days=7))
    next_year, next_week = iso_week_of(monday + datetime.timedelta(days=7))
    return {
        "iso_year": iso_year,
        "iso_week": iso_week,
        "week_param": f"{iso_year}-W{iso_week:02d}",
        "week_start": monday,
        "week_end": monday + datetime.timedelta(days=6),
        "cutoff": report_cutoff(iso_year, iso_week),
        "previous_week_param": f"{previous_year}-W{previous_week:02d}",
        "next_week_param": f"{next_year}-W{next_week:02d}",
    }


def _staff_unit(user):
    """The unit whose work this person does; 404 for anyone who is not a unit's staff."""
    if not (user.has_role(*UNIT_STAFF_ROLES) and user.unit_id):
        raise Http404
    return user.unit


@login_required
@require_GET
def worklist(request):
    unit = _staff_unit(request.user)
    today = timezone.localdate()
    iso_year, iso_week = iso_week_of(today)
    measures = selectors.unit_worklist(user=request.user, unit=unit, today=today, iso_year=iso_year, iso_week=iso_week)
    counts = {light.code: 0 for light in LIGHTS}
    for measure in measures:
        counts[measure.light.code] += 1
    return render(
        request,
        "rectification/worklist.html",
        {
            "unit": unit,
            "measures": measures,
            "light_counts": [(light, counts[light.code]) for light in LIGHTS],
            "returned": [m for m in measures if m.is_returned],
            "today": today,
            **_week_context(iso_year, iso_week),
        },
    )


def _report_rows(request, unit, iso_year, iso_week, bound=False):
    rows = []
    for measure, report in selectors.unit_week_rows(user=request.user, unit=unit, iso_year=iso_year, iso_week=iso_week):
        prefix = f"m{measure.pk}"
        editable = (report.state if report else None) in REPORT_STATE_EDITABLE
        if bound and editable:
            form = ReportRowForm(request.POST, request.FILES, prefix=prefix)
        else:
            form = ReportRowForm.for_report(report, prefix, measure)
        rows.append({"measure": measure, "report": report, "form": form, "editable": editable, "conflict": None})
    return rows


@login_required
@require_http_methods(["GET", "POST"])
def report_week(request):
    unit = _staff_unit(request.user)
    iso_year, iso_week = _week_from_request(request)
    if request.method == "GET":
        rows = _report_rows(request, unit, iso_year, iso_week)
        return _render_report_week(request, unit, rows, iso_year, iso_week)

    rows = _report_rows(request, unit, iso_year, iso_week, bound=True)
    failed = False
    for row in rows:
        if not row["editable"]:
            continue
        form, measure = row["form"], row["measure"]
        if not form.is_valid():
            failed = True
            continue
        try:
            report = services.report_save(
                actor=request.user,
                measure=measure,
                iso_year=iso_year,
                iso_week=iso_week,
                data=form.cleaned_data,
                lock_version=form.cleaned_data["lock_version"],
            )
        except services.ReportConflict as conflict:
            failed = True
            row["conflict"] = {"mine": form.cleaned_data, "theirs": conflict.current}
            row["report"] = conflict.current
            row["form"] = ReportRowForm.for_report(conflict.current, f"m{measure.pk}")
            continue
        except ValidationError as error:
            failed = True
            form.add_error(None, error)
            continue
        row["report"] = report
        upload = form.cleaned_data.get("evidence_file")
        if upload:
            try:
                services.evidence_upload(
                    actor=request.user,
                    measure=measure,
                    uploaded=upload,
                    kind=form.cleaned_data["evidence_kind"],
                    report=report,
                )
            except ValidationError as error:
                failed = True
                form.add_error("evidence_file", error)
        # What was saved is now the base for the next save from this page.
        if not row["conflict"] and not form.errors:
            row["form"] = ReportRowForm.for_report(report, f"m{measure.pk}")

    if not failed and request.POST.get("action") == "submit":
        try:
            services.report_submit(actor=request.user, unit=unit, iso_year=iso_year, iso_week=iso_week)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect(f"{reverse('rectification:report_week')}?week={iso_year}-W{iso_week:02d}")
        messages.success(request, _("第%(week)s周的周报已提交，等待单位负责人确认。") % {"week": iso_week})
        return redirect(f"{reverse('rectification:report_week')}?week={iso_year}-W{iso_week:02d}")
    if not failed:
        messages.success(request, _("草稿已保存。"))
        return redirect(f"{reverse('rectification:report_week')}?week={iso_year}-W{iso_week:02d}")
    messages.error(request, _("部分内容没有保存，请查看下方标红的措施。"))
    return _render_report_week(request, unit, rows, iso_year, iso_week, status=409 if any(r["conflict"] for r in rows) else 400)


def _render_report_week(request, unit, rows, iso_year, iso_week, status=200):
    states = [row["report"].state if row["report"] else None for row in rows]
    can_confirm = request.user.has_role(Role.UNIT_HEAD) and ProgressReport.State.SUBMITTED in states
    return render(
        request,
        "rectification/report_week.html",
        {
            "unit": unit,
            "rows": rows,
            "any_editable": any(row["editable"] for row in rows),
            "can_confirm": can_confirm,
            "return_form": ReturnForm(),
            "now": timezone.now(),
            **_week_context(iso_year, iso_week),
        },
        status=status,
    )


@login_required
@require_POST
def report_confirm(request):
    unit = _staff_unit(request.user)
    iso_year, iso_week = _week_from_request(request)
    try:
        reports = services.report_confirm(actor=request.user, unit=unit, iso_year=iso_year, iso_week=iso_week)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("已确认 %(n)s 项措施的周报。") % {"n": len(reports)})
    return redirect(f"{reverse('rectification:report_week')}?week={iso_year}-W{iso_week:02d}")


@login_required
@require_POST
def report_return(request):
    unit = _staff_unit(request.user)
    iso_year, iso_week = _week_from_request(request)
    form = ReturnForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("退回时必须填写退回原因。"))
    else:
        try:
            reports = services.report_return(
                actor=request.user, unit=unit, iso_year=iso_year, iso_week=iso_week, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("已退回 %(n)s 项措施的周报。") % {"n": len(reports)})
    return redirect(f"{reverse('rectification:report_week')}?week={iso_year}-W{iso_week:02d}")


@login_required
@require_http_methods(["GET", "POST"])
def report_correct(request, pk):
    report = get_object_or_404(ProgressReport.objects.select_related("measure"), pk=pk)
    measure = measure_for_user(request.user, report.measure_id, "report")
    if request.method == "POST":
        form = CorrectionForm(request.POST)
        if form.is_valid():
            try:
                services.report_correct(
                    actor=request.user, report=report, reason=form.cleaned_data["correction_reason"], data=form.cleaned_data
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _("已生成更正版本，请在周报页面提交并由单位负责人确认。"))
                return redirect(f"{reverse('rectification:report_week')}?week={report.iso_year}-W{report.iso_week:02d}")
    else:
        form = CorrectionForm(initial={field: getattr(report, field) for field in services.REPORT_FIELDS})
    return render(request, "rectification/report_correct.html", {"form": form, "report": report, "measure": measure})


@login_required
@require_GET
def led_reports(request):
    unit = _staff_unit(request.user)
    iso_year, iso_week = _week_from_request(request)
    measures = selectors.led_problem_reports(user=request.user, unit=unit, iso_year=iso_year, iso_week=iso_week)
    return render(
        request,
        "rectification/led_reports.html",
        {"unit": unit, "measures": measures, "state_labels": dict(ProgressReport.State.choices), **_week_context(iso_year, iso_week)},
    )


@login_required
@require_GET
def evidence_download(request, pk):
    evidence = get_object_or_404(Evidence, pk=pk)
    # The file is only ever served to someone who may see its measure: same answer as missing.
    measure_for_user(request.user, evidence.measure_id)
    path = evidence_path(evidence)
    if not path.exists():
        raise Http404
    audit_record(actor=request.user, action="evidence.download", target=evidence, changes={"sha256": evidence.sha256})
    response = FileResponse(
        open(path, "rb"), as_attachment=True, filename=evidence.original_name, content_type=evidence.content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@login_required
@require_POST
def measure_evidence_upload(request, pk):
    measure = measure_for_user(request.user, pk, "report")
    form = EvidenceForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.evidence_upload(
                actor=request.user, measure=measure, uploaded=form.cleaned_data["file"], kind=form.cleaned_data["kind"]
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("佐证材料已上传。"))
    else:
        messages.error(request, _("请选择要上传的文件和材料类别。"))
    return redirect(measure.get_absolute_url())


@login_required
@require_POST
def milestone_done(request, pk):
    milestone = get_object_or_404(Milestone.objects.select_related("measure"), pk=pk)
    measure = measure_for_user(request.user, milestone.measure_id, "report")
    form = MilestoneDoneForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.milestone_mark_done(
                actor=request.user,
                milestone=milestone,
                done_on=form.cleaned_data["done_on"],
                uploaded=form.cleaned_data["file"],
                kind=form.cleaned_data["kind"],
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("时间节点“%(title)s”已标记完成。") % {"title": milestone.title})
    else:
        messages.error(request, _("请填写正确的完成日期。"))
    return redirect(measure.get_absolute_url())


@login_required
@require_GET
def coordination_list(request):
    state = request.GET.get("state", CoordinationItem.State.OPEN)
    if state not in CoordinationItem.State.values:
        state = CoordinationItem.State.OPEN
    items = selectors.coordination_for(user=request.user, state=state)
    return render(
        request,
        "rectification/coordination_list.html",
        {"items": items, "state": state, "states": CoordinationItem.State.choices, "resolve_form": ResolveForm()},
    )


@login_required
@require_POST
def coordination_resolve(request, pk):
    item = get_object_or_404(selectors.coordination_for(user=request.user), pk=pk)
    form = ResolveForm(request.POST)
    if form.is_valid():
        try:
            services.coordination_resolve(actor=request.user, item=item, resolution=form.cleaned_data["resolution"])
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("协调结果已答复。"))
    else:
        messages.error(request, _("请填写协调结果。"))
    return redirect("rectification:coordination_list")


@login_required
@require_GET
def notifications(request):
    return render(
        request, "rectification/notifications.html", {"notifications": selectors.notifications_for(user=request.user)}
    )


@login_required
@require_POST
def notifications_read(request):
    services.notifications_mark_read(actor=request.user)
    return redirect("rectification:notifications")


# --- close-out (销号) ---------------------------------------------------------------------------


def _closeout_apply(request, problem, measure):
    evidence = Evidence.objects.filter(measure=measure) if measure else Evidence.objects.filter(measure__problem=problem)
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
                    kind=form.cleaned_data["kind"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _("销号申请已提交，进入%(state)s环节。") % {"state": closeout.get_state_display()})
                return redirect(closeout.get_absolute_url())
    else:
        form = CloseOutApplyForm(**form_kwargs)
    return render(
        request,
        "rectification/closeout_apply.html",
        {"form": form, "target": target, "problem": problem, "measure": measure},
    )


@login_required
@require_http_methods(["GET", "POST"])
def measure_closeout_apply(request, pk):
    measure = measure_for_user(request.user, pk, "confirm")
    return _closeout_apply(request, measure.problem, measure)


@login_required
@require_http_methods(["GET", "POST"])
def problem_closeout_apply(request, pk):
    problem = problem_for_user(request.user, pk)
    if not (request.user.has_role(Role.UNIT_HEAD) and can_act_on_problem(request.user, problem, "decompose")):
        raise PermissionDenied
    return _closeout_apply(request, problem, None)


def _closeout_for_user(user, pk):
    closeout = selectors.closeouts_visible_to(user).filter(pk=pk).first()
    if closeout is None:
        raise Http404
    return closeout


@login_required
@require_GET
def closeout_detail(request, pk):
    closeout = selectors.closeout_detail(request=_closeout_for_user(request.user, pk))
    can_decide = services.may_decide(request.user, closeout)
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
            "can_reopen": request.user.has_role(Role.OFFICE, Role.SUPERVISION)
            and closeout.state == CloseOutRequest.State.CLOSED
            and closeout.target.closeout_state == CloseOutState.CLOSED,
            "reopen_form": ReopenForm(),
            "history": selectors.closeout_history(problem=closeout.problem, measure=closeout.measure),
        },
    )


@login_required
@require_POST
def closeout_decide(request, pk):
    closeout = _closeout_for_user(request.user, pk)
    form = CloseOutDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请选择通过或退回。"))
        return redirect(closeout.get_absolute_url())
    data = form.cleaned_data
    if closeout.state == CloseOutRequest.State.PENDING_LEADER and not request.user.check_password(data["password"]):
        # Signing is a sensitive action: the leader proves it is really them at the keyboard.
        audit_record(actor=request.user, action="closeout.leader.password_failed", target=closeout)
        messages.error(request, _("密码不正确，未签批。"))
        return redirect(closeout.get_absolute_url())
    try:
        services.closeout_decide(
            actor=request.user,
            request=closeout,
            approve=data["decision"] == "approve",
            comment=data["comment"],
            no_accountability_reason=data["no_accountability_reason"],
            no_rules_reason=data["no_rules_reason"],
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("已办理。"))
    return redirect(closeout.get_absolute_url())


@login_required
@require_POST
def closeout_reopen(request, pk):
    closeout = _closeout_for_user(request.user, pk)
    form = ReopenForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("重启时必须说明理由。"))
    else:
        try:
            services.closeout_reopen(actor=request.user, request=closeout, reason=form.cleaned_data["reason"])
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("事项已重启，原签批记录保留。"))
    return redirect(closeout.get_absolute_url())


@login_required
@require_GET
def closeout_pending(request):
    return render(
        request, "rectification/closeout_pending.html", {"requests": selectors.closeouts_pending_for(request.user)}
    )


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


# --- the weekly cycle ------------------------------------------------------------------------------


@login_required
@require_GET
def cycle_list(request):
    cycles = selectors.cycles_visible_to(request.user)
    if not request.user.has_role(Role.OFFICE, Role.SUPERVISION):
        raise Http404
    return render(
        request,
        "rectification/cycle_list.html",
        {"cycles": cycles[:60], "steps": WeeklyCycle.Step.choices},
    )


@login_required
@require_GET
def cycle_detail(request, pk):
    cycle = get_object_or_404(selectors.cycles_visible_to(request.user), pk=pk)
    snapshot = getattr(cycle, "snapshot", None)
    steps = [
        {
            "value": value,
            "label": label,
            "state": cycle.state_of(value),
            "state_label": StepState(cycle.state_of(value)).label,
            "due_at": services.step_due_at(cycle.round, cycle.iso_year, cycle.iso_week, value),
            "log": cycle.log.get(value, {}),
        }
        for value, label in WeeklyCycle.Step.choices
    ]
    return render(
        request,
        "rectification/cycle_detail.html",
        {
            "cycle": cycle,
            "steps": steps,
            "snapshot": snapshot,
            "sheets": cycle.dispatch_sheets.select_related("unit"),
            "missed": cycle.missed_reports.select_related("unit", "measure"),
            "can_rerun": request.user.has_role(Role.OFFICE),
        },
    )


@login_required
@require_POST
def cycle_rerun(request, pk):
    cycle = get_object_or_404(selectors.cycles_visible_to(request.user), pk=pk)
    step = request.POST.get("step", "")
    try:
        services.step_rerun_request(actor=request.user, cycle=cycle, step=step)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("rectification:cycle_detail", pk=cycle.pk)
    try:
        from .tasks import run_cycle_step

        run_cycle_step.delay_on_commit(cycle.pk, step)
    except Exception:  # noqa: BLE001 - the broker being down must not lose the request
        # The step is marked pending; the quarter-hourly sweep runs it once the broker is back.
        messages.warning(request, _("任务队列暂时不可用，已登记，系统恢复后将自动运行。"))
    else:
        messages.success(request, _("已安排重新运行，已发送过的通知不会重复发送。"))
    return redirect("rectification:cycle_detail", pk=cycle.pk)


@login_required
@require_GET
def unit_dispatch(request):
    unit = _staff_unit(request.user)
    sheets = list(selectors.unit_dispatch_sheets(user=request.user, unit=unit))
    return render(request, "rectification/unit_dispatch.html", {"unit": unit, "sheets": sheets, "latest": sheets[0] if sheets else None})


@login_required
@require_GET
def notice_list(request):
    notices = selectors.notices_for(user=request.user)
    return render(request, "rectification/notice_list.html", {"notices": notices, "reply_form": ResolveForm()})


@login_required
@require_POST
def notice_reply(request, pk):
    notice = get_object_or_404(selectors.notices_for(user=request.user), pk=pk)
    try:
        services.notice_reply(actor=request.user, notice=notice, reply=request.POST.get("resolution", ""))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("督办单已答复。"))
    return redirect("rectification:notice_list")


@login_required
@require_GET
def penalty_list(request):
    if not request.user.has_role(Role.OFFICE, Role.SUPERVISION, Role.LIAISON, Role.UNIT_HEAD):
        raise Http404
    return render(
        request,
        "rectification/penalty_list.html",
        {"penalties": selectors.penalties_for(user=request.user), "can_decide": request.user.has_role(Role.OFFICE)},
    )


@login_required
@require_POST
def penalty_decide(request, pk):
    penalty = get_object_or_404(selectors.penalties_for(user=request.user), pk=pk)
    try:
        services.penalty_decide(actor=request.user, penalty=penalty, confirm=request.POST.get("decision") == "confirm")
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("已处理。"))
    return redirect("rectification:penalty_list")


# --- dashboards ------------------------------------------------------------------------------------

DASHBOARD_ROLES = (Role.OFFICE, Role.TRACK_OFFICE, Role.SUPERVISION, Role.PROVINCIAL)


def _dashboard_filters(request):
    """The dashboard's filters from the query string, each checked against its choices."""
    get = request.GET
    filters = {}
    if get.get("track") in Track.Kind.values:
        filters["track"] = get["track"]
    if get.get("state") in CloseOutState.values:
        filters["state"] = get["state"]
    for key in ("unit", "leader"):
        if get.get(key, "").isdigit():
            filters[key] = int(get[key])
    if get.get("overdue") == "1":
        filters["overdue"] = True
    return filters


@login_required
@require_GET
def dashboard(request):
    user = request.user
    if not user.has_role(*DASHBOARD_ROLES):
        raise Http404
    current, rounds = _current_round(user, request.GET.get("round"))
    today = timezone.localdate()
    filters = _dashboard_filters(request)
    data = None
    if current is not None:
        data = office_dashboard(user=user, inspection_round=current, today=today, filters=filters)
    from accounts.models import Unit, User

    return render(
        request,
        "rectification/dashboard.html",
        {
            "round": current,
            "rounds": rounds,
            "d": data,
            "chart": trend_chart(data["trend"]) if data else None,
            "filters": filters,
            "query": request.GET.urlencode(),
            "track_choices": Track.Kind.choices,
            "state_choices": CloseOutState.choices,
            "progress_labels": dict(ProgressState.choices),
            "closeout_labels": dict(CloseOutState.choices),
            "units": Unit.objects.filter(is_active=True).exclude(level=Unit.Level.VILLAGE).only("id", "name"),
            "leaders": User.objects.filter(groups__name=Role.LEADER.value, is_active=True).only("id", "full_name"),
            "snapshots": provincial_summary(inspection_round=current) if current else [],
        },
    )


@login_required
@require_GET
def leader_dashboard(request):
    if not request.user.has_role(Role.LEADER):
        raise Http404
    return render(request, "rectification/leader.html", leader_page(user=request.user, today=timezone.localdate()))


@login_required
@require_GET
def measure_list(request):
    user = request.user
    current, rounds = _current_round(user, request.GET.get("round"))
    today = timezone.localdate()
    filters = _dashboard_filters(request)
    light = request.GET.get("light") if request.GET.get("light") in {l.code for l in LIGHTS} else None
    measures = selectors.measure_list(user=user, inspection_round=current, filters=filters, light=light, today=today)
    page = Paginator(with_oldest_open_milestone(measures), PAGE_SIZE).get_page(request.GET.get("page"))
    for measure in page:
        measure.light = measure_light(measure, today, oldest_open_milestone_due=measure.oldest_open_milestone)
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "rectification/measure_list.html",
        {
            "page": page,
            "round": current,
            "rounds": rounds,
            "light_label": next((l.label for l in LIGHTS if l.code == light), ""),
            "filters": filters,
            "query": params.urlencode(),
        },
    )
