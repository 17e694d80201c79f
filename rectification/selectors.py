"""Every read that depends on who is asking. Each starts from an ``access`` chokepoint."""

from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, Subquery

from accounts.models import Unit, User

from . import access
from .access import measures_visible_to, problems_visible_to
from .lights import expected_percent, is_behind, light_note, mark_lights, measure_light, with_light_inputs
from .models import (
    AcceptanceCriterion,
    ChannelSetup,
    CloseOutRequest,
    CloseOutState,
    DispatchSheet,
    Evidence,
    GroupRobot,
    InspectionRound,
    Measure,
    Milestone,
    OutboxMessage,
    Problem,
    ProgressReport,
    Release,
    SupervisionNotice,
    Track,
)


def rounds_visible_to(user):
    """Rounds in which the user can see at least one problem, newest first."""
    return InspectionRound.objects.filter(pk__in=problems_visible_to(user).values("round_id")).order_by(
        "-feedback_date", "-id"
    )


# How a list may be ordered (``?order=``), each ending in a unique key so that pages never overlap.
PROBLEM_ORDERS = {
    "": ("round_id", "seq", "id"),
    "due": (F("due_date").asc(nulls_last=True), "seq", "id"),
    "lead_unit": ("lead_unit__sort_order", "lead_unit__name", "seq", "id"),
}
MEASURE_ORDERS = {
    "": ("due_date", "code", "id"),
    "percent": ("percent", "due_date", "code", "id"),
    "unit": ("owner_unit__sort_order", "owner_unit__name", "due_date", "code", "id"),
    "reported": (F("last_reported_at").asc(nulls_first=True), "code", "id"),
}


def problem_list(
    *, user, inspection_round=None, track_kind=None, closeout_state=None, search="", campaign_id=None, order=""
):
    problems = problems_visible_to(user)
    if inspection_round is not None:
        problems = problems.filter(round=inspection_round)
    if campaign_id is not None:
        problems = problems.filter(campaign_id=campaign_id)
    if track_kind:
        problems = problems.filter(track__kind=track_kind)
    if closeout_state:
        problems = problems.filter(closeout_state=closeout_state)
    if search:
        problems = problems.filter(Q(title__icontains=search) | Q(code__icontains=search) | Q(text__icontains=search))
    return (
        problems.select_related("track", "aspect", "lead_unit", "lead_official")
        .annotate(
            measure_count=Count("measures", distinct=True),
            closed_measure_count=Count(
                "measures", filter=Q(measures__closeout_state=CloseOutState.CLOSED), distinct=True
            ),
        )
        .order_by(*PROBLEM_ORDERS.get(order, PROBLEM_ORDERS[""]))
    )


def problem_detail(*, problem):
    """Everything a problem page shows, in a fixed number of queries. Access was checked by the caller."""
    return (
        Problem.objects.select_related(
            "round", "aspect", "track", "lead_unit", "lead_official", "campaign", "previous_problem"
        )
        .prefetch_related(
            "responsible_leaders",
            "responsible_units",
            "manifestations",
            "criteria",
            Prefetch(
                "measures",
                queryset=Measure.objects.select_related("owner_unit").prefetch_related("milestones"),
            ),
        )
        .get(pk=problem.pk)
    )


def measure_detail(*, measure, today):
    measure = (
        with_light_inputs(Measure.objects.select_related("problem__round", "owner_unit"))
        .prefetch_related("milestones__evidence", "criteria")
        .get(pk=measure.pk)
    )
    mark_lights([measure], today)
    return measure


def unit_measures(*, user, unit):
    """The open measures a unit owns, among those the user may see."""
    return (
        measures_visible_to(user)
        .filter(owner_unit=unit)
        .exclude(closeout_state=CloseOutState.CLOSED)
        .select_related("problem", "owner_unit")
        .order_by("due_date", "id")
    )


def led_problems(*, user, unit):
    return problems_visible_to(user).filter(lead_unit=unit).select_related("track").order_by("round_id", "seq")


def leader_problems(*, user):
    return (
        problems_visible_to(user)
        .filter(Q(lead_official=user) | Q(responsible_leaders=user))
        .distinct()
        .select_related("track", "lead_unit", "round")
        .order_by("round_id", "seq")
    )


def split_by_round(items, round_of):
    """``items`` of the newest round (by feedback date) apart from those of earlier rounds: a
    leader's pages show this round's work first and what is left of earlier rounds after it.
    Returns (the newest round or None, its items, [(an earlier round, its items)], newest first)."""
    items = list(items)
    rounds = sorted({round_of(item) for item in items}, key=lambda r: (r.feedback_date, r.pk), reverse=True)
    if not rounds:
        return None, [], []
    grouped = {r.pk: [item for item in items if round_of(item).pk == r.pk] for r in rounds}
    return rounds[0], grouped[rounds[0].pk], [(r, grouped[r.pk]) for r in rounds[1:]]


def round_overview(*, user, inspection_round):
    """Counts per close-out state for the problems and measures the user may see in a round."""
    problems = problems_visible_to(user).filter(round=inspection_round)
    measures = measures_visible_to(user).filter(problem__round=inspection_round)
    problems, measures = dashboard_filters(
        problems=problems, measures=measures, filters={"track_office_unit": access.figures_track_unit(user)}
    )
    closed = Q(closeout_state=CloseOutState.CLOSED)
    problem_counts = problems.aggregate(total=Count("id"), closed=Count("id", filter=closed))
    measure_counts = measures.aggregate(total=Count("id"), closed=Count("id", filter=closed))
    by_track = (
        problems.values("track__kind")
        .annotate(total=Count("id"), closed=Count("id", filter=closed))
        .order_by("track__kind")
    )
    labels = dict(Track.Kind.choices)
    return {
        "problems": problem_counts,
        "measures": measure_counts,
        "by_track": [{"kind": row["track__kind"], "label": labels[row["track__kind"]], **row} for row in by_track],
    }


# --- the unit's weekly work -------------------------------------------------------------------


def _latest_week_report(iso_year, iso_week):
    return ProgressReport.objects.filter(measure=OuterRef("pk"), iso_year=iso_year, iso_week=iso_week).order_by(
        "-version"
    )


def unit_worklist(*, user, unit, today, iso_year, iso_week):
    """The unit's open measures with everything the worklist shows, most urgent first.

    The number of queries does not grow with the number of measures: the next milestone,
    this week's report and the last returned report come from subqueries in the one SELECT.
    Only the columns the worklist and the lights read are loaded (a busy unit has hundreds of rows).
    """
    open_milestones = Milestone.objects.open().filter(measure=OuterRef("pk")).order_by("due_date", "seq")
    week_report = _latest_week_report(iso_year, iso_week)
    measures = list(
        unit_measures(user=user, unit=unit)
        .select_related(None)
        .select_related("problem__lead_official", "problem__lead_unit", "problem__round")
        .only(
            "code",
            "text",
            "start_date",
            "due_date",
            "percent",
            "progress_state",
            "closeout_state",
            "last_reported_at",
            "problem__round__title",
            "problem__lead_official__username",
            "problem__lead_official__full_name",
            # Names show "（待开通）" for a leader or unit not yet bound to an account.
            "problem__lead_official__is_pending",
            "problem__lead_unit__name",
            "problem__lead_unit__short_name",
            "problem__lead_unit__is_pending",
        )
        .annotate(
            next_milestone_title=Subquery(open_milestones.values("title")[:1]),
            next_milestone_due=Subquery(open_milestones.values("due_date")[:1]),
            week_report_state=Subquery(week_report.values("state")[:1]),
            week_return_reason=Subquery(week_report.values("return_reason")[:1]),
        )
    )
    for measure in measures:
        measure.light = measure_light(measure, today, oldest_open_milestone_due=measure.next_milestone_due)
        measure.light_note = light_note(
            measure,
            measure.light,
            today,
            milestone_due=measure.next_milestone_due,
            milestone_title=measure.next_milestone_title,
        )
        measure.expected = expected_percent(measure, today)
        measure.behind = is_behind(measure, today)
        measure.days_left = (measure.due_date - today).days
        measure.days_overdue = -measure.days_left
        measure.week_report_state_label = (
            ProgressReport.State(measure.week_report_state).label if measure.week_report_state else ""
        )
        measure.is_returned = measure.week_report_state == ProgressReport.State.RETURNED
    measures.sort(key=lambda m: (not m.is_returned, m.light.rank, m.due_date, m.pk))
    return measures


def unit_week_rows(*, user, unit, iso_year, iso_week):
    """The report page: each open measure (with its problem and round) with its latest report of
    the week and that report's evidence, as (measure, report or None, evidence list) triples.

    Only the columns the page and the report services read are loaded: a busy unit has hundreds
    of rows, and the problem's long texts are not shown.
    """
    measures = list(
        unit_measures(user=user, unit=unit)
        .select_related(None)
        .select_related("problem__round")
        .only(
            "code",
            "text",
            "due_date",
            "percent",
            "progress_state",
            "claim_state",
            "seq",
            "owner_unit_id",
            "problem__code",
            "problem__seq",
            "problem__round__title",
            "problem__round__feedback_date",
        )
        # Round by round, as the page's tabs and the submission's list of missing rows go: problem
        # numbers start again in each round, so ordering by them alone mixed the rounds.
        .order_by("problem__round__feedback_date", "problem__round_id", "problem__seq", "seq", "pk")
    )
    # The week's reports of the listed measures, then their evidence, each by ids through the
    # indexes (asking by the unit made PostgreSQL scan every measure twice). An empty list still
    # asks, for the id 0 that no row has, so that the page's query count never depends on the data.
    listed = sorted(measure.pk for measure in measures)
    reports: dict[int, ProgressReport] = {}
    for version in (
        ProgressReport.objects.filter(measure_id__in=listed or [0], iso_year=iso_year, iso_week=iso_week)
        .select_related("filled_by", "confirmed_by")
        .order_by("measure_id", "-version")
    ):
        reports.setdefault(version.measure_id, version)
    evidence: dict[int | None, list[Evidence]] = {}
    versions = sorted(report.pk for report in reports.values())
    for item in Evidence.objects.filter(report_id__in=versions or [0]).order_by("uploaded_at", "pk"):
        evidence.setdefault(item.report_id, []).append(item)
    rows = []
    for measure in measures:
        report = reports.get(measure.pk)
        rows.append((measure, report, evidence.get(report.pk, []) if report else []))
    return rows


def led_problem_reports(*, user, unit, iso_year, iso_week):
    """For a lead unit: this week's reports of every measure under the problems it leads."""
    measures = (
        measures_visible_to(user)
        .filter(problem__lead_unit=unit)
        .exclude(closeout_state=CloseOutState.CLOSED)
        .select_related("problem", "owner_unit")
        .annotate(
            week_report_state=Subquery(_latest_week_report(iso_year, iso_week).values("state")[:1]),
            week_progress=Subquery(_latest_week_report(iso_year, iso_week).values("progress_this_week")[:1]),
            week_percent=Subquery(_latest_week_report(iso_year, iso_week).values("percent")[:1]),
            week_late=Subquery(_latest_week_report(iso_year, iso_week).values("is_late")[:1]),
        )
        .order_by("problem__seq", "seq")
    )
    return measures


def measure_reports(*, measure):
    """Every report of a measure, newest first (access to the measure checked by the caller)."""
    return measure.reports.select_related("filled_by", "confirmed_by").prefetch_related("evidence")


def coordination_for(*, user, state=None):
    """Coordination items the user may see (leaders: those of their problems)."""
    items = access.coordination_items_visible_to(user)
    if state:
        items = items.filter(state=state)
    # The coordination page names each problem's lead official (the one who calls the meeting).
    return items.select_related("measure__problem__lead_official", "measure__owner_unit", "resolved_by").distinct()


def notifications_for(*, user, unread=False):
    """The person's notifications, newest first as the access module orders them; ``unread`` keeps
    those not yet read (the bell's number)."""
    notifications = access.notifications_visible_to(user)
    return notifications.filter(read_at__isnull=True) if unread else notifications


def deliveries_for(*, user, state="", channel="", unit=None, read=None):
    """The outbox as the office reads it, newest first, with recipient and unit in the same query.

    ``unit``: a unit's id, or ``NO_UNIT`` for people of no unit (only people's messages then);
    ``read``: True or False for the messages whose notice was or was not read."""
    rows = access.deliveries_visible_to(user).select_related("notification__recipient__unit", "robot__unit")
    if state:
        rows = rows.filter(state=state)
    if channel:
        rows = rows.filter(channel=channel)
    if unit == NO_UNIT:
        rows = rows.filter(notification__isnull=False, notification__recipient__unit__isnull=True)
    elif unit is not None:
        rows = rows.filter(notification__recipient__unit_id=unit)
    if read is not None:
        rows = rows.filter(notification__isnull=False, notification__read_at__isnull=not read)
    return rows


NO_UNIT = "none"


def delivery_counts_by_unit(*, user):
    """Per unit (by the recipient's unit), how many messages went to its people by the outside
    channels: in all, delivered (the platform took it), read (its notice was opened), failed and still
    waiting. One grouped query; each count matches ``deliveries_for`` with the same filters. Units
    in their usual order, people of no unit last."""
    counts = (
        access.deliveries_visible_to(user)
        .filter(notification__isnull=False)
        .values("notification__recipient__unit")
        .annotate(
            total=Count("id"),
            sent=Count("id", filter=Q(state=OutboxMessage.State.SENT)),
            read=Count("id", filter=Q(notification__read_at__isnull=False)),
            unread=Count("id", filter=Q(notification__read_at__isnull=True)),
            failed=Count("id", filter=Q(state=OutboxMessage.State.FAILED)),
            waiting=Count("id", filter=Q(state=OutboxMessage.State.PENDING)),
        )
    )
    by_unit = {row.pop("notification__recipient__unit"): row for row in counts}
    units = Unit.objects.filter(pk__in=[pk for pk in by_unit if pk is not None]).order_by("sort_order", "id")
    rows = [{"unit": unit, "key": unit.pk, **by_unit[unit.pk]} for unit in units]
    if None in by_unit:
        rows.append({"unit": None, "key": NO_UNIT, **by_unit[None]})
    return rows


def channel_setups():
    """The system administrator's channel setups by channel (the view has checked who asks)."""
    return {setup.kind: setup for setup in ChannelSetup.objects.all()}


def robot_platforms():
    return GroupRobot.Platform.choices


def missed_reports(*, cycle, unit_id=None, q=""):
    """A week's missing reports (the cycle page: its readers see the whole week), by unit and measure
    code; ``unit_id`` keeps one unit, ``q`` finds a measure's code or text or a unit's name.
    Returns the rows and the units that have any (for the filter), in two queries."""
    rows = cycle.missed_reports.select_related("unit", "measure").order_by(
        "unit__sort_order", "unit__name", "measure__code"
    )
    units = list(Unit.objects.filter(pk__in=cycle.missed_reports.values("unit_id")).order_by("sort_order", "name"))
    if unit_id:
        rows = rows.filter(unit_id=unit_id)
    if q:
        rows = rows.filter(
            Q(measure__code__icontains=q)
            | Q(measure__text__icontains=q)
            | Q(unit__name__icontains=q)
            | Q(unit__short_name__icontains=q)
        )
    return rows, units


def menu_counts(*, user, unit):
    """The numbers on the menu's 督办单 and 待认领 entries, in one query (the menu is on every page):
    the open notices of the list the 督办单 entry opens (``?state=open``) and the length of the
    unit's claims list (``unit_claims``), both through the same access-checked querysets."""
    parts = [access.notices_visible_to(user).filter(state=SupervisionNotice.State.OPEN)]
    if unit is not None:
        parts.append(unit_claims(user=user, unit=unit))
    selects, params = [], []
    for part in parts:
        sql, part_params = part.order_by().values("pk").query.sql_with_params()
        selects.append(f"(SELECT COUNT(*) FROM ({sql}) AS counted)")
        params += part_params
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(selects), params)
        row = cursor.fetchone()
    return {"notices": row[0], "claims": row[1] if unit is not None else 0}


def unread_notification_count(*, user):
    return access.notifications_visible_to(user).filter(read_at__isnull=True).count()


# --- close-out ----------------------------------------------------------------------------------


closeouts_visible_to = access.closeouts_visible_to


def closeouts_pending_for(user):
    """The requests waiting for this user's decision: the "pending my signature" list.

    This is the queryset form of ``access.may_decide_closeout``; a test checks that the two agree.
    """
    waiting = access.closeout_waiting_condition(user)
    if waiting is None:
        return CloseOutRequest.objects.none()
    return (
        closeouts_visible_to(user)
        .filter(waiting)
        .exclude(applied_by=user)
        .select_related("problem__round", "measure", "applicant_unit")
        .distinct()
        .order_by("created_at", "id")
    )


def pending_closeout_count(*, user):
    """The number on the navigation's "待我审批" badge, shown on every page.

    Most people have nothing waiting. A small indexed probe of the waiting condition alone
    (without the visibility subqueries, which cost several milliseconds at city scale) decides
    whether the access-checked count runs at all; the number shown always comes from that count.
    """
    waiting = access.closeout_waiting_condition(user)
    if waiting is None or not CloseOutRequest.objects.filter(waiting).exclude(applied_by=user).exists():
        return 0
    return closeouts_pending_for(user).count()


def closeout_detail(*, request):
    return (
        CloseOutRequest.objects.select_related(
            "problem__round",
            "problem__track",
            "problem__lead_unit",
            "problem__lead_official",
            "measure",
            "applicant_unit",
            "applied_by",
        )
        .prefetch_related("steps__actor", "checks__criterion", "checks__evidence")
        .get(pk=request.pk)
    )


def closeout_history(*, problem, measure=None):
    return CloseOutRequest.objects.filter(problem=problem, measure=measure).prefetch_related("steps__actor")


# --- the weekly cycle ------------------------------------------------------------------------------


def cycles_visible_to(user):
    """The cycle log is the office's tool (supervision may read it)."""
    return access.cycles_visible_to(user).select_related("round", "snapshot")


def unit_dispatch_sheets(*, user, unit, limit=8):
    return (
        DispatchSheet.objects.filter(unit=unit)
        .select_related("cycle__round")
        .order_by("-cycle__iso_year", "-cycle__iso_week", "-id")[:limit]
    )


def notices_for(*, user, state="", q=""):
    """督办单: a unit's staff see their unit's; the office and supervision see all they can see.
    ``state`` keeps one state; ``q`` finds a measure's code, a unit's name or a word of the notice
    or of its answer."""
    notices = access.notices_visible_to(user)
    if q:
        notices = notices.filter(
            Q(measure__code__icontains=q)
            | Q(unit__name__icontains=q)
            | Q(unit__short_name__icontains=q)
            | Q(text__icontains=q)
            | Q(reply__icontains=q)
        )
    counts = notices.aggregate(
        open=Count("pk", filter=Q(state=SupervisionNotice.State.OPEN)),
        answered=Count("pk", filter=Q(state=SupervisionNotice.State.ANSWERED)),
        all=Count("pk"),
    )
    if state:
        notices = notices.filter(state=state)
    return notices.select_related("unit", "measure", "replied_by"), counts


def penalties_for(*, user):
    """The office sees and decides drafts; a unit sees what was confirmed against it."""
    return access.penalties_visible_to(user).select_related("unit", "cycle", "decided_by").prefetch_related("files")


def measure_list(*, user, inspection_round=None, filters=None, light=None, today=None, order=""):
    """The measures behind a dashboard number: same access, same filters, lights in SQL."""
    from .lights import light_q

    filters = filters or {}
    measures = measures_visible_to(user)
    problems = problems_visible_to(user)
    if inspection_round is not None:
        measures = measures.filter(problem__round=inspection_round)
        problems = problems.filter(round=inspection_round)
    _problems, measures = dashboard_filters(problems=problems, measures=measures, filters=filters)
    if light:
        measures = measures.filter(light_q(light, today)).exclude(closeout_state=CloseOutState.CLOSED)
    if filters.get("overdue"):
        measures = (
            measures.filter(due_date__lt=today)
            .exclude(closeout_state=CloseOutState.CLOSED)
            .exclude(progress_state="completed")
        )
    return measures.select_related("problem__lead_official", "owner_unit").order_by(
        *MEASURE_ORDERS.get(order, MEASURE_ORDERS[""])
    )


# --- setting up a round ------------------------------------------------------------------------------


def claim_rates(*, user, inspection_round):
    """百分之百全面认领: claimed / assigned, per owner unit and per problem, plus what is unclaimed."""
    measures = measures_visible_to(user).filter(problem__round=inspection_round)
    claimed = Q(claim_state=Measure.ClaimState.CLAIMED)
    objected = Q(claim_state=Measure.ClaimState.OBJECTED)
    # The headline is the dashboard's claim rate (``claim_counts``): undecomposed problems count.
    headline = claim_counts(problems=problems_visible_to(user).filter(round=inspection_round), measures=measures)
    totals = {"total": headline["items"], "claimed": headline["claimed"], "undecomposed": headline["undecomposed"]}
    by_unit = list(
        measures.order_by()
        .values("owner_unit_id", "owner_unit__name")
        .annotate(total=Count("id"), claimed=Count("id", filter=claimed), objected=Count("id", filter=objected))
        .order_by("owner_unit__sort_order", "owner_unit_id")
    )
    by_problem = list(
        measures.order_by()
        .values("problem_id", "problem__code", "problem__title")
        .annotate(total=Count("id"), claimed=Count("id", filter=claimed))
        .order_by("problem__seq", "problem_id")
    )
    for row in [*by_unit, *by_problem]:
        row["rate"] = round(100 * row["claimed"] / row["total"]) if row["total"] else 0
    return {
        **totals,
        "rate": headline["rate"],
        "by_unit": by_unit,
        "by_problem": by_problem,
        "unclaimed": measures.exclude(claimed).select_related("owner_unit", "problem").order_by("claim_state", "code"),
    }


def unit_claims(*, user, unit):
    """Measures assigned to the unit that it has not claimed yet."""
    return (
        measures_visible_to(user)
        .filter(owner_unit=unit)
        .exclude(claim_state=Measure.ClaimState.CLAIMED)
        .select_related("problem__lead_unit", "problem__lead_official")
        .order_by("problem__seq", "seq")
    )


def battle_map(*, problem, today):
    """挂图作战: the problem's measures with their milestones placed on a shared time axis."""
    measures = mark_lights(
        list(
            with_light_inputs(problem.measures.select_related("owner_unit"))
            .prefetch_related("milestones")
            .order_by("seq", "id")
        ),
        today,
    )
    starts = [m.start_date for m in measures] + [problem.round.feedback_date]
    ends = [m.due_date for m in measures] + [problem.round.report_deadline, today]
    first, last = min(starts), max(ends)
    span = max(1, (last - first).days)

    def position(day):
        return round(100 * (day - first).days / span, 2)

    for measure in measures:
        measure.bar_left = position(measure.start_date)
        measure.bar_width = max(0.5, position(measure.due_date) - measure.bar_left)
        measure.marks = [
            {
                "left": position(ms.due_date),
                "title": ms.title,
                "due": ms.due_date,
                "done": ms.done_on is not None,
                "waived": ms.waived_at is not None,
                "late": ms.is_late(today),
            }
            for ms in measure.milestones.all()
        ]
    return {
        "measures": measures,
        "first": first,
        "last": last,
        "today_left": position(today),
        "deadline_left": position(problem.round.report_deadline),
    }


def dashboard_filters(*, problems, measures, filters):
    """Narrow both querysets by the dashboard's filters (track, unit, leader, state).

    ``track_office_unit`` is no filter a person chooses: the views set it for a track office
    (``access.figures_track_unit``), whose figures are those of its own tracks only.
    """
    if filters.get("track_office_unit"):
        problems = problems.filter(track__office_unit_id=filters["track_office_unit"])
        measures = measures.filter(problem__track__office_unit_id=filters["track_office_unit"])
    if filters.get("track"):
        problems = problems.filter(track__kind=filters["track"])
        measures = measures.filter(problem__track__kind=filters["track"])
    if filters.get("unit"):
        problems = problems.filter(
            Q(lead_unit_id=filters["unit"]) | Q(measures__owner_unit_id=filters["unit"])
        ).distinct()
        measures = measures.filter(owner_unit_id=filters["unit"])
    if filters.get("leader"):
        problems = problems.filter(lead_official_id=filters["leader"])
        measures = measures.filter(problem__lead_official_id=filters["leader"])
    if filters.get("state"):
        problems = problems.filter(closeout_state=filters["state"])
        measures = measures.filter(closeout_state=filters["state"])
    if filters.get("campaign"):
        problems = problems.filter(campaign_id=filters["campaign"])
        measures = measures.filter(problem__campaign_id=filters["campaign"])
    return problems, measures


# --- following up the set-up: what is not claimed, what has no acceptance criterion ----------------

# The kinds of unclaimed items, in the order the list shows them.
UNCLAIMED_KINDS = {
    "pending": "待认领",
    "objected": "有异议",
    "undecomposed": "未分解",
}


def setup_scope(*, user, inspection_round, filters):
    """The round's problems and measures the user sees, narrowed by the dashboard's filters: the
    scope of the claim and criteria cards and of the lists behind them, so the two always agree."""
    problems = problems_visible_to(user).filter(round=inspection_round)
    measures = measures_visible_to(user).filter(problem__round=inspection_round)
    return dashboard_filters(problems=problems, measures=measures, filters=filters)


def undecomposed(problems):
    """Problems without a single measure yet (未分解): their lead unit has not decomposed them."""
    return problems.filter(~Exists(Measure.objects.filter(problem=OuterRef("pk"))))


def claim_counts(*, problems, measures):
    """百分之百全面认领 as one rate: claimed measures over every item that has to be claimed, where a
        problem not yet decomposed counts as one unclaimed item (it has nothing to claim yet, and
        leaving it out would let a round with undecomposed problems show 100%). Also how many measures
    lack an acceptance criterion. Two queries."""
    claimed = Q(claim_state=Measure.ClaimState.CLAIMED)
    counts = measures.aggregate(
        measures=Count("id"),
        claimed=Count("id", filter=claimed),
        pending=Count("id", filter=Q(claim_state=Measure.ClaimState.PENDING)),
        objected=Count("id", filter=Q(claim_state=Measure.ClaimState.OBJECTED)),
        # In the same query, the card next to it: the rows of ``lacking_criteria``.
        lacking_criteria=Count("id", filter=lacking_criteria_q()),
    )
    counts["undecomposed"] = undecomposed(problems).order_by().values("pk").distinct().count()
    counts["items"] = counts["measures"] + counts["undecomposed"]
    counts["unclaimed"] = counts["pending"] + counts["objected"] + counts["undecomposed"]
    counts["rate"] = round(100 * counts["claimed"] / counts["items"]) if counts["items"] else 0
    return counts


def unclaimed_items(*, problems, measures, kind=None):
    """The rows behind the claim card: measures 待认领 or 有异议, then problems 未分解, each with the
    unit that has to act (the owner unit claims, the lead unit decomposes) and the lead unit.
    Two queries; ``kind`` narrows to one of ``UNCLAIMED_KINDS``."""
    rows = []
    if kind in (None, "pending", "objected"):
        states = [kind] if kind else [Measure.ClaimState.PENDING, Measure.ClaimState.OBJECTED]
        for measure in (
            measures.filter(claim_state__in=states)
            .select_related("problem__lead_unit", "owner_unit")
            .order_by("problem__seq", "seq", "id")
        ):
            rows.append(
                {
                    "kind": measure.claim_state,
                    "label": UNCLAIMED_KINDS[measure.claim_state],
                    "code": measure.code,
                    "text": measure.text,
                    "link": measure.get_absolute_url(),
                    "acting_unit": measure.owner_unit,
                    "lead_unit": measure.problem.lead_unit,
                    "since": measure.created_at,
                    "reason": measure.objection_reason,
                }
            )
    if kind in (None, "undecomposed"):
        for problem in undecomposed(problems).select_related("lead_unit").distinct().order_by("seq", "id"):
            rows.append(
                {
                    "kind": "undecomposed",
                    "label": UNCLAIMED_KINDS["undecomposed"],
                    "code": problem.code,
                    "text": problem.title,
                    "link": problem.get_absolute_url(),
                    "acting_unit": problem.lead_unit,
                    "lead_unit": problem.lead_unit,
                    "since": problem.created_at,
                    "reason": "",
                }
            )
    return rows


def without_criteria_q():
    """A measure with no acceptance criterion of its own and none of its problem's: the rule of
    ``services.closeout.closeout_criteria`` (own criteria, else the problem's) written as a query.
    tests/test_setup_followup.py checks that the two agree on every measure."""
    return ~Exists(AcceptanceCriterion.objects.filter(measure=OuterRef("pk"))) & ~Exists(
        AcceptanceCriterion.objects.filter(problem=OuterRef("problem_id"), measure__isnull=True)
    )


def lacking_criteria_q():
    """Open measures that no close-out could be applied for, for want of an acceptance criterion.
    A closed measure is history and is left alone."""
    return without_criteria_q() & ~Q(closeout_state=CloseOutState.CLOSED)


def lacking_criteria(measures):
    return measures.filter(lacking_criteria_q())


def lacking_criteria_list(measures):
    return (
        lacking_criteria(measures)
        .select_related("problem__lead_unit", "owner_unit")
        .order_by("problem__lead_unit__sort_order", "problem__lead_unit_id", "problem__seq", "seq", "id")
    )


def pending_units_listed():
    """Pending (待开通) units, each with how many problems and measures name it (``pending_*``)."""
    return (
        Unit.objects.filter(is_pending=True, is_active=True)
        .annotate(
            pending_led=Count("led_problems", distinct=True),
            pending_responsible=Count("responsible_problems", distinct=True),
            pending_measures=Count("owned_measures", distinct=True),
        )
        .order_by("pk")
    )


def pending_leaders_listed():
    """Pending (待开通) leaders, each with how many problems name them."""
    return (
        User.objects.filter(is_pending=True)
        .annotate(
            pending_led=Count("led_problems", distinct=True),
            pending_responsible=Count("responsible_problems", distinct=True),
        )
        .order_by("pk")
    )


# --- records behind the figures and what was released to the province ----------------------------


def petitions_for(*, user, inspection_round):
    return (
        access.petitions_visible_to(user)
        .filter(round=inspection_round)
        .select_related("handling_unit", "problem", "entered_by")
        .order_by("-received_on", "-id")
    )


def activities_for(*, user, inspection_round, kinds):
    return (
        access.activities_visible_to(user)
        .filter(round=inspection_round, kind__in=kinds)
        .prefetch_related(Prefetch("problems", queryset=Problem.objects.only("id", "code", "title")))
        .order_by("-held_on", "-id")
    )


def secretary_led_problems(*, user, inspection_round):
    """The 书记领办 problems of a round the person sees, each with its count of on-site events."""
    return (
        problems_visible_to(user)
        .filter(round=inspection_round, is_secretary_led=True)
        .annotate(event_count=Count("secretary_events"))
        .select_related("lead_unit")
        .order_by("seq", "id")
    )


def secretary_events_for(*, user, problem):
    return (
        access.secretary_events_visible_to(user)
        .filter(problem=problem)
        .prefetch_related("files")
        .select_related("entered_by")
        .order_by("-held_on", "-id")
    )


def releases_for(*, user):
    """What was released to the provincial team, newest first, with each week's frozen headline."""
    return access.releases_visible_to(user).select_related("round", "snapshot__cycle", "released_by", "final_report")


def final_report_finals(*, user, inspection_round):
    """The round's uploaded final reports (整改情况报告定稿), newest first, with who uploaded them and
    the release that sent one to the province."""
    return (
        access.final_report_finals_visible_to(user)
        .filter(round=inspection_round)
        .select_related("uploaded_by", "release__released_by")
    )


def final_report_release(*, user, inspection_round):
    """The round's final-report release, if the office has made it (and ``user`` reads releases)."""
    return (
        access.releases_visible_to(user)
        .filter(round=inspection_round, kind=Release.Kind.FINAL_REPORT)
        .select_related("final_report", "released_by")
        .first()
    )


def released_figures(*, release):
    """The figures of a released week, read from its frozen snapshot (never the live ledger): what the
    provincial team was sent. The units' ranking, the leaders' table and the named items stay out."""
    figures = release.snapshot.figures
    problems = figures.get("problems", {})
    measures = figures.get("measures", {})
    closed = CloseOutState.CLOSED.value
    return {
        "round": figures.get("round", release.round.title),
        "as_of": figures.get("as_of", ""),
        "countdown": figures.get("countdown") or {},
        "problems_total": problems.get("total", 0),
        "problems_closed": problems.get("by_closeout", {}).get(closed, 0),
        "measures_total": measures.get("total", 0),
        "measures_closed": measures.get("closed", 0),
        "closed_this_week": figures.get("closed_this_week", 0),
        "overdue": len(figures.get("overdue", ())),
        "stalled": len(figures.get("stalled", ())),
        "missed_units": len(figures.get("missed_units", ())),
        "by_track": figures.get("by_track", []),
    }


def snapshots_unreleased(*, user):
    """Weekly packages the office has not released yet (the office's list to release from)."""
    if not access.may_release(user):
        return []
    return (
        access.snapshots_with_package_visible_to(user)
        .filter(release__isnull=True)
        .select_related("cycle__round")
        .order_by("-cycle__iso_year", "-cycle__iso_week")[:20]
    )


# --- 专项整治 campaigns and the district battle board ---------------------------------------------


def campaign_list(*, user, inspection_round=None):
    campaigns = access.campaigns_visible_to(user).select_related("lead_unit", "round")
    if inspection_round is not None:
        campaigns = campaigns.filter(round=inspection_round)
    return campaigns.order_by("deadline", "name", "id")


def campaign_page(*, user, campaign, today):
    """A campaign's problems and measures as ``user`` may see them, with lights and the counts the
    page shows; each count is that of a list the page links to (same access, same filters)."""
    from .lights import LIGHTS

    problems = list(
        problem_list(user=user, inspection_round=campaign.round, campaign_id=campaign.pk).select_related(
            "lead_official", "lead_unit"
        )
    )
    measures = list(
        with_light_inputs(
            measure_list(user=user, inspection_round=campaign.round, filters={"campaign": campaign.pk}, today=today)
        )
    )
    mark_lights(measures, today)
    closed = [m for m in measures if m.closeout_state == CloseOutState.CLOSED]
    by_light = {light.code: 0 for light in LIGHTS}
    for measure in measures:
        if measure.light.code in by_light:
            by_light[measure.light.code] += 1
    return {
        "problems": problems,
        "measures": measures,
        "problem_count": len(problems),
        "problem_closed": sum(1 for p in problems if p.closeout_state == CloseOutState.CLOSED),
        "measure_count": len(measures),
        "measure_closed": len(closed),
        "lights": [{"light": light, "count": by_light[light.code]} for light in LIGHTS],
        "average_percent": round(sum(m.percent for m in measures) / len(measures)) if measures else 0,
    }


BOARD_GROUPS = {"aspect": "按问题方面", "track": "按专项", "leader": "按牵头领导"}


def battle_board(*, user, inspection_round, group, today):
    """挂图作战总图: every open problem of a round ``user`` may see, on one time axis from the feedback
    date to the report deadline (or the last due date, if later), grouped by ``group``.

    Each problem's bar runs from its first measure's start (else the feedback date) to its due date
    (else its last measure's); its light is its most urgent measure's (``lights.problem_light``).
    """
    from .lights import problem_light

    problems = list(
        problems_visible_to(user)
        .filter(round=inspection_round)
        .exclude(closeout_state=CloseOutState.CLOSED)
        .select_related("aspect", "track", "lead_official", "lead_unit")
        .order_by("seq", "id")
    )
    measures = mark_lights(
        list(
            with_light_inputs(
                measures_visible_to(user).filter(problem__in=[p.pk for p in problems]).select_related("owner_unit")
            ).order_by("due_date", "id")
        ),
        today,
    )
    by_problem: dict[int, list] = {p.pk: [] for p in problems}
    for measure in measures:
        by_problem[measure.problem_id].append(measure)
    first = inspection_round.feedback_date
    ends = [inspection_round.report_deadline, today]
    for problem in problems:
        own = by_problem[problem.pk]
        problem.board_start = min([m.start_date for m in own], default=first)
        problem.board_end = problem.due_date or max([m.due_date for m in own], default=None)
        first = min(first, problem.board_start)
        if problem.board_end:
            ends.append(problem.board_end)
    last = max(ends)
    span = max(1, (last - first).days)

    def position(day):
        return round(100 * (day - first).days / span, 2)

    groups: dict[tuple, dict] = {}
    for problem in problems:
        own = by_problem[problem.pk]
        problem.board_light = problem_light(m.light for m in own)
        problem.board_open = sum(1 for m in own if m.closeout_state != CloseOutState.CLOSED)
        problem.board_measures = len(own)
        problem.bar_left = position(problem.board_start)
        # A problem without a date (长期坚持) runs to the end of the axis, drawn open-ended.
        problem.bar_width = max(0.8, position(problem.board_end or last) - problem.bar_left)
        problem.overdue = problem.board_end is not None and problem.board_end < today
        key: tuple
        if group == "track":
            key, label = (Track.Kind.values.index(problem.track.kind), ""), problem.track.get_kind_display()
        elif group == "leader":
            key, label = (problem.lead_official.full_name, problem.lead_official_id), str(problem.lead_official)
        else:
            key, label = (problem.aspect.seq, ""), f"{problem.aspect.seq}. {problem.aspect.title}"
        groups.setdefault(key, {"label": label, "problems": []})["problems"].append(problem)
    return {
        "groups": [groups[key] for key in sorted(groups)],
        "count": len(problems),
        "first": first,
        "last": last,
        "today_left": position(today),
        "deadline_left": position(inspection_round.report_deadline),
        "months": _month_ticks(first, last, position),
    }


def _month_ticks(first, last, position):
    """The first day of each month on the axis, for the board's scale."""
    import datetime

    ticks = []
    day = datetime.date(first.year, first.month, 1)
    while day <= last:
        if day >= first:
            ticks.append({"left": position(day), "label": f"{day.month}月"})
        day = datetime.date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return ticks


def leader_items(*, inspection_round, leader):
    """The problems of a round on which ``leader`` is the lead official or a responsible leader
    (the office's hand-over after a personnel change; the office reads every problem)."""
    return (
        Problem.objects.filter(round=inspection_round)
        .filter(Q(lead_official=leader) | Q(responsible_leaders=leader))
        .distinct()
    )


def leader_handover_preview(*, inspection_round, leader):
    """What a hand-over moves: each problem with the leader's place on it, its measures and the
    close-outs waiting for a leader's signature there."""
    problems = list(
        leader_items(inspection_round=inspection_round, leader=leader)
        .select_related("lead_unit", "lead_official")
        .annotate(
            measure_total=Count("measures", distinct=True),
            waiting_signature=Count(
                "closeouts",
                filter=Q(closeouts__state=CloseOutRequest.State.PENDING_LEADER),
                distinct=True,
            ),
        )
        .order_by("seq", "id")
    )
    for problem in problems:
        problem.leader_is_lead = problem.lead_official_id == leader.pk
    return {
        "problems": problems,
        "measure_total": sum(p.measure_total for p in problems),
        "waiting_total": sum(p.waiting_signature for p in problems),
    }
