"""The unit's weekly work: worklist, weekly report, confirmation, evidence, milestones, coordination."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Unit
from accounts.ui import error_text, paginate

from .. import access, counters, selectors, services
from ..access import measure_for_user
from ..evidence import evidence_path
from ..forms import (
    REPORT_STATE_EDITABLE,
    CorrectionForm,
    EvidenceForm,
    MilestoneDoneForm,
    ReportRowForm,
    ResolveForm,
    ReturnForm,
)
from ..lights import LIGHTS
from ..models import (
    CoordinationItem,
    Measure,
    OutboxMessage,
    ProgressReport,
)
from ..models.outbox import OUTBOX_CHANNELS
from ..services.audit import audit_record
from ..templatetags.ledger import plain_choices, worklist_rows
from ..workdays import iso_week_of, unknown_years, week_key, week_short_label
from .common import staff_unit, url_prefix, week_context, week_from_request


@login_required
@require_GET
def worklist(request):
    # The whole page is kept per person and day under every generation (rows, menu, bell): a
    # liaison's repeat visit costs what any signed-in page costs, plus one query.
    return counters.page(request, "worklist", lambda: _worklist(request))


def _worklist(request):
    unit = staff_unit(request.user)
    today = timezone.localdate()
    iso_year, iso_week = iso_week_of(today)
    measure_url = url_prefix("rectification:measure_detail")

    def rows():
        """What the page shows of the unit's measures, the rows written once: kept per person and
        day under the generations of the findings, so any write anyone makes is seen at once."""
        measures = selectors.unit_worklist(
            user=request.user, unit=unit, today=today, iso_year=iso_year, iso_week=iso_week
        )
        counts = {light.code: 0 for light in LIGHTS}
        for measure in measures:
            counts[measure.light.code] += 1
        # Codes repeat across rounds (1.1.1 in each): a unit in several rounds sees which.
        several_rounds = len({m.problem.round_id for m in measures}) > 1
        return {
            "measures": measures,
            "measure_count": len(measures),
            "rows_html": worklist_rows(measures, several_rounds=several_rounds, measure_url=measure_url, today=today),
            "light_counts": [(light, counts[light.code]) for light in LIGHTS],
            "returned": [m for m in measures if m.is_returned],
            "several_rounds": several_rounds,
        }

    shown = counters.of_request(request).cached(
        "worklist", (request.user.pk, unit.pk, today), counters.WORK_SCOPES, rows, page=True
    )
    week = week_context(iso_year, iso_week)
    return render(
        request,
        "rectification/worklist.html",
        {
            "unit": unit,
            **shown,
            "measure_url": measure_url,
            "today": today,
            **week,
            # The cut-off, the due dates and the next milestones: all counted in working days.
            "calendar_gaps": unknown_years(
                [
                    week["cutoff"],
                    *(m.due_date for m in shown["measures"]),
                    *(m.next_milestone_due for m in shown["measures"]),
                ]
            ),
        },
    )


# Up to this many rows the report page shows them all at once; a busier unit sees one round at a
# time (the busiest has over 200 open measures in six rounds: a page of 200 forms is too long to
# fill, and slow to build).
REPORT_ROWS_ON_ONE_PAGE = 60
NOTIFICATION_PAGE_SIZE = 30
ALL_ROUNDS = "all"


def _report_rows(request, unit, iso_year, iso_week):
    """The unit's rows for the week: each open, claimed measure with its latest report; and the
    measures left out because they are not claimed yet (待认领 or 有异议)."""
    rows, left_out = [], []
    for measure, report, evidence in selectors.unit_week_rows(
        user=request.user, unit=unit, iso_year=iso_year, iso_week=iso_week
    ):
        if measure.claim_state != Measure.ClaimState.CLAIMED:
            left_out.append(measure)
            continue
        editable = (report.state if report else None) in REPORT_STATE_EDITABLE
        rows.append(
            {
                "measure": measure,
                "report": report,
                "evidence": evidence,
                "prefix": f"m{measure.pk}",
                "editable": editable,
                "form": None,  # only for a posted row
                "conflict": None,
            }
        )
    return rows, left_out


def _to_do(row):
    """The row still needs this week's report: nothing written yet, or returned by the unit head."""
    report = row["report"]
    if not row["editable"]:
        return False
    return report is None or report.state == ProgressReport.State.RETURNED or not report.progress_this_week.strip()


def _round_tabs(rows):
    """The rounds of the unit's rows, oldest first, each with its number of rows and of rows to do."""
    tabs = {}
    for row in rows:
        inspection_round = row["measure"].problem.round
        tab = tabs.setdefault(inspection_round.pk, {"round": inspection_round, "rows": 0, "to_do": 0})
        tab["rows"] += 1
        tab["to_do"] += _to_do(row)
    return sorted(tabs.values(), key=lambda tab: (tab["round"].feedback_date, tab["round"].pk))


def _shown_round(asked, tabs, row_count):
    """The id (text) of the round whose rows the page shows, or None for all of them.

    Without a choice (``asked`` empty or unknown), a unit with few rows sees them all; a busier
    one starts at the round with the most rows still to do.
    """
    if asked == ALL_ROUNDS:
        return None
    for tab in tabs:
        if str(tab["round"].pk) == asked:
            return asked
    if len(tabs) < 2 or row_count <= REPORT_ROWS_ON_ONE_PAGE:
        return None
    return str(max(tabs, key=lambda tab: (tab["to_do"], tab["rows"]))["round"].pk)


def _report_url(iso_year, iso_week, round_param=""):
    query = {"week": week_key(iso_year, iso_week)}
    if round_param:
        query["round"] = round_param
    return f"{reverse('rectification:report_week')}?{urlencode(query)}"


@login_required
@require_http_methods(["GET", "POST"])
def report_week(request):
    unit = staff_unit(request.user)
    iso_year, iso_week = week_from_request(request)
    rows, left_out = _report_rows(request, unit, iso_year, iso_week)
    if request.method == "GET":
        shown_round = _shown_round(request.GET.get("round", ""), _round_tabs(rows), len(rows))
        return _render_report_week(request, unit, rows, left_out, shown_round, iso_year, iso_week)

    # The rows saved are those the page showed: one round's, or all (a page from before the
    # rounds were shown apart posts no round).
    round_param = request.POST.get("round", "")
    shown_round = None if round_param in ("", ALL_ROUNDS) else round_param
    failed = False
    for row in rows:
        if not row["editable"] or not _is_shown(row, shown_round):
            continue
        measure = row["measure"]
        form = row["form"] = ReportRowForm(request.POST, request.FILES, prefix=row["prefix"])
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
            row.update(report=conflict.current, evidence=conflict.current.evidence.all(), form=None)
            continue
        except ValidationError as error:
            failed = True
            form.add_error(None, error)
            continue
        # The saved version, with its evidence read again if the page is shown once more.
        row.update(report=report, evidence=report.evidence.all())
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
        if not form.errors:
            row["form"] = None

    if not failed and request.POST.get("action") == "submit":
        try:
            submitted = services.report_submit(
                actor=request.user,
                unit=unit,
                iso_year=iso_year,
                iso_week=iso_week,
                measure_ids=_rows_chosen(request.POST),
            )
        except ValidationError as error:
            messages.error(request, error_text(error))
            return redirect(_report_url(iso_year, iso_week, round_param))
        messages.success(
            request,
            _("%(week)s的周报已提交，等待单位负责人确认（本次提交 %(n)s 项）。")
            % {"week": week_short_label(iso_week), "n": len(submitted)},
        )
        return redirect(_report_url(iso_year, iso_week, round_param))
    if not failed:
        messages.success(request, _("草稿已保存。"))
        return redirect(_report_url(iso_year, iso_week, round_param))
    messages.error(request, _("部分内容没有保存，请查看下方标红的措施。"))
    status = 409 if any(r["conflict"] for r in rows) else 400
    return _render_report_week(request, unit, rows, left_out, shown_round, iso_year, iso_week, status=status)


def _rows_chosen(post):
    """The measure ids ticked for submission, or None when the page submits the whole week (a
    page without the ticks, from before rows could be submitted apart)."""
    if not post.get("choose_rows"):
        return None
    return [int(value) for value in post.getlist("submit_row") if value.isdecimal() and len(value) < 12]


def _is_shown(row, shown_round):
    return shown_round is None or str(row["measure"].problem.round_id) == shown_round


def _render_report_week(request, unit, rows, left_out, shown_round, iso_year, iso_week, status=200):
    shown = [row for row in rows if _is_shown(row, shown_round)]
    for row in shown:
        form = row["form"]
        if form is None:
            row.update(values=ReportRowForm.values_for(row["report"], row["measure"]), invalid=())
        else:
            # Posted but not saved: the inputs show what was posted, and the fields in error
            # ("__all__" for the row as a whole) are marked.
            row.update(values=form.input_values(), invalid=frozenset(form.errors))
    states = [row["report"].state if row["report"] else None for row in rows]
    can_confirm = access.is_unit_head(request.user) and ProgressReport.State.SUBMITTED in states
    tabs = _round_tabs(rows)
    for tab in tabs:
        tab["shown"] = str(tab["round"].pk) == shown_round
    return render(
        request,
        "rectification/report_week.html",
        {
            "unit": unit,
            "rows": shown,
            "any_editable": any(row["editable"] for row in shown),
            "week_editable": any(row["editable"] for row in rows),
            "can_confirm": can_confirm,
            "submitted_count": states.count(ProgressReport.State.SUBMITTED),
            "left_out": left_out,
            "state_choices": plain_choices(ReportRowForm.base_fields["cumulative_state"].choices),
            "kind_choices": plain_choices(ReportRowForm.base_fields["evidence_kind"].choices),
            "evidence_accept": ReportRowForm.base_fields["evidence_file"].widget.attrs["accept"],
            "round_tabs": tabs if len(tabs) > 1 else [],
            "shown_round": shown_round,
            "round_param": ALL_ROUNDS if shown_round is None else shown_round,
            "row_count": len(rows),
            "to_do_count": sum(tab["to_do"] for tab in tabs),
            "to_do_elsewhere": sum(tab["to_do"] for tab in tabs if not tab["shown"]) if shown_round else 0,
            # Refused rows show what was posted, which is not saved yet.
            "unsaved": status != 200,
            "now": timezone.now(),
            **week_context(iso_year, iso_week),
        },
        status=status,
    )


@login_required
@require_POST
def report_confirm(request):
    unit = staff_unit(request.user)
    iso_year, iso_week = week_from_request(request)
    try:
        reports = services.report_confirm(actor=request.user, unit=unit, iso_year=iso_year, iso_week=iso_week)
    except ValidationError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, _("已确认 %(n)s 项措施的周报。") % {"n": len(reports)})
    return redirect(_report_url(iso_year, iso_week))


def _review_decisions(post):
    """The head's decisions from the review form: ``decision-<measure id>`` is "confirm",
    "return" or empty (left for later), ``reason-<measure id>`` the returned row's reason."""
    decisions = {}
    for key, choice in post.items():
        prefix, _sep, measure_id = key.partition("-")
        if prefix != "decision" or not measure_id.isdecimal() or not choice:
            continue
        decisions[int(measure_id)] = (choice, post.get(f"reason-{measure_id}", ""))
    return decisions


@login_required
@require_POST
def report_review(request):
    unit = staff_unit(request.user)
    iso_year, iso_week = week_from_request(request)
    try:
        confirmed, returned = services.report_review(
            actor=request.user,
            unit=unit,
            iso_year=iso_year,
            iso_week=iso_week,
            decisions=_review_decisions(request.POST),
        )
    except ValidationError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(
            request, _("已确认 %(c)s 项、退回 %(r)s 项措施的周报。") % {"c": len(confirmed), "r": len(returned)}
        )
    return redirect(_report_url(iso_year, iso_week, request.POST.get("round", "")))


@login_required
@require_POST
def report_return(request):
    unit = staff_unit(request.user)
    iso_year, iso_week = week_from_request(request)
    form = ReturnForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("退回时必须填写退回原因。"))
    else:
        try:
            reports = services.report_return(
                actor=request.user, unit=unit, iso_year=iso_year, iso_week=iso_week, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            messages.error(request, error_text(error))
        else:
            messages.success(request, _("已退回 %(n)s 项措施的周报。") % {"n": len(reports)})
    return redirect(_report_url(iso_year, iso_week))


@login_required
@require_http_methods(["GET", "POST"])
def report_correct(request, pk):
    report = access.report_for_user(request.user, pk, "correct")
    measure = report.measure
    if request.method == "POST":
        form = CorrectionForm(request.POST)
        if form.is_valid():
            try:
                services.report_correct(
                    actor=request.user,
                    report=report,
                    reason=form.cleaned_data["correction_reason"],
                    data=form.cleaned_data,
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _("已生成更正版本，请在周报页面提交并由单位负责人确认。"))
                return redirect(_report_url(report.iso_year, report.iso_week))
    else:
        form = CorrectionForm(initial={field: getattr(report, field) for field in services.REPORT_FIELDS})
    return render(request, "rectification/report_correct.html", {"form": form, "report": report, "measure": measure})


@login_required
@require_GET
def led_reports(request):
    unit = staff_unit(request.user)
    iso_year, iso_week = week_from_request(request)
    measures = selectors.led_problem_reports(user=request.user, unit=unit, iso_year=iso_year, iso_week=iso_week)
    return render(
        request,
        "rectification/led_reports.html",
        {
            "unit": unit,
            "measures": measures,
            "state_labels": dict(ProgressReport.State.choices),
            **week_context(iso_year, iso_week),
        },
    )


@login_required
@require_GET
def evidence_download(request, pk):
    # The file is only ever served to someone who may see its measure: same answer as missing.
    evidence = access.evidence_for_user(request.user, pk)
    path = evidence_path(evidence)
    if not path.exists():
        raise Http404
    audit_record(actor=request.user, action="evidence.download", target=evidence, changes={"sha256": evidence.sha256})
    response = FileResponse(
        open(path, "rb"),  # noqa: SIM115 - FileResponse closes it
        as_attachment=True,
        filename=evidence.original_name,
        content_type=evidence.content_type,
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
            messages.error(request, error_text(error))
        else:
            messages.success(request, _("佐证材料已上传。"))
    else:
        messages.error(request, _("请选择要上传的文件和材料类别。"))
    return redirect(measure.get_absolute_url())


@login_required
@require_POST
def milestone_done(request, pk):
    milestone = access.milestone_for_user(request.user, pk, "done")
    measure = milestone.measure
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
            messages.error(request, error_text(error))
        else:
            messages.success(request, _("时间节点“%(title)s”已标记完成。") % {"title": milestone.title})
    else:
        messages.error(request, _("请填写正确的完成日期。"))
    return redirect(measure.get_absolute_url())


@login_required
@require_POST
def milestone_waive(request, pk):
    milestone = access.milestone_for_user(request.user, pk, "waive")
    try:
        services.milestone_waive(actor=request.user, milestone=milestone, reason=request.POST.get("reason", ""))
    except ValidationError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, _("时间节点“%(title)s”已免除，理由已记录。") % {"title": milestone.title})
    return redirect(milestone.measure.get_absolute_url())


@login_required
@require_GET
def coordination_list(request):
    return _coordination_page(request)


COORDINATION_PAGE_SIZE = 30


def _coordination_page(request, *, failed=None, failed_form=None):
    """The difficulties raised, by state; the answer form only for those who may answer it.
    ``failed`` is an item whose answer was refused: shown first, with what was typed."""
    state = request.GET.get("state", CoordinationItem.State.OPEN)
    if state not in CoordinationItem.State.values:
        state = CoordinationItem.State.OPEN
    page = paginate(request, selectors.coordination_for(user=request.user, state=state), COORDINATION_PAGE_SIZE)
    items = list(page.object_list)
    return render(
        request,
        "rectification/coordination_list.html",
        {
            "items": items,
            "page": page,
            "state": state,
            "states": CoordinationItem.State.choices,
            "resolve_form": ResolveForm(),
            "resolvable": access.coordination_resolvable(request.user, items),
            "failed": failed,
            "failed_form": failed_form,
        },
    )


@login_required
@require_POST
def coordination_resolve(request, pk):
    item = access.coordination_item_for_user(request.user, pk, "resolve")
    form = ResolveForm(request.POST)
    try:
        services.coordination_resolve(actor=request.user, item=item, resolution=request.POST.get("resolution", ""))
    except ValidationError as error:
        messages.error(request, error_text(error))
        return _coordination_page(request, failed=item, failed_form=form)
    messages.success(request, _("协调结果已答复。"))
    return redirect("rectification:coordination_list")


@login_required
@require_GET
def notifications(request):
    unread = request.GET.get("unread") == "1"
    page = paginate(request, selectors.notifications_for(user=request.user, unread=unread), NOTIFICATION_PAGE_SIZE)
    return render(
        request,
        "rectification/notifications.html",
        {
            "notifications": page,
            "page": page,
            "unread_only": unread,
            "can_view_deliveries": access.may_view_deliveries(request.user),
        },
    )


@login_required
@require_GET
def notification_open(request, pk):
    """A notice opened from the bell or from a message outside (e-mail, SMS, 企业微信): it counts
    as read, and the person goes on to what it is about."""
    notice = access.notification_for_user(request.user, pk)
    link = services.notification_open(actor=request.user, notification=notice)
    if link and url_has_allowed_host_and_scheme(link, allowed_hosts={request.get_host()}):
        return redirect(link)
    return redirect("rectification:notifications")


@login_required
@require_GET
def deliveries(request):
    """The office's view of the outbox: what was sent to whom by which channel, and what failed."""
    if not access.may_view_deliveries(request.user):
        raise Http404
    state = request.GET.get("state", "")
    state = state if state in OutboxMessage.State.values else ""
    channel = request.GET.get("channel", "")
    channel = channel if channel in dict(OUTBOX_CHANNELS) else ""
    unit_param = request.GET.get("unit", "")
    unit = (
        selectors.NO_UNIT
        if unit_param == selectors.NO_UNIT
        else (int(unit_param) if unit_param.isascii() and unit_param.isdecimal() and len(unit_param) < 10 else None)
    )
    read = {"1": True, "0": False}.get(request.GET.get("read", ""))
    rows = selectors.deliveries_for(user=request.user, state=state, channel=channel, unit=unit, read=read)
    page = paginate(request, rows, 50)
    return render(
        request,
        "rectification/deliveries.html",
        {
            "page": page,
            "rows": [
                (m, access.contact_shown(request.user, m.notification.recipient) if m.notification_id else {})
                for m in page
            ],
            "state": state,
            "channel": channel,
            "states": OutboxMessage.State.choices,
            "channels": OUTBOX_CHANNELS,
            "unit": "" if unit is None else str(unit),
            "read": {True: "1", False: "0"}.get(read, ""),
            "unit_name": _unit_name(unit),
        },
    )


def _unit_name(unit):
    if unit == selectors.NO_UNIT:
        return _("未分配单位的人员")
    found = Unit.objects.filter(pk=unit).first() if unit is not None else None
    return found.display_name if found else ""


@login_required
@require_POST
def delivery_resend(request, pk):
    message = access.delivery_for_user(request.user, pk, "resend")
    services.outbox_resend(actor=request.user, message=message)
    messages.success(request, _("已重新排入发送队列。"))
    return redirect("rectification:deliveries")


@login_required
@require_POST
def notifications_read(request):
    services.notifications_mark_read(actor=request.user)
    return redirect("rectification:notifications")
