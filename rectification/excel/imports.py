"""Reading a ledger the office drafted in Excel into an import plan (nothing is written).

The file is first checked and read by ``reading`` (``xlsx_check``, ``workbook_read``). Then
``LedgerPlanner`` finds the ledger's sheets by their Chinese headers and turns the rows into a
plan: what will be created, what updated (matched by the problem and measure codes), which
units and leaders were matched, and every error by sheet, row and column. The plan is applied
by ``services.ledger_import`` in one transaction once the office confirms.

The layouts districts circulate are read as they are: a sheet of problems plus a sheet of
measures (what our own ledger export writes), or one sheet where each problem's cells are merged
down across the rows of its measures or repeated on each; a row without a problem (code or title)
continues the problem above it (that is what a merged cell looks like to a reader). The header is
one row or two (a group header such as 责任分工 over its sub-headers), under a title or not;
notes in brackets in a header are ignored. 方面 is a column, or a row of its own across the width
(一、……方面, numbered or not). Sheets numbered with 序号 and without code columns get codes from
position (aspect n, problem n.k, measure n.k.m, as the system numbers them), except that an item
whose text is already in the round's ledger keeps its code: a re-import matches by text. Hidden
sheets are named in the preview and not read.
"""

import datetime
import hashlib
import json
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

from django.db.models import Choices, Prefetch
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from openpyxl.utils import get_column_letter

from rectification.models import (
    AcceptanceCriterion,
    Aspect,
    DeadlineCategory,
    InspectionRound,
    Measure,
    Problem,
    Track,
    deadline_text,
    measure_due_refusal,
)

from .dates import DateRefused, parse_date, parse_deadline, parse_measure_deadline
from .mapping import columns_mapped, target_choices
from .matching import NoMatch, normalised, split_names
from .names import NameBook

# The import's entry points live together here: the file checks come from ``reading``.
from .reading import HEADER_SEARCH_ROWS, MAX_UPLOAD_BYTES, ImportRefused, SheetRows, _blank, workbook_read, xlsx_check  # noqa: F401
from .workbook import text_from_cell

# --- the plan ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Where:
    sheet: str
    row: int | None = None
    column: int | None = None
    header: str = ""

    def __str__(self):
        text = _("工作表“%(sheet)s”") % {"sheet": self.sheet}
        if self.row:
            text += _("第%(row)s行") % {"row": self.row}
        if self.column:
            text += _("%(column)s列（%(header)s）") % {"column": get_column_letter(self.column), "header": self.header}
        return text


@dataclass(frozen=True)
class Issue:
    where: Where | None
    message: str

    def __str__(self):
        return (
            _("%(where)s：%(message)s") % {"where": self.where, "message": self.message} if self.where else self.message
        )


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    headers: tuple


PROBLEM_FIELDS = [
    Field("code", "问题编号", ("问题编号",)),
    Field("aspect", "方面", ("方面", "问题方面")),
    Field("track", "专项", ("专项", "所属专项")),
    Field(
        "title",
        "反馈问题",
        ("反馈问题", "问题概述", "问题", "存在问题", "巡视反馈问题", "反馈意见", "问题描述", "主要问题"),
    ),
    Field("text", "反馈原文", ("反馈原文", "问题原文")),
    Field("manifestations", "具体表现", ("具体表现", "具体问题", "问题表现", "具体表现形式")),
    Field("problem_type", "问题类型", ("问题类型",)),
    Field("deadline_category", "整改时限类别", ("整改时限类别", "时限类别")),
    Field("due_date", "整改时限", ("整改时限",)),
    Field("lead_official", "牵头领导", ("牵头领导",)),
    Field("responsible_leaders", "责任领导", ("责任领导", "分管领导", "责任领导分管")),
    Field("lead_unit", "牵头单位", ("牵头单位", "牵头部门")),
    Field("responsible_units", "责任单位", ("责任单位", "问题责任单位", "配合单位", "协办单位")),
    Field("goal", "整改目标", ("整改目标",)),
    Field("criteria", "验收标准", ("验收标准",)),
    Field("campaign", "专项整治", ("专项整治",)),
    Field("previous_problem", "上轮问题编号", ("上轮问题编号", "上轮问题")),
    Field("is_secretary_led", "书记领办", ("书记领办",)),
]
MEASURE_FIELDS = [
    Field("code", "措施编号", ("措施编号", "任务编号")),
    Field("text", "整改措施", ("整改措施", "整改任务", "整改举措", "具体措施", "整改措施任务")),
    Field("kind", "措施类别", ("措施类别", "任务类别")),
    Field("owner_unit", "责任单位", ("责任单位", "措施责任单位", "承办单位", "具体责任单位", "责任部门")),
    Field("handler_name", "经办人", ("经办人", "联系人")),
    Field("handler_phone", "联系电话", ("联系电话", "经办人电话")),
    Field("start_date", "开始日期", ("开始日期",)),
    Field(
        "due_date",
        "完成时限",
        ("完成时限", "措施完成时限", "整改时限", "完成时间", "整改期限", "时限要求", "时限"),
    ),
    Field("milestones", "时间节点", ("时间节点", "倒排时间节点")),
    Field("expected_deliverable", "预期成果", ("预期成果",)),
]
# Columns our own exports add for reading (states, percent): recognised, and not imported.
READ_ONLY_HEADERS = {"进展状态", "销号状态", "完成百分比", "最新进展", "序号"}
# A header row is one that names a code column.
_ANCHORS = {"问题编号", "措施编号", "任务编号"}
# The measure part of a sheet starts at the first of these columns.
_MEASURE_ANCHORS = {"措施编号", "任务编号", "整改措施", "整改任务"}

_PROBLEM_BY_HEADER = {header: f for f in PROBLEM_FIELDS for header in f.headers}
_MEASURE_BY_HEADER = {header: f for f in MEASURE_FIELDS for header in f.headers}
_READ_ONLY = {header: header for header in READ_ONLY_HEADERS}
# Responsible leaders and units may differ between the rows of one problem: it gets them all.
_GATHERED = {"responsible_leaders", "responsible_units"}
# A cell that is a code ("2", "2.1", "2.1.3"), never an aspect's name.
_CODE_LIKE = re.compile(r"^[\d.．\-]+$")
_CHINESE_DIGITS = {c: n for n, c in enumerate("一二三四五六七八九", start=1)}


def _chinese_number(text):
    """ "一、" → 1, "十二、" → 12, "二十、" → 20."""
    digits = re.sub(r"[^一二三四五六七八九十]", "", text)
    if not digits:
        return None
    if "十" not in digits:
        return _CHINESE_DIGITS.get(digits) if len(digits) == 1 else None
    tens, _sep, ones = digits.partition("十")
    return _CHINESE_DIGITS.get(tens, 1) * 10 + (_CHINESE_DIGITS.get(ones, 0) if ones else 0)


def _recognised(key):
    return bool(key) and any(_field_for(key, m) for m in (_PROBLEM_BY_HEADER, _MEASURE_BY_HEADER, _READ_ONLY))


def _anchor(key):
    """A column that makes a header row a ledger's: a code, the problem, or the measure."""
    problem, measure = _field_for(key, _PROBLEM_BY_HEADER), _field_for(key, _MEASURE_BY_HEADER)
    return (problem is not None and problem.name in ("code", "title")) or (
        measure is not None and measure.name in ("code", "text")
    )


_NUMBERING = re.compile(r"^\s*(?:\d{1,2}[.．、](?!\d)|[（(]\d{1,2}[)）]|[①-⑳])\s*")
_ASPECT_NUMBERING = re.compile(r"^\s*(?:[一二三四五六七八九十]+\s*[、.．]|[（(][一二三四五六七八九十]+[)）])\s*")
_TRUE = {"是", "√", "✓", "Y", "YES", "1", "TRUE"}
_FALSE = {"否", "×", "N", "NO", "0", "FALSE", ""}

# Lengths of the model fields the import fills, so a long cell is refused with its position.
LIMITS = {
    "aspect": 200,
    "title": 200,
    "code": 30,
    "criteria": 300,
    "handler_name": 50,
    "handler_phone": 30,
    "expected_deliverable": 200,
    "milestone": 120,
}


def header_key(value):
    if value is None:
        return ""
    return re.sub(r"[\s*＊]", "", unicodedata.normalize("NFKC", str(value)))


def _field_for(key, mapping):
    if key in mapping:
        return mapping[key]
    # "整改时限（日期）", "责任领导（分管）": a note in brackets after the name (or inside it).
    bare = re.sub(r"\(.*?\)", "", key)
    if bare in mapping:
        return mapping[bare]
    return mapping.get(re.sub(r"[()]", "", key))


def _text_key(text):
    """What a problem's title or a measure's text is recognised by on a re-import: its words,
    without the "1." or "（一）" in front (a ledger is renumbered when rows are inserted)."""
    return normalised(_ASPECT_NUMBERING.sub("", _NUMBERING.sub("", text)))


def _unnumbered(cell):
    """A title or measure in a sheet without codes, without the number written in front of it:
    the code is the number, and the text stays the same when the ledger is renumbered."""
    text = cell.text
    bare = _ASPECT_NUMBERING.sub("", _NUMBERING.sub("", text)).strip()
    return cell if bare == text or not bare else Cell(bare, cell.where)


def cell_text(value):
    """A cell's content as text, the way the ledger means it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat(" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, int):
        return str(value)
    text = str(value).replace("\r\n", "\n").replace("\r", "\n").strip()
    return text_from_cell(text)


def _items(text):
    """One item per line, without the "1." or "（1）" people number them with."""
    return [_NUMBERING.sub("", line).strip() for line in text.split("\n") if _NUMBERING.sub("", line).strip()]


def _shown(value):
    if value is None or value == "":
        return _("（空）")
    if isinstance(value, (list, tuple, set)):
        return "、".join(_shown(v) for v in value) or _("（空）")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "是" if value else "否"
    text = str(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _change(label, name, old, new):
    """A change as the preview shows it: choices by their Chinese label (限期整改, not by_date)."""
    enum = _CHOICES_SHOWN.get(name)
    if enum is not None:
        labels = dict(enum.choices)
        old, new = labels.get(old, old), labels.get(new, new)
    return Change(label, _shown(old), _shown(new))


@dataclass
class Cell:
    value: object
    where: Where

    @property
    def text(self):
        return cell_text(self.value)


@dataclass
class RawProblem:
    code: str
    where: Where
    cells: dict = field(default_factory=dict)
    items: dict = field(default_factory=lambda: {"manifestations": [], "criteria": []})
    duplicate: bool = False
    title_key: str = ""  # in a sheet without codes: the title the problem is recognised by


@dataclass
class RawMeasure:
    problem_code: str
    where: Where
    cells: dict
    problem_code_where: Where
    skip: bool = False


@dataclass
class Change:
    label: str
    old: str
    new: str


class _DraftAction:
    """What confirming the import will do with one row: create, update, leave it, or fail."""

    # Fields of the dataclasses below, declared here for ``action``.
    failed: bool
    existing: Problem | Measure | None
    values: dict

    @property
    def action(self):
        if self.failed:
            return "failed"
        if self.existing is None:
            return "create"
        return "update" if self.values else "unchanged"


@dataclass
class ProblemDraft(_DraftAction):
    code: str
    where: Where
    existing: Problem | None
    # For a new problem: every argument of problem_create; for an existing one: the fields to change.
    values: dict
    changes: list = field(default_factory=list)
    failed: bool = False


@dataclass
class MeasureDraft(_DraftAction):
    problem_code: str
    code: str
    where: Where
    existing: Measure | None
    problem: Problem | None  # the problem in the database; None when it is created by this import
    values: dict
    changes: list = field(default_factory=list)
    failed: bool = False


@dataclass
class ImportPlan:
    inspection_round: InspectionRound
    layout: str = ""
    sheets: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    measures: list = field(default_factory=list)
    new_aspects: list = field(default_factory=list)
    units: Counter = field(default_factory=Counter)
    leaders: Counter = field(default_factory=Counter)
    errors: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    ignored_columns: list = field(default_factory=list)
    columns: list = field(default_factory=list)  # (sheet, column letter, header as written, understood as)
    untouched_problems: int = 0
    names: object = None  # the ``names.NameBook`` that read this file's units and leaders
    unknown_headers: list = field(default_factory=list)  # (sheet, column letter, header) not understood
    remapped: list = field(default_factory=list)  # (sheet, column letter, header, mapped as) by the office's mapping
    # Re-import: measures of the file's problems that the file leaves out (kept as they are), and
    # claimed measures whose due date the file moves (their unit is told, see ``ledger_import``).
    missing_measures: list = field(default_factory=list)
    moved_due_dates: list = field(default_factory=list)

    @property
    def ok(self):
        return not self.errors and bool(self.problems or self.measures)

    @property
    def unit_matches(self):
        """(unit name, times matched), in the order first met; a list, so templates can loop over it."""
        return list(self.units.items())

    @property
    def leader_matches(self):
        return list(self.leaders.items())

    def count(self, kind, action):
        return sum(1 for draft in getattr(self, kind) if draft.action == action)

    def summary(self):
        return {
            "problems_created": self.count("problems", "create"),
            "problems_updated": self.count("problems", "update"),
            "problems_unchanged": self.count("problems", "unchanged"),
            "measures_created": self.count("measures", "create"),
            "measures_updated": self.count("measures", "update"),
            "measures_unchanged": self.count("measures", "unchanged"),
            "aspects_created": len(self.new_aspects),
        }

    def digest(self):
        """A fingerprint of what applying the plan would write, to detect changes since the preview."""

        def canonical(value):
            if hasattr(value, "_meta"):
                return f"{value._meta.label_lower}:{value.pk}"
            if isinstance(value, (list, tuple)):
                return [canonical(v) for v in value]
            if isinstance(value, datetime.date):
                return value.isoformat()
            return value if isinstance(value, (bool, int)) or value is None else str(value)

        payload = {
            "round": self.inspection_round.pk,
            "aspects": self.new_aspects,
            "problems": [
                [d.code, d.existing.pk if d.existing else None, sorted((k, canonical(v)) for k, v in d.values.items())]
                for d in self.problems
            ],
            "measures": [
                [
                    d.problem_code,
                    d.code,
                    d.existing.pk if d.existing else None,
                    sorted((k, canonical(v)) for k, v in d.values.items()),
                ]
                for d in self.measures
            ],
        }
        return hashlib.sha256(json.dumps(payload, ensure_ascii=False, default=str).encode()).hexdigest()


_CHOICE_MAPPINGS: dict = {}
_CHOICES_SHOWN = {"problem_type": Problem.ProblemType, "deadline_category": DeadlineCategory, "kind": Measure.Kind}


@dataclass(frozen=True)
class _Choices:
    """The labels a choice column accepts, plus a few everyday short forms."""

    enum: type[Choices]
    aliases: dict

    def get(self, text):
        # Worked out once per language, not for each of thousands of cells.
        key = (id(self), get_language())
        mapping = _CHOICE_MAPPINGS.get(key)
        if mapping is None:
            mapping = {normalised(str(label)): value for value, label in self.enum.choices}
            mapping.update(self.aliases)
            _CHOICE_MAPPINGS[key] = mapping
        return mapping.get(normalised(text))

    def options(self):
        return "、".join(str(label) for label in self.enum.labels)


_TRACKS = _Choices(Track.Kind, {"综合专项": Track.Kind.GENERAL})
_PROBLEM_TYPES = _Choices(
    Problem.ProblemType, {"共性": Problem.ProblemType.COMMON, "个性": Problem.ProblemType.SPECIFIC}
)
_CATEGORIES = _Choices(DeadlineCategory, {})
_MEASURE_KINDS = _Choices(Measure.Kind, {})


@dataclass
class _SheetLayout:
    sheet: SheetRows
    header_row: int
    problem_columns: dict  # field name -> column number
    measure_columns: dict
    headers: dict = field(default_factory=dict)  # column number -> what it was understood as

    @property
    def kind(self):
        has_problem = "title" in self.problem_columns
        has_measure = "text" in self.measure_columns
        # Problem columns besides the one naming the problem (牵头单位, 具体表现...): one sheet holds both.
        if has_measure and has_problem and set(self.problem_columns) - {"code", "title", "aspect"}:
            return "combined"
        if has_measure:
            return "measures"
        if has_problem:
            return "problems"
        return None


class LedgerPlanner:
    """Builds an ``ImportPlan`` for one round from the rows of a workbook. Reads, never writes."""

    def __init__(self, inspection_round):
        self.round = inspection_round
        self.year = inspection_round.report_deadline.year
        # A date written without a year is the first such day on or after the feedback date.
        self.after = inspection_round.feedback_date
        self.yearless_noted: set[str] = set()
        self.once_given: set[Issue] = set()
        self.plan = ImportPlan(inspection_round=inspection_round)
        # Names as people write them; unknown ones are kept as pending (待开通), never refused.
        self.names = NameBook()
        self.plan.names = self.names
        self.aspects = {normalised(a.title): a for a in Aspect.objects.filter(round=inspection_round)}
        self.tracks = {t.kind: t for t in Track.objects.filter(round=inspection_round)}
        self.campaigns = {normalised(c.name): c for c in inspection_round.campaigns.all()}
        self.problems = {
            p.code: p
            for p in Problem.objects.filter(round=inspection_round)
            .select_related("aspect", "track", "lead_official", "lead_unit", "campaign", "previous_problem")
            .prefetch_related(
                "responsible_leaders",
                "responsible_units",
                "manifestations",
                Prefetch(
                    "criteria",
                    queryset=AcceptanceCriterion.objects.filter(measure__isnull=True).order_by("seq", "id"),
                    to_attr="problem_criteria",
                ),
            )
        }
        self.measures = {
            (m.problem.code, m.code): m
            for m in Measure.objects.filter(problem__round=inspection_round)
            .select_related("problem", "owner_unit")
            .prefetch_related("milestones")
        }
        previous = inspection_round.previous_round
        self.previous = {p.code: p for p in Problem.objects.filter(round=previous)} if previous is not None else None
        self.new_aspects = {}
        self.raw_problems = {}
        self.raw_measures = []
        self.missing_columns = {}
        self.numeric_code_columns = set()
        # Sheets without code columns: codes from position, or from the item of the same text.
        self.generated_codes = False
        self.aspect_numbers = {}
        self.position = {}
        self.measure_position = {}
        self.problem_codes_taken = set(self.problems)
        self.measure_codes_taken = {}
        titles = Counter(_text_key(p.title) for p in self.problems.values())
        self.problems_by_title = {
            _text_key(p.title): p for p in self.problems.values() if titles[_text_key(p.title)] == 1
        }
        texts = Counter((m.problem.code, _text_key(m.text)) for m in self.measures.values())
        self.measures_by_text = {
            (m.problem.code, _text_key(m.text)): m.code
            for m in self.measures.values()
            if texts[(m.problem.code, _text_key(m.text))] == 1
        }
        self.titles_read = {}
        self.code_by_title = {}  # the problems of this file, by title: a measure sheet may name them so
        self._measure_dues: dict | None = None
        self.unrecognised = {}

    # -- issues --

    def error(self, where, message):
        self.plan.errors.append(Issue(where, message))

    def warning(self, where, message):
        self.plan.warnings.append(Issue(where, message))

    # -- reading the sheets --

    def build(self, sheets):
        layouts = []
        for sheet in sheets:
            if sheet.hidden:
                # Hidden sheets often hold an old version or lookup lists: never read silently.
                if sheet.rows:
                    self.warning(
                        Where(sheet.title),
                        _("这是隐藏的工作表，未读取；如需导入其中内容，请在 Excel 中取消隐藏后重新上传。"),
                    )
                continue
            layout = self._layout(sheet)
            if layout is not None:
                layouts.append(layout)
        by_kind = {kind: [lay for lay in layouts if lay.kind == kind] for kind in ("problems", "measures", "combined")}

        def names(found):
            return "、".join(f"“{lay.sheet.title}”" for lay in found)

        if not layouts:
            hidden = [sheet.title for sheet in sheets if sheet.hidden and sheet.rows]
            if hidden and not self.plan.errors:
                self.error(
                    None,
                    _(
                        "没有找到台账：可见的工作表中没有表头含“问题编号”“反馈问题”或“整改措施”的工作表；"
                        "隐藏的工作表（%(sheets)s）未读取，如台账在其中，请在 Excel 中取消隐藏后重新上传。"
                    )
                    % {"sheets": "、".join(f"“{title}”" for title in hidden)},
                )
            elif not self.plan.errors:
                self.error(
                    None,
                    _("没有找到台账：工作簿中没有表头含“问题编号”“反馈问题”或“整改措施”的工作表。"),
                )
            return self.plan
        if len(by_kind["combined"]) > 1 or (by_kind["combined"] and (by_kind["problems"] or by_kind["measures"])):
            self.error(
                None,
                _("工作簿中有多张台账工作表（%(sheets)s），无法判断以哪一张为准，请只保留一份台账。")
                % {"sheets": names(layouts)},
            )
            return self.plan
        if len(by_kind["problems"]) > 1 or len(by_kind["measures"]) > 1:
            self.error(
                None, _("工作簿中有多张问题清单或任务清单（%(sheets)s），请只保留一份。") % {"sheets": names(layouts)}
            )
            return self.plan
        if by_kind["combined"]:
            self.plan.layout = _("单张工作表（问题单元格按措施行合并或重复填写）")
            layout = by_kind["combined"][0]
            self.plan.sheets = [layout.sheet.title]
            self._read_problem_sheet(layout, with_measures=True)
        else:
            self.plan.layout = _("问题清单和任务清单两张工作表")
            if by_kind["problems"]:
                self.plan.sheets.append(by_kind["problems"][0].sheet.title)
                self._read_problem_sheet(by_kind["problems"][0], with_measures=False)
            if by_kind["measures"]:
                self.plan.sheets.append(by_kind["measures"][0].sheet.title)
                self._read_measure_sheet(by_kind["measures"][0])
        if self.generated_codes:
            self.plan.layout += _("；没有编号列，问题和措施编号按位置生成，已在台账中的按文字匹配")
        self._drafts()
        return self.plan

    @staticmethod
    def _header(sheet):
        """The header: one row, or two (a group header such as 责任分工 above its sub-headers).

        Each row among the first few is tried alone and together with the row below it (where the
        lower row is blank, the cell above is merged down over it); the reading that recognises
        the most columns wins. A title row merged across the table recognises nothing.
        """
        rows = sheet.rows[:HEADER_SEARCH_ROWS]
        best = None
        for index, (number, values) in enumerate(rows):
            readings = [(number, values)]
            if index + 1 < len(rows) and rows[index + 1][0] == number + 1:
                below = rows[index + 1][1]
                width = max(len(values), len(below))
                readings.append(
                    (
                        number + 1,
                        tuple(
                            below[c]
                            if c < len(below) and not _blank(below[c])
                            else (values[c] if c < len(values) else None)
                            for c in range(width)
                        ),
                    )
                )
            for last_row, labels in readings:
                keys = [header_key(v) for v in labels]
                score = sum(1 for key in keys if _recognised(key))
                if score >= 2 and any(_anchor(key) for key in keys) and (best is None or score > best[0]):
                    best = (score, last_row, labels)
        return None if best is None else best[1:]

    def _layout(self, sheet):
        header = self._header(sheet)
        if header is None:
            return None
        number, values = header
        keys = [(index, header_key(value)) for index, value in enumerate(values, start=1)]
        measure_start = min(
            (index for index, key in keys if (f := _field_for(key, _MEASURE_BY_HEADER)) and f.name in ("code", "text")),
            default=None,
        )
        layout = _SheetLayout(sheet, number, {}, {})
        unrecognised = []
        for index, key in keys:
            if not key:
                continue
            on_measure_side = measure_start is not None and index >= measure_start
            sides = [(_MEASURE_BY_HEADER, layout.measure_columns), (_PROBLEM_BY_HEADER, layout.problem_columns)]
            if not on_measure_side:
                sides.reverse()
            for mapping, columns in sides:
                found = _field_for(key, mapping)
                if found is None:
                    continue
                if found.name in columns:
                    where = Where(sheet.title, number, index, str(values[index - 1]))
                    first = get_column_letter(columns[found.name])
                    self.error(
                        where,
                        _("表头“%(header)s”重复（%(first)s列已有），请删除多余的一列。")
                        % {"header": found.label, "first": first},
                    )
                else:
                    columns[found.name] = index
                    layout.headers[index] = found.label
                break
            else:
                if _field_for(key, _READ_ONLY) is None:
                    unrecognised.append(
                        _("%(column)s列“%(header)s”")
                        % {"column": get_column_letter(index), "header": values[index - 1]}
                    )
                    self.plan.ignored_columns.append(
                        _("“%(sheet)s”%(column)s列“%(header)s”")
                        % {"sheet": sheet.title, "column": get_column_letter(index), "header": values[index - 1]}
                    )
                    self.plan.unknown_headers.append((sheet.title, get_column_letter(index), str(values[index - 1])))
        # 时间节点 is the measure's deadline in a ledger that has no other deadline column.
        if (
            "text" in layout.measure_columns
            and "due_date" not in layout.measure_columns
            and "milestones" in layout.measure_columns
        ):
            column = layout.measure_columns.pop("milestones")
            layout.measure_columns["due_date"] = column
            layout.headers[column] = "完成时限"
        self.unrecognised[sheet.title] = unrecognised
        self.plan.columns += [
            (sheet.title, get_column_letter(index), str(values[index - 1]).strip(), label)
            for index, label in sorted(layout.headers.items())
        ]
        hint = _("未识别的表头：%(columns)s。") % {"columns": "、".join(unrecognised)} if unrecognised else ""
        if layout.kind is None:
            self.error(
                Where(sheet.title, number),
                _(
                    "表头无法识别为问题清单或任务清单：问题清单至少需要“反馈问题”列，"
                    "任务清单至少需要“整改措施”列。%(hint)s"
                )
                % {"hint": hint},
            )
            return None
        if layout.kind == "measures" and not {"code", "title"} & set(layout.problem_columns):
            self.error(
                Where(sheet.title, number),
                _("任务清单缺少“问题编号”或“反馈问题”列，无法确定措施属于哪个问题。%(hint)s") % {"hint": hint},
            )
            return None
        return layout

    def _cells(self, layout, number, values, columns, fields):
        labels = {f.name: f.label for f in fields}
        return {
            name: Cell(
                values[column - 1] if column - 1 < len(values) else None,
                Where(layout.sheet.title, number, column, labels[name]),
            )
            for name, column in columns.items()
        }

    def _code(self, cell):
        text = cell.text
        column = (cell.where.sheet, cell.where.column)
        if isinstance(cell.value, float) and not cell.value.is_integer() and column not in self.numeric_code_columns:
            self.numeric_code_columns.add(column)
            self.warning(
                cell.where,
                _("编号是数字格式，已按“%(text)s”读取；如原意是“%(text)s0”等，请把该列设为文本格式后重新导入。")
                % {"text": text},
            )
        if len(text) > LIMITS["code"]:
            self.error(cell.where, _("编号过长（最多%(limit)s个字符）。") % {"limit": LIMITS["code"]})
        return text

    def _aspect_row(self, layout, values):
        """The text of a row that names an aspect (一、……方面) across the table, else None."""
        filled = [(index, value) for index, value in enumerate(values, start=1) if not _blank(value)]
        if len(filled) != 1:
            return None
        column, value = filled[0]
        text = cell_text(value)
        if column in layout.measure_columns.values() or _CODE_LIKE.match(text):
            return None
        # A problem's other cells (a 具体表现 line of its own, say) are not an aspect.
        if any(c == column for name, c in layout.problem_columns.items() if name not in ("code", "title", "aspect")):
            return None
        own = {layout.problem_columns.get("code"), layout.problem_columns.get("title")}
        if _ASPECT_NUMBERING.match(text) or "方面" in text or column not in own:
            return text
        return None

    def _aspect_number(self, text):
        """一、 → 1; an aspect without numbering takes the next number after the ones met."""
        key = normalised(_ASPECT_NUMBERING.sub("", text))
        if key not in self.aspect_numbers:
            match = _ASPECT_NUMBERING.match(text)
            number = _chinese_number(match[0]) if match else None
            self.aspect_numbers[key] = number or (max(self.aspect_numbers.values(), default=0) + 1)
        return self.aspect_numbers[key]

    def _problem_code_for(self, title_cell, aspect_text):
        """A code for a problem of a sheet without codes: the one it has in the ledger (same
        title), else its position (aspect number.problem number), else the next free number."""
        self.generated_codes = True
        title = _text_key(title_cell.text)
        existing = self.problems_by_title.get(title)
        if existing is not None:
            return existing.code
        prefix = f"{self._aspect_number(aspect_text)}." if aspect_text else ""
        self.position[prefix] = self.position.get(prefix, 0) + 1
        return self._free_code(prefix, self.position[prefix], self.problem_codes_taken)

    @staticmethod
    def _free_code(prefix, position, taken):
        code = f"{prefix}{position}"
        if code in taken:
            used = [int(c[len(prefix) :]) for c in taken if c.startswith(prefix) and c[len(prefix) :].isdecimal()]
            code = f"{prefix}{max(used, default=0) + 1}"
        taken.add(code)
        return code

    def _measure_code_for(self, problem_code, text):
        """As ``_problem_code_for``, for a measure: the same text under the same problem keeps its code."""
        self.generated_codes = True
        taken = self.measure_codes_taken.setdefault(
            problem_code, {code for (p, code) in self.measures if p == problem_code}
        )
        existing = self.measures_by_text.get((problem_code, _text_key(text)))
        if existing is not None:
            return existing
        self.measure_position[problem_code] = self.measure_position.get(problem_code, 0) + 1
        return self._free_code(f"{problem_code}.", self.measure_position[problem_code], taken)

    def _read_problem_sheet(self, layout, *, with_measures):
        current = None
        last_aspect = None
        codeless = "code" not in layout.problem_columns
        for number, values in layout.sheet.rows:
            if number <= layout.header_row:
                continue
            aspect_text = self._aspect_row(layout, values)
            if aspect_text is not None:
                column = next(i for i, v in enumerate(values, start=1) if not _blank(v))
                last_aspect = Cell(aspect_text, Where(layout.sheet.title, number, column, "方面"))
                self._aspect_number(aspect_text)
                current = None
                continue
            cells = self._cells(layout, number, values, layout.problem_columns, PROBLEM_FIELDS)
            measure_cells = (
                self._cells(layout, number, values, layout.measure_columns, MEASURE_FIELDS) if with_measures else {}
            )
            if codeless:
                title = cells["title"]
                starts = bool(title.text) and (current is None or _text_key(title.text) != current.title_key)
                code = ""
                if starts:
                    aspect_cell = cells.get("aspect")
                    aspect_text = aspect_cell.text if aspect_cell is not None and aspect_cell.text else None
                    if aspect_text is None and last_aspect is not None:
                        aspect_text = last_aspect.text
                    title_key = _text_key(title.text)
                    if title_key in self.titles_read:
                        self.error(
                            title.where,
                            _("反馈问题“%(title)s”重复，第%(row)s行已有相同的问题。")
                            % {"title": _shown(title.text), "row": self.titles_read[title_key].row},
                        )
                        current = RawProblem(code="", where=Where(layout.sheet.title, number), duplicate=True)
                        current.title_key = title_key
                        continue
                    code = self._problem_code_for(title, aspect_text)
                    cells["code"] = Cell(code, Where(layout.sheet.title, number))
                    cells["title"] = _unnumbered(title)
            else:
                code = self._code(cells["code"])
                starts = bool(code) and (current is None or code != current.code)
            if starts:
                current = RawProblem(code=code, where=Where(layout.sheet.title, number))
                if codeless:
                    current.title_key = _text_key(cells["title"].text)
                    self.titles_read[current.title_key] = current.where
                if code in self.raw_problems:
                    first = self.raw_problems[code].where.row
                    self.error(
                        cells["code"].where,
                        _("问题编号“%(code)s”重复，第%(row)s行已有该编号。") % {"code": code, "row": first},
                    )
                    current.duplicate = True
                else:
                    self.raw_problems[code] = current
                    if "title" in cells:
                        self.code_by_title.setdefault(_text_key(cells["title"].text), code)
                for name, cell in cells.items():
                    if name in current.items:
                        current.items[name] += [i for i in _items(cell.text) if i not in current.items[name]]
                    else:
                        current.cells[name] = cell
                # 方面 is often merged across all the problems of one aspect, or written on a row of its own.
                aspect = current.cells.get("aspect")
                if aspect is not None:
                    if aspect.text:
                        last_aspect = aspect
                    elif last_aspect is not None:
                        current.cells["aspect"] = Cell(last_aspect.value, aspect.where)
                elif last_aspect is not None:
                    current.cells["aspect"] = last_aspect
            elif current is None:
                if any(c.text for c in cells.values()) or any(c.text for c in measure_cells.values()):
                    if codeless:
                        self.error(cells["title"].where, _("缺少反馈问题，无法确定本行属于哪个问题。"))
                    else:
                        self.error(cells["code"].where, _("缺少问题编号。"))
                continue
            else:
                self._continue_problem(current, cells)
            if any(c.text for c in measure_cells.values()):
                if current.duplicate:
                    continue
                owner = measure_cells.get("owner_unit")
                if owner is not None and owner.text and "responsible_units" not in layout.problem_columns:
                    # No 责任单位 column for the problem: its responsible units are its measures' owners.
                    self._continue_problem(current, {"responsible_units": owner})
                if "code" not in measure_cells and current.code:
                    if "text" in measure_cells:
                        measure_cells["text"] = _unnumbered(measure_cells["text"])
                    text = measure_cells["text"].text if "text" in measure_cells else ""
                    measure_cells["code"] = Cell(
                        self._measure_code_for(current.code, text), Where(layout.sheet.title, number)
                    )
                self.raw_measures.append(
                    RawMeasure(
                        problem_code=current.code,
                        where=Where(layout.sheet.title, number),
                        cells=measure_cells,
                        problem_code_where=cells["code"].where if "code" in cells else cells["title"].where,
                        skip=current.duplicate,
                    )
                )

    def _continue_problem(self, current, cells):
        """A row that continues the problem above it: merged cells, or the same values repeated."""
        for name, cell in cells.items():
            if name == "code" or (name == "title" and current.title_key) or not cell.text:
                continue
            if name in current.items:
                current.items[name] += [i for i in _items(cell.text) if i not in current.items[name]]
                continue
            first = current.cells.get(name)
            if first is None or not first.text:
                current.cells[name] = cell
            elif name in _GATHERED:
                # Responsible leaders and units written per measure row: the problem has them all.
                names = split_names(first.text)
                names += [n for n in split_names(cell.text) if n not in names]
                current.cells[name] = Cell("、".join(names), first.where)
            elif first.text != cell.text:
                self.error(
                    cell.where,
                    _("与第%(row)s行（问题“%(code)s”）的“%(header)s”不一致；同一问题的各行应合并单元格或填写相同内容。")
                    % {"row": current.where.row, "code": current.code, "header": cell.where.header},
                )

    def _read_measure_sheet(self, layout):
        by_code = "code" in layout.problem_columns
        link = "code" if by_code else "title"
        column = layout.problem_columns[link]
        # Both are set together by the first row with a problem; until then no measure row is read.
        last_code, last_where = "", Where(layout.sheet.title)
        for number, values in layout.sheet.rows:
            if number <= layout.header_row:
                continue
            if self._aspect_row(layout, values) is not None:
                continue
            link_cell = self._cells(layout, number, values, {link: column}, PROBLEM_FIELDS)[link]
            measure_cells = self._cells(layout, number, values, layout.measure_columns, MEASURE_FIELDS)
            if by_code:
                code = self._code(link_cell)
            elif link_cell.text:
                code = self._problem_by_title(link_cell)
                if code is None:
                    last_code = ""
                    continue
            else:
                code = ""
            if code:
                # The problem is often merged down across its measures.
                last_code, last_where = code, link_cell.where
            if not any(c.text for c in measure_cells.values()):
                continue
            if not last_code:
                if by_code or not self.plan.errors:
                    self.error(
                        link_cell.where,
                        _("缺少问题编号，无法确定措施属于哪个问题。")
                        if by_code
                        else _("缺少反馈问题，无法确定措施属于哪个问题。"),
                    )
                continue
            if "code" not in measure_cells:
                if "text" in measure_cells:
                    measure_cells["text"] = _unnumbered(measure_cells["text"])
                text = measure_cells["text"].text if "text" in measure_cells else ""
                measure_cells["code"] = Cell(self._measure_code_for(last_code, text), Where(layout.sheet.title, number))
            self.raw_measures.append(
                RawMeasure(
                    problem_code=last_code,
                    where=Where(layout.sheet.title, number),
                    cells=measure_cells,
                    problem_code_where=link_cell.where if code else last_where,
                )
            )

    def _problem_by_title(self, cell):
        """The code of the problem a measure sheet names by its title (this file's, or the ledger's)."""
        key = _text_key(cell.text)
        if key in self.code_by_title:
            return self.code_by_title[key]
        if key in self.problems_by_title:
            return self.problems_by_title[key].code
        self.error(
            cell.where,
            _("找不到反馈问题“%(title)s”：本文件的问题清单和本轮次台账中都没有这个问题。")
            % {"title": _shown(cell.text)},
        )
        return None

    # -- from rows to drafts --

    def _drafts(self):
        self._realign_shifted_problem_codes()
        for raw in self.raw_problems.values():
            draft = self._problem_draft(raw)
            if draft is not None:
                self.plan.problems.append(draft)
        drafts_by_code = {d.code: d for d in self.plan.problems}
        self._realign_shifted_codes()
        seen: dict[tuple[str, str], Where] = {}
        for raw in self.raw_measures:
            if raw.skip:
                continue
            draft = self._measure_draft(raw, drafts_by_code, seen)
            if draft is not None:
                self.plan.measures.append(draft)
        # A missing column is the cause of whatever else went wrong on its sheet: it comes first.
        missing = []
        for (sheet, label), codes in self.missing_columns.items():
            shown = "、".join(codes[:5]) + (_("等") if len(codes) > 5 else "")
            message = _("缺少“%(label)s”列，无法新建%(items)s。") % {"label": label, "items": shown}
            if self.unrecognised.get(sheet):
                message += _("未识别的表头：%(columns)s，如其中一列就是“%(label)s”，请把表头改为“%(label)s”。") % {
                    "columns": "、".join(self.unrecognised[sheet]),
                    "label": label,
                }
            missing.append(Issue(Where(sheet), message))
        self.plan.errors[:0] = missing
        in_file = set(self.raw_problems)
        self.plan.untouched_problems = sum(1 for code in self.problems if code not in in_file)
        if not self.plan.problems and not self.plan.measures and not self.plan.errors:
            self.error(None, _("台账中没有找到任何问题或措施。"))

    def _realign_shifted_problem_codes(self):
        """Problem codes that shifted because a problem was inserted and the file renumbered.

        As ``_realign_shifted_codes`` does for measures: when a problem of the file has the title
        of an existing problem but another code, each problem of the file is matched by its title
        instead (keeping the problem's code in the ledger), and a problem whose title is new but
        whose code belongs to a problem found elsewhere in the file is a new problem with the next
        free code of its aspect. The measures follow their problem: the rows naming the written
        code, and measure codes written under it (1.3.2 of problem 1.3 read as 1.2.2 when 1.3 is
        the existing 1.2). So no problem, nor any measure, is overwritten with another's text.
        """
        raws = [raw for raw in self.raw_problems.values() if raw.code and not raw.title_key]
        by_title: dict[int, str | None] = {}
        matched: set[str] = set()
        for raw in raws:
            title = raw.cells.get("title")
            problem = self.problems_by_title.get(_text_key(title.text)) if title is not None and title.text else None
            # Two rows of one title: the second is not taken for the same problem.
            by_title[id(raw)] = None
            if problem is not None and problem.code not in matched:
                by_title[id(raw)] = problem.code
                matched.add(problem.code)
        if not any(by_title[id(raw)] not in (None, raw.code) for raw in raws):
            return
        taken = set(self.problems)
        renamed: dict[str, str] = {}
        notes = []
        fresh = []
        for raw in raws:
            code = by_title[id(raw)]
            if code is None and raw.code in matched:
                fresh.append(raw)
            elif code is None:
                taken.add(raw.code)
            elif code != raw.code:
                renamed[raw.code] = code
                notes.append(
                    (
                        raw.where.row,
                        _("第%(row)s行（问题编号“%(written)s”）按内容为已有问题“%(code)s”")
                        % {"row": raw.where.row, "written": raw.code, "code": code},
                    )
                )
        for raw in fresh:
            prefix = raw.code.rpartition(".")[0] + "." if "." in raw.code else ""
            position = sum(1 for code in taken if code.startswith(prefix)) + 1
            renamed[raw.code] = code = self._free_code(prefix, position, taken)
            notes.append(
                (
                    raw.where.row,
                    _("第%(row)s行（问题编号“%(written)s”）为新问题，编号改为“%(code)s”")
                    % {"row": raw.where.row, "written": raw.code, "code": code},
                )
            )
        for raw in raws:
            raw.code = renamed.get(raw.code, raw.code)
        self.raw_problems = {raw.code: raw for raw in self.raw_problems.values()}
        self.code_by_title = {title: renamed.get(code, code) for title, code in self.code_by_title.items()}
        for measure in self.raw_measures:
            written = measure.problem_code
            if written not in renamed:
                continue
            measure.problem_code = renamed[written]
            code = measure.cells.get("code")
            if code is not None and code.text.startswith(f"{written}."):
                measure.cells["code"] = Cell(renamed[written] + code.text[len(written) :], code.where)
        self.warning(
            Where(raws[0].where.sheet),
            _("检测到问题编号整体错位，已按反馈问题的内容匹配：%(rows)s；这些问题的措施随问题一并调整编号。")
            % {"rows": "；".join(text for _row, text in sorted(notes))},
        )

    def _realign_shifted_codes(self):
        """Measure codes that shifted because rows were inserted and the file renumbered.

        When, under one problem, a row has the text of an existing measure but another code, the
        codes of that problem are taken to have shifted: each row is matched by its text instead
        (keeping the measure's code in the ledger), and a row whose text is new but whose code
        belongs to a measure found elsewhere in the file is a new measure with the next free code.
        Nothing is then overwritten with another measure's text, nor written twice.
        """
        rows: dict[str, list[RawMeasure]] = {}
        for raw in self.raw_measures:
            code, text = raw.cells.get("code"), raw.cells.get("text")
            if not raw.skip and code is not None and code.text and text is not None and text.text:
                rows.setdefault(raw.problem_code, []).append(raw)
        for problem_code, raws in rows.items():
            by_text = {
                id(raw): self.measures_by_text.get((problem_code, _text_key(raw.cells["text"].text))) for raw in raws
            }
            # A row with an existing measure's text under another code: matched by code, one measure
            # would take another's text, or the measure would be written twice.
            if not any(by_text[id(raw)] not in (None, raw.cells["code"].text) for raw in raws):
                continue
            matched = {code for code in by_text.values() if code is not None}
            taken = {code for (p, code) in self.measures if p == problem_code}
            fresh = []
            notes = []
            for raw in raws:
                written = raw.cells["code"].text
                code = by_text[id(raw)]
                if code is None and written in matched:
                    fresh.append(raw)
                    continue
                if code is None:
                    taken.add(written)
                elif code != written:
                    notes.append(
                        (
                            raw.where.row,
                            _("第%(row)s行（编号“%(written)s”）按内容为已有措施“%(code)s”")
                            % {"row": raw.where.row, "written": written, "code": code},
                        )
                    )
                    raw.cells["code"] = Cell(code, raw.cells["code"].where)
            for raw in fresh:
                written = raw.cells["code"].text
                code = self._free_code(f"{problem_code}.", len(taken) + 1, taken)
                notes.append(
                    (
                        raw.where.row,
                        _("第%(row)s行（编号“%(written)s”）为新措施，编号改为“%(code)s”")
                        % {"row": raw.where.row, "written": written, "code": code},
                    )
                )
                raw.cells["code"] = Cell(code, raw.cells["code"].where)
            self.warning(
                Where(raws[0].where.sheet),
                _("检测到编号整体错位，已按内容匹配（问题“%(problem)s”）：%(rows)s。")
                % {"problem": problem_code, "rows": "；".join(text for _row, text in sorted(notes))},
            )

    def _require(self, raw, name, label, existing):
        """Record a missing column for a new item; returns the cell or None."""
        cell = raw.cells.get(name)
        if cell is None:
            if existing is None:
                self.missing_columns.setdefault((raw.where.sheet, label), []).append(
                    _("问题“%(code)s”") % {"code": raw.code}
                )
            return None
        if not cell.text:
            self.error(cell.where, _("不能为空。"))
            return None
        return cell

    def _text(self, cell, name):
        text = cell.text
        limit = LIMITS.get(name)
        if limit and len(text) > limit:
            self.error(cell.where, _("内容过长（%(n)s字，最多%(limit)s字）。") % {"n": len(text), "limit": limit})
        return text

    def _unit(self, cell, text):
        try:
            unit = self.names.unit(text)
        except NoMatch as refused:
            self.error(cell.where, str(refused))
            return None
        self.plan.units[str(unit)] += 1
        if notice := self.names.notice("unit", text):
            self.warning(cell.where, notice)
        return unit

    def _units(self, cell):
        units = []
        for name in split_names(cell.text):
            unit = self._unit(cell, name)
            if unit is not None and unit not in units:
                units.append(unit)
        return units

    def _leader(self, cell, text):
        try:
            leader = self.names.leader(text)
        except NoMatch as refused:
            self.error(cell.where, str(refused))
            return None
        self.plan.leaders[str(leader)] += 1
        if notice := self.names.notice("leader", text):
            self.warning(cell.where, notice)
        return leader

    def _choice(self, cell, choices, what):
        value = choices.get(cell.text)
        if value is None:
            self.error(
                cell.where,
                _("“%(text)s”不是有效的%(what)s，应为：%(options)s。")
                % {"text": cell.text, "what": what, "options": choices.options()},
            )
        return value

    def _problem_draft(self, raw):
        existing = self.problems.get(raw.code)
        new = {}
        errors_before = len(self.plan.errors)

        def present(name):
            return raw.cells.get(name)

        # 方面
        if cell := self._require(raw, "aspect", "方面", existing):
            title = _ASPECT_NUMBERING.sub("", self._text(cell, "aspect")).strip()
            aspect = self.aspects.get(normalised(title))
            if aspect is None:
                # A new aspect, created by the import; the first spelling met is the one kept.
                title = self.new_aspects.setdefault(normalised(title), title)
                if title not in self.plan.new_aspects:
                    self.plan.new_aspects.append(title)
                new["aspect"] = title
            else:
                new["aspect"] = aspect
        # 专项: empty means the general track.
        if (cell := present("track")) is not None or existing is None:
            kind = Track.Kind.GENERAL
            if cell is not None and cell.text:
                kind = self._choice(cell, _TRACKS, "专项")
            if kind is not None:
                track = self.tracks.get(kind)
                if track is None:
                    where = cell.where if cell is not None else raw.where
                    self.error(where, _("本轮次没有设置“%(track)s”专项。") % {"track": Track.Kind(kind).label})
                else:
                    new["track"] = track
        if cell := self._require(raw, "title", "反馈问题", existing):
            new["title"] = self._text(cell, "title")
        # 反馈原文 is often left out of a draft ledger: a new problem then takes its summary as
        # the text, and an existing problem keeps the text it has.
        if (cell := present("text")) is not None and cell.text:
            new["text"] = cell.text
        elif existing is None:
            new["text"] = new.get("title", "")
        if present("manifestations") is not None or existing is None:
            new["manifestations"] = list(raw.items["manifestations"])
        if present("criteria") is not None or existing is None:
            criteria = list(raw.items["criteria"])
            for text in criteria:
                if len(text) > LIMITS["criteria"]:
                    self.error(
                        present("criteria").where,
                        _("验收标准“%(text)s…”过长（最多%(limit)s字）。")
                        % {"text": text[:20], "limit": LIMITS["criteria"]},
                    )
            new["criteria"] = criteria
        if "problem_type" not in raw.cells and existing is None:
            # Ledgers as districts circulate them rarely say; the office can change it on screen.
            new["problem_type"] = Problem.ProblemType.SPECIFIC
            self._once(
                raw.where.sheet,
                _("没有“问题类型”列：新建的问题暂按“个性问题”导入，共性问题请在系统中修改。"),
            )
        elif cell := self._require(raw, "problem_type", "问题类型", existing):
            if (value := self._choice(cell, _PROBLEM_TYPES, "问题类型")) is not None:
                new["problem_type"] = value
        self._problem_deadline(raw, existing, new)
        if cell := self._require(raw, "lead_official", "牵头领导", existing):
            if (leader := self._leader(cell, cell.text)) is not None:
                new["lead_official"] = leader
        if (cell := present("responsible_leaders")) is not None:
            new["responsible_leaders"] = [
                leader for name in split_names(cell.text) if (leader := self._leader(cell, name)) is not None
            ]
        if cell := self._require(raw, "lead_unit", "牵头单位", existing):
            if (unit := self._unit(cell, cell.text)) is not None:
                new["lead_unit"] = unit
        if (cell := present("responsible_units")) is not None:
            new["responsible_units"] = self._units(cell)
        if (cell := present("goal")) is not None:
            new["goal"] = cell.text
        if (cell := present("campaign")) is not None:
            new["campaign"] = None
            if cell.text:
                campaign = self.campaigns.get(normalised(cell.text))
                if campaign is None:
                    names = "、".join(f"“{c.name}”" for c in self.campaigns.values()) or _("无")
                    self.error(
                        cell.where,
                        _("本轮次没有名为“%(name)s”的专项整治（现有：%(names)s），请先在数据维护中建立。")
                        % {"name": cell.text, "names": names},
                    )
                else:
                    new["campaign"] = campaign
        if (cell := present("previous_problem")) is not None:
            new["previous_problem"] = None
            if cell.text:
                if self.previous is None:
                    self.error(cell.where, _("本轮次没有设置上一轮次，无法关联上轮问题。"))
                elif cell.text not in self.previous:
                    self.error(cell.where, _("上一轮次中没有编号为“%(code)s”的问题。") % {"code": cell.text})
                else:
                    new["previous_problem"] = self.previous[cell.text]
        if (cell := present("is_secretary_led")) is not None:
            flag = normalised(cell.text).upper()
            if flag in _TRUE:
                new["is_secretary_led"] = True
            elif flag in _FALSE:
                new["is_secretary_led"] = False
            else:
                self.error(cell.where, _("“%(text)s”应填“是”或“否”。") % {"text": cell.text})

        # Rules that span several cells, on the values the problem will have after the import.
        def final(name, default=None):
            if name in new:
                return new[name]
            return getattr(existing, name) if existing is not None else default

        if final("campaign") is not None and final("problem_type") != Problem.ProblemType.COMMON:
            where = present("campaign").where if present("campaign") else raw.where
            self.error(where, _("只有共性问题才能纳入专项整治。"))
        if len(self.plan.errors) > errors_before:
            return ProblemDraft(code=raw.code, where=raw.where, existing=existing, values={}, failed=True)
        if existing is None:
            values = {
                "due_date": None,
                "goal": "",
                "responsible_leaders": [],
                "responsible_units": [],
                "previous_problem": None,
                "is_secretary_led": False,
                "campaign": None,
                **new,
            }
            return ProblemDraft(code=raw.code, where=raw.where, existing=None, values=values)
        return self._problem_changes(raw, existing, new)

    def _problem_deadline(self, raw, existing, new):
        """整改时限类别 and 整改时限 together: a date, or a category word in the date column."""
        category_cell, date_cell = raw.cells.get("deadline_category"), raw.cells.get("due_date")
        if category_cell is None and date_cell is None and self._deadline_from_measures(raw, new):
            return
        if category_cell is None and date_cell is None:
            # Measures of this problem without a deadline column: that missing column is the one named.
            measure_column_missing = any(
                m.problem_code == raw.code and "due_date" not in m.cells for m in self.raw_measures
            )
            if existing is None and not measure_column_missing:
                self.missing_columns.setdefault((raw.where.sheet, _("整改时限")), []).append(
                    _("问题“%(code)s”") % {"code": raw.code}
                )
            return
        category = None
        if category_cell is not None and category_cell.text:
            category = self._choice(category_cell, _CATEGORIES, "整改时限类别")
            if category is None:
                return
        due = None
        if date_cell is not None:
            try:
                due = parse_deadline(date_cell.value, after=self.after)
            except DateRefused as refused:
                self.error(date_cell.where, str(refused))
                return
            if isinstance(due, str):
                if category is not None and category != due:
                    self.error(
                        date_cell.where,
                        _("整改时限写的是“%(due)s”，与整改时限类别“%(category)s”不一致。")
                        % {"due": DeadlineCategory(due).label, "category": DeadlineCategory(category).label},
                    )
                    return
                category, due = due, None
        elif existing is not None:
            due = existing.due_date
        if category is None:
            if due is None:
                where = (date_cell or category_cell).where
                self.error(where, _("请填写整改时限（日期）或整改时限类别。"))
                return
            category = DeadlineCategory.BY_DATE
        if category == DeadlineCategory.BY_DATE and due is None:
            self.error((date_cell or category_cell).where, _("限期整改的问题必须填写整改时限。"))
            return
        new["deadline_category"] = category
        new["due_date"] = due

    def _once(self, sheet, message):
        """A warning about a whole sheet, given once."""
        issue = Issue(Where(sheet), message)
        # A set, not a scan of the warnings: a ledger of 20,000 rows may warn thousands of times.
        if issue not in self.once_given:
            self.once_given.add(issue)
            self.plan.warnings.append(issue)

    def _deadline_from_measures(self, raw, new):
        """A ledger that writes deadlines per measure only: the problem is due with its last measure."""
        if self._measure_dues is None:
            self._measure_dues = {}
            for measure in self.raw_measures:
                if (cell := measure.cells.get("due_date")) is not None:
                    self._measure_dues.setdefault(measure.problem_code, []).append(cell)
        dues = []
        for cell in self._measure_dues.get(raw.code, []):
            try:
                deadline = parse_measure_deadline(cell.value, after=self.after)
            except DateRefused:
                continue  # refused with its position when the measure is read
            if deadline is not None:
                # "9月30日前完成并长期坚持" is due on its date; 长期坚持 alone is the category.
                dues.append(deadline.due or deadline.category)
        # A long-term measure runs, as a stage, to the report deadline.
        dates = [
            self.round.report_deadline if due == DeadlineCategory.LONG_TERM else due
            for due in dues
            if isinstance(due, datetime.date) or due == DeadlineCategory.LONG_TERM
        ]
        if dues and all(due == DeadlineCategory.LONG_TERM for due in dues):
            dates = []
        if dates:
            new["deadline_category"], new["due_date"] = DeadlineCategory.BY_DATE, max(dates)
        elif dues and all(due == DeadlineCategory.LONG_TERM for due in dues):
            new["deadline_category"], new["due_date"] = DeadlineCategory.LONG_TERM, None
        else:
            return False
        self._once(
            raw.where.sheet,
            _(
                "没有问题的“整改时限”列：每个问题的整改时限取其各项措施中最晚的完成时限（全部为“长期坚持”的按长期坚持）。"
            ),
        )
        return True

    def _problem_changes(self, raw, existing, new):
        labels = {f.name: f.label for f in PROBLEM_FIELDS}
        labels["text"] = "反馈原文"
        current = {
            "aspect": existing.aspect,
            "track": existing.track,
            "title": existing.title,
            "text": existing.text,
            "manifestations": [m.text for m in existing.manifestations.all()],
            "criteria": [c.text for c in existing.problem_criteria],
            "problem_type": existing.problem_type,
            "deadline_category": existing.deadline_category,
            "due_date": existing.due_date,
            "lead_official": existing.lead_official,
            "responsible_leaders": sorted(existing.responsible_leaders.all(), key=lambda u: u.pk),
            "lead_unit": existing.lead_unit,
            "responsible_units": list(existing.responsible_units.all()),
            "goal": existing.goal,
            "campaign": existing.campaign,
            "previous_problem": existing.previous_problem,
            "is_secretary_led": existing.is_secretary_led,
        }
        changed, changes = {}, []
        for name, value in new.items():
            old = current[name]
            if name in ("responsible_leaders", "responsible_units"):
                same = {o.pk for o in old} == {v.pk for v in value}
            else:
                same = old == value
            if not same:
                changed[name] = value
                changes.append(_change(labels.get(name, name), name, old, value))
        return ProblemDraft(code=raw.code, where=raw.where, existing=existing, values=changed, changes=changes)

    @staticmethod
    def _problem_due(problem_code, drafts_by_code, problem):
        """The due date the problem will have once this file is applied (None: no fixed date)."""
        draft = drafts_by_code.get(problem_code)
        if draft is not None and "due_date" in draft.values:
            return draft.values["due_date"]
        return problem.due_date if problem is not None else None

    def _measure_draft(self, raw, drafts_by_code, seen):
        code_cell = raw.cells.get("code")
        code = self._code(code_cell) if code_cell is not None else ""
        if not code:
            self.error(code_cell.where if code_cell else raw.where, _("缺少措施编号。"))
            return None
        key = (raw.problem_code, code)
        if key in seen:
            self.error(
                code_cell.where,
                _("措施编号“%(code)s”在问题“%(problem)s”下重复，第%(row)s行已有该编号。")
                % {"code": code, "problem": raw.problem_code, "row": seen[key].row},
            )
            return None
        seen[key] = raw.where
        problem = self.problems.get(raw.problem_code)
        if raw.problem_code not in drafts_by_code and problem is None:
            self.error(
                raw.problem_code_where,
                _("找不到问题编号“%(code)s”：本文件的问题清单和本轮次台账中都没有这个问题。")
                % {"code": raw.problem_code},
            )
            return None
        existing = self.measures.get(key)
        new = {}
        errors_before = len(self.plan.errors)

        def present(name):
            return raw.cells.get(name)

        def require(name, label):
            cell = present(name)
            if cell is None:
                if existing is None:
                    self.missing_columns.setdefault((raw.where.sheet, label), []).append(
                        _("措施“%(code)s”") % {"code": code}
                    )
                return None
            if not cell.text:
                self.error(cell.where, _("不能为空。"))
                return None
            return cell

        if cell := require("text", "整改措施"):
            new["text"] = cell.text
        if "kind" not in raw.cells and existing is None:
            new["kind"] = _kind_from_text(present("text").text if present("text") else "")
            self._once(
                raw.where.sheet,
                _(
                    "没有“措施类别”列：新建的措施按内容暂定类别（含“制度、办法、机制”的为建章立制，"
                    "含“问责、追责”的为追责问责，含“追缴、清退、收回”的为追缴资金，含“警示、教育、培训”的为教育警示，"
                    "含“专项整治”的为专项整治，其余为立行立改），可在系统中修改。"
                ),
            )
        elif cell := require("kind", "措施类别"):
            if (value := self._choice(cell, _MEASURE_KINDS, "措施类别")) is not None:
                new["kind"] = value
        if cell := require("owner_unit", "责任单位"):
            # A measure has one owner: the first unit written (主责); the others are the problem's
            # responsible units (gathered from the measure rows when it has no column of its own).
            owners = split_names(cell.text) or [cell.text]
            if len(owners) > 1:
                self._once(
                    raw.where.sheet,
                    _("有的措施写了多个责任单位：第一个作为该措施的责任单位，其余作为问题的责任单位。"),
                )
            if (unit := self._unit(cell, owners[0])) is not None:
                new["owner_unit"] = unit
        for name in ("handler_name", "handler_phone", "expected_deliverable"):
            if (cell := present(name)) is not None:
                new[name] = self._text(cell, name)
        if (cell := present("start_date")) is not None and cell.text:
            try:
                new["start_date"] = parse_date(cell.value, after=self.after)
            except DateRefused as refused:
                self.error(cell.where, str(refused))
        if cell := require("due_date", "完成时限"):
            self._measure_due(
                cell, raw, drafts_by_code, problem, new, kind_written="kind" in raw.cells or existing is not None
            )
        milestones = None
        if (cell := present("milestones")) is not None:
            milestones = self._milestones(cell)
        start = new.get("start_date") or (existing.start_date if existing else self.round.feedback_date)
        due = new.get("due_date") or (existing.due_date if existing else None)
        if due is not None and start > due and len(self.plan.errors) == errors_before:
            where = (present("due_date") or present("start_date")).where
            self.error(
                where,
                _("完成时限（%(due)s）早于开始日期（%(start)s）。")
                % {"due": due.isoformat(), "start": start.isoformat()},
            )
        refusal = measure_due_refusal(
            due_date=due,
            problem_due_date=self._problem_due(raw.problem_code, drafts_by_code, problem),
            problem_code=raw.problem_code,
        )
        if refusal and len(self.plan.errors) == errors_before:
            self.error((present("due_date") or raw.cells.get("code")).where, refusal)
        if len(self.plan.errors) > errors_before:
            return MeasureDraft(raw.problem_code, code, raw.where, existing, problem, values={}, failed=True)
        if existing is None:
            values = {
                "handler_name": "",
                "handler_phone": "",
                "expected_deliverable": "",
                "start_date": start,
                "milestones": milestones or [],
                **new,
            }
            return MeasureDraft(raw.problem_code, code, raw.where, None, problem, values=values)
        return self._measure_changes(raw, code, existing, new, milestones, present("milestones"))

    def _measure_due(self, cell, raw, drafts_by_code, problem, new, *, kind_written):
        """The 完成时限 cell as written: a date, 立行立改 (with or without a date), 长期坚持, and a date or
        立行立改 followed by 并长期坚持. Puts ``due_date`` (and, for a new measure without a 措施类别
        column, the kind 立行立改) into ``new``; warns what a word was taken to mean."""
        try:
            deadline = parse_measure_deadline(cell.value, after=self.after)
        except DateRefused as refused:
            self.error(cell.where, str(refused))
            return
        if deadline is None:
            self.error(cell.where, _("不能为空。"))
            return
        due = deadline.due
        if due is None:
            # No date: a stage deadline, the report deadline or the problem's own if that is earlier.
            due = min(
                filter(None, [self.round.report_deadline, self._problem_due(raw.problem_code, drafts_by_code, problem)])
            )
            word = DeadlineCategory(deadline.category).label
            self.warning(
                cell.where,
                _("“%(word)s”未写日期：按%(due)s（整改报告报送期限与问题整改时限中较早者）作为阶段性完成时限。")
                % {"word": word, "due": due.isoformat()},
            )
        elif due < self.round.feedback_date:
            self.error(
                cell.where,
                _("完成时限%(due)s早于本轮反馈日期%(feedback)s，请核对。")
                % {"due": due.isoformat(), "feedback": self.round.feedback_date.isoformat()},
            )
            return
        elif due > self.round.report_deadline:
            self.warning(
                cell.where,
                _("完成时限%(due)s晚于整改报告报送期限%(deadline)s，已按所填日期导入，请确认。")
                % {"due": due.isoformat(), "deadline": self.round.report_deadline.isoformat()},
            )
        yearless = deadline.due is not None and isinstance(cell.value, str) and not _YEAR.search(cell.value)
        if yearless and cell.where.sheet not in self.yearless_noted:
            # Once per sheet, with the first example (``_once`` would scan every warning each time).
            self.yearless_noted.add(cell.where.sheet)
            self._once(
                cell.where.sheet,
                _(
                    "未写年份的完成时限按本轮反馈日期（%(feedback)s）当天或之后最近的该日期导入，"
                    "例如%(where)s的“%(text)s”为%(due)s。"
                )
                % {
                    "feedback": self.round.feedback_date.isoformat(),
                    "where": cell.where,
                    "text": cell.text,
                    "due": due.isoformat(),
                },
            )
        # 长期坚持 alone is a stage deadline kept up afterwards, as "……并长期坚持" is.
        ongoing = deadline.ongoing or deadline.category == DeadlineCategory.LONG_TERM
        if deadline.ongoing and cell.text != deadline_text(due, True):
            # Said once it is read; the ledger's own way of writing it ("2026-10-31并长期坚持") needs no word.
            self.warning(
                cell.where,
                _("“%(text)s”：完成时限为%(due)s，完成后长期坚持（进展状态可报“长期坚持”）。")
                % {"text": cell.text, "due": due.isoformat()},
            )
        if deadline.category == DeadlineCategory.IMMEDIATE and not kind_written:
            new["kind"] = Measure.Kind.IMMEDIATE
        new["due_date"] = due
        new["ongoing_after_due"] = ongoing

    def _milestones(self, cell):
        """Lines such as "2026-09-10 制定整改工作方案" or "制定整改工作方案（9月底）"."""
        result = []
        for line in cell.text.split("\n"):
            line = line.strip()
            if not line:
                continue
            parsed = _milestone_line(line, self.after)
            if parsed is None:
                self.error(
                    cell.where,
                    _("时间节点“%(line)s”缺少可识别的日期，请写成“2026-09-30 完成摸底排查”。") % {"line": line},
                )
                continue
            title, day = parsed
            if len(title) > LIMITS["milestone"]:
                self.error(
                    cell.where,
                    _("时间节点“%(text)s…”过长（最多%(limit)s字）。")
                    % {"text": title[:20], "limit": LIMITS["milestone"]},
                )
                continue
            result.append((title, day))
        return result

    def _measure_changes(self, raw, code, existing, new, milestones, milestones_cell):
        labels = {f.name: f.label for f in MEASURE_FIELDS} | {"ongoing_after_due": _("完成后长期坚持")}
        changed, changes = {}, []
        for name, value in new.items():
            old = getattr(existing, name)
            if old != value:
                changed[name] = value
                changes.append(_change(labels[name], name, old, value))
        if milestones is not None:
            current = [(m.title, m.due_date) for m in existing.milestones.all()]
            if current != milestones:
                self.warning(
                    milestones_cell.where,
                    _(
                        "措施“%(code)s”已在台账中，其时间节点不随导入更新（已完成的节点可能关联佐证材料），请在系统中调整。"
                    )
                    % {"code": code},
                )
        return MeasureDraft(
            raw.problem_code, code, raw.where, existing, existing.problem, values=changed, changes=changes
        )


# A four-digit year (\d matches full-width digits too).
_YEAR = re.compile(r"\d{4}")
_DATE_TOKEN = re.compile(r"(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{8}|(?:\d{4}年)?\d{1,2}月(?:\d{1,2}[日号]|底|末))")


_KIND_WORDS = [
    (Measure.Kind.ACCOUNTABILITY, ("问责", "追责")),
    (Measure.Kind.RECOVERY, ("追缴", "清退", "收回")),
    (Measure.Kind.RULES, ("制度", "办法", "机制")),
    (Measure.Kind.CAMPAIGN, ("专项整治",)),
    (Measure.Kind.EDUCATION, ("警示", "教育", "培训")),
]


def _kind_from_text(text):
    """The measure kind a text most plainly is, for a ledger without a 措施类别 column."""
    return next((kind for kind, words in _KIND_WORDS if any(word in text for word in words)), Measure.Kind.IMMEDIATE)


def _milestone_line(line, after):
    folded = unicodedata.normalize("NFKC", line)
    match = _DATE_TOKEN.search(folded)
    if match is None:
        return None
    try:
        day = parse_date(match[1], after=after)
    except DateRefused:
        return None
    # Cut the date out of the line as written, so the title keeps its own punctuation.
    text = line if len(folded) == len(line) else folded
    title = (text[: match.start()] + text[match.end() :]).strip()
    title = re.sub(r"^[\s:：,，、]+|[\s:：,，、]+$", "", title)
    title = re.sub(r"[(（]\s*[)）]$", "", title).strip()
    return (title or _("时间节点"), day)


def column_targets():
    """What the preview's drop-down offers for an unrecognised column: (target, label)."""
    return target_choices(PROBLEM_FIELDS, MEASURE_FIELDS)


def ledger_plan(path, *, inspection_round):
    """Read the file at ``path`` and plan its import into ``inspection_round`` (nothing is written).

    Headers the office mapped in an earlier preview are read as it said (``mapping``)."""
    sheets, remapped = columns_mapped(
        workbook_read(path), problem_fields=PROBLEM_FIELDS, measure_fields=MEASURE_FIELDS, key=header_key
    )
    planner = LedgerPlanner(inspection_round)
    planner.plan.remapped = remapped
    plan = planner.build(sheets)
    _reimport_notes(plan, planner.measures)
    return plan


def _reimport_notes(plan, measures_in_ledger):
    """What a re-import leaves out and what it moves, for the preview.

    A measure in the ledger under a problem the file has measures for, but not in the file, is
    listed and kept (a file that lists a problem's measures is not taken to withdraw the others).
    A claimed measure whose due date the file changes is listed: its unit planned its work by the
    old date.
    """
    in_file = {(draft.problem_code, draft.code) for draft in plan.measures}
    problems_in_file = {problem_code for problem_code, _code in in_file}
    plan.missing_measures = [
        measure for key, measure in measures_in_ledger.items() if key[0] in problems_in_file and key not in in_file
    ]
    plan.missing_measures.sort(key=lambda m: (m.problem.seq, m.problem.code, m.seq, m.code))
    plan.moved_due_dates = [
        (draft.existing, draft.existing.due_date, draft.values["due_date"])
        for draft in plan.measures
        if draft.existing is not None
        and "due_date" in draft.values
        and draft.existing.claim_state == Measure.ClaimState.CLAIMED
    ]
