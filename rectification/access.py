"""The access policy for the findings: who may see and do what, for every protected type.

Every view, export, dashboard, message and task asks here, and nothing else reads a role: a
test walks the code and fails on a role check anywhere else. When a rule changes, it changes in
this file, once.

Who sees what:
- the office (整改办), supervision and the provincial team read every finding; the provincial team,
  though, opens only the pages of what the district released to it (``may_open_page``, asked for
  every page by ``rectification.middleware``): the querysets below answer for it as a whole because
  its weekly package is built from them;
- a track office reads the findings of the tracks its unit runs;
- everyone else reads only the problems and measures on which guardian grants them, or their
  unit's group, an object permission (see ``permissions_sync_for_problem``);
- the three administrators hold no object permissions and read nothing.

For each protected type there are two chokepoints: ``<type>s_visible_to(user)``, a queryset of
what the person may see, and ``<type>_for_user(user, pk, action)``, one object: 404 when it is
missing *or* invisible (the two look the same), 403 when it is visible but the action is not
permitted. Each action is one named predicate (``may_decompose``, ``may_apply_closeout``, ...).

Global (model-level) permissions are never consulted for findings, so a stray global grant
cannot let a unit's staff see another unit's rows.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, Q
from django.http import Http404
from django.utils.translation import gettext as _
from guardian.core import ObjectPermissionChecker
from guardian.shortcuts import get_objects_for_user

from accounts.access import (  # noqa: F401 - who is told, asked here by the findings' code
    PROVINCIAL_TEAM,
    contact_shown,
    is_administrator,
    is_leader,
    is_liaison,
    is_office,
    is_provincial,
    is_supervision,
    is_unit_head,
    is_unit_staff,
    leader_accounts,
    may_manage_accounts,
    may_set_up_channels,
    office_staff,
    reads_all,
    system_administrators,
    track_office_staff,
    track_office_unit,
    unit_heads,
    unit_liaisons,
    units_staff,
)
from accounts.access import active as _active
from accounts.models import NameAlias, Unit, User

from .models import (
    BriefingFinal,
    Campaign,
    CloseOutRequest,
    CoordinationItem,
    Evidence,
    ExportJob,
    FinalReportFinal,
    GroupRobot,
    ImportColumnMapping,
    Measure,
    MeasureChangeRequest,
    MeasureGroupObjectPermission,
    MeasureUserObjectPermission,
    Milestone,
    Notification,
    OutboxMessage,
    Penalty,
    PetitionClue,
    Problem,
    ProblemGroupObjectPermission,
    ProblemUserObjectPermission,
    ProgressReport,
    RecordFile,
    Release,
    SecretaryEvent,
    SupervisionNotice,
    Track,
    WeeklyCycle,
    WeeklySnapshot,
    WorkActivity,
)

# --- who someone is: the roles, read in ``accounts.access`` -----------------------------------------

# The weekly package is built for the provincial team as a whole, not as one of its accounts.
PROVINCIAL_RELEASE = PROVINCIAL_TEAM


def staff_unit(user):
    """The unit whose work this person does; 404 for anyone who is not a unit's staff."""
    if not is_unit_staff(user):
        raise Http404
    return user.unit


# --- pages and menus: who is shown what --------------------------------------------------------------


def reads_released_only(user):
    """The provincial team (省巡视组): it reads what the district has released to it (the weekly
    packages and their frozen figures, later the final report), never the live internal views: the
    dashboard, the units' rankings, the formalism signals, the weekly cycle's log."""
    return is_provincial(user) and not (is_office(user) or is_supervision(user))


# The pages of the findings the provincial team may open: what the district released to it (the
# list, each released week's package and frozen figures, the released final report) and the pages
# every signed-in person has (the manual, the bell). Every other page is live and internal.
RELEASED_PAGES = frozenset(
    {
        "rectification:home",
        "rectification:release_list",
        "rectification:release_figures",
        "rectification:snapshot_package",
        "rectification:final_report_final",
        "rectification:help_index",
        "rectification:help_chapter",
        "rectification:help_image",
        "rectification:guide_dismiss",
        "rectification:notifications",
        "rectification:notifications_read",
        "rectification:notification_open",
    }
)


def may_open_page(user, view_name):
    """The one gate every page of the findings passes (``rectification.middleware``): the provincial
    team opens only ``RELEASED_PAGES``; a page added later is refused to it until listed there.
    Everyone else is decided by the page's own chokepoint."""
    if not view_name.startswith("rectification:"):
        return True
    return not reads_released_only(user) or view_name in RELEASED_PAGES


def require_page(user, view_name):
    """403, with the reason in Chinese, for a page ``may_open_page`` refuses."""
    if not may_open_page(user, view_name):
        raise PermissionDenied(
            _(
                "省巡视组账号只查看区整改办已报送的材料（周报送材料、报送时冻结的数字和整改情况报告），不查看实时台账、总览、排名和预警。"
            )
        )


def sees_round_overview(user):
    """The round's live overview on the home page, for whole-round readers and track offices."""
    if reads_released_only(user):
        return False
    return reads_all(user) or track_office_unit(user) is not None


def may_view_dashboard(user):
    """The live dashboard, with its rankings and formalism signals: never the provincial team."""
    return sees_round_overview(user)


def figures_track_unit(user):
    """The office unit whose tracks' figures are all a person's overview and dashboard count, or None.

    A track office (专项办) that does not read every finding sees its track's figures, not the
    round's: not even the items it sees as a unit (as a lead or responsible unit of the general
    track), which its own worklist shows.
    """
    if reads_all(user):
        return None
    return track_office_unit(user)


def may_view_leader_page(user):
    return is_leader(user)


def may_view_releases(user):
    """The list of what was released to the provincial team: the team itself, the office and supervision."""
    return reads_all(user)


def may_release(user):
    """Releasing a week's package (or the final report) to the provincial team: the office."""
    return is_office(user)


def home_is_worklist(user):
    """Someone who only does a unit's work starts on the unit's worklist."""
    return is_unit_staff(user) and not (sees_round_overview(user) or is_leader(user))


def sees_no_findings(user):
    """An administrator (三员) and nothing else: the home page says why it is empty."""
    if not (_active(user) and is_administrator(user)):
        return False
    return not (sees_round_overview(user) or is_leader(user) or is_unit_staff(user))


def reviews_anything(user):
    """Whether the "待我审批" badge belongs in this person's menu at all."""
    return is_unit_staff(user) or is_leader(user) or is_office(user) or track_office_unit(user) is not None


def may_view_cycles(user):
    """The weekly cycle's log is the office's tool; supervision may read it."""
    return is_office(user) or is_supervision(user)


def may_run_cycle(user):
    """Re-running a step of the weekly cycle."""
    return is_office(user)


def may_view_penalties(user):
    return is_office(user) or is_supervision(user) or is_unit_staff(user)


def may_decide_penalty(user):
    """Confirming or dismissing the circulars and deductions the weekly cycle drafts, entering one
    by hand (on a unit or a leading cadre), exporting the year-end assessment's deductions."""
    return is_office(user)


def may_export_deductions(user):
    """The year-end assessment's deductions per unit and per cadre: the office and supervision."""
    return is_office(user) or is_supervision(user)


def may_download_package(user):
    """The weekly package for the provincial team: for those who read every finding."""
    return reads_all(user)


def may_write_documents(user):
    """Drafting the weekly 简报 and the final 整改情况报告, uploading the edited 简报, and the
    district's 公文 format: the office's own papers."""
    return is_office(user)


def may_manage_calendar(user):
    """Entering and confirming the year's public holidays and make-up working days (节假日安排)."""
    return is_office(user)


# --- the ledger ----------------------------------------------------------------------------------


def may_manage_ledger(user):
    """Rounds, problems and their responsibilities, the import, re-assignments and approving
    changes to claimed measures: the office's own work on the ledger."""
    return is_office(user)


def may_see_pending_names(user):
    """The list of pending (待开通) leaders and units a ledger import named: the office, who sends it
    to the system administrator."""
    return is_office(user)


def may_bind_pending_names(user):
    """Binding a pending leader or unit to an account, or opening a pending unit: the system
    administrator, who opens accounts and units. The page shows names and counts, never findings."""
    return may_manage_accounts(user)


def pending_unit_for_user(user, pk):
    """A pending unit the system administrator binds or opens: 403 for anyone else, 404 for a
    unit that is not (or no longer) pending."""
    if not may_bind_pending_names(user):
        raise PermissionDenied
    unit = Unit.objects.filter(pk=pk, is_pending=True).first()
    if unit is None:
        raise Http404
    return unit


def pending_leader_for_user(user, pk):
    """As ``pending_unit_for_user``, for a pending leader."""
    if not may_bind_pending_names(user):
        raise PermissionDenied
    person = User.objects.filter(pk=pk, is_pending=True).first()
    if person is None:
        raise Http404
    return person


def name_alias_for_user(user, pk):
    """An alias the import remembers, for the office to remove: 403 for anyone else, 404 if none."""
    if not may_see_pending_names(user):
        raise PermissionDenied
    alias = NameAlias.objects.filter(pk=pk).first()
    if alias is None:
        raise Http404
    return alias


def column_mapping_for_user(user, pk):
    """A column mapping the import remembers, for the office to remove (as ``name_alias_for_user``)."""
    if not may_manage_ledger(user):
        raise PermissionDenied
    mapping = ImportColumnMapping.objects.filter(pk=pk).first()
    if mapping is None:
        raise Http404
    return mapping


def _checker(user, objects=()):
    """A guardian checker holding the person's object permissions on ``objects`` (one query a
    type), so that deciding for many rows costs the same as for one."""
    checker = ObjectPermissionChecker(user)
    if objects:
        # The docstring and the code take any list of objects; only the annotation says QuerySet.
        checker.prefetch_perms(list(objects))  # type: ignore[arg-type]
    return checker


def _granted(user, codename, obj, checker=None):
    if not _active(user) or not isinstance(user, User):
        return False
    return (checker or _checker(user)).has_perm(codename, obj)


def may_decompose(user, problem, checker=None):
    """Decomposing a problem into measures (and editing them before they are claimed): the office,
    or the liaison or head of the problem's lead unit."""
    if may_manage_ledger(user):
        return True
    return is_unit_staff(user) and _granted(user, "decompose_problem", problem, checker)


def may_report(user, measure, checker=None):
    """The weekly report, evidence, milestones and claims of a measure: its owner unit's staff."""
    return is_unit_staff(user) and _granted(user, "report_measure", measure, checker)


def may_confirm_report(user, measure, checker=None):
    """The unit head confirms (or returns) what the liaison reported."""
    return is_unit_head(user) and _granted(user, "report_measure", measure, checker)


def may_review_measure(user, measure, checker=None):
    """The lead unit reviews its responsible units' measures (reports, close-outs)."""
    return is_unit_staff(user) and _granted(user, "review_measure", measure, checker)


def may_sign_off(user, item, checker=None):
    """A problem's lead official and responsible leaders sign off its items."""
    codename = "sign_off_problem" if isinstance(item, Problem) else "sign_off_measure"
    return is_leader(user) and _granted(user, codename, item, checker)


def may_change_claimed_measure(user):
    """Once a unit has claimed a measure, only the office changes it (others ask for a change)."""
    return may_manage_ledger(user)


def may_resolve_coordination(user, item):
    """A difficulty raised to the lead official's dispatch meeting: the office or the problem's leaders."""
    return is_office(user) or may_sign_off(user, item.measure.problem)


def may_reply_notice(user, notice):
    """A supervision notice (督办单) is answered by the staff of the unit it was sent to."""
    return is_unit_staff(user) and user.unit_id == notice.unit_id and may_report(user, notice.measure)


def notices_replyable(user, notices):
    """The ids of ``notices`` this person may answer (``may_reply_notice``), in one permission
    read: a list shows the reply form only where the answer would be accepted."""
    if not is_unit_staff(user):
        return set()
    own = [notice for notice in notices if notice.unit_id == user.unit_id]
    allowed = measures_permitted(user, [notice.measure for notice in own], "report") if own else set()
    return {notice.pk for notice in own if notice.measure_id in allowed}


def coordination_resolvable(user, items):
    """The ids of ``items`` this person may answer (``may_resolve_coordination``), in one
    permission read, for the list's forms."""
    items = list(items)
    if is_office(user):
        return {item.pk for item in items}
    if not is_leader(user) or not items or not _active(user) or not isinstance(user, User):
        return set()
    checker = _checker(user, {item.measure.problem for item in items})
    return {item.pk for item in items if may_sign_off(user, item.measure.problem, checker)}


def may_enter_records(user, problem=None):
    """Accountability, rule-building and recovery records: the units taking part in the problem,
    the office and supervision; records of no problem (petitions, clues): the office and supervision."""
    if is_office(user) or is_supervision(user):
        return True
    if problem is None or not is_unit_staff(user):
        return False
    involved = {problem.lead_unit_id, *problem.responsible_units.values_list("id", flat=True)}
    involved |= set(Measure.objects.filter(problem=problem).values_list("owner_unit_id", flat=True))
    return user.unit_id in involved


def may_export_unit_tasks(user, unit_id):
    """A unit's task list: whole-round readers for any unit, a unit's staff for their own."""
    return reads_all(user) or (is_unit_staff(user) and user.unit_id == unit_id)


def task_unit_for_user(user, unit_id):
    """The unit whose task list is asked for: 404 for a unit this person may not export."""
    if not may_export_unit_tasks(user, unit_id):
        raise Http404
    unit = Unit.objects.filter(pk=unit_id).first()
    if unit is None:
        raise Http404
    return unit


def task_list_units(user, inspection_round):
    """The units whose task lists this person may export in a round."""
    if reads_all(user):
        return (
            Unit.objects.filter(owned_measures__problem__round=inspection_round).distinct().order_by("sort_order", "id")
        )
    if is_unit_staff(user):
        return [user.unit]
    return []


# --- close-out -------------------------------------------------------------------------------------


def may_apply_closeout(user, problem, measure=None, checker=None):
    """The unit head of the measure's owner unit, or of the problem's lead unit for a whole problem."""
    if measure is not None:
        return may_confirm_report(user, measure, checker)
    return is_unit_head(user) and _granted(user, "decompose_problem", problem, checker)


def closeout_track_office(request):
    """The special track whose office reviews this request instead of the 整改办, if any."""
    problem = request.problem
    if problem.round.track_offices_review and problem.track.kind != Track.Kind.GENERAL:
        return problem.track
    return None


def may_decide_closeout(user, request):
    """Whether ``user`` may approve or return ``request`` at the step it is at now.

    Nobody decides on their own unit's application; the applicant never closes its own item.
    """
    State = CloseOutRequest.State
    if not _active(user) or request.applied_by_id == user.pk:
        return False
    problem, measure = request.problem, request.measure
    if request.state == State.PENDING_LEAD_UNIT:
        if user.unit_id == request.applicant_unit_id:
            return False
        if measure is not None:
            return may_review_measure(user, measure)
        return is_unit_staff(user) and _granted(user, "decompose_problem", problem)
    if request.state == State.PENDING_LEADER:
        return may_sign_off(user, measure if measure is not None else problem)
    if request.state == State.PENDING_OFFICE:
        if user.unit_id == request.applicant_unit_id:
            return False
        track = closeout_track_office(request)
        if track is not None:
            return track_office_unit(user) == track.office_unit_id
        return is_office(user)
    return False


def closeout_waiting_condition(user):
    """The queryset condition of ``may_decide_closeout``: the requests waiting for this person, or
    None for someone who decides none. A test checks that the two agree for every role and step."""
    State = CloseOutRequest.State
    waiting = None

    def either(condition):
        return condition if waiting is None else waiting | condition

    if is_unit_staff(user):
        waiting = either(
            Q(state=State.PENDING_LEAD_UNIT, problem__lead_unit_id=user.unit_id) & ~Q(applicant_unit_id=user.unit_id)
        )
    if is_leader(user):
        waiting = either(
            Q(state=State.PENDING_LEADER) & (Q(problem__lead_official=user) | Q(problem__responsible_leaders=user))
        )
    special_track = Q(problem__round__track_offices_review=True) & ~Q(problem__track__kind=Track.Kind.GENERAL)
    if is_office(user):
        waiting = either(Q(state=State.PENDING_OFFICE) & ~special_track & ~Q(applicant_unit_id=user.unit_id))
    track_unit = track_office_unit(user)
    if track_unit is not None:
        waiting = either(
            Q(state=State.PENDING_OFFICE, problem__track__office_unit_id=track_unit)
            & special_track
            & ~Q(applicant_unit_id=user.unit_id)
        )
    return waiting


def may_reopen_closeout(user):
    """回头看: the office and supervision reopen closed items."""
    return is_office(user) or is_supervision(user)


# --- problems and measures ---------------------------------------------------------------------------


def _objects_granted(user, model, codename):
    return get_objects_for_user(
        user, f"rectification.{codename}", klass=model, with_superuser=False, accept_global_perms=False
    )


def problems_visible_to(user):
    if not _active(user):
        return Problem.objects.none()
    if reads_all(user):
        return Problem.objects.all()
    visible = _objects_granted(user, Problem, "view_problem")
    track_unit = track_office_unit(user)
    if track_unit is not None:
        visible = visible | Problem.objects.filter(track__office_unit_id=track_unit)
    return visible


def measures_visible_to(user):
    if not _active(user):
        return Measure.objects.none()
    if reads_all(user):
        return Measure.objects.all()
    visible = _objects_granted(user, Measure, "view_measure")
    track_unit = track_office_unit(user)
    if track_unit is not None:
        visible = visible | Measure.objects.filter(problem__track__office_unit_id=track_unit)
    return visible


def campaigns_visible_to(user):
    """专项整治: whole-round readers see every campaign; anyone else a campaign their unit leads or
    one holding a problem they may see (and, on its page, only the rows they may see)."""
    if not _active(user):
        return Campaign.objects.none()
    if reads_all(user):
        return Campaign.objects.all()
    seen = Q(pk__in=problems_visible_to(user).filter(campaign__isnull=False).values("campaign_id"))
    if is_unit_staff(user):
        seen |= Q(lead_unit_id=user.unit_id)
    return Campaign.objects.filter(seen)


def may_view_battle_board(user):
    """挂图作战总图: the district's whole board is for those who oversee the round; a unit's staff
    and leaders see the board of the problems they may see."""
    return _active(user) and not sees_no_findings(user)


def campaign_for_user(user, pk, action="view"):
    """A campaign if visible (else 404); "manage" (edit it) is the office's."""
    actions = {"view": lambda u, c: True, "manage": lambda u, c: may_manage_ledger(u)}
    return _one(campaigns_visible_to(user), pk, user, action, actions)


PROBLEM_ACTIONS = {
    "view": lambda user, problem: True,
    "decompose": may_decompose,
    "apply_closeout": lambda user, problem: may_apply_closeout(user, problem),
    "sign_off": may_sign_off,
    "enter_records": may_enter_records,
}
MEASURE_ACTIONS = {
    "view": lambda user, measure: True,
    "report": may_report,
    "confirm": may_confirm_report,
    "review": may_review_measure,
    "sign_off": may_sign_off,
    "decompose": lambda user, measure: may_decompose(user, measure.problem),
    "apply_closeout": lambda user, measure: may_apply_closeout(user, measure.problem, measure),
    "manage": lambda user, measure: may_manage_ledger(user),
}


def _one(queryset, pk, user, action, actions):
    """The object ``pk`` of ``queryset`` if visible (else 404), and if ``action`` is permitted (else 403)."""
    if action not in actions:
        raise ValueError(f"unknown action {action!r}")
    obj = queryset.filter(pk=pk).first() if str(pk).isdecimal() else None
    if obj is None:
        raise Http404
    if not actions[action](user, obj):
        raise PermissionDenied
    return obj


def problem_for_user(user, pk, action="view", queryset=None):
    """The problem if the user may see it, else 404 (never revealing whether it exists)."""
    base = problems_visible_to(user)
    if queryset is not None:
        base = queryset & base
    return _one(base, pk, user, action, PROBLEM_ACTIONS)


def measure_for_user(user, pk, action="view", queryset=None):
    base = measures_visible_to(user)
    if queryset is not None:
        base = queryset & base
    return _one(base, pk, user, action, MEASURE_ACTIONS)


def measures_permitted(user, measures, action):
    """The ids of ``measures`` on which ``user`` may take ``action``, in one permission read."""
    measures = list(measures)
    checker = _checker(user, measures) if _active(user) and isinstance(user, User) else None
    rule = {"report": may_report, "confirm": may_confirm_report, "review": may_review_measure}[action]
    return {measure.pk for measure in measures if rule(user, measure, checker)}


def require_measures(user, measures, action, message):
    """Refuse (403) unless ``user`` may take ``action`` on every one of ``measures``."""
    measures = list(measures)
    if len(measures_permitted(user, measures, action)) != len({m.pk for m in measures}):
        raise PermissionDenied(message)


# --- what hangs off a measure ------------------------------------------------------------------------


def reports_visible_to(user):
    return ProgressReport.objects.filter(measure__in=measures_visible_to(user))


def report_for_user(user, pk, action="view"):
    """A weekly report; "correct" needs the right to report on its measure."""
    actions = {"view": lambda u, r: True, "correct": lambda u, r: may_report(u, r.measure)}
    return _one(reports_visible_to(user).select_related("measure"), pk, user, action, actions)


def evidence_visible_to(user):
    return Evidence.objects.filter(measure__in=measures_visible_to(user))


def evidence_for_user(user, pk, action="view"):
    return _one(evidence_visible_to(user), pk, user, action, {"view": lambda u, e: True})


def milestones_visible_to(user):
    return Milestone.objects.filter(measure__in=measures_visible_to(user))


def milestone_for_user(user, pk, action="view"):
    """A milestone; "done" and "waive" are the owner unit's, "edit" the decomposer's."""
    actions = {
        "view": lambda u, m: True,
        "done": lambda u, m: may_report(u, m.measure),
        "waive": lambda u, m: may_report(u, m.measure),
        "edit": lambda u, m: may_decompose(u, m.measure.problem),
    }
    return _one(milestones_visible_to(user).select_related("measure__problem"), pk, user, action, actions)


def coordination_items_visible_to(user):
    """Coordination items on measures the user can see; a leader (who reads nothing else
    whole-round) sees those of the problems they lead or are responsible for."""
    items = CoordinationItem.objects.filter(measure__in=measures_visible_to(user))
    if is_leader(user) and not reads_all(user):
        items = items.filter(Q(measure__problem__lead_official=user) | Q(measure__problem__responsible_leaders=user))
    return items


def coordination_item_for_user(user, pk, action="view"):
    actions = {"view": lambda u, i: True, "resolve": may_resolve_coordination}
    return _one(coordination_items_visible_to(user).select_related("measure__problem"), pk, user, action, actions)


def change_requests_visible_to(user):
    return MeasureChangeRequest.objects.filter(measure__in=measures_visible_to(user))


def change_request_for_user(user, pk, action="view"):
    actions = {"view": lambda u, c: True, "decide": lambda u, c: may_manage_ledger(u)}
    return _one(change_requests_visible_to(user).select_related("measure"), pk, user, action, actions)


# --- close-out requests --------------------------------------------------------------------------


def closeouts_visible_to(user):
    """Close-out requests on problems the user may see (and, for a measure's request, that measure)."""
    return CloseOutRequest.objects.filter(problem__in=problems_visible_to(user)).filter(
        Q(measure__isnull=True) | Q(measure__in=measures_visible_to(user))
    )


def closeout_for_user(user, pk, action="view"):
    actions = {
        "view": lambda u, r: True,
        "decide": may_decide_closeout,
        "reopen": lambda u, r: may_reopen_closeout(u),
    }
    return _one(closeouts_visible_to(user), pk, user, action, actions)


# --- the weekly cycle --------------------------------------------------------------------------------


def cycles_visible_to(user):
    if not may_view_cycles(user):
        return WeeklyCycle.objects.none()
    return WeeklyCycle.objects.all()


def notices_visible_to(user):
    """督办单: a unit's staff see their unit's; whole-round readers see all they can see."""
    notices = SupervisionNotice.objects.filter(measure__in=measures_visible_to(user))
    if not reads_all(user):
        notices = notices.filter(unit_id=user.unit_id) if is_unit_staff(user) else notices.none()
    return notices


def notice_for_user(user, pk, action="view"):
    actions = {"view": lambda u, n: True, "reply": may_reply_notice}
    return _one(notices_visible_to(user).select_related("measure"), pk, user, action, actions)


def penalties_visible_to(user):
    """The office and supervision see every draft and decision; a unit sees what was confirmed against it."""
    if is_office(user) or is_supervision(user):
        return Penalty.objects.all()
    if is_unit_staff(user):
        return Penalty.objects.filter(unit_id=user.unit_id, state=Penalty.State.CONFIRMED)
    return Penalty.objects.none()


def penalty_for_user(user, pk, action="view"):
    actions = {"view": lambda u, p: True, "decide": lambda u, p: may_decide_penalty(u)}
    return _one(penalties_visible_to(user), pk, user, action, actions)


def final_report_finals_visible_to(user):
    """整改情况报告定稿: every upload for the office and supervision; for the provincial team the one
    released to it (``Release.final_report``); nobody else."""
    if is_office(user) or is_supervision(user):
        return FinalReportFinal.objects.all()
    if reads_released_only(user):
        return FinalReportFinal.objects.filter(release__kind=Release.Kind.FINAL_REPORT)
    return FinalReportFinal.objects.none()


def final_report_final_for_user(user, pk, action="view"):
    """One uploaded final report: 404 unless visible; "release" (to the province) is the office's."""
    actions = {"view": lambda u, f: True, "release": lambda u, f: may_release(u)}
    return _one(final_report_finals_visible_to(user).select_related("round"), pk, user, action, actions)


def briefing_snapshots_visible_to(user):
    """The weeks whose 简报 a person may open: those who read the weekly cycle's log (the office
    and supervision); drafting and uploading is the office's (``may_write_documents``)."""
    if not may_view_cycles(user):
        return WeeklySnapshot.objects.none()
    return WeeklySnapshot.objects.all()


def briefing_snapshot_for_user(user, pk, action="view"):
    actions = {"view": lambda u, s: True, "write": lambda u, s: may_write_documents(u)}
    return _one(briefing_snapshots_visible_to(user).select_related("cycle__round"), pk, user, action, actions)


def briefing_finals_visible_to(user):
    if not may_view_cycles(user):
        return BriefingFinal.objects.none()
    return BriefingFinal.objects.all()


def briefing_final_for_user(user, pk, action="view"):
    return _one(
        briefing_finals_visible_to(user).select_related("snapshot__cycle"),
        pk,
        user,
        action,
        {"view": lambda u, f: True},
    )


def snapshots_with_package_visible_to(user):
    """Weekly packages: all of them for the office and supervision, released ones for the provincial team."""
    if not may_download_package(user):
        return WeeklySnapshot.objects.none()
    snapshots = WeeklySnapshot.objects.exclude(package_name="")
    if reads_released_only(user):
        snapshots = snapshots.filter(release__isnull=False)
    return snapshots


def snapshot_for_release(user, pk):
    """A week's snapshot the office may release: 404 unless the person sees its package, 403 unless the office."""
    return _one(
        snapshots_with_package_visible_to(user).select_related("cycle__round"),
        pk,
        user,
        "release",
        {"release": lambda u, s: may_release(u)},
    )


def releases_visible_to(user):
    """What was released to the provincial team; the hook every provincial page reads through."""
    if not may_view_releases(user):
        return Release.objects.none()
    return Release.objects.all()


def release_for_user(user, pk):
    """A released week (``Release`` of a weekly package) whose frozen figures a person may read: 404
    for anyone who does not read releases, for a final report's row and for a missing one."""
    return _one(
        releases_visible_to(user).filter(kind=Release.Kind.WEEKLY_PACKAGE).select_related("round", "snapshot__cycle"),
        pk,
        user,
        "view",
        {"view": lambda u, r: True},
    )


def final_report_released(user, inspection_round):
    """Whether ``user`` may read the round's final report (整改情况报告) as sent: the provincial team
    only once the office has released it (a ``Release`` of kind FINAL_REPORT), the office and
    supervision always. The final report's views call this, as the weekly package's call
    ``snapshots_with_package_visible_to``."""
    if not _active(user):
        return False
    if is_office(user) or is_supervision(user):
        return True
    return (
        reads_released_only(user)
        and Release.objects.filter(round=inspection_round, kind=Release.Kind.FINAL_REPORT).exists()
    )


# --- records behind the figures: petitions and clues, meetings and visits, 书记领办 ---------------


def may_read_round_records(user):
    """The whole-round records (petitions and clues, meetings, visits, 书记领办 events): the
    office and supervision. The provincial team reads them as released figures only."""
    return is_office(user) or is_supervision(user)


def may_enter_petitions(user):
    """信访件和问题线索: the office and supervision (纪委监委), who receive and hand them on."""
    return is_office(user) or is_supervision(user)


def may_enter_meetings(user):
    """常委会、领导小组会议、调度会、推进会: the office keeps the minutes."""
    return is_office(user)


def may_enter_visits(user):
    """督导、督查 on site: the office and supervision."""
    return is_office(user) or is_supervision(user)


def may_enter_secretary_events(user, problem=None):
    """书记领办 events: the office, on a problem the secretary leads."""
    return is_office(user) and (problem is None or problem.is_secretary_led)


def petitions_visible_to(user):
    if not may_read_round_records(user):
        return PetitionClue.objects.none()
    return PetitionClue.objects.all()


def activities_visible_to(user):
    if not may_read_round_records(user):
        return WorkActivity.objects.none()
    return WorkActivity.objects.all()


def secretary_events_visible_to(user):
    """书记领办 events: the whole-round readers of records, and whoever sees the problem."""
    if may_read_round_records(user):
        return SecretaryEvent.objects.all()
    if reads_released_only(user):
        return SecretaryEvent.objects.none()
    return SecretaryEvent.objects.filter(problem__in=problems_visible_to(user))


def secretary_event_for_user(user, pk, action="view"):
    actions = {"view": lambda u, e: True, "attach": lambda u, e: may_enter_secretary_events(u, e.problem)}
    return _one(secretary_events_visible_to(user).select_related("problem"), pk, user, action, actions)


def record_files_visible_to(user):
    """A record's photos and files: those of the 书记领办 events and penalties the person sees."""
    return RecordFile.objects.filter(
        Q(secretary_event__in=secretary_events_visible_to(user)) | Q(penalty__in=penalties_visible_to(user))
    )


def record_file_for_user(user, pk, action="view"):
    return _one(record_files_visible_to(user), pk, user, action, {"view": lambda u, f: True})


# --- what belongs to one person -------------------------------------------------------------------


def export_jobs_visible_to(user):
    """A background export holds what its requester may see: only they see it."""
    if not _active(user):
        return ExportJob.objects.none()
    return ExportJob.objects.filter(requested_by=user)


def export_job_for_user(user, pk, action="view"):
    return _one(export_jobs_visible_to(user), pk, user, action, {"view": lambda u, j: True})


def notifications_visible_to(user):
    """A notice in the bell is its recipient's alone."""
    if not _active(user):
        return Notification.objects.none()
    return Notification.objects.filter(recipient=user)


def notification_for_user(user, pk, action="view"):
    return _one(notifications_visible_to(user), pk, user, action, {"view": lambda u, n: True})


# --- what left by the outside channels ----------------------------------------------------------------


def may_view_deliveries(user):
    """What was sent to whom by e-mail, SMS and 企业微信, and what failed: the office (整改办)."""
    return is_office(user)


def may_resend(user, message):
    return may_view_deliveries(user) and message.state == OutboxMessage.State.FAILED


def deliveries_visible_to(user):
    if not may_view_deliveries(user):
        return OutboxMessage.objects.none()
    return OutboxMessage.objects.all()


def delivery_for_user(user, pk, action="view"):
    return _one(deliveries_visible_to(user), pk, user, action, {"view": lambda u, m: True, "resend": may_resend})


def require_channel_setup(user):
    """403 unless ``user`` sets up the channels (the system administrator)."""
    if not may_set_up_channels(user):
        raise PermissionDenied(_("该操作仅限系统管理员。"))


def group_robots_visible_to(user):
    require_channel_setup(user)
    return GroupRobot.objects.all()


def group_robot_for_user(user, pk):
    """One group robot for the channel pages: 403 for anyone but the system administrator, 404 if missing."""
    found = group_robots_visible_to(user).filter(pk=pk).first() if str(pk).isdecimal() else None
    if found is None:
        raise Http404
    return found


# --- who is told ---------------------------------------------------------------------------------------


def unit_staff(unit):
    """The liaisons and heads of a unit: who is told about the unit's work."""
    return units_staff([unit.pk])


# --- keeping the object permissions in step with the assignments -----------------------------------


def _grants_for_problem(problem, measures):
    """The object permissions a problem and its measures should carry, as (holder, codename, object)."""
    units = {problem.lead_unit}
    units.update(problem.responsible_units.all())
    units.update(m.owner_unit for m in measures)
    leaders = {problem.lead_official}
    leaders.update(problem.responsible_leaders.all())

    group_grants = [(problem.lead_unit.group, "decompose_problem", problem)]
    group_grants += [(unit.group, "view_problem", problem) for unit in units]
    user_grants = []
    for leader in leaders:
        user_grants += [(leader, "view_problem", problem), (leader, "sign_off_problem", problem)]
    for measure in measures:
        group_grants += [(unit.group, "view_measure", measure) for unit in units]
        group_grants += [
            (measure.owner_unit.group, "report_measure", measure),
            (problem.lead_unit.group, "review_measure", measure),
        ]
        for leader in leaders:
            user_grants += [(leader, "view_measure", measure), (leader, "sign_off_measure", measure)]
    return group_grants, user_grants


def permissions_sync_for_problem(problem):
    """Rewrite the object permissions of a problem and all its measures from their assignments.

    Called by every service that changes who leads or works on a problem, inside the same
    transaction, so access always follows the assignment: re-assigning a measure to another
    unit takes the old unit's rights away in the same commit that gives them to the new one.
    """
    permissions_sync_for_problems([problem])


def permissions_sync_for_problems(problems):
    """``permissions_sync_for_problem`` for many problems at once, in as many queries as for one."""
    from django.contrib.auth.models import Permission

    ids = [problem.pk for problem in problems]
    if not ids:
        return
    measures: dict[int, list[Measure]] = {pk: [] for pk in ids}
    for measure in Measure.objects.filter(problem_id__in=ids).select_related("owner_unit__group"):
        measures[measure.problem_id].append(measure)
    # Everything the rules read, in three queries rather than one per unit and leader.
    loaded = (
        Problem.objects.filter(pk__in=ids)
        .select_related("lead_unit__group", "lead_official")
        .prefetch_related(
            Prefetch("responsible_units", queryset=Unit.objects.select_related("group")), "responsible_leaders"
        )
    )
    group_grants, user_grants = [], []
    for problem in loaded:
        problem_groups, problem_users = _grants_for_problem(problem, measures[problem.pk])
        group_grants += problem_groups
        user_grants += problem_users
    perms = {
        p.codename: p
        for p in Permission.objects.filter(content_type__app_label="rectification").filter(
            codename__in={c for _, c, _ in group_grants + user_grants}
        )
    }

    ProblemGroupObjectPermission.objects.filter(content_object_id__in=ids).delete()
    ProblemUserObjectPermission.objects.filter(content_object_id__in=ids).delete()
    MeasureGroupObjectPermission.objects.filter(content_object__problem_id__in=ids).delete()
    MeasureUserObjectPermission.objects.filter(content_object__problem_id__in=ids).delete()

    def rows(grants, problem_model, measure_model, holder_field):
        seen = set()
        for holder, codename, obj in grants:
            key = (holder.pk, codename, obj.pk, type(obj))
            if key in seen:
                continue
            seen.add(key)
            model = problem_model if isinstance(obj, Problem) else measure_model
            # By id: an import writes tens of thousands of these, and setting related objects costs.
            yield model(**{holder_field: holder.pk, "permission_id": perms[codename].pk, "content_object_id": obj.pk})

    group_rows = list(rows(group_grants, ProblemGroupObjectPermission, MeasureGroupObjectPermission, "group_id"))
    user_rows = list(rows(user_grants, ProblemUserObjectPermission, MeasureUserObjectPermission, "user_id"))
    # One bulk insert per table, each named so the rows' type is plain to a reader and to mypy.
    ProblemGroupObjectPermission.objects.bulk_create(
        [r for r in group_rows if isinstance(r, ProblemGroupObjectPermission)]
    )
    MeasureGroupObjectPermission.objects.bulk_create(
        [r for r in group_rows if isinstance(r, MeasureGroupObjectPermission)]
    )
    ProblemUserObjectPermission.objects.bulk_create(
        [r for r in user_rows if isinstance(r, ProblemUserObjectPermission)]
    )
    MeasureUserObjectPermission.objects.bulk_create(
        [r for r in user_rows if isinstance(r, MeasureUserObjectPermission)]
    )
