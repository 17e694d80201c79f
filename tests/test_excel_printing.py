"""Exported ledgers print whole: rendered to PDF by LibreOffice headless and read back with pdftotext.

The workbook is converted as an office would print it (A3 landscape, the page setup the export
writes), and every measure's full text, the problem's merged text and the page footer must be in
the PDF. The first pages are kept as PNG files under test-artifacts/ to be looked at.
"""

import datetime
import io
import re
import subprocess
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from rectification import services
from rectification.excel import columns as cols
from rectification.excel import exports
from rectification.excel.workbook import MAX_ROW_HEIGHT, PRINT_SCALES, text_lines, text_width
from rectification.models import DeadlineCategory, Measure, Problem

from .conftest import DEADLINE, FEEDBACK
from .e2e import ARTIFACTS

TODAY = datetime.date(2026, 11, 26)

SENTENCE = (
    "针对干部队伍建设中存在的突出问题，全面梳理近三年来选人用人工作情况，逐项对照干部选拔任用工作条例查找差距，"
    "建立问题清单、任务清单和责任清单，明确整改时限和责任人，确保整改到位、取得实效。"
)


def measure_text(index):
    """Texts of different lengths and kinds: one line, a long paragraph, numbered lines, Latin and digits."""
    texts = [
        f"第{index}项：立即停止违规发放。",
        f"第{index}项：{SENTENCE}",
        f"第{index}项：{SENTENCE * 3}",
        f"第{index}项：\n1. 制定《公务接待管理办法》，2026年10月底前印发。\n2. 开展专项检查，覆盖全部38个部门。\n"
        "3. 建立月度通报制度，通报结果纳入年度考核。",
        f"第{index}项：完成OA系统（version 2.3）权限清理，整改账户 1,024 个，形成 report-2026-11 报告。{SENTENCE}",
    ]
    return texts[index % len(texts)]


def soffice_pdf(content, directory):
    """The workbook as LibreOffice headless prints it, with a profile of its own (tests run in parallel)."""
    source = directory / "ledger.xlsx"
    source.write_bytes(content)
    profile = (directory / "profile").as_uri()
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation={profile}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(directory),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    return directory / "ledger.pdf"


def page_count(pdf):
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE)[1])


def words_by_page(pdf):
    """Each page's words as (x_min, y_min, x_max, text), from ``pdftotext -bbox``."""
    html = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    word = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)"[^>]*>([^<]*)</word>')
    return [
        [(float(x_min), float(y_min), float(x_max), text) for x_min, y_min, x_max, text in word.findall(page)]
        for page in html.split("<page ")[1:]
    ]


def printed(text, pages, *, header):
    """Whether ``text`` is printed whole in the column headed ``header`` on some page.

    The cell's text starts at the column's left (x0, where the first word of ``text`` is) and
    the header is centred in the column, so the column ends as far right of the header's
    centre as it starts left of it. The words inside, top to bottom, are the column's text.
    """
    wanted = re.sub(r"\s+", "", text).replace("&", "&amp;")
    for words in pages:
        headers = [(x_min + x_max) / 2 for x_min, _y, x_max, found in words if found == header]
        starts = [x_min for x_min, _y, _x_max, found in words if found and wanted.startswith(found[:4])]
        for centre in headers:
            for x0 in starts:
                right = 2 * centre - x0 + 2
                inside = sorted(
                    (y, x_min, found) for x_min, y, x_max, found in words if x0 - 1 <= x_min and x_max <= right
                )
                if wanted in "".join(found for _y, _x, found in inside):
                    return True
    return False


def keep_first_page(pdf, name):
    """A PNG of the PDF's first page under test-artifacts/, to be looked at."""
    ARTIFACTS.mkdir(exist_ok=True)
    stem = ARTIFACTS / name
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(stem)], check=True
    )
    return Path(f"{stem}.png")


@pytest.fixture
def long_ledger(world):
    """The world's ledger with a problem of long merged texts over four 具体表现, and twenty measures."""
    problem = services.problem_create(
        actor=world.office,
        inspection_round=world.round,
        aspect=world.problem.aspect,
        track=world.problem.track,
        code="1.2",
        seq=2,
        title="选人用人工作不规范，干部队伍建设存在短板弱项",
        text="反馈原文开头。" + SENTENCE * 6 + "反馈原文结尾。",
        problem_type=Problem.ProblemType.SPECIFIC,
        deadline_category=DeadlineCategory.BY_DATE,
        due_date=DEADLINE,
        lead_official=world.leader,
        lead_unit=world.lead_unit,
        responsible_units=[world.resp_unit, world.coop_unit],
        goal="整改目标：" + SENTENCE * 2,
        manifestations=["表现一：动议环节把关不严。", "表现二：考察不深入。", "表现三：档案审核不细。", "表现四"],
        criteria=["制度全部建立。", "问题全部整改。", SENTENCE],
    )
    for index in range(1, 21):
        services.measure_create(
            actor=world.office,
            problem=problem,
            code=f"1.2.{index}",
            seq=index,
            text=measure_text(index),
            kind=Measure.Kind.RULES,
            owner_unit=world.resp_unit,
            start_date=FEEDBACK,
            due_date=DEADLINE,
            expected_deliverable="印发制度文件，形成整改报告并报区委巡视整改办备案。",
        )
    return problem


def export_ledger(world):
    return exports.ledger_export(user=world.office, inspection_round=world.round, today=TODAY).content


class TestTextWidth:
    def test_it_counts_a_chinese_character_as_two(self):
        assert text_width("整改") == 4
        assert text_width("OA 2.3") == 6
        assert text_width("，。") == 4

    def test_it_counts_the_lines_a_column_wraps_to(self):
        assert text_lines("整改", 10) == 1
        # Forty characters are eighty units: three lines of a column of 30.
        assert text_lines("整" * 40, 30) == 3
        assert text_lines("一\n二\n三", 30) == 3


@pytest.mark.django_db
class TestPrintSetup:
    def test_it_sets_row_heights_print_titles_footer_and_filter(self, world, long_ledger):
        book = load_workbook(io.BytesIO(export_ledger(world)))
        problems, measures = book["问题清单"], book["任务清单"]
        for sheet in book:
            assert sheet.print_title_rows == "$2:$2"
            assert sheet.oddFooter.center.text == "第 &P 页 共 &N 页"
            assert sheet.auto_filter.ref == f"A2:{sheet.cell(2, sheet.max_column).column_letter}{sheet.max_row}"
            assert sheet.page_setup.orientation == "landscape"
            assert str(sheet.page_setup.paperSize) == sheet.PAPERSIZE_A3
            assert sheet["A1"].alignment.horizontal == "center"
        # The 20 columns of 问题清单 are printed on two pages across at 85 %, the problem code
        # repeated, rather than shrunk to one page.
        assert not problems.sheet_properties.pageSetUpPr.fitToPage
        assert problems.page_setup.scale in PRINT_SCALES
        assert problems.print_title_cols == "$A:$A"
        assert len(problems.col_breaks.brk) == 1
        break_after = problems.col_breaks.brk[0].id
        assert f"A1:{get_column_letter(break_after)}1" in {str(r) for r in problems.merged_cells.ranges}
        # 任务清单 fits one page across.
        assert measures.sheet_properties.pageSetUpPr.fitToPage and measures.page_setup.fitToWidth == 1
        assert "A1:O1" in {str(r) for r in measures.merged_cells.ranges}

        # Each measure's row is as high as its text at the column's width.
        text_column = next(i for i, c in enumerate(cols.LEDGER_MEASURE_COLUMNS) if c.header == "整改措施")
        width = cols.LEDGER_MEASURE_COLUMNS[text_column].width
        for row in measures.iter_rows(min_row=3):
            text = row[text_column].value
            height = measures.row_dimensions[row[0].row].height
            assert height >= min(MAX_ROW_HEIGHT, text_lines(text, width) * 18), text
        # The problem's merged cells (rows 4 to 7) are as high as its longest merged text.
        original = cols.LEDGER_PROBLEM_COLUMNS[4]
        assert original.header == "反馈原文"
        merged_height = sum(problems.row_dimensions[row].height for row in range(4, 8))
        assert merged_height >= text_lines(long_ledger.text, original.width) * 18
        assert {"E4:E7", "A4:A7"} <= {str(r) for r in problems.merged_cells.ranges}


@pytest.mark.django_db
class TestPrintedLedger:
    def test_it_prints_every_measures_full_text(self, world, long_ledger, tmp_path):
        pdf = soffice_pdf(export_ledger(world), tmp_path)
        pages = words_by_page(pdf)
        total = page_count(pdf)
        assert total == len(pages)
        for measure in Measure.objects.filter(problem__round=world.round):
            assert printed(measure.text, pages, header="整改措施"), measure.code
        assert printed(long_ledger.text, pages, header="反馈原文")
        assert printed(long_ledger.goal, pages, header="整改目标")
        for manifestation in ["表现一：动议环节把关不严。", "表现二：考察不深入。", "表现三：档案审核不细。"]:
            assert printed(manifestation, pages, header="具体表现")
        page_texts = ["".join(found for _x, _y, _x_max, found in words) for words in pages]
        assert "测试轮次" in page_texts[0] and "整改台账·问题清单" in page_texts[0]
        for number, page_text in enumerate(page_texts, start=1):
            assert f"第{number}页共{total}页" in page_text
        first = keep_first_page(pdf, "ledger-print-first-page")
        assert first.stat().st_size > 10_000

    def test_it_prints_a_units_task_list_split_in_pages_across(self, world, long_ledger, tmp_path):
        content = exports.unit_tasks_export(
            user=world.office, inspection_round=world.round, unit=world.resp_unit, today=TODAY
        ).content
        sheet = load_workbook(io.BytesIO(content))["单位任务清单"]
        # Seventeen columns: two pages across, the problem and measure codes on both.
        assert sheet.print_title_cols == "$A:$C" and len(sheet.col_breaks.brk) == 1
        pdf = soffice_pdf(content, tmp_path)
        pages = words_by_page(pdf)
        for measure in Measure.objects.filter(owner_unit=world.resp_unit):
            assert printed(measure.text, pages, header="整改措施"), measure.code
        keep_first_page(pdf, "unit-tasks-print-first-page")
