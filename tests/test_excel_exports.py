"""The exports, opened with openpyxl: layout, content, and only what the requester may see."""

import datetime
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from openpyxl import load_workbook

from accounts.models import AuditEvent
from rectification import services
from rectification.excel import columns as cols
from rectification.excel import exports
from rectification.models import (
    AccountabilityRecord,
    DeadlineCategory,
    PetitionClue,
    Problem,
    Recovery,
    RuleRecord,
    WorkActivity,
)

TODAY = datetime.date(2026, 11, 26)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def workbook(content):
    return load_workbook(io.BytesIO(content))


def data_rows(sheet):
    return list(sheet.iter_rows(min_row=3, values_only=True))


def by_header(sheet, header):
    headers = [cell.value for cell in sheet[2]]
    index = headers.index(header)
    return [row[index] for row in data_rows(sheet)]


def ledger(user, world):
    return workbook(exports.ledger_export(user=user, inspection_round=world.round, today=TODAY).content)


def problem_with_manifestations(world, **extra):
    """Problem 1.2, written over the three rows of its 具体表现 (rows 4 to 6 of 问题清单)."""
    return services.problem_create(
        actor=world.office,
        inspection_round=world.round,
        aspect=world.problem.aspect,
        track=world.problem.track,
        code="1.2",
        seq=2,
        title="会议过多",
        text="文山会海反弹。",
        problem_type=Problem.ProblemType.COMMON,
        deadline_category=DeadlineCategory.LONG_TERM,
        lead_official=world.other_leader,
        lead_unit=world.lead_unit,
        manifestations=["发文超计划", "会议超时", "督查过频"],
        **extra,
    )


@pytest.mark.django_db
class TestLedgerExport:
    def test_it_writes_the_three_lists_with_title_header_and_print_setup(self, world):
        book = ledger(world.office, world)
        assert book.sheetnames == ["问题清单", "任务清单", "责任清单"]
        for sheet, columns in zip(
            book, (cols.LEDGER_PROBLEM_COLUMNS, cols.LEDGER_MEASURE_COLUMNS, cols.LEDGER_PIVOT_COLUMNS), strict=True
        ):
            assert "测试轮次" in sheet["A1"].value and "导出日期：2026年11月26日" in sheet["A1"].value
            assert [cell.value for cell in sheet[2]] == [column.header for column in columns]
            assert sheet.freeze_panes in ("B3", "C3", "D3")
            assert sheet.page_setup.orientation == "landscape"
            assert str(sheet.page_setup.paperSize) == sheet.PAPERSIZE_A3
            # One page across, or (问题清单's twenty columns) pages across at a readable scale:
            # tests/test_excel_printing.py prints them.
            assert sheet.sheet_properties.pageSetUpPr.fitToPage or sheet.page_setup.scale >= 80
            assert sheet.print_title_rows == "$2:$2"
            assert sheet.column_dimensions["A"].width == columns[0].width
            assert sheet.column_dimensions["D"].width == columns[3].width
            assert sheet["A3"].alignment.wrap_text
        problems = book["问题清单"]
        assert problems["A3"].value == "1.1"
        assert problems["I3"].value == datetime.datetime(2026, 12, 31)
        assert problems["I3"].number_format == "yyyy-mm-dd"
        assert by_header(problems, "责任单位") == ["责任局"]
        assert by_header(problems, "验收标准") == ["1. 违规资金全部清退。"]
        assert by_header(book["任务清单"], "措施编号") == ["1.1.1", "1.1.2"]
        assert by_header(book["任务清单"], "责任单位") == ["责任局", "协办镇"]

    def test_it_merges_a_problems_cells_across_its_manifestations(self, world):
        problem_with_manifestations(world)
        sheet = ledger(world.office, world)["问题清单"]
        assert by_header(sheet, "具体表现")[1:] == ["发文超计划", "会议超时", "督查过频"]
        merged = {str(r) for r in sheet.merged_cells.ranges}
        assert {"A4:A6", "D4:D6", "J4:J6"} <= merged
        assert "F4:F6" not in merged
        assert sheet["A4"].value == "1.2" and sheet["A5"].value is None
        assert sheet["H4"].value == "长期坚持" and sheet["I4"].value is None

    def test_it_gives_a_unit_only_the_rows_it_may_see(self, world):
        world.make_problem("9.1", lead_unit=world.other_unit, measures=[world.other_unit])
        own = ledger(world.resp_staff, world)
        assert by_header(own["问题清单"], "问题编号") == ["1.1"]
        assert set(by_header(own["任务清单"], "问题编号")) == {"1.1"}
        assert "无关局" not in by_header(own["责任清单"], "牵头领导或单位")
        other = ledger(world.outsider, world)
        assert by_header(other["问题清单"], "问题编号") == ["9.1"]
        assert by_header(other["任务清单"], "措施编号") == ["9.1.1"]
        everything = [value for sheet in other for row in sheet.iter_rows(values_only=True) for value in row]
        assert not {"责任局", "协办镇", "违规发放津补贴"} & set(everything)

    def test_it_counts_by_lead_official_and_by_unit(self, world):
        rows = data_rows(ledger(world.office, world)["责任清单"])
        assert rows == [
            ("牵头领导", "王牵头", 1, 0, 0, 2, 0, 1),
            ("单位", "牵头局", 1, 0, 0, 0, 0, 0),
            ("单位", "责任局", 0, 0, 0, 1, 0, 0),
            ("单位", "协办镇", 0, 0, 0, 1, 0, 1),
        ]

    def test_it_builds_the_file_without_an_audit_row_and_the_download_records_the_person(self, world, client):
        export = exports.ledger_export(user=world.resp_staff, inspection_round=world.round, today=TODAY)
        assert not AuditEvent.objects.filter(action="excel.export_ledger").exists()
        assert (export.action, export.changes) == ("excel.export_ledger", {"problems": 1, "measures": 2})
        client.force_login(world.resp_staff)
        assert client.get(reverse("rectification:excel:ledger", args=[world.round.pk])).status_code == 200
        event = AuditEvent.objects.get(action="excel.export_ledger")
        assert (event.actor, event.target_id, event.changes) == (
            world.resp_staff,
            str(world.round.pk),
            {"problems": 1, "measures": 2},
        )


@pytest.mark.django_db
class TestLedgerLook:
    """What a user sees when the file opens: the styles, merges and text of the cells."""

    def _assert_body(self, cell, number_format):
        assert cell.number_format == number_format
        assert cell.alignment.vertical == "top" and cell.alignment.wrap_text
        sides = (cell.border.left, cell.border.right, cell.border.top, cell.border.bottom)
        assert {(side.style, side.color.rgb) for side in sides} == {("thin", "00999999")}
        assert not cell.font.b

    def test_it_styles_the_title_the_header_and_every_kind_of_body_cell(self, world):
        book = ledger(world.office, world)
        problems, measures = book["问题清单"], book["任务清单"]
        title, header = problems["A1"], problems["A2"]
        assert title.font.b and title.font.sz == 14 and title.alignment.vertical == "center"
        assert header.font.b and header.fill.fill_type == "solid" and header.fill.fgColor.rgb == "00E7E9EE"
        assert header.alignment.horizontal == "center" and header.alignment.wrap_text
        assert header.border.bottom.style == "thin"
        self._assert_body(problems["D3"], "@")
        assert problems["D3"].data_type == "s"
        self._assert_body(problems["I3"], "yyyy-mm-dd")
        self._assert_body(measures["N3"], "General")
        assert measures["N3"].data_type == "n"
        assert book["责任清单"]["C3"].value == 1 and book["责任清单"]["C3"].data_type == "n"

    def test_it_keeps_the_borders_of_the_cells_under_a_merged_cell(self, world):
        problem_with_manifestations(world)
        content = exports.ledger_export(user=world.office, inspection_round=world.round, today=TODAY).content
        assert "B4:B6" in {str(r) for r in workbook(content)["问题清单"].merged_cells.ranges}
        # Read as written: an ordinary workbook replaces the cells under a merge on loading.
        book = load_workbook(io.BytesIO(content), read_only=True)
        try:
            sheet = book["问题清单"]
            assert sheet["B5"].value is None
            self._assert_body(sheet["B5"], "@")
            self._assert_body(sheet["I6"], "yyyy-mm-dd")
        finally:
            book.close()

    def test_it_writes_markup_spaces_and_control_characters_as_plain_text(self, world):
        goal = '  先<清理>&再"建制"  '
        problem_with_manifestations(world, goal=goal + "\x07")
        sheet = ledger(world.office, world)["问题清单"]
        assert sheet["N4"].value == goal
        assert sheet["N4"].data_type == "s"

    def test_it_cuts_text_at_the_length_excel_allows(self, world):
        problem_with_manifestations(world, goal="长" * 40000)
        assert ledger(world.office, world)["问题清单"]["N4"].value == "长" * 32767


def _week_report(world, measure, staff, progress, percent=40):
    return services.report_save(
        actor=staff,
        measure=measure,
        iso_year=2026,
        iso_week=48,
        data={
            "progress_this_week": progress,
            "cumulative_state": "in_progress",
            "percent": percent,
            "next_week_plan": "下周继续推进",
            "difficulties": "",
        },
        lock_version=None,
    )


@pytest.mark.django_db
class TestWeeklyExport:
    @pytest.fixture(autouse=True)
    def tuesday(self):
        with time_machine.travel(datetime.datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI), tick=False):
            yield

    def _export(self, user, world):
        content = exports.weekly_export(
            user=user, inspection_round=world.round, iso_year=2026, iso_week=48, today=datetime.date(2026, 11, 24)
        ).content
        return workbook(content)["周进展表"]

    def test_it_writes_one_row_per_measure_with_the_latest_submitted_version(self, world):
        report = _week_report(world, world.resp_measure, world.resp_staff, "已完成清理，追回资金12万元")
        services.report_submit(actor=world.resp_staff, unit=world.resp_unit, iso_year=2026, iso_week=48)
        services.report_confirm(actor=world.resp_head, unit=world.resp_unit, iso_year=2026, iso_week=48)
        report.refresh_from_db()
        services.report_correct(
            actor=world.resp_staff,
            report=report,
            reason="金额有误",
            data={
                "progress_this_week": "已完成清理，追回资金15万元",
                "cumulative_state": "in_progress",
                "percent": 90,
                "next_week_plan": "申请销号",
                "difficulties": "",
            },
        )
        services.report_submit(actor=world.resp_staff, unit=world.resp_unit, iso_year=2026, iso_week=48)
        # The township only saved a draft: not reported yet.
        _week_report(world, world.coop_measure, world.coop_staff, "草稿，尚未提交")

        sheet = self._export(world.office, world)
        assert "2026年第48周（11月23日—11月29日）" in sheet["A1"].value
        assert by_header(sheet, "措施编号") == ["1.1.1", "1.1.2"]
        assert by_header(sheet, "报送情况") == ["已提交待确认", "未报"]
        assert by_header(sheet, "本周进展") == ["已完成清理，追回资金15万元", None]
        assert by_header(sheet, "版本") == [2, None]
        assert by_header(sheet, "更正原因") == ["金额有误", None]
        assert by_header(sheet, "完成百分比") == [90, None]
        assert by_header(sheet, "预期进度") == [99, 100]
        assert by_header(sheet, "是否滞后") == ["正常", None]
        assert sheet.freeze_panes == "C3"

    def test_it_flags_a_report_far_behind_the_expected_line(self, world):
        _week_report(world, world.resp_measure, world.resp_staff, "刚刚启动", percent=10)
        services.report_submit(actor=world.resp_staff, unit=world.resp_unit, iso_year=2026, iso_week=48)
        assert by_header(self._export(world.office, world), "是否滞后") == ["滞后", None]

    def test_it_gives_a_unit_only_the_measures_it_may_see(self, world):
        world.make_problem("9.1", lead_unit=world.other_unit, measures=[world.other_unit])
        assert by_header(self._export(world.resp_staff, world), "措施编号") == ["1.1.1", "1.1.2"]
        assert by_header(self._export(world.outsider, world), "措施编号") == ["9.1.1"]

    def test_it_records_the_week_in_the_audit_row_of_whoever_downloads_it(self, world, client):
        self._export(world.supervision, world)
        assert not AuditEvent.objects.filter(action="excel.export_weekly").exists()
        client.force_login(world.supervision)
        url = reverse("rectification:excel:weekly", args=[world.round.pk])
        assert client.get(url, {"week": "2026-W48"}).status_code == 200
        event = AuditEvent.objects.get(action="excel.export_weekly")
        assert event.actor == world.supervision
        assert event.changes == {"week": "2026-W48", "measures": 2, "reported": 0}


@pytest.mark.django_db
class TestStatisticsExport:
    @pytest.fixture
    def records(self, world):
        hidden = world.make_problem("9.1", lead_unit=world.other_unit, measures=[world.other_unit])
        decided = datetime.date(2026, 10, 20)
        for problem, kind, target in (
            (world.problem, AccountabilityRecord.Kind.PARTY_WARNING, AccountabilityRecord.Target.PERSON),
            (world.problem, AccountabilityRecord.Kind.GOV_DEMERIT, AccountabilityRecord.Target.PERSON),
            (hidden, AccountabilityRecord.Kind.ADMONITION, AccountabilityRecord.Target.PERSON),
            (hidden, AccountabilityRecord.Kind.FIRST_FORM_TALK, AccountabilityRecord.Target.UNIT),
        ):
            services.accountability_record_create(
                actor=world.supervision,
                problem=problem,
                target=target,
                person_name="某某",
                kind=kind,
                case_filed=kind == AccountabilityRecord.Kind.PARTY_WARNING,
                is_accountability=True,
                decided_on=decided,
            )
        services.recovery_create(
            actor=world.supervision,
            problem=world.problem,
            kind=Recovery.Kind.FUNDS_RETURNED,
            amount_wan=Decimal("12.50"),
            recorded_on=decided,
        )
        services.recovery_create(
            actor=world.supervision,
            problem=hidden,
            kind=Recovery.Kind.LOSS_RECOVERED,
            amount_wan=Decimal("3.25"),
            recorded_on=decided,
        )
        services.rule_record_create(
            actor=world.supervision,
            problem=world.problem,
            title="津补贴发放管理办法",
            doc_number="区财〔2026〕8号",
            issued_on=decided,
            change=RuleRecord.Change.NEW,
            issuing_unit=world.lead_unit,
        )
        services.rule_record_create(
            actor=world.supervision,
            problem=hidden,
            title="旧办法",
            doc_number="区办〔2019〕3号",
            issued_on=decided,
            change=RuleRecord.Change.ABOLISHED,
            issuing_unit=world.other_unit,
        )
        for code, closed in (("X1", decided), ("X2", None)):
            services.petition_clue_create(
                actor=world.office,
                inspection_round=world.round,
                kind=PetitionClue.Kind.PETITION,
                code=code,
                summary="反映违规发放补贴",
                handling_unit=world.lead_unit,
                received_on=decided,
                closed_on=closed,
                case_filed=code == "X1",
            )
        services.campaign_create(
            actor=world.office, inspection_round=world.round, name="津补贴专项整治", lead_unit=world.lead_unit
        )
        # Created directly: entering them through the pages and services is tested in test_records.
        for kind in (WorkActivity.Kind.MEETING, WorkActivity.Kind.DISPATCH_MEETING, WorkActivity.Kind.DISPATCH_MEETING):
            WorkActivity.objects.create(
                round=world.round, kind=kind, title="调度", held_on=decided, entered_by=world.office
            )

    def _values(self, user, world):
        content = exports.statistics_export(user=user, inspection_round=world.round, today=TODAY).content
        sheet = workbook(content)["整改统计"]
        assert [cell.value for cell in sheet[2]] == ["类别", "指标", "数值", "单位"]
        return {(row[0], row[1]): row[2] for row in data_rows(sheet)}

    def test_it_counts_everything_for_the_provincial_team(self, world, records):
        values = self._values(world.provincial, world)
        assert values[("问题整改情况", "问题总数")] == 2
        assert values[("措施整改情况", "措施总数")] == 3
        assert values[("措施整改情况", "完成率（已销号数/总数）")] == 0
        assert values[("党纪处分", "警告")] == 1
        assert values[("政务处分", "记过")] == 1
        assert values[("政务处分", "小计")] == 1
        assert values[("诫勉", "诫勉")] == 1
        assert values[("第一种形态处置", "谈话提醒")] == 1
        assert values[("问责情况", "问责个人")] == 3
        assert values[("问责情况", "问责单位")] == 1
        assert values[("立案情况", "追责问责中立案")] == 1
        assert values[("立案情况", "信访件和问题线索中立案")] == 1
        assert values[("立案情况", "立案合计")] == 2
        assert values[("信访件和问题线索", "收到信访件")] == 2
        assert values[("信访件和问题线索", "信访件已办结")] == 1
        assert values[("建章立制", "新建制度")] == 1
        assert values[("建章立制", "废止制度")] == 1
        assert values[("挽回经济损失、追缴和清退资金", "清退资金")] == 12.5
        assert values[("挽回经济损失、追缴和清退资金", "合计")] == 15.75
        assert values[("专项整治", "开展专项整治")] == 1
        assert values[("会议和督导", "召开或开展调度会")] == 2

    def test_it_counts_for_others_only_records_of_problems_they_see(self, world, records):
        values = self._values(world.resp_staff, world)
        assert values[("问题整改情况", "问题总数")] == 1
        assert values[("问责情况", "问责个人")] == 2
        assert values[("诫勉", "诫勉")] == 0
        assert values[("建章立制", "废止制度")] == 0
        assert values[("挽回经济损失、追缴和清退资金", "合计")] == 12.5
        assert values[("专项整治", "开展专项整治")] == 0
        assert not any(section in ("信访件和问题线索", "会议和督导") for section, _item in values)
        assert "仅限您有权查看" in next(item for section, item in values if section == "统计范围")

    def test_it_counts_items_fixed_at_once_and_previous_round_items(self, world):
        values = self._values(world.office, world)
        assert values[("立行立改", "立行立改措施数")] == 1
        assert values[("上轮巡视未整改到位问题", "本轮反馈的上轮未整改到位问题数")] == 0
        assert not AuditEvent.objects.filter(action="excel.export_statistics").exists()


@pytest.mark.django_db
class TestUnitTaskExport:
    def test_it_lists_only_the_units_own_measures(self, world, client):
        content = exports.unit_tasks_export(
            user=world.resp_staff, inspection_round=world.round, unit=world.resp_unit, today=TODAY
        ).content
        sheet = workbook(content)["单位任务清单"]
        assert "责任局整改任务清单" in sheet["A1"].value
        assert by_header(sheet, "措施编号") == ["1.1.1"]
        assert by_header(sheet, "剩余时间") == ["剩余4天"]
        assert by_header(sheet, "预警") == ["临期"]
        everything = {value for row in sheet.iter_rows(values_only=True) for value in row}
        assert "镇街自查自纠" not in everything
        assert not AuditEvent.objects.filter(action="excel.export_unit_tasks").exists()
        client.force_login(world.resp_staff)
        url = reverse("rectification:excel:unit_tasks", args=[world.round.pk, world.resp_unit.pk])
        assert client.get(url).status_code == 200
        event = AuditEvent.objects.get(action="excel.export_unit_tasks")
        assert (event.actor, event.changes) == (world.resp_staff, {"unit": "责任局", "measures": 1})


@pytest.mark.django_db
class TestLedgerLoading:
    def test_it_reads_every_column_of_a_full_problem_with_its_rows(self, world, django_assert_num_queries):
        campaign = services.campaign_create(
            actor=world.office, inspection_round=world.round, name="津补贴专项整治", lead_unit=world.lead_unit
        )
        problem_with_manifestations(
            world,
            campaign=campaign,
            previous_problem=world.problem,
            goal="会议总量压减三成",
            due_date=TODAY,
            responsible_leaders=[world.leader],
            responsible_units=[world.resp_unit, world.coop_unit],
            criteria=["发文数量下降"],
            is_secretary_led=True,
        )
        # The problems, the six kinds of row they point to (aspect, track, lead official, lead unit,
        # campaign, previous problem) and their four lists; the measures, their problems and units
        # and their milestones: none per problem or measure (and no audit row: the builder hands
        # the file to nobody).
        with django_assert_num_queries(15):
            content = exports.ledger_export(user=world.office, inspection_round=world.round, today=TODAY).content
        problems = workbook(content)["问题清单"]
        assert problems["P4"].value == "津补贴专项整治" and problems["Q4"].value == "1.1"
        assert problems["K4"].value == "王牵头" and problems["M4"].value == "责任局、协办镇"

    def test_a_problem_given_another_lead_official_as_the_ledger_is_read_shows_the_new_one(self, world, monkeypatch):
        second = world.make_problem("1.2", measures=[world.resp_unit])
        read_once = exports._related_once

        def then_reassigned(*args, **kwargs):
            # Between reading the rows the problems point to and reading the problems themselves.
            related = read_once(*args, **kwargs)
            Problem.objects.filter(pk=second.pk).update(lead_official=world.other_leader)
            return related

        monkeypatch.setattr(exports, "_related_once", then_reassigned)
        problems = list(exports.ledger_problems(user=world.office, inspection_round=world.round))
        assert [p.code for p in problems] == ["1.1", "1.2"]
        assert problems[1].lead_official.full_name == world.other_leader.full_name


LEDGER_QUERIES = {
    # Session, user, roles, the round (among the visible ones), problems, the six kinds of row
    # they point to and their four lists (responsible leaders, responsible units, manifestations,
    # criteria), measures, their problems and units, milestones, then the audit row (the head of
    # the audit chain, the insert), plus the count that decides whether the export goes to the
    # background. Guardian's grants are subqueries inside the main queries, so a unit costs what
    # the office costs.
    "office": 22,
    "resp_staff": 22,
}


@pytest.mark.django_db
class TestLedgerExportQueries:
    @pytest.mark.parametrize("actor", ["office", "resp_staff"])
    def test_it_runs_the_same_number_of_queries_for_few_and_many_measures(
        self, world, client, django_assert_num_queries, actor
    ):
        client.force_login(getattr(world, actor))
        url = reverse("rectification:excel:ledger", args=[world.round.pk])
        client.get(url)  # warm the content-type cache
        with django_assert_num_queries(LEDGER_QUERIES[actor]):
            assert client.get(url).status_code == 200
        for n in range(12):
            world.make_problem(
                f"5.{n}",
                responsible_units=[world.resp_unit],
                measures=[world.resp_unit, world.coop_unit, world.lead_unit],
            )
        with django_assert_num_queries(LEDGER_QUERIES[actor]):
            response = client.get(url)
        assert len(data_rows(workbook(response.content)["任务清单"])) == 2 + 36
