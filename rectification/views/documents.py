"""The office's papers: the 公文 format, the weekly 简报 (draft, edited final) and the final report.

Who may do what (``access``): the office drafts, uploads and sets the format, and releases the final
report to the provincial team; supervision, which reads the weekly cycle's log, may download the
kept finals; the provincial team downloads the released final report; nobody else sees any of it
(404), and someone who sees a week but may not draft gets 403.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.ui import error_text

from .. import access, selectors, services
from ..documents.briefing import weekly_briefing
from ..documents.final_report import final_report as final_report_docx
from ..documents.gongwen import DOCX_CONTENT_TYPE
from ..forms import (
    BriefingUploadForm,
    DocumentProfileForm,
    FinalReportForm,
    FinalReportUploadForm,
    ReleaseConfirmForm,
)
from ..models import Release
from ..services import documents as papers


def _docx_response(export):
    response = HttpResponse(export.content, content_type=DOCX_CONTENT_TYPE)
    safe = "".join("_" if ch in '\\/:*?"<>|' else ch for ch in export.filename)
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=safe)
    return response


def _require_writer(user):
    if not access.may_write_documents(user):
        raise PermissionDenied(_("只有整改办可以起草和设置公文。"))


@login_required
@require_http_methods(["GET", "POST"])
def document_profile(request):
    """公文格式: the page, the text block and the fonts, as the district's province wants them."""
    _require_writer(request.user)
    profile = papers.document_profile()
    form = DocumentProfileForm(request.POST or None, instance=papers.document_profile())
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in DocumentProfileForm.Meta.fields}
        try:
            papers.document_profile_update(actor=request.user, profile=profile, data=data)
        except ValidationError as error:
            messages.error(request, error_text(error))
        else:
            messages.success(request, _("公文格式已保存，之后起草的简报和报告按新格式排版。"))
            return redirect("rectification:document_profile")
    return render(request, "rectification/document_profile.html", {"form": form, "profile": profile})


@login_required
@require_GET
def briefing_draft(request, pk):
    """The week's 简报 drafted from its frozen snapshot, as an editable Word file."""
    snapshot = access.briefing_snapshot_for_user(request.user, pk, "write")
    export = weekly_briefing(snapshot=snapshot, profile=papers.document_profile())
    papers.document_delivered(actor=request.user, export=export, target=snapshot)
    return _docx_response(export)


@login_required
@require_POST
def briefing_upload(request, pk):
    snapshot = access.briefing_snapshot_for_user(request.user, pk, "write")
    form = BriefingUploadForm(request.POST, request.FILES)
    # Back to the top of the week's page, where the message says what happened to the file.
    target = reverse("rectification:cycle_detail", args=[snapshot.cycle_id])
    if not form.is_valid():
        messages.error(request, _("请选择要上传的简报定稿（.docx 文件）。"))
        return redirect(target)
    try:
        papers.briefing_final_upload(actor=request.user, snapshot=snapshot, uploaded=form.cleaned_data["file"])
    except ValidationError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, _("简报定稿已上传，随本周小结保存。"))
    return redirect(target)


@login_required
@require_GET
def briefing_final(request, pk):
    final = access.briefing_final_for_user(request.user, pk)
    path = papers.briefing_path(final)
    if not path.exists():
        raise Http404
    papers.briefing_final_downloaded(actor=request.user, final=final)
    return FileResponse(
        open(path, "rb"), as_attachment=True, filename=final.original_name, content_type=DOCX_CONTENT_TYPE
    )


def _final_report_round(user, round_id):
    _require_writer(user)
    inspection_round = selectors.rounds_visible_to(user).filter(pk=round_id).first()
    if inspection_round is None:
        raise Http404
    return inspection_round


def _final_report_page(request, inspection_round, form):
    return render(
        request,
        "rectification/final_report.html",
        {
            "form": form,
            "round": inspection_round,
            "upload_form": FinalReportUploadForm(),
            "release_form": ReleaseConfirmForm(),
            "finals": selectors.final_report_finals(user=request.user, inspection_round=inspection_round),
            "released": selectors.final_report_release(user=request.user, inspection_round=inspection_round),
            "may_release": access.may_release(request.user),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def final_report(request, round_id):
    """The final 整改情况报告: the office gives the 发文字号 and date and downloads the draft, uploads
    the final it edited in Word, and releases one final to the provincial team."""
    inspection_round = _final_report_round(request.user, round_id)
    profile = papers.document_profile()
    today = timezone.localdate()
    form = FinalReportForm(
        request.POST or None, initial={"doc_number": f"{profile.doc_number_prefix}〔{today.year}〕1号", "day": today}
    )
    if request.method == "POST" and form.is_valid():
        export = final_report_docx(
            user=request.user,
            inspection_round=inspection_round,
            profile=profile,
            doc_number=form.cleaned_data["doc_number"],
            day=form.cleaned_data["day"],
        )
        papers.document_delivered(actor=request.user, export=export, target=inspection_round)
        return _docx_response(export)
    return _final_report_page(request, inspection_round, form)


@login_required
@require_POST
def final_report_upload(request, round_id):
    inspection_round = _final_report_round(request.user, round_id)
    form = FinalReportUploadForm(request.POST, request.FILES)
    target = reverse("rectification:final_report", args=[inspection_round.pk]) + "#finals"
    if not form.is_valid():
        messages.error(request, _("请选择要上传的整改情况报告定稿（.docx 文件）。"))
        return redirect(target)
    try:
        papers.final_report_final_upload(
            actor=request.user, inspection_round=inspection_round, uploaded=form.cleaned_data["file"]
        )
    except ValidationError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, _("整改情况报告定稿已上传。核对无误后可报送省巡视组。"))
    return redirect(target)


@login_required
@require_GET
def final_report_final(request, pk):
    """An uploaded final report: the office and supervision any of them, the provincial team the
    released one (404 before the release)."""
    final = access.final_report_final_for_user(request.user, pk)
    path = papers.final_report_path(final)
    if not path.exists():
        raise Http404
    papers.final_report_final_downloaded(actor=request.user, final=final)
    return FileResponse(
        open(path, "rb"), as_attachment=True, filename=final.original_name, content_type=DOCX_CONTENT_TYPE
    )


@login_required
@require_POST
def final_report_release(request, pk):
    """Release an uploaded final to the provincial team: once a round, one-way, after the office
    ticks the confirmation."""
    final = access.final_report_final_for_user(request.user, pk, "release")
    target = reverse("rectification:final_report", args=[final.round_id]) + "#finals"
    form = ReleaseConfirmForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.errors["confirmed"][0])
        return redirect(target)
    try:
        services.release_create(
            actor=request.user,
            inspection_round=final.round,
            kind=Release.Kind.FINAL_REPORT,
            final_report=final,
            note=request.POST.get("note", ""),
        )
    except ValidationError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, _("整改情况报告已报送省巡视组。"))
    return redirect(target)
