"""Excel pages: the list of downloads, the exports, and the office's ledger import.

Who may do what:
- exports of a round: whoever sees at least one of its problems; the file holds only what
  they see (a round they cannot see answers 404, like one that does not exist);
- a unit's task list: that unit's staff, and the office, supervision and the provincial team;
- the import: the office only; anyone else gets 403, as for any ledger change (``manage``).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError
from django.http import FileResponse, Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Unit
from accounts.ui import error_text
from rectification import access
from rectification.models import ExportJob, InspectionRound
from rectification.selectors import rounds_visible_to
from rectification.workdays import iso_week_of, week_from_key, week_key

from ..excel import exports
from ..excel.imports import ImportRefused, column_targets, ledger_plan
from ..excel.samples import import_example, import_template
from ..excel.workbook import xlsx_response
from ..forms import ImportAliasForm, ImportConfirmForm, ImportRemapForm, ImportUploadForm
from ..services import export_jobs as jobs
from ..services import uploads
from ..services.audit import audit_record
from ..services.ledger_import import ledger_import
from ..services.pending import column_mapping_set, name_alias_add
from ..services.setup import measure_withdraw_refusal

IMPORT_TEMPLATE = "rectification/excel/import.html"


def _round_for_user(user, round_id):
    """A round the user sees at least one problem of, else 404."""
    inspection_round = rounds_visible_to(user).filter(pk=round_id).first()
    if inspection_round is None:
        raise Http404
    return inspection_round


def _require_importer(user):
    if not access.may_manage_ledger(user):
        raise PermissionDenied(_("只有整改办可以导入台账。"))


@login_required
@require_GET
def index(request):
    user = request.user
    rounds = list(rounds_visible_to(user))
    chosen = request.GET.get("round", "")
    current = next((r for r in rounds if str(r.pk) == chosen), rounds[0] if rounds else None)
    context = {"rounds": rounds, "round": current, "week": week_key(*iso_week_of(timezone.localdate()))}
    if current is not None:
        context["task_units"] = access.task_list_units(user, current)
    context["can_write_documents"] = access.may_write_documents(user)
    if access.may_manage_ledger(user):
        context["import_form"] = ImportUploadForm(
            rounds=InspectionRound.objects.all(), initial={"inspection_round": current}
        )
    return render(request, "rectification/excel/index.html", context)


def _in_background(request, inspection_round, kind, params=None):
    """Large exports are built by a worker; the person is sent to the downloads list."""
    if not jobs.export_is_large(user=request.user, inspection_round=inspection_round):
        return None
    jobs.export_job_request(actor=request.user, inspection_round=inspection_round, kind=kind, params=params)
    messages.info(request, _("数据量较大，报表正在后台生成，完成后可在本页下载。"))
    return redirect("rectification:excel:jobs")


@login_required
@require_GET
def ledger(request, round_id):
    inspection_round = _round_for_user(request.user, round_id)
    queued = _in_background(request, inspection_round, ExportJob.Kind.LEDGER)
    if queued is not None:
        return queued
    export = exports.ledger_export(user=request.user, inspection_round=inspection_round, today=timezone.localdate())
    jobs.export_delivered(actor=request.user, export=export, inspection_round=inspection_round)
    return xlsx_response(export.content, export.filename)


@login_required
@require_GET
def weekly(request, round_id):
    inspection_round = _round_for_user(request.user, round_id)
    raw = request.GET.get("week")
    try:
        iso_year, iso_week = week_from_key(raw) if raw else iso_week_of(timezone.localdate())
    except ValueError:
        return HttpResponseBadRequest(_("周次格式不正确，应为“2026-W48”（年份-W周次）。"))
    queued = _in_background(
        request, inspection_round, ExportJob.Kind.WEEKLY, {"iso_year": iso_year, "iso_week": iso_week}
    )
    if queued is not None:
        return queued
    export = exports.weekly_export(
        user=request.user,
        inspection_round=inspection_round,
        iso_year=iso_year,
        iso_week=iso_week,
        today=timezone.localdate(),
    )
    jobs.export_delivered(actor=request.user, export=export, inspection_round=inspection_round)
    return xlsx_response(export.content, export.filename)


@login_required
@require_GET
def statistics(request, round_id):
    inspection_round = _round_for_user(request.user, round_id)
    export = exports.statistics_export(user=request.user, inspection_round=inspection_round, today=timezone.localdate())
    jobs.export_delivered(actor=request.user, export=export, inspection_round=inspection_round)
    return xlsx_response(export.content, export.filename)


@login_required
@require_GET
def unit_tasks(request, round_id, unit_id):
    unit = access.task_unit_for_user(request.user, unit_id)
    inspection_round = _round_for_user(request.user, round_id)
    export = exports.unit_tasks_export(
        user=request.user, inspection_round=inspection_round, unit=unit, today=timezone.localdate()
    )
    jobs.export_delivered(actor=request.user, export=export, inspection_round=inspection_round)
    return xlsx_response(export.content, export.filename)


@login_required
@require_GET
def import_template_download(request):
    """The blank template of the import (office only, like the import)."""
    _require_importer(request.user)
    return xlsx_response(import_template(), "整改台账导入模板.xlsx")


@login_required
@require_GET
def import_example_download(request, round_id):
    """A filled example for a round, naming the system's units and leaders (office only)."""
    _require_importer(request.user)
    # Any round, as in the upload form: a round's first import comes before it has any problem.
    inspection_round = InspectionRound.objects.filter(pk=round_id).first()
    if inspection_round is None:
        raise Http404
    return xlsx_response(
        import_example(inspection_round=inspection_round), f"{inspection_round.title}-整改台账导入示例.xlsx"
    )


def _preview(request, *, plan, inspection_round, name, file_name, sha256, notice="", failure=""):
    token = None
    if plan.ok:
        token = uploads.token_make(
            user=request.user,
            inspection_round=inspection_round,
            name=name,
            file_name=file_name,
            sha256=sha256,
            digest=plan.digest(),
        )
    names = plan.names.listed() if plan.names is not None else []
    for measure in plan.missing_measures:
        # Offered 撤销 only where it can be done; the reason is shown otherwise.
        measure.withdraw_refusal = measure_withdraw_refusal(measure)
    # The same file is planned again after a column is mapped or a name confirmed: it is kept
    # while the preview offers either. A plan with errors and nothing to offer can never be
    # confirmed, so its file is not kept.
    retry = None
    if plan.ok or plan.unknown_headers or any(row.suggestions for row in names):
        retry = uploads.token_make(
            user=request.user,
            inspection_round=inspection_round,
            name=name,
            file_name=file_name,
            sha256=sha256,
            digest="",
        )
    else:
        uploads.upload_discard(name)
    context = {
        "retry_token": retry,
        "names": names,
        "mapping_choices": column_targets(),
        "plan": plan,
        "round": inspection_round,
        "file_name": file_name,
        "confirm_form": ImportConfirmForm(initial={"token": token}) if token else None,
        "upload_form": ImportUploadForm(
            rounds=InspectionRound.objects.all(), initial={"inspection_round": inspection_round}
        ),
        "notice": notice,
        "failure": failure,
    }
    return render(request, IMPORT_TEMPLATE, context)


def _refused(request, message, form=None, status=200):
    form = form or ImportUploadForm(rounds=InspectionRound.objects.all())
    return render(request, IMPORT_TEMPLATE, {"refused": message, "upload_form": form}, status=status)


@login_required
@require_POST
def import_upload(request):
    """Upload → preview. Nothing is written to the ledger here."""
    _require_importer(request.user)
    form = ImportUploadForm(request.POST, request.FILES, rounds=InspectionRound.objects.all())
    if not form.is_valid():
        return render(request, IMPORT_TEMPLATE, {"upload_form": form})
    inspection_round = form.cleaned_data["inspection_round"]
    uploaded = form.cleaned_data["file"]
    uploads.uploads_prune()
    name, sha256 = uploads.upload_store(uploaded)
    try:
        plan = ledger_plan(uploads.upload_path(name), inspection_round=inspection_round)
    except ImportRefused as refused:
        uploads.upload_discard(name)
        audit_record(
            actor=request.user,
            action="excel.import_refused",
            target=inspection_round,
            changes={"file": uploaded.name, "sha256": sha256, "reason": str(refused)},
        )
        return _refused(request, str(refused), form)
    audit_record(
        actor=request.user,
        action="excel.import_preview",
        target=inspection_round,
        changes={"file": uploaded.name, "sha256": sha256, "errors": len(plan.errors), **plan.summary()},
    )
    return _preview(
        request, plan=plan, inspection_round=inspection_round, name=name, file_name=uploaded.name, sha256=sha256
    )


@login_required
@require_POST
def import_confirm(request):
    """Confirm a preview: the file is planned again and saved in one transaction, or not at all."""
    _require_importer(request.user)
    form = ImportConfirmForm(request.POST)
    try:
        if not form.is_valid():
            raise ImportRefused(uploads.EXPIRED)
        payload = uploads.token_read(form.cleaned_data["token"], user=request.user)
        inspection_round = InspectionRound.objects.filter(pk=payload["r"]).first()
        if inspection_round is None:
            raise ImportRefused(uploads.EXPIRED)
        plan = ledger_plan(uploads.upload_path(payload["n"]), inspection_round=inspection_round)
    except ImportRefused as refused:
        return _refused(request, str(refused), status=400)
    preview = {
        "plan": plan,
        "inspection_round": inspection_round,
        "name": payload["n"],
        "file_name": payload["f"],
        "sha256": payload["s"],
    }
    if not plan.ok or plan.digest() != payload["d"]:
        # Someone changed the ledger (or the units) since the preview: show what would happen now.
        return _preview(
            request, **preview, notice=_("台账或单位、领导信息在预览之后发生了变化，请核对下面的最新预览后再确认。")
        )
    try:
        withdraw = _withdraw_chosen(request.POST, plan)
    except ValidationError as refused:
        return _preview(request, **preview, failure=error_text(refused))
    try:
        counts = ledger_import(
            actor=request.user, plan=plan, file_name=payload["f"], sha256=payload["s"], withdraw=withdraw
        )
    except (ValidationError, IntegrityError) as failed:
        reason = error_text(failed)
        audit_record(
            actor=request.user,
            action="excel.import_failed",
            target=inspection_round,
            changes={"file": payload["f"], "sha256": payload["s"], "reason": reason},
        )
        return _preview(request, **preview, failure=_("导入失败，未保存任何数据：%(reason)s") % {"reason": reason})
    uploads.upload_discard(payload["n"])
    done = _("台账导入完成：新建问题%(pc)s个、更新问题%(pu)s个，新建措施%(mc)s个、更新措施%(mu)s个。") % {
        "pc": counts.get("problems_created", 0),
        "pu": counts.get("problems_updated", 0),
        "mc": counts.get("measures_created", 0),
        "mu": counts.get("measures_updated", 0),
    }
    if counts.get("measures_withdrawn"):
        done += _("撤销文件中未列出的措施%(n)s个，已通知其责任单位。") % {"n": counts["measures_withdrawn"]}
    messages.success(request, done)
    return redirect(f"{reverse('rectification:excel:index')}?round={inspection_round.pk}")


MISSING_PREFIX = "missing-"


def _withdraw_chosen(data, plan):
    """The measures left out of the file that the preview's "撤销" was chosen for (keep is the
    default). A choice for a measure that is no longer left out, or a value other than keep or
    withdraw, is refused in Chinese rather than guessed."""
    missing = {str(measure.pk): measure for measure in plan.missing_measures}
    chosen = []
    for key in data:
        if not key.startswith(MISSING_PREFIX):
            continue
        value = data.get(key)
        measure = missing.get(key.removeprefix(MISSING_PREFIX))
        if measure is None:
            raise ValidationError(_("所选措施已不在本文件未列出的措施中，请核对下面的最新预览后再确认。"))
        if value not in ("keep", "withdraw"):
            raise ValidationError(_("措施“%(code)s”请选择“保留”或“撤销”。") % {"code": measure.code})
        if value == "withdraw":
            chosen.append(measure)
    return chosen


def _preview_again(request, token):
    """Plan the file of a preview again (after a mapping or an alias) and show the new preview."""
    try:
        payload = uploads.token_read(token, user=request.user)
        inspection_round = InspectionRound.objects.filter(pk=payload["r"]).first()
        if inspection_round is None:
            raise ImportRefused(uploads.EXPIRED)
        plan = ledger_plan(uploads.upload_path(payload["n"]), inspection_round=inspection_round)
    except ImportRefused as refused:
        return _refused(request, str(refused), status=400)
    audit_record(
        actor=request.user,
        action="excel.import_preview",
        target=inspection_round,
        changes={"file": payload["f"], "sha256": payload["s"], "errors": len(plan.errors), **plan.summary()},
    )
    return _preview(
        request,
        plan=plan,
        inspection_round=inspection_round,
        name=payload["n"],
        file_name=payload["f"],
        sha256=payload["s"],
    )


@login_required
@require_POST
def import_remap(request):
    """Read an unrecognised column as the chosen field, remember it, and preview the file again."""
    _require_importer(request.user)
    form = ImportRemapForm(request.POST)
    if not form.is_valid():
        return _refused(request, _("请从下拉列表中选择该列对应的项目。"), status=400)
    try:
        column_mapping_set(actor=request.user, header=form.cleaned_data["header"], target=form.cleaned_data["target"])
    except ValidationError as refused:
        return _refused(request, error_text(refused), status=400)
    messages.success(
        request,
        _("已记住：表头“%(header)s”对应“%(target)s”，以后的导入也按此识别。")
        % {"header": form.cleaned_data["header"], "target": dict(column_targets())[form.cleaned_data["target"]]},
    )
    return _preview_again(request, form.cleaned_data["token"])


@login_required
@require_POST
def import_alias(request):
    """Confirm that a written name is an existing unit or leader (an alias), and preview again."""
    _require_importer(request.user)
    form = ImportAliasForm(request.POST)
    if not form.is_valid():
        return _refused(request, _("请求不完整，请在预览中重新选择。"), status=400)
    kind, written = form.cleaned_data["kind"], form.cleaned_data["written"]
    targets = Unit.objects.filter(is_active=True, is_pending=False) if kind == "unit" else access.leader_accounts()
    target = targets.filter(pk=form.cleaned_data["target"]).first()
    if target is None:
        raise Http404
    try:
        name_alias_add(actor=request.user, kind=kind, written=written, target=target)
    except ValidationError as refused:
        return _refused(request, error_text(refused), status=400)
    messages.success(
        request,
        _("已记住：“%(written)s”即“%(target)s”，以后的导入也按此匹配。") % {"written": written, "target": target},
    )
    return _preview_again(request, form.cleaned_data["token"])


@login_required
@require_GET
def job_list(request):
    """The person's own background exports, with progress; refreshes itself while any runs."""
    own = access.export_jobs_visible_to(request.user).select_related("round")[:30]
    running = any(job.state in (ExportJob.State.QUEUED, ExportJob.State.RUNNING) for job in own)
    return render(request, "rectification/excel/jobs.html", {"jobs": own, "running": running})


@login_required
@require_GET
def job_download(request, pk):
    # Only the person who asked: the file holds what *they* may see.
    job = access.export_job_for_user(request.user, pk)
    if job.state != ExportJob.State.DONE:
        raise Http404
    path = jobs.job_path(job)
    if not path.exists():
        raise Http404
    audit_record(actor=request.user, action="excel.export_download", target=job, changes={"file": job.file_name})
    return FileResponse(
        open(path, "rb"),
        as_attachment=True,
        filename=job.file_name,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
