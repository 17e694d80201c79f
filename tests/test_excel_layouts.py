"""Ledgers laid out the way district offices circulate them are read as they are (issue 17).

Every workbook here is a real .xlsx written with openpyxl, with merged cells where an office
merges them. Each layout holds the same ledger (two aspects, three problems, five measures),
numbered with 序号 and without code columns; after the preview (``ledger_plan``) and the confirm
(``ledger_import``) the round's ledger is compared field by field with ``EXPECTED``.
"""

import datetime

import pytest
from django.urls import reverse
from openpyxl import Workbook

from accounts.models import AuditEvent
from rectification import services
from rectification.excel import exports
from rectification.excel.imports import ImportRefused, ledger_plan
from rectification.models import DeadlineCategory, Measure, Problem
from rectification.services.ledger_import import ledger_import

from .test_excel_views import XLSX, _token, private_media  # noqa: F401  (the fixture keeps uploads private)

A1 = "贯彻落实党中央决策部署方面"
A2 = "作风建设方面"
P1, P2, P3 = "公务用车管理不规范", "会议文件过多", "违规吃喝问题禁而未绝"
D = datetime.date
BY_DATE = DeadlineCategory.BY_DATE

# code: (aspect, title, 具体表现, 牵头领导, 责任领导, 牵头单位, 责任单位, (时限类别, 整改时限), measures)
# measure: (code, text, kind, owner unit, due date, 完成后长期坚持)
EXPECTED = {
    "1.1": (
        A1,
        P1,
        ["某局以维修名义报销私车费用", "超编制配备车辆"],
        "王牵头",
        {"李其他"},
        "牵头局",
        {"责任局", "牵头局"},
        (BY_DATE, D(2026, 11, 30)),
        [
            # 立行立改（2026年10月31日前）并长期坚持: a due date, kept up afterwards.
            ("1.1.1", "清理超编制车辆", Measure.Kind.IMMEDIATE, "责任局", D(2026, 10, 31), True),
            ("1.1.2", "出台公务用车管理办法", Measure.Kind.RULES, "牵头局", D(2026, 11, 30), False),
        ],
    ),
    "1.2": (
        A1,
        P2,
        ["全年发文超计划"],
        "王牵头",
        set(),
        "牵头局",
        {"协办镇"},
        (BY_DATE, D(2026, 11, 30)),
        [("1.2.1", "精简文件会议，开展专项整治", Measure.Kind.CAMPAIGN, "协办镇", D(2026, 11, 30), False)],
    ),
    "2.1": (
        A2,
        P3,
        ["个别单位公款吃喝"],
        "李其他",
        {"王牵头"},
        "责任局",
        {"责任局"},
        # A long-term measure runs to the report deadline, and the problem with it.
        (BY_DATE, D(2026, 12, 31)),
        [
            # 9月30日前完成并长期坚持; 长期坚持 alone is kept up after the report deadline.
            ("2.1.1", "开展警示教育", Measure.Kind.EDUCATION, "责任局", D(2026, 9, 30), True),
            ("2.1.2", "对违规人员严肃追责问责", Measure.Kind.ACCOUNTABILITY, "责任局", D(2026, 12, 31), True),
        ],
    ),
}

# The ledger row by row: (aspect heading or None, problem cells or None when merged/continued, measure).
# problem cells: (序号, title, 具体表现, 牵头领导, 责任领导, 牵头单位); measure: (text, owner, deadline as written)
ROWS = [
    ("一、" + A1, None, None),
    (
        None,
        (1, P1, "1.某局以维修名义报销私车费用\n2.超编制配备车辆", "王牵头", "李其他", "牵头局"),
        ("清理超编制车辆", "责任局", "立行立改（2026年10月31日前）并长期坚持"),
    ),
    (None, None, ("出台公务用车管理办法", "牵头局", "2026年11月30日")),
    (None, (2, P2, "全年发文超计划", "王牵头", None, "牵头局"), ("精简文件会议，开展专项整治", "协办镇", "11月底")),
    ("二、" + A2, None, None),
    (
        None,
        (3, P3, "个别单位公款吃喝", "李其他", "王牵头", "责任局"),
        ("开展警示教育", "责任局", "9月30日前完成并长期坚持"),
    ),
    (None, None, ("对违规人员严肃追责问责", "责任局", "长期坚持")),
]


def snapshot(inspection_round):
    """The round's ledger in the shape of ``EXPECTED``."""
    result = {}
    for p in Problem.objects.filter(round=inspection_round).order_by("code"):
        result[p.code] = (
            p.aspect.title,
            p.title,
            [m.text for m in p.manifestations.order_by("seq")],
            p.lead_official.full_name,
            {u.full_name for u in p.responsible_leaders.all()},
            p.lead_unit.name,
            {u.name for u in p.responsible_units.all()},
            (p.deadline_category, p.due_date),
            [
                (m.code, m.text, m.kind, m.owner_unit.name, m.due_date, m.ongoing_after_due)
                for m in p.measures.select_related("owner_unit").order_by("code")
            ],
        )
    return result


def fresh_round(world, title="真实台账轮次"):
    return services.round_create(
        actor=world.office,
        title=title,
        inspection_team="省委第一巡视组",
        feedback_date=world.round.feedback_date,
        report_deadline=world.round.report_deadline,
        track_offices={track.kind: track.office_unit for track in world.round.tracks.all()},
    )


def save(workbook, path):
    workbook.save(path)
    workbook.close()
    return path


def put(sheet, row, values, first_column=1):
    for offset, value in enumerate(values):
        if value is not None:
            sheet.cell(row=row, column=first_column + offset, value=value)


def combined_merged(sheet, *, first_row=4, first_column=1, blank_rows=False):
    """Aspect rows merged across the width, problem cells merged down across their measures.

    Columns: 序号 反馈问题 具体问题 整改措施 牵头领导 责任领导 牵头单位 责任单位 完成时限."""
    row, width = first_row, 9
    start = None  # the first row of the current problem, for merging its cells down
    problem_columns = (0, 1, 2, 4, 5, 6)

    def close(last):
        if start is not None and last > start:
            for c in problem_columns:
                sheet.merge_cells(
                    start_row=start, end_row=last, start_column=first_column + c, end_column=first_column + c
                )

    for aspect, problem, measure in ROWS:
        if aspect is not None or problem is not None:
            close(row - 1 - (1 if blank_rows and start is not None else 0))
            start = None
        if aspect is not None:
            put(sheet, row, [aspect], first_column)
            sheet.merge_cells(
                start_row=row, end_row=row, start_column=first_column, end_column=first_column + width - 1
            )
            row += 2 if blank_rows else 1
            continue
        if problem is not None:
            number, title, shown, lead, leaders, unit = problem
            put(sheet, row, [number, title, shown, None, lead, leaders, unit], first_column)
            start = row
        text, owner, due = measure
        put(sheet, row, [None, None, None, text, None, None, None, owner, due], first_column)
        row += 1
    close(row - 1)


@pytest.mark.django_db
class TestLayoutsReadAsTheyAre:
    def _check(self, world, path, inspection_round, *, expected=EXPECTED):
        plan = ledger_plan(path, inspection_round=inspection_round)
        assert [str(e) for e in plan.errors] == []
        assert "按位置生成" in plan.layout
        ledger_import(actor=world.office, plan=plan)
        assert snapshot(inspection_round) == expected
        return plan

    def test_a_two_row_header_under_a_merged_title_with_a_group_header(self, world, tmp_path):
        workbook = Workbook()
        sheet = workbook.active
        sheet.title = "整改台账"
        put(sheet, 1, ["××区落实省委巡视反馈意见整改台账"])
        sheet.merge_cells("A1:I1")
        put(sheet, 2, ["序号", "反馈问题", "具体问题", "整改措施", "责任分工", None, None, None, "完成时限（年月日）"])
        put(sheet, 3, [None, None, None, None, "牵头领导", "责任领导（分管）", "牵头单位", "责任单位"])
        sheet.merge_cells("E2:H2")
        for column in "ABCDI":
            sheet.merge_cells(f"{column}2:{column}3")
        combined_merged(sheet)
        inspection_round = fresh_round(world)
        plan = self._check(world, save(workbook, tmp_path / "a.xlsx"), inspection_round)
        understood = {(letter, header): label for _sheet, letter, header, label in plan.columns}
        assert understood[("F", "责任领导（分管）")] == "责任领导"
        assert understood[("H", "责任单位")] == "责任单位"
        assert understood[("I", "完成时限（年月日）")] == "完成时限"
        # Aspects keep the order of their numbering; their titles lose the "一、".
        assert list(inspection_round.aspects.order_by("seq").values_list("title", flat=True)) == [A1, A2]

    def test_unnumbered_aspect_rows_and_problem_cells_repeated_on_each_row(self, world, tmp_path):
        workbook = Workbook()
        sheet = workbook.active
        sheet.append(
            ["序号", "问题", "具体表现", "整改措施", "牵头领导", "责任领导", "牵头单位", "责任单位", "整改时限"]
        )
        problem = None
        for aspect, cells, measure in ROWS:
            if aspect is not None:
                sheet.append([aspect.split("、", 1)[1]])
                sheet.merge_cells(start_row=sheet.max_row, end_row=sheet.max_row, start_column=1, end_column=9)
                continue
            problem = cells or problem
            number, title, shown, lead, leaders, unit = problem
            text, owner, due = measure
            sheet.append([number, title, shown, text, lead, leaders, unit, owner, due])
        self._check(world, save(workbook, tmp_path / "a.xlsx"), fresh_round(world))

    def test_separate_problem_and_measure_sheets_without_codes(self, world, tmp_path):
        workbook = Workbook()
        problems = workbook.active
        problems.title = "问题清单"
        problems.append(["序号", "反馈问题", "具体问题", "牵头领导", "责任领导", "牵头单位", "配合单位"])
        measures = workbook.create_sheet("任务清单")
        measures.append(["序号", "反馈问题", "整改措施", "责任单位", "时间节点"])
        owners = {P1: "责任局、牵头局", P2: "协办镇", P3: "责任局"}
        title, number = None, 0
        for aspect, cells, measure in ROWS:
            if aspect is not None:
                problems.append([aspect])
                measures.append([aspect])
                continue
            if cells is not None:
                _n, title, shown, lead, leaders, unit = cells
                problems.append([_n, title, shown, lead, leaders, unit, owners[title]])
                first = measures.max_row + 1
            number += 1
            text, owner, due = measure
            # The problem written once and merged down across its measures.
            measures.append([number, title if cells is not None else None, text, owner, due])
            if cells is None:
                measures.merge_cells(start_row=first, end_row=measures.max_row, start_column=2, end_column=2)
        plan = self._check(world, save(workbook, tmp_path / "a.xlsx"), fresh_round(world))
        assert plan.sheets == ["问题清单", "任务清单"]
        assert any(header == "时间节点" and label == "完成时限" for _s, _l, header, label in plan.columns)

    def test_blank_rows_and_columns_around_and_inside_the_table(self, world, tmp_path):
        workbook = Workbook()
        sheet = workbook.active
        put(sheet, 2, ["××区巡视整改台账"], first_column=3)
        headers = [
            "序号",
            "反馈问题",
            "具体问题",
            "整改措施",
            "牵头领导",
            "责任领导",
            "牵头单位",
            "责任单位",
            "完成时限",
        ]
        put(sheet, 4, headers, first_column=3)
        combined_merged(sheet, first_row=6, first_column=3, blank_rows=True)
        self._check(world, save(workbook, tmp_path / "a.xlsx"), fresh_round(world))

    def test_aspects_keep_their_numbering_in_the_codes(self, world, tmp_path):
        workbook = Workbook()
        sheet = workbook.active
        sheet.append(["序号", "反馈问题", "整改措施", "牵头领导", "牵头单位", "责任单位", "完成时限"])
        sheet.append(["三、选人用人方面"])
        sheet.append([1, "干部档案管理不规范", "全面审核干部档案", "王牵头", "牵头局", "责任局", "2026-10-31"])
        sheet.append(["（五）意识形态方面"])
        sheet.append([2, "阵地管理存在薄弱环节", "清理规范宣传阵地", "李其他", "责任局", "责任局", "2026-11-30"])
        inspection_round = fresh_round(world)
        plan = ledger_plan(save(workbook, tmp_path / "a.xlsx"), inspection_round=inspection_round)
        assert [str(e) for e in plan.errors] == []
        assert [(d.code, d.values["aspect"]) for d in plan.problems] == [
            ("3.1", "选人用人方面"),
            ("5.1", "意识形态方面"),
        ]
        assert [(d.problem_code, d.code) for d in plan.measures] == [("3.1", "3.1.1"), ("5.1", "5.1.1")]


@pytest.mark.django_db
class TestHiddenSheetsAndPreview:
    def test_a_hidden_sheet_is_named_in_the_preview_and_not_read(self, world, client, tmp_path):
        workbook = Workbook()
        sheet = workbook.active
        sheet.title = "整改台账"
        sheet.append(
            ["序号", "反馈问题", "具体问题", "整改措施", "牵头领导", "责任领导", "牵头单位", "责任单位", "完成时限"]
        )
        combined_merged(sheet, first_row=2)
        # An old draft, with codes and other content, hidden by the office: never read.
        old = workbook.create_sheet("旧版台账")
        old.append(["问题编号", "反馈问题", "整改措施", "牵头单位", "措施编号", "责任单位", "完成时限"])
        old.append(["9.9", "旧问题", "旧措施", "牵头局", "9.9.1", "责任局", "2026-10-31"])
        old.sheet_state = "hidden"
        path = save(workbook, tmp_path / "a.xlsx")
        inspection_round = fresh_round(world)
        client.force_login(world.office)
        with path.open("rb") as handle:
            response = client.post(
                reverse("rectification:excel:import_upload"), {"inspection_round": inspection_round.pk, "file": handle}
            )
        page = response.content.decode()
        assert response.status_code == 200
        assert "工作表“旧版台账”：这是隐藏的工作表，未读取" in page
        assert "各列识别为" in page and "没有编号列，问题和措施编号按位置生成" in page
        confirmed = client.post(reverse("rectification:excel:import_confirm"), {"token": _token(response)})
        assert confirmed.status_code == 302
        assert snapshot(inspection_round) == EXPECTED

    def test_a_ledger_only_in_a_hidden_sheet_is_said_to_be_hidden(self, world, tmp_path):
        workbook = Workbook()
        workbook.active.append(["填表说明"])
        hidden = workbook.create_sheet("整改台账")
        hidden.append(["序号", "反馈问题", "整改措施", "牵头单位", "责任单位", "完成时限"])
        hidden.append([1, "问题", "措施", "牵头局", "责任局", "2026-10-31"])
        hidden.sheet_state = "hidden"
        plan = ledger_plan(save(workbook, tmp_path / "a.xlsx"), inspection_round=fresh_round(world))
        assert [str(e) for e in plan.errors] == [
            "没有找到台账：可见的工作表中没有表头含“问题编号”“反馈问题”或“整改措施”的工作表；"
            "隐藏的工作表（“整改台账”）未读取，如台账在其中，请在 Excel 中取消隐藏后重新上传。"
        ]

    def test_an_outsider_cannot_preview_a_real_layout(self, world, client, tmp_path):
        workbook = Workbook()
        workbook.active.append(["序号", "反馈问题", "整改措施"])
        path = save(workbook, tmp_path / "a.xlsx")
        client.force_login(world.outsider)
        with path.open("rb") as handle:
            response = client.post(
                reverse("rectification:excel:import_upload"), {"inspection_round": world.round.pk, "file": handle}
            )
        assert response.status_code == 403


@pytest.mark.django_db
class TestOneWrongHeader:
    def _sheet(self, tmp_path, headers):
        workbook = Workbook()
        sheet = workbook.active
        sheet.title = "整改台账"
        sheet.append(["××区巡视整改台账"])
        sheet.append(headers)
        combined_merged(sheet, first_row=3)
        return save(workbook, tmp_path / "a.xlsx")

    def test_a_misspelt_problem_column_gives_one_message_naming_it(self, world, tmp_path):
        headers = [
            "序号",
            "反馈问提",
            "具体问题",
            "整改措施",
            "牵头领导",
            "责任领导",
            "牵头单位",
            "责任单位",
            "完成时限",
        ]
        inspection_round = fresh_round(world)
        plan = ledger_plan(self._sheet(tmp_path, headers), inspection_round=inspection_round)
        assert [str(e) for e in plan.errors] == [
            "工作表“整改台账”第2行：任务清单缺少“问题编号”或“反馈问题”列，无法确定措施属于哪个问题。"
            "未识别的表头：B列“反馈问提”。"
        ]

    def test_an_unknown_lead_unit_header_is_the_first_and_only_message(self, world, tmp_path):
        headers = [
            "序号",
            "反馈问题",
            "具体问题",
            "整改措施",
            "牵头领导",
            "责任领导",
            "主抓单位",
            "责任单位",
            "完成时限",
        ]
        inspection_round = fresh_round(world)
        plan = ledger_plan(self._sheet(tmp_path, headers), inspection_round=inspection_round)
        assert [str(e) for e in plan.errors] == [
            "工作表“整改台账”：缺少“牵头单位”列，无法新建问题“1.1”、问题“1.2”、问题“2.1”。"
            "未识别的表头：G列“主抓单位”，如其中一列就是“牵头单位”，请把表头改为“牵头单位”。"
        ]
        with pytest.raises(Exception, match="未保存任何数据"):
            ledger_import(actor=world.office, plan=plan)
        assert not Problem.objects.filter(round=inspection_round).exists()

    def test_an_unknown_deadline_header_is_named_once(self, world, tmp_path):
        headers = [
            "序号",
            "反馈问题",
            "具体问题",
            "整改措施",
            "牵头领导",
            "责任领导",
            "牵头单位",
            "责任单位",
            "完工日期",
        ]
        plan = ledger_plan(self._sheet(tmp_path, headers), inspection_round=fresh_round(world))
        assert [str(e) for e in plan.errors] == [
            "工作表“整改台账”：缺少“完成时限”列，无法新建措施“1.1.1”、措施“1.1.2”、措施“1.2.1”、措施“2.1.1”、措施“2.1.2”。"
            "未识别的表头：I列“完工日期”，如其中一列就是“完成时限”，请把表头改为“完成时限”。"
        ]


@pytest.mark.django_db
class TestReimportWithoutCodes:
    def _file(self, tmp_path, rows, name):
        workbook = Workbook()
        sheet = workbook.active
        sheet.append(
            ["序号", "反馈问题", "具体问题", "整改措施", "牵头领导", "责任领导", "牵头单位", "责任单位", "完成时限"]
        )
        problem = None
        for aspect, cells, measure in rows:
            if aspect is not None:
                sheet.append([aspect])
                continue
            problem = cells or problem
            number, title, shown, lead, leaders, unit = problem
            sheet.append([number, title, shown, *measure[:1], lead, leaders, unit, *measure[1:]])
        return save(workbook, tmp_path / name)

    def test_the_same_ledger_again_changes_nothing(self, world, tmp_path):
        inspection_round = fresh_round(world)
        path = self._file(tmp_path, ROWS, "a.xlsx")
        ledger_import(actor=world.office, plan=ledger_plan(path, inspection_round=inspection_round))
        before = snapshot(inspection_round)
        assert before == EXPECTED
        events = AuditEvent.objects.count()
        plan = ledger_plan(path, inspection_round=inspection_round)
        assert plan.errors == []
        assert plan.summary() == {
            "problems_created": 0,
            "problems_updated": 0,
            "problems_unchanged": 3,
            "measures_created": 0,
            "measures_updated": 0,
            "measures_unchanged": 5,
            "aspects_created": 0,
        }
        assert ledger_import(actor=world.office, plan=plan) == {}
        assert snapshot(inspection_round) == before
        # Only the import itself is recorded.
        assert AuditEvent.objects.count() == events + 1

    def test_rows_inserted_keep_the_existing_items_matched_by_text(self, world, tmp_path):
        inspection_round = fresh_round(world)
        ledger_import(
            actor=world.office,
            plan=ledger_plan(self._file(tmp_path, ROWS, "a.xlsx"), inspection_round=inspection_round),
        )
        ids = {p.code: p.pk for p in Problem.objects.filter(round=inspection_round)}
        new_problem = (
            None,
            (1, "新增问题：办文办会效率不高", "会议时间过长", "王牵头", None, "牵头局"),
            ("压缩会议时长", "牵头局", "2026-10-15"),
        )
        new_measure = (None, None, ("建立公务用车台账", "责任局", "2026-10-20"))
        rows = [ROWS[0], new_problem, ROWS[1], new_measure, *ROWS[2:]]
        plan = ledger_plan(self._file(tmp_path, rows, "b.xlsx"), inspection_round=inspection_round)
        assert plan.errors == []
        summary = plan.summary()
        assert (summary["problems_created"], summary["problems_unchanged"]) == (1, 3)
        assert (summary["measures_created"], summary["measures_unchanged"]) == (2, 5)
        ledger_import(actor=world.office, plan=plan)
        after = snapshot(inspection_round)
        # The items already in the ledger keep their codes and rows; the new ones take the next numbers.
        assert {code: after[code] for code in EXPECTED} | {"1.1": None} == EXPECTED | {"1.1": None}
        assert [m[:2] for m in after["1.1"][8]] == [
            ("1.1.1", "清理超编制车辆"),
            ("1.1.2", "出台公务用车管理办法"),
            ("1.1.3", "建立公务用车台账"),
        ]
        assert after["1.3"][1] == "新增问题：办文办会效率不高"
        assert [m[:2] for m in after["1.3"][8]] == [("1.3.1", "压缩会议时长")]
        assert {p.code: p.pk for p in Problem.objects.filter(round=inspection_round) if p.code in ids} == ids

    def test_titles_numbered_in_front_are_the_same_items_after_renumbering(self, world, tmp_path):
        def numbered(rows, first):
            result, n = [], first
            for aspect, cells, measure in rows:
                if cells is not None:
                    cells = (cells[0], f"{n}.{cells[1]}", *cells[2:])
                    n += 1
                result.append((aspect, cells, measure))
            return result

        inspection_round = fresh_round(world)
        ledger_import(
            actor=world.office,
            plan=ledger_plan(self._file(tmp_path, numbered(ROWS, 1), "a.xlsx"), inspection_round=inspection_round),
        )
        # Stored without the number written in front: the code is the number.
        assert snapshot(inspection_round) == EXPECTED
        inserted = (
            None,
            (1, "办文办会效率不高", "会议时间过长", "王牵头", None, "牵头局"),
            ("压缩会议时长", "牵头局", "2026-10-15"),
        )
        plan = ledger_plan(
            self._file(tmp_path, numbered([ROWS[0], inserted, *ROWS[1:]], 1), "b.xlsx"),
            inspection_round=inspection_round,
        )
        assert plan.errors == []
        assert [(d.code, d.action) for d in plan.problems] == [
            ("1.3", "create"),
            ("1.1", "unchanged"),
            ("1.2", "unchanged"),
            ("2.1", "unchanged"),
        ]


@pytest.mark.django_db
class TestMeasureCellsMerged:
    def test_a_unit_and_deadline_merged_across_a_problems_measures_belong_to_each(self, world, tmp_path):
        workbook = Workbook()
        sheet = workbook.active
        sheet.append(["序号", "反馈问题", "整改措施", "牵头领导", "牵头单位", "责任单位", "完成时限"])
        sheet.append(["一、作风建设方面"])
        sheet.merge_cells("A2:G2")
        sheet.append([1, "文山会海问题突出", "精简会议", "王牵头", "牵头局", "责任局", "2026-10-31"])
        sheet.append([None, None, "精简文件"])
        sheet.append([None, None, "建立发文计划制度"])
        for column in "ABDEFG":
            sheet.merge_cells(f"{column}3:{column}5")
        inspection_round = fresh_round(world)
        plan = ledger_plan(save(workbook, tmp_path / "a.xlsx"), inspection_round=inspection_round)
        assert [str(e) for e in plan.errors] == []
        ledger_import(actor=world.office, plan=plan)
        assert snapshot(inspection_round) == {
            "1.1": (
                "作风建设方面",
                "文山会海问题突出",
                [],
                "王牵头",
                set(),
                "牵头局",
                {"责任局"},
                (BY_DATE, D(2026, 10, 31)),
                [
                    ("1.1.1", "精简会议", Measure.Kind.IMMEDIATE, "责任局", D(2026, 10, 31), False),
                    ("1.1.2", "精简文件", Measure.Kind.IMMEDIATE, "责任局", D(2026, 10, 31), False),
                    ("1.1.3", "建立发文计划制度", Measure.Kind.RULES, "责任局", D(2026, 10, 31), False),
                ],
            )
        }

    def test_a_blank_unit_that_is_not_merged_is_still_refused_with_its_place(self, world, tmp_path):
        workbook = Workbook()
        sheet = workbook.active
        sheet.append(["序号", "反馈问题", "整改措施", "牵头领导", "牵头单位", "责任单位", "完成时限"])
        sheet.append(["一、作风建设方面"])
        sheet.append([1, "文山会海问题突出", "精简会议", "王牵头", "牵头局", "责任局", "2026-10-31"])
        sheet.append([None, None, "精简文件", None, None, None, "2026-10-31"])
        plan = ledger_plan(save(workbook, tmp_path / "a.xlsx"), inspection_round=fresh_round(world))
        assert [str(e) for e in plan.errors] == ["工作表“Sheet”第4行F列（责任单位）：不能为空。"]

    def test_a_sheet_merging_beyond_the_cap_is_refused(self, world, tmp_path, monkeypatch):
        monkeypatch.setattr("rectification.excel.reading.MAX_MERGED_FILL", 3)
        workbook = Workbook()
        sheet = workbook.active
        sheet.title = "台账"
        sheet.append(["序号", "反馈问题", "整改措施"])
        for n in range(6):
            sheet.append([1 if n == 0 else None, "问题" if n == 0 else None, f"措施{n}"])
        sheet.merge_cells("A2:B7")
        with pytest.raises(ImportRefused, match="工作表“台账”的合并单元格过多"):
            ledger_plan(save(workbook, tmp_path / "a.xlsx"), inspection_round=fresh_round(world))


@pytest.mark.django_db
class TestRoundTripOfARealLayout:
    def test_the_export_of_an_imported_real_ledger_reimports_with_zero_differences(self, world, tmp_path):
        workbook = Workbook()
        sheet = workbook.active
        put(sheet, 1, ["××区巡视整改台账"])
        put(sheet, 2, ["序号", "反馈问题", "具体问题", "整改措施", "责任分工", None, None, None, "完成时限"])
        put(sheet, 3, [None, None, None, None, "牵头领导", "责任领导", "牵头单位", "责任单位"])
        combined_merged(sheet)
        inspection_round = fresh_round(world)
        ledger_import(
            actor=world.office,
            plan=ledger_plan(save(workbook, tmp_path / "a.xlsx"), inspection_round=inspection_round),
        )
        exported = tmp_path / "exported.xlsx"
        exported.write_bytes(
            exports.ledger_export(
                user=world.office, inspection_round=inspection_round, today=world.round.feedback_date
            ).content
        )
        plan = ledger_plan(exported, inspection_round=inspection_round)
        assert [str(e) for e in plan.errors] == []
        assert {d.action for d in plan.problems} == {"unchanged"}
        assert {d.action for d in plan.measures} == {"unchanged"}
        assert len(plan.measures) == 5
        ledger_import(actor=world.office, plan=plan)
        assert snapshot(inspection_round) == EXPECTED


CODED_HEADERS = [
    "问题编号",
    "反馈问题",
    "具体问题",
    "措施编号",
    "整改措施",
    "牵头领导",
    "责任领导",
    "牵头单位",
    "责任单位",
    "完成时限",
]


def coded(rows, tmp_path, name):
    """``ROWS`` with 问题编号 and 措施编号 columns numbered from the position, as an office renumbers
    a ledger after inserting a row; the problem's cells written on each of its rows."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "整改台账"
    sheet.append(CODED_HEADERS)
    aspect_number = problem_number = measure_number = 0
    problem = code = None
    for aspect, cells, measure in rows:
        if aspect is not None:
            aspect_number, problem_number = aspect_number + 1, 0
            sheet.append([aspect])
            continue
        if cells is not None:
            problem_number, measure_number, problem = problem_number + 1, 0, cells
            code = f"{aspect_number}.{problem_number}"
        measure_number += 1
        _n, title, shown, lead, leaders, unit = problem
        text, owner, due = measure
        sheet.append([code, title, shown, f"{code}.{measure_number}", text, lead, leaders, unit, owner, due])
    return save(workbook, tmp_path / name)


@pytest.mark.django_db
class TestReimportWithShiftedCodes:
    """A ledger with code columns, re-imported after a measure was inserted in the middle (and the
    codes after it renumbered) and another removed (the one after it moving up)."""

    def test_shifted_codes_are_matched_by_text_and_the_removed_measure_is_withdrawn(self, world, tmp_path):
        inspection_round = fresh_round(world)
        ledger_import(
            actor=world.office,
            plan=ledger_plan(coded(ROWS, tmp_path, "a.xlsx"), inspection_round=inspection_round),
        )
        assert snapshot(inspection_round) == EXPECTED
        ids = dict(Measure.objects.filter(problem__round=inspection_round).values_list("code", "id"))
        inserted = (None, None, ("建立公务用车使用台账", "责任局", "10月20日前完成并长期坚持"))
        # 2.1.1 (开展警示教育) removed: 对违规人员严肃追责问责 is written as 2.1.1 now.
        rows = [*ROWS[:2], inserted, *ROWS[2:5], (None, ROWS[5][1], ROWS[6][2])]
        plan = ledger_plan(coded(rows, tmp_path, "b.xlsx"), inspection_round=inspection_round)
        assert [str(e) for e in plan.errors] == []
        warnings = [str(w) for w in plan.warnings]
        assert (
            "工作表“整改台账”：检测到编号整体错位，已按内容匹配（问题“1.1”）："
            "第4行（编号“1.1.2”）为新措施，编号改为“1.1.3”；第5行（编号“1.1.3”）按内容为已有措施“1.1.2”。"
        ) in warnings
        assert (
            "工作表“整改台账”：检测到编号整体错位，已按内容匹配（问题“2.1”）：第8行（编号“2.1.1”）按内容为已有措施“2.1.2”。"
        ) in warnings
        assert [(d.code, d.action) for d in plan.measures] == [
            ("1.1.1", "unchanged"),
            ("1.1.3", "create"),
            ("1.1.2", "unchanged"),
            ("1.2.1", "unchanged"),
            ("2.1.2", "unchanged"),
        ]
        # Its one measure left is 长期坚持, and so is the problem now (its deadline is taken from its measures).
        assert [(d.code, [(c.label, c.old, c.new) for c in d.changes]) for d in plan.problems] == [
            ("1.1", []),
            ("1.2", []),
            ("2.1", [("整改时限类别", "限期整改", "长期坚持"), ("整改时限", "2026-12-31", "（空）")]),
        ]
        [removed] = plan.missing_measures
        assert (removed.code, removed.text) == ("2.1.1", "开展警示教育")
        assert ledger_import(actor=world.office, plan=plan, withdraw=[removed]) == {
            "problems_updated": 1,
            "measures_created": 1,
            "measures_withdrawn": 1,
        }
        expected = dict(EXPECTED)
        p1, p3 = list(EXPECTED["1.1"]), list(EXPECTED["2.1"])
        p1[8] = [
            *EXPECTED["1.1"][8],
            ("1.1.3", "建立公务用车使用台账", Measure.Kind.IMMEDIATE, "责任局", D(2026, 10, 20), True),
        ]
        p3[7], p3[8] = (DeadlineCategory.LONG_TERM, None), [EXPECTED["2.1"][8][1]]
        expected["1.1"], expected["2.1"] = tuple(p1), tuple(p3)
        assert snapshot(inspection_round) == expected
        # The measures in the ledger are the same rows as before, under their codes.
        after = dict(Measure.objects.filter(problem__round=inspection_round).values_list("code", "id"))
        assert after == {code: pk for code, pk in ids.items() if code != "2.1.1"} | {"1.1.3": after["1.1.3"]}
        # Read again, the file changes nothing more.
        again = ledger_plan(coded(rows, tmp_path, "b.xlsx"), inspection_round=inspection_round)
        assert {d.action for d in again.measures} == {"unchanged"} and again.missing_measures == []

    def test_an_inserted_problem_shifting_the_codes_is_matched_by_title(self, world, tmp_path):
        inspection_round = fresh_round(world)
        ledger_import(
            actor=world.office,
            plan=ledger_plan(coded(ROWS, tmp_path, "a.xlsx"), inspection_round=inspection_round),
        )
        ids = dict(Problem.objects.filter(round=inspection_round).values_list("code", "id"))
        inserted = (
            None,
            (2, "公款旅游", "借考察名义旅游", "王牵头", None, "牵头局"),
            ("清退旅游费用", "责任局", "10月31日"),
        )
        # 会议文件过多 and its measure are written 1.3 and 1.3.1 now, in the one sheet.
        rows = [*ROWS[:3], inserted, *ROWS[3:]]
        plan = ledger_plan(coded(rows, tmp_path, "b.xlsx"), inspection_round=inspection_round)
        assert [str(e) for e in plan.errors] == []
        assert (
            "工作表“整改台账”：检测到问题编号整体错位，已按反馈问题的内容匹配：第5行（问题编号“1.2”）为新问题，"
            "编号改为“1.3”；第6行（问题编号“1.3”）按内容为已有问题“1.2”；这些问题的措施随问题一并调整编号。"
        ) in [str(w) for w in plan.warnings]
        assert [(d.code, d.action) for d in plan.problems] == [
            ("1.1", "unchanged"),
            ("1.3", "create"),
            ("1.2", "unchanged"),
            ("2.1", "unchanged"),
        ]
        assert [(d.code, d.action) for d in plan.measures] == [
            ("1.1.1", "unchanged"),
            ("1.1.2", "unchanged"),
            ("1.3.1", "create"),
            ("1.2.1", "unchanged"),
            ("2.1.1", "unchanged"),
            ("2.1.2", "unchanged"),
        ]
        assert ledger_import(actor=world.office, plan=plan) == {"problems_created": 1, "measures_created": 1}
        assert snapshot(inspection_round) == EXPECTED | {
            "1.3": (
                A1,
                "公款旅游",
                ["借考察名义旅游"],
                "王牵头",
                set(),
                "牵头局",
                {"责任局"},
                (BY_DATE, D(2026, 10, 31)),
                [("1.3.1", "清退旅游费用", Measure.Kind.RECOVERY, "责任局", D(2026, 10, 31), False)],
            )
        }
        after = dict(Problem.objects.filter(round=inspection_round).values_list("code", "id"))
        assert after == ids | {"1.3": after["1.3"]}
        again = ledger_plan(coded(rows, tmp_path, "b.xlsx"), inspection_round=inspection_round)
        assert {d.action for d in again.problems} | {d.action for d in again.measures} == {"unchanged"}
        assert again.missing_measures == []
