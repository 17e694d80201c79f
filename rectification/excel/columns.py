"""The declared columns of every export, in the order they appear.

Columns are written out here by hand, never inferred from the models, so a new model field
cannot shift a column the provincial team or a re-import relies on. A column with ``field``
set is read back by the ledger import under the same header (see ``imports.PROBLEM_FIELDS``
and ``imports.MEASURE_FIELDS``); the others are for reading only.
"""

import functools
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Model
from django.utils.encoding import force_str
from django.utils.translation import get_language

from .workbook import DATE, NUMBER, Column


@functools.lru_cache(maxsize=1024)
def _choice_label(model, field, value, language):
    return force_str(dict(model._meta.get_field(field).flatchoices).get(value, value), strings_only=True)


# The language of the labels while one workbook is written (``one_language``).
_language: ContextVar[str | None] = ContextVar("export_language", default=None)


@contextmanager
def one_language():
    """While a workbook is written, its labels' language is asked once, not once per cell."""
    token = _language.set(get_language())
    try:
        yield
    finally:
        _language.reset(token)


def shown(obj: Model, field: str) -> str:
    """``obj.get_<field>_display()``, worked out once per value and language: a city's ledger asks
    tens of thousands of times, and each call would translate the label afresh."""
    return _choice_label(type(obj), field, getattr(obj, field), _language.get() or get_language())


def person_name(user):
    return (user.full_name or user.username) if user is not None else ""


def numbered(texts):
    """Lines "1. …", "2. …"; the import strips the numbers again."""
    return "\n".join(f"{index}. {text}" for index, text in enumerate(texts, start=1))


def _milestone_lines(milestones):
    # isoformat is YYYY-MM-DD for a date, without strftime's cost (36,000 milestones in a city).
    return "\n".join(f"{m.due_date.isoformat()} {m.title}" for m in milestones)


def _measure_due(measure):
    """A date, or "2026-10-31并长期坚持" as text for a measure kept up after its due date (the
    import reads either back as it was)."""
    return measure.deadline_text if measure.ongoing_after_due else measure.due_date


def _responsible_leaders(problem):
    return "、".join(person_name(u) for u in problem.responsible_leader_list)


def _responsible_units(problem):
    return "、".join(unit.name for unit in problem.responsible_unit_list)


# --- the ledger (台账) -----------------------------------------------------------------------

LEDGER_PROBLEM_COLUMNS = [
    Column("问题编号", 9, lambda p: p.code, field="code"),
    Column("方面", 24, lambda p: p.aspect.title, field="aspect"),
    Column("专项", 9, lambda p: shown(p.track, "kind"), field="track"),
    Column("反馈问题", 30, lambda p: p.title, field="title"),
    Column("反馈原文", 44, lambda p: p.text, field="text"),
    Column("具体表现", 48, lambda p: [m.text for m in p.manifestation_list], field="manifestations", spread=True),
    Column("问题类型", 9, lambda p: shown(p, "problem_type"), field="problem_type"),
    Column("整改时限类别", 10, lambda p: shown(p, "deadline_category"), field="deadline_category"),
    Column("整改时限", 12, lambda p: p.due_date, kind=DATE, field="due_date"),
    Column("牵头领导", 10, lambda p: person_name(p.lead_official), field="lead_official"),
    Column("责任领导", 16, _responsible_leaders, field="responsible_leaders"),
    Column("牵头单位", 18, lambda p: p.lead_unit.name, field="lead_unit"),
    Column("责任单位", 30, _responsible_units, field="responsible_units"),
    Column("整改目标", 34, lambda p: p.goal, field="goal"),
    Column("验收标准", 40, lambda p: numbered(c.text for c in p.problem_criteria), field="criteria"),
    Column("专项整治", 20, lambda p: p.campaign.name if p.campaign_id else "", field="campaign"),
    Column(
        "上轮问题编号", 10, lambda p: p.previous_problem.code if p.previous_problem_id else "", field="previous_problem"
    ),
    Column("书记领办", 8, lambda p: "是" if p.is_secretary_led else "否", field="is_secretary_led"),
    Column("进展状态", 10, lambda p: shown(p, "progress_state")),
    Column("销号状态", 12, lambda p: shown(p, "closeout_state")),
]

# What the columns above read of a problem, and all the ledger loads of it
# (``exports.ledger_problems``, which also gives each problem the lists the columns read).
# The 责任清单 also reads the lead official, the lead unit's order, the due date and the
# close-out state. A field left out would cost a query per problem.
LEDGER_PROBLEM_FIELDS = (
    "code",
    "title",
    "text",
    "problem_type",
    "deadline_category",
    "due_date",
    "goal",
    "is_secretary_led",
    "progress_state",
    "closeout_state",
    "aspect__title",
    "track__kind",
    "lead_official__username",
    "lead_official__full_name",
    "lead_unit__name",
    "lead_unit__sort_order",
    "campaign__name",
    "previous_problem__code",
)

# Narrow enough to print on one A3 page across at 80 % (see ``workbook.print_groups``): rows
# grow taller instead.
LEDGER_MEASURE_COLUMNS = [
    Column("问题编号", 9, lambda m: m.problem.code, field="problem_code"),
    Column("问题概述", 18, lambda m: m.problem.title),
    Column("措施编号", 9, lambda m: m.code, field="code"),
    Column("整改措施", 40, lambda m: m.text, field="text"),
    Column("措施类别", 10, lambda m: shown(m, "kind"), field="kind"),
    Column("责任单位", 14, lambda m: m.owner_unit.name, field="owner_unit"),
    Column("经办人", 9, lambda m: m.handler_name, field="handler_name"),
    Column("联系电话", 13, lambda m: m.handler_phone, field="handler_phone"),
    Column("开始日期", 11, lambda m: m.start_date, kind=DATE, field="start_date"),
    Column("完成时限", 11, _measure_due, kind=DATE, field="due_date"),
    Column("时间节点", 28, lambda m: _milestone_lines(m.milestone_list), field="milestones"),
    Column("预期成果", 20, lambda m: m.expected_deliverable, field="expected_deliverable"),
    Column("进展状态", 9, lambda m: shown(m, "progress_state")),
    Column("完成百分比", 8, lambda m: m.percent, kind=NUMBER),
    Column("销号状态", 10, lambda m: shown(m, "closeout_state")),
]

# As ``LEDGER_PROBLEM_FIELDS``, for ``exports.ledger_measures`` (which adds the milestones).
LEDGER_MEASURE_FIELDS = (
    "problem__code",
    "problem__title",
    "code",
    "text",
    "kind",
    "owner_unit__name",
    "owner_unit__sort_order",
    "handler_name",
    "handler_phone",
    "start_date",
    "due_date",
    "ongoing_after_due",
    "expected_deliverable",
    "progress_state",
    "percent",
    "closeout_state",
)


@dataclass
class PivotRow:
    """One line of the 责任清单: a lead official or a unit, with its counts."""

    category: str
    name: str
    problems: int = 0
    problems_closed: int = 0
    problems_overdue: int = 0
    measures: int = 0
    measures_closed: int = 0
    measures_overdue: int = 0


LEDGER_PIVOT_COLUMNS = [
    Column("类别", 10, lambda r: r.category),
    Column("牵头领导或单位", 30, lambda r: r.name),
    Column("牵头问题数", 11, lambda r: r.problems, kind=NUMBER),
    Column("其中已销号", 11, lambda r: r.problems_closed, kind=NUMBER),
    Column("其中逾期未销号", 13, lambda r: r.problems_overdue, kind=NUMBER),
    Column("整改措施数", 11, lambda r: r.measures, kind=NUMBER),
    Column("其中已销号", 11, lambda r: r.measures_closed, kind=NUMBER),
    Column("其中逾期未销号", 13, lambda r: r.measures_overdue, kind=NUMBER),
]


# --- the weekly progress table (周进展表) ---------------------------------------------------


@dataclass
class WeeklyRow:
    measure: object
    report: object  # the latest submitted version of the week, or None (未报)
    expected: int
    behind: bool


def _report_text(attr):
    return lambda r: getattr(r.report, attr) if r.report is not None else ""


WEEKLY_COLUMNS = [
    Column("问题编号", 9, lambda r: r.measure.problem.code),
    Column("措施编号", 11, lambda r: r.measure.code),
    Column("整改措施", 40, lambda r: r.measure.text),
    Column("责任单位", 18, lambda r: r.measure.owner_unit.name),
    Column("经办人", 9, lambda r: r.measure.handler_name),
    Column("完成时限", 12, lambda r: _measure_due(r.measure), kind=DATE),
    Column("报送情况", 12, lambda r: shown(r.report, "state") if r.report is not None else "未报"),
    Column("本周进展", 40, _report_text("progress_this_week")),
    Column("累计进展状态", 11, lambda r: shown(r.report, "cumulative_state") if r.report is not None else ""),
    Column("完成百分比", 9, lambda r: r.report.percent if r.report is not None else None, kind=NUMBER),
    Column("预期进度", 9, lambda r: r.expected, kind=NUMBER),
    Column("是否滞后", 8, lambda r: ("滞后" if r.behind else "正常") if r.report is not None else ""),
    Column("下周计划", 32, _report_text("next_week_plan")),
    Column("需协调解决的困难", 28, _report_text("difficulties")),
    Column("逾期报送", 8, lambda r: ("是" if r.report.is_late else "否") if r.report is not None else ""),
    Column("版本", 6, lambda r: r.report.version if r.report is not None else None, kind=NUMBER),
    Column("更正原因", 20, _report_text("correction_reason")),
    Column("填报人", 10, lambda r: person_name(r.report.filled_by) if r.report is not None else ""),
    Column("确认人", 10, lambda r: person_name(r.report.confirmed_by) if r.report is not None else ""),
]


# --- the statistics of the final report (整改报告统计表) -------------------------------------


@dataclass
class StatRow:
    section: str
    item: str
    value: object
    unit: str


STATISTICS_COLUMNS = [
    Column("类别", 22, lambda r: r.section),
    Column("指标", 40, lambda r: r.item),
    Column("数值", 14, lambda r: r.value, kind=NUMBER),
    Column("单位", 8, lambda r: r.unit),
]


# --- the year-end assessment's deductions (年末实绩考评扣分) ------------------------------------


@dataclass
class DeductionRow:
    """One unit's, or one cadre's, confirmed penalties of the assessment year, summed."""

    unit: str
    cadre: str = ""
    post: str = ""
    circulars: int = 0
    points: Decimal = Decimal(0)
    ineligible: int = 0
    entries: int = 0


DEDUCTION_UNIT_COLUMNS = [
    Column("单位", 30, lambda r: r.unit),
    Column("通报批评（次）", 14, lambda r: r.circulars, kind=NUMBER),
    Column("年末实绩考评扣分（分）", 18, lambda r: r.points, kind=NUMBER),
    Column("取消评优评先资格（次）", 18, lambda r: r.ineligible, kind=NUMBER),
    Column("记录条数", 10, lambda r: r.entries, kind=NUMBER),
]
DEDUCTION_CADRE_COLUMNS = [
    Column("单位", 30, lambda r: r.unit),
    Column("姓名", 12, lambda r: r.cadre),
    Column("职务", 20, lambda r: r.post),
    *DEDUCTION_UNIT_COLUMNS[1:],
]
PENALTY_DETAIL_COLUMNS = [
    Column("单位", 24, lambda p: p.unit.name),
    Column("对象", 10, lambda p: shown(p, "target")),
    Column("干部姓名", 12, lambda p: p.cadre_name),
    Column("干部职务", 18, lambda p: p.cadre_post),
    Column("类别", 20, lambda p: shown(p, "kind")),
    Column("扣分", 8, lambda p: p.points, kind=NUMBER),
    Column("事由", 50, lambda p: p.reason),
    Column(
        "来源",
        16,
        lambda p: "整改办录入" if p.cycle_id is None else f"{p.cycle.iso_year}年第{p.cycle.iso_week}周自动生成",
    ),
    Column("确认日期", 12, lambda p: p.decided_at.date() if p.decided_at else None, kind=DATE),
]


# --- a unit's task list (单位任务清单) -------------------------------------------------------


@dataclass
class TaskRow:
    measure: object
    days_left: str
    light: str


UNIT_TASK_COLUMNS = [
    Column("问题编号", 9, lambda r: r.measure.problem.code),
    Column("反馈问题", 28, lambda r: r.measure.problem.title),
    Column("措施编号", 11, lambda r: r.measure.code),
    Column("整改措施", 44, lambda r: r.measure.text),
    Column("措施类别", 10, lambda r: shown(r.measure, "kind")),
    Column("经办人", 9, lambda r: r.measure.handler_name),
    Column("联系电话", 14, lambda r: r.measure.handler_phone),
    Column("开始日期", 12, lambda r: r.measure.start_date, kind=DATE),
    Column("完成时限", 12, lambda r: _measure_due(r.measure), kind=DATE),
    Column("剩余时间", 10, lambda r: r.days_left),
    Column("时间节点", 34, lambda r: _milestone_lines(r.measure.milestones.all())),
    Column("预期成果", 24, lambda r: r.measure.expected_deliverable),
    Column("进展状态", 10, lambda r: shown(r.measure, "progress_state")),
    Column("完成百分比", 8, lambda r: r.measure.percent, kind=NUMBER),
    Column("最新进展", 36, lambda r: r.measure.latest_progress),
    Column("销号状态", 12, lambda r: shown(r.measure, "closeout_state")),
    Column("预警", 8, lambda r: r.light),
]
