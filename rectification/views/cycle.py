"""The weekly cycle pages: the office's log, dispatch sheets, supervision notices, penalties."""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from accounts.ui import error_text, id_param, paginate, search_param

from .. import access, selectors, services
from ..forms import BriefingUploadForm, ResolveForm
from ..models import StepState, SupervisionNotice, WeeklyCycle
from ..services.audit import audit_record
from ..services.cycle import package_path
from ..workdays import unknown_years, week_label
from .common import staff_unit

NOTICE_PAGE_SIZE = 20
MISSED_PAGE_SIZE = 30
NOTICE_STATES = [("", gettext_lazy("全部")), *SupervisionNotice.State.choices]


@login_required
@require_GET
def cycle_list(request):
    if not access.may_view_cycles(request.user):
        raise Http404
    cycles = selectors.cycles_visible_to(request.user)
    return render(
        request,
        "rectification/cycle_list.html",
        {"cycles": cycles[:60], "steps": WeeklyCycle.Step.choices},
    )


def _parse_time(value):
    return datetime.datetime.fromisoformat(value) if value else None


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
            "finished_at": _parse_time(cycle.log.get(value, {}).get("finished_at")),
        }
        for value, label in WeeklyCycle.Step.choices
    ]
    unit_id = id_param(request, "unit")
    q = search_param(request)
    rows, missed_units = selectors.missed_reports(cycle=cycle, unit_id=unit_id, q=q)
    missed = paginate(request, rows, MISSED_PAGE_SIZE)
    return render(
        request,
        "rectification/cycle_detail.html",
        {
            "cycle": cycle,
            "steps": steps,
            "snapshot": snapshot,
            "sheets": cycle.dispatch_sheets.select_related("unit"),
            "missed": missed,
            "missed_units": missed_units,
            "missed_filters": {"unit": unit_id, "q": q},
            "can_rerun": access.may_run_cycle(request.user),
            # The week's 简报: the office drafts and uploads it; the finals are kept with the week.
            "can_write_documents": access.may_write_documents(request.user),
            "briefing_finals": list(snapshot.briefing_finals.select_related("uploaded_by")) if snapshot else [],
            "briefing_form": BriefingUploadForm(),
            # Each step's due time and the countdown to the report deadline count working days.
            "calendar_gaps": unknown_years([step["due_at"] for step in steps] + [cycle.round.report_deadline]),
        },
    )


@login_required
@require_POST
def cycle_rerun(request, pk):
    cycle = get_object_or_404(selectors.cycles_visible_to(request.user), pk=pk)
    step = request.POST.get("step", "")
    try:
        queued = services.step_rerun_request(actor=request.user, cycle=cycle, step=step)
    except ValidationError as error:
        messages.error(request, error_text(error))
        return redirect("rectification:cycle_detail", pk=cycle.pk)
    if queued.sent is False:
        # The step is marked pending; the quarter-hourly sweep runs it once the broker is back.
        messages.warning(request, _("任务队列暂时不可用，已登记，系统恢复后将自动运行。"))
    else:
        messages.success(request, _("已安排重新运行，已发送过的通知不会重复发送。"))
    return redirect("rectification:cycle_detail", pk=cycle.pk)


@login_required
@require_GET
def unit_dispatch(request):
    unit = staff_unit(request.user)
    sheets = list(selectors.unit_dispatch_sheets(user=request.user, unit=unit))
    latest = sheets[0] if sheets else None
    cutoff = datetime.datetime.fromisoformat(latest.content["cutoff"]) if latest else None
    for item in latest.content["overdue"] if latest else []:
        item["days_overdue"] = -item["days_left"]
    return render(
        request,
        "rectification/unit_dispatch.html",
        {"unit": unit, "sheets": sheets, "latest": latest, "cutoff": cutoff},
    )


@login_required
@require_GET
def notice_list(request):
    return _notice_page(request)


def _notice_page(request, *, failed=None, failed_form=None):
    """The notices a page at a time, by state (with counts on the tabs) and by a search; the reply
    form only where the answer would be accepted. ``failed`` is a notice whose answer was refused:
    it is shown first, with what was typed, so that no text is lost."""
    state = request.GET.get("state", "")
    if state not in SupervisionNotice.State.values:
        state = ""
    q = search_param(request)
    notices, counts = selectors.notices_for(user=request.user, state=state, q=q)
    page = paginate(request, notices, NOTICE_PAGE_SIZE, count=counts[state or "all"])
    tabs = [(value, label, counts[value or "all"]) for value, label in NOTICE_STATES]
    return render(
        request,
        "rectification/notice_list.html",
        {
            "notices": page,
            "page": page,
            "tabs": tabs,
            "state": state,
            "q": q,
            "replyable": access.notices_replyable(request.user, page),
            "reply_form": ResolveForm(),
            "failed": failed,
            "failed_form": failed_form,
        },
    )


@login_required
@require_POST
def notice_reply(request, pk):
    notice = access.notice_for_user(request.user, pk, "reply")
    form = ResolveForm(request.POST)
    try:
        services.notice_reply(actor=request.user, notice=notice, reply=request.POST.get("resolution", ""))
    except ValidationError as error:
        messages.error(request, error_text(error))
        return _notice_page(request, failed=notice, failed_form=form)
    messages.success(request, _("督办单已答复。"))
    return redirect("rectification:notice_list")


@login_required
@require_GET
def penalty_list(request):
    if not access.may_view_penalties(request.user):
        raise Http404
    penalties = list(selectors.penalties_for(user=request.user))
    return render(
        request,
        "rectification/penalty_list.html",
        {
            "penalties": penalties,
            "can_decide": access.may_decide_penalty(request.user),
            "can_export": access.may_export_deductions(request.user),
            "has_drafts": any(p.state == p.State.DRAFT for p in penalties),
            "year": timezone.localdate().year,
        },
    )


@login_required
@require_POST
def penalty_decide(request, pk):
    penalty = access.penalty_for_user(request.user, pk, "decide")
    try:
        services.penalty_decide(actor=request.user, penalty=penalty, confirm=request.POST.get("decision") == "confirm")
    except ValidationError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, _("已处理。"))
    return redirect("rectification:penalty_list")


@login_required
@require_GET
def snapshot_package(request, pk):
    """The weekly package (ledger, progress table, statistics) for those who read every finding."""
    snapshot = get_object_or_404(
        access.snapshots_with_package_visible_to(request.user).select_related("cycle__round"), pk=pk
    )
    path = package_path(snapshot.package_name)
    if not path.exists():
        raise Http404
    audit_record(
        actor=request.user, action="package.download", target=snapshot, changes={"file": snapshot.package_name}
    )
    cycle = snapshot.cycle
    filename = f"{cycle.round.title}-{week_label(cycle.iso_year, cycle.iso_week)}报送材料.zip"
    return FileResponse(open(path, "rb"), as_attachment=True, filename=filename, content_type="application/zip")
