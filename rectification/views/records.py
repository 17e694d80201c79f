"""Entry pages of the records behind the figures, the office's penalties, and the releases to the
provincial team.

Each page asks ``access`` who may read it (404 for anyone else) and the service who may write
(403): 信访件和问题线索 the office and supervision, meetings the office, 督导督查 the office and
supervision, 书记领办 events the office; penalties by hand and in bulk the office.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.ui import error_text

from .. import access, selectors, services
from ..evidence import evidence_path
from ..excel import exports
from ..excel.workbook import xlsx_response
from ..figures import round_record_figures
from ..forms import MeetingForm, PenaltyForm, PetitionClueForm, SecretaryEventForm, VisitForm
from ..models import MEETING_KINDS, VISIT_KINDS, Release, SecretaryEvent, WorkActivity
from ..services import export_jobs as jobs
from ..services.audit import audit_record
from .common import current_round


def _round_or_404(request):
    current, rounds = current_round(request.user, request.GET.get("round") or request.POST.get("round"))
    if current is None:
        raise Http404
    return current, rounds


def _save(request, form, create, done):
    """Run ``create`` on a valid form; the service's refusal or check shows on the form, never a 500."""
    if not form.is_valid():
        return False
    try:
        create(form.cleaned_data)
    except ValidationError as error:
        form.add_error(None, error)
        return False
    messages.success(request, done)
    return True


@login_required
@require_GET
def records_index(request):
    """The records' landing page: what each entry page holds, with this round's figures."""
    if not access.may_read_round_records(request.user):
        raise Http404
    current, rounds = _round_or_404(request)
    return render(
        request,
        "rectification/records_index.html",
        {
            "round": current,
            "rounds": rounds,
            "figures": round_record_figures(inspection_round=current),
            "activity_labels": dict(WorkActivity.Kind.choices),
            "event_labels": dict(SecretaryEvent.Kind.choices),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def petition_list(request):
    """信访件和问题线索: received, handled, transferred to discipline; the office and supervision enter them."""
    user = request.user
    if not access.may_read_round_records(user):
        raise Http404
    current, rounds = _round_or_404(request)
    form = PetitionClueForm(inspection_round=current)
    if request.method == "POST":
        form = PetitionClueForm(request.POST, inspection_round=current)

        def create(data):
            services.petition_clue_create(actor=user, inspection_round=current, **data)

        if _save(request, form, create, _("信访件和问题线索已录入。")):
            return redirect(f"{request.path}?round={current.pk}")
    return render(
        request,
        "rectification/petition_list.html",
        {
            "round": current,
            "rounds": rounds,
            "form": form,
            "may_enter": access.may_enter_petitions(user),
            "petitions": selectors.petitions_for(user=user, inspection_round=current),
        },
    )


def _activities(request, *, kinds, form_class, may_enter, template, done):
    user = request.user
    if not access.may_read_round_records(user):
        raise Http404
    current, rounds = _round_or_404(request)
    form = form_class(inspection_round=current)
    if request.method == "POST":
        if not may_enter:
            raise PermissionDenied
        form = form_class(request.POST, inspection_round=current)

        def create(data):
            services.activity_create(actor=user, inspection_round=current, **data)

        if _save(request, form, create, done):
            return redirect(f"{request.path}?round={current.pk}")
    return render(
        request,
        template,
        {
            "round": current,
            "rounds": rounds,
            "form": form,
            "may_enter": may_enter,
            "activities": selectors.activities_for(user=user, inspection_round=current, kinds=kinds),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def meeting_list(request):
    """常委会、领导小组会议、调度会、推进会: date, chair, decisions; the office enters them."""
    return _activities(
        request,
        kinds=MEETING_KINDS,
        form_class=MeetingForm,
        may_enter=access.may_enter_meetings(request.user),
        template="rectification/meeting_list.html",
        done=_("会议记录已录入。"),
    )


@login_required
@require_http_methods(["GET", "POST"])
def visit_list(request):
    """督导、督查 on site: who, where, what was found; the office and supervision enter them."""
    return _activities(
        request,
        kinds=VISIT_KINDS,
        form_class=VisitForm,
        may_enter=access.may_enter_visits(request.user),
        template="rectification/visit_list.html",
        done=_("督导督查记录已录入。"),
    )


@login_required
@require_GET
def secretary_problems(request):
    """The 书记领办 problems of a round, each with its count of on-site events."""
    if not access.may_read_round_records(request.user):
        raise Http404
    current, rounds = _round_or_404(request)
    return render(
        request,
        "rectification/secretary_problems.html",
        {
            "round": current,
            "rounds": rounds,
            "problems": selectors.secretary_led_problems(user=request.user, inspection_round=current),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def secretary_events(request, pk):
    """One 书记领办 problem's 现场部署/现场调度/现场督办, with notes and photos."""
    user = request.user
    problem = access.problem_for_user(user, pk)
    if access.reads_released_only(user) or not problem.is_secretary_led:
        raise Http404
    may_enter = access.may_enter_secretary_events(user, problem)
    form = SecretaryEventForm()
    if request.method == "POST":
        if not may_enter:
            raise PermissionDenied
        form = SecretaryEventForm(request.POST, request.FILES)

        def create(data):
            services.secretary_event_create(actor=user, problem=problem, **data)

        if _save(request, form, create, _("书记领办活动已录入。")):
            return redirect("rectification:secretary_events", pk=problem.pk)
    return render(
        request,
        "rectification/secretary_events.html",
        {
            "problem": problem,
            "form": form,
            "may_enter": may_enter,
            "events": selectors.secretary_events_for(user=user, problem=problem),
        },
    )


@login_required
@require_GET
def record_file_download(request, pk):
    """A record's photo or file, served like the measures' evidence: as an attachment, never inline."""
    record_file = access.record_file_for_user(request.user, pk)
    path = evidence_path(record_file)
    if not path.exists():
        raise Http404
    audit_record(
        actor=request.user,
        action="record.file_download",
        target=record_file.secretary_event or record_file.penalty,
        changes={"sha256": record_file.sha256},
    )
    response = FileResponse(
        open(path, "rb"),  # noqa: SIM115 - FileResponse closes it
        as_attachment=True,
        filename=record_file.original_name,
        content_type=record_file.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# --- penalties -------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def penalty_new(request):
    """A penalty decided by the office: on a unit or a leading cadre, with the reason and evidence."""
    user = request.user
    if not access.may_decide_penalty(user):
        raise Http404
    current, _rounds = _round_or_404(request)
    form = PenaltyForm(initial={"assessment_year": timezone.localdate().year})
    if request.method == "POST":
        form = PenaltyForm(request.POST, request.FILES)

        def create(data):
            services.penalty_enter(actor=user, inspection_round=current, **data)

        if _save(request, form, create, _("通报与扣分已录入。")):
            return redirect("rectification:penalty_list")
    return render(request, "rectification/penalty_new.html", {"round": current, "form": form})


@login_required
@require_POST
def penalties_confirm(request):
    """Confirm the ticked drafts of the weekly cycle at once."""
    if not access.may_decide_penalty(request.user):
        raise Http404
    try:
        count = services.penalties_confirm_many(actor=request.user, penalty_ids=request.POST.getlist("penalty"))
    except ValidationError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, _("已确认 %(count)d 条。") % {"count": count})
    return redirect("rectification:penalty_list")


def _year(request):
    raw = request.GET.get("year", "")
    if not raw:
        return timezone.localdate().year
    if not (raw.isascii() and raw.isdecimal()) or not 2000 <= int(raw) <= 2100:
        return None
    return int(raw)


@login_required
@require_GET
def penalty_deductions(request):
    """The year-end assessment's deductions per unit and per cadre, as .xlsx."""
    if not access.may_export_deductions(request.user):
        raise Http404
    year = _year(request)
    if year is None:
        messages.error(request, _("考评年度应为四位数字年份，如 2026。"))
        return redirect("rectification:penalty_list")
    export = exports.deductions_export(year=year, today=timezone.localdate())
    jobs.export_delivered(actor=request.user, export=export, inspection_round=None)
    return xlsx_response(export.content, export.filename)


# --- releases to the provincial team -----------------------------------------------------------------


@login_required
@require_GET
def release_list(request):
    """What the provincial team has been sent: the released weeks with their frozen figures, and
    (for the office) the weeks it may still release."""
    if not access.may_view_releases(request.user):
        raise Http404
    return render(
        request,
        "rectification/release_list.html",
        {
            "releases": selectors.releases_for(user=request.user),
            "unreleased": selectors.snapshots_unreleased(user=request.user),
            "may_release": access.may_release(request.user),
        },
    )


@login_required
@require_GET
def release_figures(request, pk):
    """The figures of a released week as they were frozen at its summary (not the live ledger)."""
    release = access.release_for_user(request.user, pk)
    return render(
        request,
        "rectification/release_figures.html",
        {"release": release, "figures": selectors.released_figures(release=release)},
    )


@login_required
@require_POST
def snapshot_release(request, pk):
    snapshot = access.snapshot_for_release(request.user, pk)
    try:
        services.release_create(
            actor=request.user,
            inspection_round=snapshot.cycle.round,
            kind=Release.Kind.WEEKLY_PACKAGE,
            snapshot=snapshot,
            note=request.POST.get("note", ""),
        )
    except ValidationError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, _("已报送省巡视组。"))
    return redirect("rectification:release_list")
