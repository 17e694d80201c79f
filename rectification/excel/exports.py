"""The exports: ledger, weekly progress table, final-report statistics, a unit's task list.

Every export starts from the access chokepoints (``problems_visible_to``,
``measures_visible_to``), so a file holds exactly what its requester may see on screen, and
the view or job that hands the file to a person writes its audit row. Record types that hang off a problem (accountability,
recoveries, rules) are counted in full for the office, supervision and the provincial team,
and for anyone else only where the linked problem is visible to them; petitions and work
activities have no problem, so only those three roles see them counted.

Files are built in memory and sent at once; the sheets are written in openpyxl's write-only
mode, so a city's ledger of thousands of rows needs little memory. Generating very large exports
in the background (Celery) is not done yet.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import islice
from operator import itemgetter

from django.db.models import Count, F, Q, Sum

from accounts.models import Unit, User
from rectification.access import measures_visible_to, problems_visible_to, reads_all
from rectification.figures import round_record_figures
from rectification.lights import BEHIND_MARGIN, expected_percent, light_note, measure_light
from rectification.models import (
    AcceptanceCriterion,
    AccountabilityRecord,
    Campaign,
    CloseOutState,
    DeadlineCategory,
    Manifestation,
    Measure,
    Milestone,
    Penalty,
    PetitionClue,
    Problem,
    ProgressReport,
    ProgressState,
    Recovery,
    RuleRecord,
    SecretaryEvent,
    WorkActivity,
)
from rectification.workdays import week_key, week_label

from . import columns as cols
from .workbook import StreamSheet, stream_workbook, title_text, workbook_bytes

LEDGER_SHEETS = ("问题清单", "任务清单", "责任清单")


@dataclass(frozen=True)
class Export:
    """A built file, and what the audit row of whoever hands it to a person should say about it.

    Builders write no audit rows: a file built for the weekly package, or by a worker for a
    download later, is not yet in anybody's hands. The view or service that gives it to a person
    records that, once, naming that person (``services.export_delivered``).
    """

    content: bytes
    filename: str
    action: str = ""
    changes: dict = field(default_factory=dict)


def _filename(inspection_round, kind, today, extra=""):
    return f"{inspection_round.title}-{kind}{extra}-{today:%Y%m%d}.xlsx"


def _overdue(item, today):
    return item.closeout_state != CloseOutState.CLOSED and item.due_date is not None and item.due_date < today


def _closed(item):
    return item.closeout_state == CloseOutState.CLOSED


# --- the ledger ---------------------------------------------------------------------------------


# A ledger is read in chunks of this many rows, each chunk with its related rows (one query per
# relation), so memory stays flat however many rounds are exported; a city's round (300
# problems, 1,500 measures) is one chunk.
LEDGER_CHUNK = 2000


def _chunks(queryset):
    rows = queryset.iterator(chunk_size=LEDGER_CHUNK)
    while chunk := list(islice(rows, LEDGER_CHUNK)):
        yield chunk


def _attach(objects, attr, rows):
    """Give each of ``objects`` the list ``attr`` of its ``rows``: named tuples, in order, whose
    first field is the object's id.

    Related rows are read as tuples rather than prefetched: Django's prefetch builds a model
    instance for every row and matches them one by one, which for a city's 36,000 milestones
    and 20,000 rows hanging off its problems took longer than writing the whole workbook.
    """
    lists = defaultdict(list)
    for row in rows:
        lists[row[0]].append(row)
    for obj in objects:
        setattr(obj, attr, lists[obj.pk])


def _own_fields(model, fields):
    """The row's own columns among ``fields`` (``code``) and the keys of its related rows
    (``aspect_id`` for ``aspect__title``)."""
    own = [name for name in fields if "__" not in name]
    keys = {model._meta.get_field(name.split("__", 1)[0]).attname for name in fields if "__" in name}
    return [*own, *sorted(keys)]


def _related_once(model, fields, rows, **among):
    """For each relation ``fields`` reach through (``aspect__title``): the related rows that ``rows``
    point to (or all of ``among[relation]``, where a plain list is cheaper than finding which),
    read once with just those fields, by id.

    A round's few hundred problems, its aspects, leaders and units are shared by the rows that
    point to them instead of being joined and built again for each of tens of thousands of rows
    (``select_related`` builds one instance per row and relation).
    """
    wanted = defaultdict(list)
    for name in fields:
        if "__" in name:
            relation, column = name.split("__", 1)
            wanted[relation].append(column)
    related = []
    for name, columns in wanted.items():
        relation = model._meta.get_field(name)
        pointed = among.get(name, relation.related_model.objects.filter(pk__in=rows.values(relation.attname)))
        related.append((relation, pointed.only(*columns).in_bulk(), relation.related_model.objects.only(*columns)))
    return related


def _give_related(objects, related):
    """Give each object its related rows from ``_related_once``, as ``select_related`` would.

    A row that came to point elsewhere after the related rows were read (a problem given another
    lead official while a long export streams) has its new row read then."""
    for obj in objects:
        for relation, by_id, one in related:
            key = getattr(obj, relation.attname)
            if key is not None and key not in by_id:
                by_id[key] = one.get(pk=key)
            relation.set_cached_value(obj, None if key is None else by_id[key])


def ledger_problems(*, user, inspection_round):
    """The problems of the ledger, in order, streamed with everything its columns read.

    Only the fields the columns read are loaded (``cols.LEDGER_PROBLEM_FIELDS``); each problem
    gets its responsible leaders and units, 具体表现 and 验收标准 as lists of named tuples.
    """
    rows = problems_visible_to(user).filter(round=inspection_round)
    related = _related_once(Problem, cols.LEDGER_PROBLEM_FIELDS, rows, lead_unit=Unit.objects.all())
    problems = rows.only(*_own_fields(Problem, cols.LEDGER_PROBLEM_FIELDS)).order_by("seq", "id")
    for chunk in _chunks(problems):
        _give_related(chunk, related)
        ids = [problem.pk for problem in chunk]
        leaders = User.objects.filter(responsible_problems__in=ids).annotate(problem_id=F("responsible_problems"))
        _attach(
            chunk,
            "responsible_leader_list",
            leaders.order_by("pk").values_list("problem_id", "full_name", "username", named=True),
        )
        units = Unit.objects.filter(responsible_problems__in=ids).annotate(problem_id=F("responsible_problems"))
        _attach(
            chunk,
            "responsible_unit_list",
            units.order_by("sort_order", "pk").values_list("problem_id", "name", named=True),
        )
        manifestations = Manifestation.objects.filter(problem__in=ids).order_by("seq", "pk")
        _attach(chunk, "manifestation_list", manifestations.values_list("problem_id", "text", named=True))
        criteria = AcceptanceCriterion.objects.filter(problem__in=ids, measure__isnull=True).order_by("seq", "pk")
        _attach(chunk, "problem_criteria", criteria.values_list("problem_id", "text", named=True))
        yield from chunk


def ledger_measures(*, user, inspection_round):
    """The measures of the ledger, in order, streamed like ``ledger_problems``, each with its
    milestones as named tuples."""
    rows = measures_visible_to(user).filter(problem__round=inspection_round)
    related = _related_once(
        Measure,
        cols.LEDGER_MEASURE_FIELDS,
        rows,
        problem=Problem.objects.filter(round=inspection_round),
        owner_unit=Unit.objects.all(),
    )
    measures = rows.only(*_own_fields(Measure, cols.LEDGER_MEASURE_FIELDS)).order_by(
        "problem__seq", "problem_id", "seq", "id"
    )
    for chunk in _chunks(measures):
        _give_related(chunk, related)
        milestones = Milestone.objects.filter(measure__in=[measure.pk for measure in chunk]).order_by("seq", "pk")
        _attach(chunk, "milestone_list", milestones.values_list("measure_id", "due_date", "title", named=True))
        yield from chunk


class ResponsibilityPivot:
    """责任清单: one row per lead official, then one per unit, counted while the lists are written."""

    def __init__(self, today):
        self.today = today
        self.problems = self.measures = 0
        self._leaders, self._units = {}, {}
        # Each measure counts for its problem's lead official.
        self._leader_row_of_problem = {}

    def _leader_row(self, user):
        return self._leaders.setdefault(user.pk, (user.pk, cols.PivotRow("牵头领导", cols.person_name(user))))[1]

    def _unit_row(self, unit):
        return self._units.setdefault(unit.pk, ((unit.sort_order, unit.pk), cols.PivotRow("单位", unit.name)))[1]

    def add_problem(self, problem):
        self.problems += 1
        leader_row = self._leader_row_of_problem[problem.pk] = self._leader_row(problem.lead_official)
        for row in (leader_row, self._unit_row(problem.lead_unit)):
            row.problems += 1
            row.problems_closed += _closed(problem)
            row.problems_overdue += _overdue(problem, self.today)

    def add_measure(self, measure):
        self.measures += 1
        rows = [self._unit_row(measure.owner_unit)]
        leader_row = self._leader_row_of_problem.get(measure.problem_id)
        if leader_row is not None:
            rows.append(leader_row)
        for row in rows:
            row.measures += 1
            row.measures_closed += _closed(measure)
            row.measures_overdue += _overdue(measure, self.today)

    def rows(self):
        """Leaders by id, then units in their order."""
        first = itemgetter(0)
        return [
            row for _key, row in sorted(self._leaders.values(), key=first) + sorted(self._units.values(), key=first)
        ]


@dataclass(frozen=True)
class LedgerWorkbook:
    content: bytes
    problems: int
    measures: int


def ledger_workbook(*, problems, measures, inspection_round, today):
    """The ledger's three lists from ``problems`` and ``measures`` (any iterables, each read once)."""
    # Streamed like every export; 问题清单 merges each problem's cells across the rows of its
    # 具体表现 (see workbook.py).
    with cols.one_language():
        return _ledger_workbook(problems=problems, measures=measures, inspection_round=inspection_round, today=today)


def _ledger_workbook(*, problems, measures, inspection_round, today):
    pivot = ResponsibilityPivot(today)
    workbook = stream_workbook()
    sheet = StreamSheet(
        workbook,
        name=LEDGER_SHEETS[0],
        columns=cols.LEDGER_PROBLEM_COLUMNS,
        title=title_text("整改台账·问题清单", inspection_round, today),
        freeze="B3",
    )
    for problem in problems:
        sheet.append_block(problem)
        pivot.add_problem(problem)

    sheet = StreamSheet(
        workbook,
        name=LEDGER_SHEETS[1],
        columns=cols.LEDGER_MEASURE_COLUMNS,
        title=title_text("整改台账·任务清单", inspection_round, today),
        freeze="D3",
    )
    for measure in measures:
        sheet.append(measure)
        pivot.add_measure(measure)

    sheet = StreamSheet(
        workbook,
        name=LEDGER_SHEETS[2],
        columns=cols.LEDGER_PIVOT_COLUMNS,
        title=title_text("整改台账·责任清单", inspection_round, today, "逾期指超过整改时限尚未销号"),
        freeze="C3",
    )
    for pivot_row in pivot.rows():
        sheet.append(pivot_row)
    return LedgerWorkbook(workbook_bytes(workbook), problems=pivot.problems, measures=pivot.measures)


def ledger_export(*, user, inspection_round, today):
    ledger = ledger_workbook(
        problems=ledger_problems(user=user, inspection_round=inspection_round),
        measures=ledger_measures(user=user, inspection_round=inspection_round),
        inspection_round=inspection_round,
        today=today,
    )
    return Export(
        ledger.content,
        _filename(inspection_round, "整改台账", today),
        "excel.export_ledger",
        {"problems": ledger.problems, "measures": ledger.measures},
    )


# --- the weekly progress table -----------------------------------------------------------------


def weekly_rows(*, user, inspection_round, iso_year, iso_week):
    """One row per visible measure with the latest submitted version of that week's report.

    Drafts are not reports yet (the unit has not submitted them), so a measure whose only row
    for the week is a draft is shown as 未报, like one with no row at all.
    """
    visible = measures_visible_to(user).filter(problem__round=inspection_round)
    measures = visible.select_related("problem", "owner_unit").order_by("problem__seq", "problem_id", "seq", "id")
    reports = (
        ProgressReport.objects.filter(measure__in=visible, iso_year=iso_year, iso_week=iso_week)
        .exclude(state=ProgressReport.State.DRAFT)
        .select_related("filled_by", "confirmed_by")
        .order_by("measure_id", "-version")
    )
    latest: dict[int, ProgressReport] = {}
    for version in reports:
        latest.setdefault(version.measure_id, version)
    week_end = datetime.date.fromisocalendar(iso_year, iso_week, 7)
    rows = []
    for measure in measures:
        report = latest.get(measure.pk)
        expected = expected_percent(measure, week_end)
        behind = report is not None and report.percent + BEHIND_MARGIN < expected
        rows.append(cols.WeeklyRow(measure=measure, report=report, expected=expected, behind=behind))
    return rows


def weekly_export(*, user, inspection_round, iso_year, iso_week, today):
    rows = weekly_rows(user=user, inspection_round=inspection_round, iso_year=iso_year, iso_week=iso_week)
    monday = datetime.date.fromisocalendar(iso_year, iso_week, 1)
    sunday = monday + datetime.timedelta(days=6)
    week_text = f"{week_label(iso_year, iso_week)}（{monday:%m月%d日}—{sunday:%m月%d日}）"
    workbook = stream_workbook()
    sheet = StreamSheet(
        workbook,
        name="周进展表",
        columns=cols.WEEKLY_COLUMNS,
        title=title_text("整改进展周报表", inspection_round, today, week_text),
        freeze="C3",
    )
    for row in rows:
        sheet.append(row)
    content = workbook_bytes(workbook)
    return Export(
        content,
        _filename(inspection_round, "整改进展周报表", today, f"-{week_label(iso_year, iso_week)}"),
        "excel.export_weekly",
        {
            "week": week_key(iso_year, iso_week),
            "measures": len(rows),
            "reported": sum(1 for row in rows if row.report is not None),
        },
    )


# --- the statistics of the final report ------------------------------------------------------------


def _counts(queryset, field):
    return dict(queryset.order_by().values_list(field).annotate(n=Count("pk")))


def _rate(part, total):
    return round(Decimal(100 * part) / Decimal(total), 1) if total else Decimal("0.0")


def _ledger_statistics(label, queryset, rows):
    """Totals by progress and close-out state and the completion rate, for problems or measures."""
    section = f"{label}整改情况"
    by_progress = _counts(queryset, "progress_state")
    by_closeout = _counts(queryset, "closeout_state")
    total = sum(by_progress.values())
    rows.append(cols.StatRow(section, f"{label}总数", total, "个"))
    for state in ProgressState:
        rows.append(cols.StatRow(section, f"进展状态：{state.label}", by_progress.get(state.value, 0), "个"))
    for closeout in CloseOutState:
        rows.append(cols.StatRow(section, f"销号状态：{closeout.label}", by_closeout.get(closeout.value, 0), "个"))
    closed = by_closeout.get(CloseOutState.CLOSED.value, 0)
    rows.append(cols.StatRow(section, "完成率（已销号数/总数）", _rate(closed, total), "%"))


def _visible_records(model, *, user, inspection_round, problems, link):
    """Rows of a record type: all for the read-all roles, else those linked to a visible problem."""
    records = model.objects.filter(round=inspection_round)
    if reads_all(user):
        return records
    if link is None:
        return records.none()
    return records.filter(pk__in=model.objects.filter(**{f"{link}__in": problems}).values("pk"))


def counted_records(model, *, user, inspection_round, link="problem"):
    """The rows of a record type the statistics count for ``user``: the final report lists the same ones."""
    problems = problems_visible_to(user).filter(round=inspection_round)
    return _visible_records(model, user=user, inspection_round=inspection_round, problems=problems, link=link)


def statistics_rows(*, user, inspection_round):
    read_all = reads_all(user)
    problems = problems_visible_to(user).filter(round=inspection_round)
    measures = measures_visible_to(user).filter(problem__round=inspection_round)

    def records(model, link="problem"):
        return _visible_records(model, user=user, inspection_round=inspection_round, problems=problems, link=link)

    rows = []
    scope = (
        "全部整改事项"
        if read_all
        else "仅限您有权查看的整改事项及其关联记录（信访件、问题线索和会议活动不在统计范围内）"
    )
    rows.append(cols.StatRow("统计范围", scope, None, ""))
    _ledger_statistics("问题", problems, rows)
    _ledger_statistics("措施", measures, rows)

    section = "立行立改"
    closed = Q(closeout_state=CloseOutState.CLOSED)
    immediate_problems = problems.filter(deadline_category=DeadlineCategory.IMMEDIATE).aggregate(
        total=Count("pk"), closed=Count("pk", filter=closed)
    )
    immediate_measures = measures.filter(kind=Measure.Kind.IMMEDIATE).aggregate(
        total=Count("pk"), closed=Count("pk", filter=closed)
    )
    rows += [
        cols.StatRow(section, "立行立改问题数", immediate_problems["total"], "个"),
        cols.StatRow(section, "其中已销号", immediate_problems["closed"], "个"),
        cols.StatRow(section, "立行立改措施数", immediate_measures["total"], "个"),
        cols.StatRow(section, "其中已销号", immediate_measures["closed"], "个"),
    ]

    section = "上轮巡视未整改到位问题"
    repeated = problems.filter(previous_problem__isnull=False)
    by_progress = _counts(repeated, "progress_state")
    by_closeout = _counts(repeated, "closeout_state")
    rows.append(cols.StatRow(section, "本轮反馈的上轮未整改到位问题数", sum(by_progress.values()), "个"))
    rows.append(cols.StatRow(section, "其中已销号", by_closeout.get(CloseOutState.CLOSED.value, 0), "个"))
    for state in ProgressState:
        rows.append(cols.StatRow(section, f"进展状态：{state.label}", by_progress.get(state.value, 0), "个"))

    # The whole round's records, counted where the documents and the dashboard count them.
    round_records = round_record_figures(inspection_round=inspection_round) if read_all else None
    if round_records is not None:
        section = "信访件和问题线索"
        for clue_kind in PetitionClue.Kind:
            of_kind = round_records["petitions"][clue_kind.value]
            rows.append(cols.StatRow(section, f"收到{clue_kind.label}", of_kind["received"], "件"))
            rows.append(cols.StatRow(section, f"{clue_kind.label}已办结", of_kind["handled"], "件"))
            rows.append(cols.StatRow(section, f"{clue_kind.label}移交纪检监察机关", of_kind["transferred"], "件"))

    section = "立案情况"
    accountability = records(AccountabilityRecord)
    filed_records = accountability.filter(case_filed=True).count()
    rows.append(cols.StatRow(section, "追责问责中立案", filed_records, "件"))
    if round_records is not None:
        filed_petitions = round_records["petition_cases_filed"]
        rows.append(cols.StatRow(section, "信访件和问题线索中立案", filed_petitions, "件"))
        rows.append(cols.StatRow(section, "立案合计", filed_records + filed_petitions, "件"))

    by_kind = _counts(accountability, "kind")
    groups = [
        ("党纪处分", "party_"),
        ("政务处分", "gov_"),
        ("组织处理", "organisational"),
        ("诫勉", "admonition"),
        ("第一种形态处置", "first_form_"),
    ]
    for section, prefix in groups:
        kinds = [kind for kind in AccountabilityRecord.Kind if kind.value.startswith(prefix)]
        for kind in kinds:
            item = str(kind.label).split("：", 1)[-1]
            rows.append(cols.StatRow(section, item, by_kind.get(kind.value, 0), "人次"))
        if len(kinds) > 1:
            rows.append(cols.StatRow(section, "小计", sum(by_kind.get(k.value, 0) for k in kinds), "人次"))

    section = "问责情况"
    held = _counts(accountability.filter(is_accountability=True), "target")
    rows.append(cols.StatRow(section, "问责单位", held.get(AccountabilityRecord.Target.UNIT.value, 0), "个"))
    rows.append(cols.StatRow(section, "问责个人", held.get(AccountabilityRecord.Target.PERSON.value, 0), "人"))

    section = "建章立制"
    by_change = _counts(records(RuleRecord, link="problems"), "change")
    for change in RuleRecord.Change:
        rows.append(cols.StatRow(section, f"{change.label}制度", by_change.get(change.value, 0), "项"))

    section = "挽回经济损失、追缴和清退资金"
    amounts = dict(records(Recovery).order_by().values_list("kind").annotate(total=Sum("amount_wan")))
    for recovery_kind in Recovery.Kind:
        rows.append(
            cols.StatRow(section, str(recovery_kind.label), amounts.get(recovery_kind.value) or Decimal("0.00"), "万元")
        )
    rows.append(cols.StatRow(section, "合计", sum(amounts.values(), Decimal("0.00")), "万元"))

    section = "专项整治"
    campaigns = Campaign.objects.filter(round=inspection_round)
    if not read_all:
        campaigns = campaigns.filter(pk__in=problems.filter(campaign__isnull=False).values("campaign_id"))
    rows.append(cols.StatRow(section, "开展专项整治", campaigns.count(), "项"))

    if round_records is not None:
        section = "会议和督导"
        for activity_kind in WorkActivity.Kind:
            rows.append(
                cols.StatRow(
                    section, f"召开或开展{activity_kind.label}", round_records["activities"][activity_kind.value], "次"
                )
            )
        section = "书记领办"
        rows.append(cols.StatRow(section, "书记领办问题（有现场活动记录）", round_records["secretary_problems"], "个"))
        for event_kind in SecretaryEvent.Kind:
            rows.append(
                cols.StatRow(
                    section, f"书记{event_kind.label}", round_records["secretary_events"][event_kind.value], "次"
                )
            )
    return rows


def statistics_export(*, user, inspection_round, today):
    rows = statistics_rows(user=user, inspection_round=inspection_round)
    workbook = stream_workbook()
    sheet = StreamSheet(
        workbook,
        name="整改统计",
        columns=cols.STATISTICS_COLUMNS,
        title=title_text("整改情况统计表", inspection_round, today),
    )
    for row in rows:
        sheet.append(row)
    content = workbook_bytes(workbook)
    return Export(
        content, _filename(inspection_round, "整改情况统计表", today), "excel.export_statistics", {"rows": len(rows)}
    )


# --- the year-end assessment's deductions ----------------------------------------------------------


def deduction_rows(*, year):
    """The confirmed penalties of an assessment year, summed per unit and per leading cadre.

    Whole-district figures: the view asks ``access.may_export_deductions`` first. A penalty
    drafted by the weekly cycle and confirmed counts in its week's year unless the office gave it
    another.
    """
    penalties = list(
        Penalty.objects.filter(state=Penalty.State.CONFIRMED)
        .filter(Q(assessment_year=year) | Q(assessment_year__isnull=True, cycle__iso_year=year))
        .select_related("unit", "cycle")
        .order_by("unit__sort_order", "unit_id", "cadre_name", "decided_at", "id")
    )
    by_unit: dict[int, cols.DeductionRow] = {}
    by_cadre: dict[tuple, cols.DeductionRow] = {}
    for penalty in penalties:
        if penalty.target == Penalty.Target.CADRE:
            key = (penalty.unit_id, penalty.cadre_name, penalty.cadre_post)
            row = by_cadre.setdefault(
                key, cols.DeductionRow(unit=penalty.unit.name, cadre=penalty.cadre_name, post=penalty.cadre_post)
            )
        else:
            row = by_unit.setdefault(penalty.unit_id, cols.DeductionRow(unit=penalty.unit.name))
        row.entries += 1
        if penalty.kind == Penalty.Kind.CIRCULAR:
            row.circulars += 1
        elif penalty.kind == Penalty.Kind.DEDUCTION:
            row.points += penalty.points
        elif penalty.kind == Penalty.Kind.INELIGIBLE:
            row.ineligible += 1
    return list(by_unit.values()), list(by_cadre.values()), penalties


def deductions_export(*, year, today):
    units, cadres, penalties = deduction_rows(year=year)
    workbook = stream_workbook()
    title = f"{year}年度年末实绩考评巡视整改扣分表　导出日期：{today:%Y年%m月%d日}"
    for name, columns, rows in (
        ("单位扣分", cols.DEDUCTION_UNIT_COLUMNS, units),
        ("领导干部扣分", cols.DEDUCTION_CADRE_COLUMNS, cadres),
        ("明细", cols.PENALTY_DETAIL_COLUMNS, penalties),
    ):
        sheet = StreamSheet(workbook, name=name, columns=columns, title=title)
        for row in rows:
            sheet.append(row)
    content = workbook_bytes(workbook)
    return Export(
        content,
        f"{year}年度年末实绩考评扣分表-{today:%Y%m%d}.xlsx",
        "excel.export_deductions",
        {"year": year, "rows": len(penalties)},
    )


# --- a unit's task list ---------------------------------------------------------------------------


def _days_left(measure, today):
    if measure.closeout_state == CloseOutState.CLOSED:
        return "已销号"
    days = (measure.due_date - today).days
    if days < 0:
        return f"逾期{-days}天"
    if days == 0:
        return "今天到期"
    return f"剩余{days}天"


def unit_task_rows(*, user, inspection_round, unit, today):
    measures = (
        measures_visible_to(user)
        .filter(problem__round=inspection_round, owner_unit=unit)
        .select_related("problem__lead_unit", "problem__lead_official", "owner_unit")
        .prefetch_related("milestones")
        .order_by("problem__seq", "problem_id", "seq", "id")
    )
    rows = []
    for measure in measures:
        oldest = min(
            (m for m in measure.milestones.all() if m.is_open), key=lambda m: (m.due_date, m.seq), default=None
        )
        due = oldest.due_date if oldest else None
        light = measure_light(measure, today, oldest_open_milestone_due=due)
        note = light_note(measure, light, today, milestone_due=due, milestone_title=oldest.title if oldest else None)
        label = f"{light.label}（{note}）" if note else str(light.label)
        rows.append(cols.TaskRow(measure=measure, days_left=_days_left(measure, today), light=label))
    return rows


def unit_tasks_export(*, user, inspection_round, unit, today):
    rows = unit_task_rows(user=user, inspection_round=inspection_round, unit=unit, today=today)
    workbook = stream_workbook()
    sheet = StreamSheet(
        workbook,
        name="单位任务清单",
        columns=cols.UNIT_TASK_COLUMNS,
        title=title_text(f"{unit.name}整改任务清单", inspection_round, today),
        freeze="D3",
    )
    for row in rows:
        sheet.append(row)
    content = workbook_bytes(workbook)
    return Export(
        content,
        _filename(inspection_round, f"{unit.name}任务清单", today),
        "excel.export_unit_tasks",
        {"unit": unit.name, "measures": len(rows)},
    )
