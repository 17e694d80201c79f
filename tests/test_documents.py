"""The Word documents: the 公文 format profile, the weekly 简报 and the final 整改情况报告.

Each generated .docx is opened with python-docx: page size, margins, grid, fonts and sizes of the
title and the body, the 发文字号, the odd and even page numbers, and every statistic against the
figure the dashboard and the statistics export show on the same data. The final report is
rendered to PDF with LibreOffice and its first two pages are kept as pictures in test-artifacts/.
"""

import datetime
import io
import re
import subprocess
import zipfile
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import parse_xml
from docx.oxml.ns import qn
from docx.shared import Length, Pt
from openpyxl import load_workbook

from accounts.models import AuditEvent
from rectification import services
from rectification.dashboard import office_dashboard
from rectification.documents import checks
from rectification.documents.briefing import NEXT_WEEK_PLACEHOLDER, weekly_briefing
from rectification.documents.final_report import final_report
from rectification.excel import exports
from rectification.models import (
    AccountabilityRecord,
    BriefingFinal,
    CoordinationItem,
    DocumentProfile,
    FinalReportFinal,
    PetitionClue,
    Recovery,
    Release,
    RuleRecord,
    WeeklySnapshot,
    WorkActivity,
    doc_number_check,
)
from rectification.services import documents as papers

from .conftest import week_report_data
from .e2e import ARTIFACTS

SHANGHAI = ZoneInfo("Asia/Shanghai")
SUMMARY_TIME = datetime.datetime(2026, 11, 27, 19, 0, tzinfo=SHANGHAI)
TODAY = SUMMARY_TIME.date()
DOC_NUMBER = "区整改办〔2026〕5号"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def opened(content):
    return Document(io.BytesIO(content))


def mm(length):
    """A length as Word stores it (twentieths of a point), in millimetres to a tenth."""
    return round(Length(length).mm, 1)


def east_asian_font(run):
    fonts = run._element.rPr.find(qn("w:rFonts"))
    return fonts.get(qn("w:eastAsia"))


def body_runs(document):
    return [run for paragraph in document.paragraphs for run in paragraph.runs if run.text.strip()]


def assert_gongwen_page(document, profile):
    """A4, 37 mm top, 28 mm binding side, a 156 × 225 mm text block of 22 lines of 28 characters,
    the body in 3号 仿宋_GB2312, and "— 1 —" in 4号 right on odd pages and left on even ones."""
    section = document.sections[0]
    assert (mm(section.page_width), mm(section.page_height)) == (210, 297)
    assert (mm(section.top_margin), mm(section.left_margin)) == (37, 28)
    assert (mm(section.right_margin), mm(section.bottom_margin)) == (26, 35)
    assert mm(section.page_width - section.left_margin - section.right_margin) == 156
    assert mm(section.page_height - section.top_margin - section.bottom_margin) == 225
    grid = section._sectPr.find(qn("w:docGrid"))
    assert grid.get(qn("w:type")) == "lines"
    # 225 mm / 22 lines = 28.99 pt per line, exactly.
    assert int(grid.get(qn("w:linePitch"))) == round(225 / 22 * 72 / 25.4 * 20) == 580
    normal = document.styles["Normal"]
    assert round(normal.paragraph_format.line_spacing.pt, 1) == 29.0
    assert normal.font.size == Pt(16)
    assert normal.element.rPr.find(qn("w:rFonts")).get(qn("w:eastAsia")) == "仿宋_GB2312"
    # 28 characters of 3号 (16 pt), condensed a little, fit the 156 mm line and a 29th does not.
    condensed = int(normal.element.rPr.find(qn("w:spacing")).get(qn("w:val")))
    width = 156 / 25.4 * 72
    assert 28 * (16 + condensed / 20) <= width < 29 * (16 + condensed / 20)
    assert document.settings.odd_and_even_pages_header_footer
    for footer, alignment in (
        (section.footer, WD_ALIGN_PARAGRAPH.RIGHT),
        (section.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT),
    ):
        paragraph = footer.paragraphs[0]
        assert paragraph.alignment == alignment
        assert paragraph.text == "— 1 —"
        assert paragraph._element.xpath(".//w:instrText")[0].text.strip() == "PAGE"
        assert {run.font.size for run in paragraph.runs} == {Pt(14)}
    # Computers without 仿宋_GB2312 or 方正小标宋简体 are told which font stands in.
    fonts = parse_xml(document.part.part_related_by(RT.FONT_TABLE).blob)
    alternatives = {
        font.get(qn("w:name")): font.find(qn("w:altName")).get(qn("w:val"))
        for font in fonts.findall(qn("w:font"))
        if font.find(qn("w:altName")) is not None
    }
    assert alternatives["仿宋_GB2312"] == profile.fallbacks_of("仿宋_GB2312")[0] == "仿宋"
    assert alternatives["方正小标宋简体"] == "小标宋体"


def title_paragraph(document, text):
    paragraph = next(p for p in document.paragraphs if p.text.startswith(text))
    assert paragraph.alignment == WD_ALIGN_PARAGRAPH.CENTER
    (run,) = paragraph.runs
    assert (east_asian_font(run), run.font.size) == ("方正小标宋简体", Pt(22))
    return paragraph


def headings(document):
    """Heading paragraphs by level, recognised by their numbers: 一、 （一） 1. （1）."""
    patterns = [r"^[一二三四五六七八九十]+、", r"^（[一二三四五六七八九十]+）", r"^\d+\.", r"^（\d+）"]
    found = {}
    for paragraph in document.paragraphs:
        for level, pattern in enumerate(patterns, start=1):
            if re.match(pattern, paragraph.text):
                found.setdefault(level, []).append(paragraph)
                break
    return found


def tables_after_headings(document):
    """Each table with the text of the paragraph just before it (its heading), in document order."""
    last = ""
    tables = []
    body = document.element.body
    for child in body.iterchildren():
        if child.tag == qn("w:p"):
            text = "".join(node.text or "" for node in child.iter(qn("w:t")))
            if text.strip():
                last = text
        elif child.tag == qn("w:tbl"):
            rows = [
                ["".join(node.text or "" for node in cell.iter(qn("w:t"))) for cell in row.iter(qn("w:tc"))]
                for row in child.iter(qn("w:tr"))
            ]
            tables.append((last, rows))
    return tables


def statistics_export_values(user, world):
    sheet = load_workbook(
        io.BytesIO(exports.statistics_export(user=user, inspection_round=world.round, today=TODAY).content)
    )["整改统计"]
    return {(row[0], row[1]): row[2] for row in sheet.iter_rows(min_row=3, values_only=True) if row[2] is not None}


def records(world):
    """Records behind the report: accountability, rules, money, petitions, meetings, a campaign."""
    decided = datetime.date(2026, 10, 20)
    for kind in (AccountabilityRecord.Kind.PARTY_WARNING, AccountabilityRecord.Kind.ADMONITION):
        services.accountability_record_create(
            actor=world.supervision,
            problem=world.problem,
            target=AccountabilityRecord.Target.PERSON,
            person_name="某某",
            kind=kind,
            case_filed=kind == AccountabilityRecord.Kind.PARTY_WARNING,
            is_accountability=True,
            decided_on=decided,
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
    services.recovery_create(
        actor=world.supervision,
        problem=world.problem,
        kind=Recovery.Kind.FUNDS_RETURNED,
        amount_wan=Decimal("12.50"),
        recorded_on=decided,
    )
    services.petition_clue_create(
        actor=world.office,
        inspection_round=world.round,
        kind=PetitionClue.Kind.CLUE,
        code="X1",
        summary="反映违规发放补贴",
        handling_unit=world.lead_unit,
        received_on=decided,
        closed_on=decided,
        case_filed=True,
    )
    services.campaign_create(
        actor=world.office, inspection_round=world.round, name="津补贴专项整治", lead_unit=world.lead_unit
    )
    WorkActivity.objects.create(
        round=world.round,
        kind=WorkActivity.Kind.DISPATCH_MEETING,
        title="调度",
        held_on=decided,
        entered_by=world.office,
    )
    world.make_problem("2.1", measures=[world.coop_unit])


@pytest.fixture
def snapshot(world):
    """Week 48's summary: the responsible unit's report returned by its head with a difficulty
    raised, the township's not sent by the cut-off."""
    with time_machine.travel(datetime.datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI), tick=False):
        report = services.report_save(
            actor=world.resp_staff,
            measure=world.resp_measure,
            iso_year=2026,
            iso_week=48,
            data=week_report_data(),
            lock_version=None,
        )
        services.report_submit(actor=world.resp_staff, unit=world.resp_unit, iso_year=2026, iso_week=48)
        services.report_return(
            actor=world.resp_head, unit=world.resp_unit, iso_year=2026, iso_week=48, reason="进展写得不具体"
        )
        CoordinationItem.objects.create(measure=world.resp_measure, report=report, text="需财政局协调清退口径")
    with time_machine.travel(SUMMARY_TIME, tick=False):
        cycle = services.cycle_for(world.round, 2026, 48)
        services.step_run(cycle, "collect")
        services.step_run(cycle, "summary")
    return WeeklySnapshot.objects.select_related("cycle__round").get()


# --- the format ------------------------------------------------------------------------------------


class TestDocNumber:
    @pytest.mark.parametrize("value", ["区整改办〔2026〕5号", "区委〔2026〕12号", "区纪发〔2025〕105号"])
    def test_it_accepts_the_standard_form(self, value):
        doc_number_check(value)

    @pytest.mark.parametrize(
        "value, hint",
        [
            ("区整改办[2026]5号", "六角括号"),
            ("区整改办（2026）5号", "六角括号"),
            ("区整改办〔2026〕第5号", "不加“第”"),
            ("区整改办〔2026〕05号", "不编虚位"),
            ("区整改办〔2026〕5", "以“号”结尾"),
            ("〔2026〕5号", "机关代字"),
        ],
    )
    def test_it_refuses_other_forms_saying_what_is_wrong(self, value, hint):
        with pytest.raises(ValidationError) as refused:
            doc_number_check(value)
        message = " ".join(refused.value.messages)
        assert value in message and hint in message


@pytest.mark.django_db
class TestProfile:
    def test_it_starts_from_the_standard_and_is_not_saved_until_edited(self, world):
        profile = papers.document_profile()
        assert profile.pk is None
        assert (profile.margin_right_mm, profile.margin_bottom_mm) == (26, 35)
        assert profile.fallbacks_of("仿宋_GB2312") == ["仿宋", "FangSong", "宋体"]
        assert profile.fallbacks_of("黑体") == ["SimHei"]

    def test_it_lays_out_documents_by_the_edited_profile(self, world, client):
        client.force_login(world.office)
        from rectification.forms import DocumentProfileForm

        defaults = papers.document_profile()
        fields = {name: getattr(defaults, name) for name in DocumentProfileForm.Meta.fields}
        fields.update(margin_top_mm="35", text_height_mm="227", body_font="仿宋", title_size_pt="24")
        response = client.post(reverse("rectification:document_profile"), fields)
        assert response.status_code == 302
        profile = papers.document_profile()
        assert (profile.margin_top_mm, profile.body_font, profile.updated_by) == (35, "仿宋", world.office)
        event = AuditEvent.objects.get(action="document.profile_update")
        assert event.changes["format"]["margin_top_mm"] == ["37", "35"]

        export = final_report(
            user=world.office, inspection_round=world.round, profile=profile, doc_number=DOC_NUMBER, day=TODAY
        )
        document = opened(export.content)
        section = document.sections[0]
        assert (mm(section.top_margin), mm(section.bottom_margin)) == (35, 35)
        title = next(p for p in document.paragraphs if p.text.startswith("关于"))
        assert title.runs[0].font.size == Pt(24)
        assert east_asian_font(body_runs(document)[-1]) == "仿宋"

    def test_it_refuses_a_text_block_wider_than_the_page(self, world, client):
        client.force_login(world.office)
        from rectification.forms import DocumentProfileForm

        defaults = papers.document_profile()
        fields = {name: getattr(defaults, name) for name in DocumentProfileForm.Meta.fields}
        fields.update(text_width_mm="190")
        page = client.post(reverse("rectification:document_profile"), fields).content.decode()
        assert "订口加版心宽度须小于纸张宽度" in page
        assert not DocumentProfile.objects.exists()

    def test_it_says_what_is_wrong_with_missing_or_garbled_values(self, world, client):
        client.force_login(world.office)
        url = reverse("rectification:document_profile")
        response = client.post(url, {"page_width_mm": "宽", "lines_per_page": "5", "body_size_pt": "-1"})
        assert response.status_code == 200
        page = response.content.decode()
        assert "这个字段是必填项" in page and "输入一个数字" in page and "确保该值大于或等于10" in page
        assert not DocumentProfile.objects.exists()


# --- the final report ------------------------------------------------------------------------------


@pytest.mark.django_db
class TestFinalReport:
    def _report(self, world):
        records(world)
        profile = papers.document_profile()
        export = final_report(
            user=world.office, inspection_round=world.round, profile=profile, doc_number=DOC_NUMBER, day=TODAY
        )
        return export, opened(export.content), profile

    def test_it_is_laid_out_as_a_gongwen(self, world):
        _export, document, profile = self._report(world)
        assert_gongwen_page(document, profile)
        title_paragraph(document, "关于省委第一巡视组反馈意见整改落实情况的报告")
        number = next(p for p in document.paragraphs if "〔" in p.text and p.text.endswith("号"))
        assert number.text == DOC_NUMBER
        assert re.fullmatch(r"[^〔〕]+〔\d{4}〕[1-9]\d*号", number.text)
        for run in body_runs(document):
            if run.font.size == Pt(16) and east_asian_font(run) == "仿宋_GB2312":
                break
        else:
            pytest.fail("no body text in 3号仿宋_GB2312")
        # The date in Arabic numerals, without leading zeros.
        assert document.paragraphs[-1].text == "2026年11月27日"

    def test_it_has_the_standard_sections_with_headings_in_their_fonts(self, world):
        _export, document, _profile = self._report(world)
        levels = headings(document)
        assert [p.text for p in levels[1]] == [
            "一、整改工作总体情况",
            "二、反馈问题整改落实情况",
            "三、建立健全长效机制情况",
            "四、存在的问题和下一步打算",
            "五、整改情况统计表",
        ]
        assert levels[2][0].text == "（一）关于“方面一”方面的问题"
        assert levels[3][0].text == "1.违规发放津补贴"
        for level, font in ((1, "黑体"), (2, "楷体_GB2312"), (3, "仿宋_GB2312")):
            assert {east_asian_font(p.runs[0]) for p in levels[level]} == {font}
        text = "\n".join(p.text for p in document.paragraphs)
        # Each problem's measures, the three tests and the rules with their document numbers.
        assert "措施1.1.1：全面清理违规发放的津贴补贴（责任局" in text
        assert "人要处理：追责问责2人次" not in text  # no close-out yet: the tests are not claimed
        rules = next(rows for heading, rows in tables_after_headings(document) if heading.startswith("坚持标本兼治"))
        assert rules[1][:3] == ["津补贴发放管理办法", "区财〔2026〕8号", "新建"]
        assert "目前尚有2个问题未销号" in text

    def test_every_statistic_equals_the_export_and_the_dashboard(self, world):
        _export, document, _profile = self._report(world)
        exported = statistics_export_values(world.office, world)
        tables = [
            (heading, rows) for heading, rows in tables_after_headings(document) if rows[0] == ["指标", "数值", "单位"]
        ]
        written = {}
        for heading, rows in tables:
            section = re.sub(r"^（[一二三四五六七八九十]+）", "", heading)
            for item, value, _unit in rows[1:]:
                written.setdefault((section, item), Decimal(value))
        assert written.keys() == exported.keys()
        for key, value in exported.items():
            assert written[key] == Decimal(str(value)), key
        # The same figures as the office dashboard shows on the same data.
        dashboard = office_dashboard(user=world.office, inspection_round=world.round, today=TODAY, filters={})
        assert written[("问题整改情况", "问题总数")] == dashboard["problems"]["total"] == 2
        assert written[("问题整改情况", "销号状态：已销号")] == dashboard["problems"]["closed"]
        assert written[("措施整改情况", "措施总数")] == dashboard["measures"]["total"] == 3
        assert written[("措施整改情况", "销号状态：已销号")] == dashboard["measures"]["closed"]
        # Records the statistics count reach the report: accountability, money, petitions, meetings.
        assert written[("党纪处分", "警告")] == 1
        assert written[("挽回经济损失、追缴和清退资金", "合计")] == Decimal("12.50")
        assert written[("信访件和问题线索", "收到问题线索")] == 1
        assert written[("会议和督导", "召开或开展调度会")] == 1
        # The text quotes the same rows.
        overall = next(p.text for p in document.paragraphs if p.text.startswith("截至2026年11月27日"))
        assert "反馈的2个问题中，已整改销号0个，完成率0.0%" in overall
        assert "合计12.50万元" in overall

    def test_it_names_the_three_tests_once_a_problem_is_closed(self, world):
        records(world)
        from rectification.models import CloseOutRequest, CloseOutState

        CloseOutRequest.objects.create(
            problem=world.problem,
            statement="已完成",
            applicant_unit=world.lead_unit,
            applied_by=world.lead_staff,
            pledged_at=SUMMARY_TIME,
            state=CloseOutRequest.State.CLOSED,
        )
        type(world.problem).objects.filter(pk=world.problem.pk).update(closeout_state=CloseOutState.CLOSED)
        export = final_report(
            user=world.office,
            inspection_round=world.round,
            profile=papers.document_profile(),
            doc_number=DOC_NUMBER,
            day=TODAY,
        )
        text = "\n".join(p.text for p in opened(export.content).paragraphs)
        assert (
            "事要解决：已销号，事项已解决；人要处理：追责问责2人次（党纪处分：警告、诫勉）；"
            "长效机制要建立：建立制度《津补贴发放管理办法》（区财〔2026〕8号）。"
        ) in text

    def test_it_renders_to_pdf_with_page_numbers(self, world, tmp_path):
        export, _document, _profile = self._report(world)
        source = tmp_path / "report.docx"
        source.write_bytes(export.content)
        subprocess.run(
            [
                "soffice",
                f"-env:UserInstallation=file://{tmp_path}/lo-profile",
                "--headless",
                "--convert-to",
                "pdf",
                "--outdir",
                str(tmp_path),
                str(source),
            ],
            check=True,
            capture_output=True,
            timeout=180,
        )
        pdf = tmp_path / "report.pdf"
        text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True).stdout.decode()
        pages = text.split("\f")
        assert len([page for page in pages if page.strip()]) >= 2
        # pdftotext breaks the title where it wraps and spaces digits from characters.
        first = re.sub(r"\s+", "", pages[0])
        assert "关于省委第一巡视组反馈意见整改落实情况的报告" in first
        assert DOC_NUMBER in first
        assert re.search(r"—\s*1\s*—", pages[0]) and re.search(r"—\s*2\s*—", pages[1])
        ARTIFACTS.mkdir(exist_ok=True)
        subprocess.run(
            ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "2", str(pdf), str(ARTIFACTS / "final-report")],
            check=True,
            capture_output=True,
        )
        assert sorted(path.name for path in ARTIFACTS.glob("final-report-*.png"))[:2] == [
            "final-report-1.png",
            "final-report-2.png",
        ]


# --- the weekly 简报 -------------------------------------------------------------------------------


@pytest.mark.django_db
class TestBriefing:
    def test_it_is_laid_out_on_the_profile_with_issue_number_and_placeholder(self, world, snapshot):
        profile = papers.document_profile()
        document = opened(weekly_briefing(snapshot=snapshot, profile=profile).content)
        assert_gongwen_page(document, profile)
        title_paragraph(document, "测试轮次整改工作周小结")
        texts = [p.text for p in document.paragraphs]
        assert texts[0] == "巡视整改工作简报" and texts[1] == "第1期"
        assert texts[2] == "区委巡视整改工作领导小组办公室\t2026年11月27日"
        assert NEXT_WEEK_PLACEHOLDER in texts
        assert [p.text for p in headings(document)[1]] == [
            "一、整改倒计时",
            "二、总体进展",
            "三、本周进展",
            "四、红灯和逾期事项",
            "五、点名通报",
            "六、需协调解决的事项",
            "七、下周工作重点",
        ]

    def test_every_figure_is_the_snapshots_and_the_dashboards(self, world, snapshot):
        figures = snapshot.figures
        document = opened(weekly_briefing(snapshot=snapshot, profile=papers.document_profile()).content)
        text = "\n".join(p.text for p in document.paragraphs)
        assert f"截至2026年11月27日，{figures['countdown']['text']}。" in text
        assert "距整改报告报送还有34天" in text
        with time_machine.travel(SUMMARY_TIME, tick=False):
            dashboard = office_dashboard(user=world.office, inspection_round=world.round, today=TODAY, filters={})
        assert figures["measures"]["total"] == dashboard["measures"]["total"] == 2
        assert (
            f"反馈问题{dashboard['problems']['total']}个，其中已销号{dashboard['problems']['closed']}个；"
            f"整改措施{dashboard['measures']['total']}项，其中已销号{dashboard['measures']['closed']}项，本周销号0项。"
        ) in text
        tables = dict(tables_after_headings(document))
        assert tables["（一）分专项进展"][1:] == [
            [row["label"], str(row["total"]), str(row["closed"])] for row in dashboard["by_track"]
        ]
        assert tables["（二）分单位进展"][1:] == [
            [
                row["unit"],
                str(row["open"]),
                str(row["red"]),
                str(row["yellow"]),
                str(row["overdue"]),
                str(row.get("missed", 0)),
            ]
            for row in figures["unit_ranking"]
        ]
        assert tables["（三）分牵头领导进展"][1:] == [
            [row["label"], str(row["open"]), str(row["red"]), str(row["yellow"])] for row in dashboard["by_leader"]
        ]
        assert [row[0] for row in tables["（三）分牵头领导进展"][1:]] == ["王牵头"]
        assert f"红灯措施{len(figures['red'])}项，逾期措施{len(figures['overdue'])}项" in text
        assert "截止时仍未报送的单位：协办镇（1项）、责任局（1项）。" in text
        assert "周报被退回的单位：责任局（1项）。" in text
        assert tables["六、需协调解决的事项"][1:] == [["1.1.1", "王牵头", "需财政局协调清退口径"]]

    def test_an_older_snapshot_says_what_it_did_not_keep(self, world, snapshot):
        WeeklySnapshot.objects.filter(pk=snapshot.pk).update(figures={"measures": {"total": 2, "closed": 0}})
        snapshot.refresh_from_db()
        text = "\n".join(
            p.text
            for p in opened(weekly_briefing(snapshot=snapshot, profile=papers.document_profile()).content).paragraphs
        )
        assert text.count("（本周快照生成时尚未记录此项。）") == 3


# --- the pages -------------------------------------------------------------------------------------


def docx_upload(content, name="简报定稿.docx"):
    return SimpleUploadedFile(name, content)


@pytest.mark.django_db
class TestBriefingPages:
    def test_it_gives_the_office_the_draft_and_records_it(self, world, snapshot, client):
        client.force_login(world.office)
        page = client.get(reverse("rectification:cycle_detail", args=[snapshot.cycle_id])).content.decode()
        assert "下载简报草稿（Word）" in page and "尚未上传定稿" in page
        response = client.get(reverse("rectification:briefing_draft", args=[snapshot.pk]))
        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.wordprocessingml")
        assert "attachment" in response["Content-Disposition"]
        assert opened(response.content).paragraphs[0].text == "巡视整改工作简报"
        event = AuditEvent.objects.get(action="document.briefing_draft")
        assert event.actor == world.office and event.changes["week"] == "2026-W48"

    def test_it_keeps_the_uploaded_final_with_the_week(self, world, snapshot, client, settings, tmp_path):
        settings.PRIVATE_MEDIA_ROOT = tmp_path
        client.force_login(world.office)
        final = weekly_briefing(snapshot=snapshot, profile=papers.document_profile()).content
        url = reverse("rectification:briefing_upload", args=[snapshot.pk])
        page = client.post(url, {"file": docx_upload(final)}, follow=True).content.decode()
        assert "简报定稿已上传" in page and "简报定稿.docx" in page and "当前定稿" in page
        kept = BriefingFinal.objects.get()
        assert (kept.snapshot, kept.uploaded_by, kept.size) == (snapshot, world.office, len(final))
        assert AuditEvent.objects.filter(action="document.briefing_final_upload").count() == 1
        # Supervision reads the week's log and downloads the final; it may not draft or upload.
        client.force_login(world.supervision)
        response = client.get(reverse("rectification:briefing_final", args=[kept.pk]))
        assert response.status_code == 200 and b"".join(response.streaming_content) == final
        assert AuditEvent.objects.get(action="document.briefing_final_download").actor == world.supervision
        assert client.get(reverse("rectification:briefing_draft", args=[snapshot.pk])).status_code == 403
        assert client.post(url, {"file": docx_upload(final)}).status_code == 403
        assert BriefingFinal.objects.count() == 1

    @pytest.mark.parametrize(
        "name, content, message",
        [
            ("简报.doc", b"\xd0\xcf\x11\xe0" + b"0" * 100, "不是 Word 文档（.docx）"),
            ("简报.pdf", PDF, "不是 Word 文档（.docx）"),
            ("简报.docx", PDF, "内容不是 Word 文档"),
            ("简报.docx", b"", "空文件"),
        ],
    )
    def test_it_refuses_what_is_not_a_real_docx(
        self, world, snapshot, client, settings, tmp_path, name, content, message
    ):
        settings.PRIVATE_MEDIA_ROOT = tmp_path
        client.force_login(world.office)
        url = reverse("rectification:briefing_upload", args=[snapshot.pk])
        page = client.post(url, {"file": docx_upload(content, name)}, follow=True).content.decode()
        assert message in page or (not content and "请选择要上传的简报定稿" in page)
        assert not BriefingFinal.objects.exists()
        assert not list(tmp_path.rglob("*.docx"))

    def test_it_refuses_a_zip_that_is_not_a_word_document_and_a_file_too_large(
        self, world, snapshot, client, settings, tmp_path, monkeypatch
    ):
        settings.PRIVATE_MEDIA_ROOT = tmp_path
        client.force_login(world.office)
        url = reverse("rectification:briefing_upload", args=[snapshot.pk])
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("[Content_Types].xml", "<Types/>")
            archive.writestr("xl/workbook.xml", "<workbook/>")
        page = client.post(url, {"file": docx_upload(buffer.getvalue())}, follow=True).content.decode()
        assert "内容不是 Word 文档" in page
        final = weekly_briefing(snapshot=snapshot, profile=papers.document_profile()).content
        monkeypatch.setattr(checks, "DOCX_MAX_BYTES", len(final) - 1)
        page = client.post(url, {"file": docx_upload(final)}, follow=True).content.decode()
        assert "超过了" in page and "上限" in page
        assert not BriefingFinal.objects.exists()

    def test_it_refuses_a_word_file_declaring_entities(self, world, snapshot, client, settings, tmp_path):
        settings.PRIVATE_MEDIA_ROOT = tmp_path
        client.force_login(world.office)
        final = weekly_briefing(snapshot=snapshot, profile=papers.document_profile()).content
        with zipfile.ZipFile(io.BytesIO(final)) as source:
            parts = {name: source.read(name) for name in source.namelist()}
        laughs = b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
        parts["word/document.xml"] = laughs + parts["word/document.xml"].split(b"?>", 1)[-1]
        bomb = io.BytesIO()
        with zipfile.ZipFile(bomb, "w") as target:
            for name, content in parts.items():
                target.writestr(name, content)
        url = reverse("rectification:briefing_upload", args=[snapshot.pk])
        page = client.post(url, {"file": docx_upload(bomb.getvalue())}, follow=True).content.decode()
        assert "内容不是 Word 文档" in page
        assert not BriefingFinal.objects.exists()

    @pytest.mark.parametrize("actor", ["resp_staff", "resp_head", "leader", "provincial", "auditadmin"])
    def test_it_shows_nothing_to_anyone_else(self, world, snapshot, client, actor, settings, tmp_path):
        settings.PRIVATE_MEDIA_ROOT = tmp_path
        kept = papers.briefing_final_upload(
            actor=world.office,
            snapshot=snapshot,
            uploaded=docx_upload(weekly_briefing(snapshot=snapshot, profile=papers.document_profile()).content),
        )
        client.force_login(getattr(world, actor))
        for method, url in (
            ("get", reverse("rectification:briefing_draft", args=[snapshot.pk])),
            ("post", reverse("rectification:briefing_upload", args=[snapshot.pk])),
            ("get", reverse("rectification:briefing_final", args=[kept.pk])),
        ):
            # The provincial team is refused every page but what was released to it, with the reason.
            assert getattr(client, method)(url).status_code == (403 if actor == "provincial" else 404), url
        assert BriefingFinal.objects.count() == 1


@pytest.mark.django_db
class TestFinalReportPage:
    def test_it_gives_the_office_the_draft_for_a_valid_doc_number(self, world, client):
        client.force_login(world.office)
        url = reverse("rectification:final_report", args=[world.round.pk])
        page = client.get(url).content.decode()
        assert "区整改办〔2026〕1号" in page
        index = client.get(reverse("rectification:excel:index")).content.decode()
        assert url in index
        response = client.post(url, {"doc_number": DOC_NUMBER, "day": "2026-11-27"})
        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.wordprocessingml")
        document = opened(response.content)
        assert DOC_NUMBER in [p.text for p in document.paragraphs]
        event = AuditEvent.objects.get(action="document.final_report_draft")
        assert event.actor == world.office and event.changes["doc_number"] == DOC_NUMBER

    def test_it_says_what_is_wrong_with_a_doc_number(self, world, client):
        client.force_login(world.office)
        url = reverse("rectification:final_report", args=[world.round.pk])
        response = client.post(url, {"doc_number": "区整改办[2026]05号", "day": "2026-11-27"})
        assert response.status_code == 200
        page = response.content.decode()
        assert "六角括号" in page and "不编虚位" in page
        assert not AuditEvent.objects.filter(action="document.final_report_draft").exists()

    def test_it_answers_404_for_a_round_that_does_not_exist(self, world, client):
        client.force_login(world.office)
        assert client.get(reverse("rectification:final_report", args=[world.round.pk + 99])).status_code == 404

    @pytest.mark.parametrize("actor", ["resp_staff", "resp_head", "leader", "provincial", "supervision", "sysadmin"])
    def test_it_refuses_everyone_but_the_office(self, world, client, actor):
        client.force_login(getattr(world, actor))
        for url in (
            reverse("rectification:final_report", args=[world.round.pk]),
            reverse("rectification:document_profile"),
        ):
            assert client.get(url).status_code == 403
            assert client.post(url, {"doc_number": DOC_NUMBER, "day": "2026-11-27"}).status_code == 403
        assert not AuditEvent.objects.filter(action__startswith="document.").exists()


@pytest.mark.django_db
class TestFinalReportFinal:
    """The office uploads the final 整改情况报告 it edited in Word, and releases one to the province."""

    @pytest.fixture
    def edited(self, world):
        return final_report(
            user=world.office,
            inspection_round=world.round,
            profile=papers.document_profile(),
            doc_number=DOC_NUMBER,
            day=TODAY,
        ).content

    @pytest.fixture(autouse=True)
    def media(self, settings, tmp_path):
        settings.PRIVATE_MEDIA_ROOT = tmp_path
        return tmp_path

    def _upload(self, client, world, content, name="整改情况报告定稿.docx"):
        url = reverse("rectification:final_report_upload", args=[world.round.pk])
        return client.post(url, {"file": docx_upload(content, name)}, follow=True).content.decode()

    def test_it_keeps_each_upload_with_who_and_when(self, world, client, edited):
        client.force_login(world.office)
        page = client.get(reverse("rectification:final_report", args=[world.round.pk])).content.decode()
        assert "尚未上传定稿" in page
        page = self._upload(client, world, edited)
        assert "整改情况报告定稿已上传" in page
        self._upload(client, world, edited, "整改情况报告定稿二稿.docx")
        finals = list(FinalReportFinal.objects.order_by("pk"))
        assert [(f.original_name, f.uploaded_by, f.size) for f in finals] == [
            ("整改情况报告定稿.docx", world.office, len(edited)),
            ("整改情况报告定稿二稿.docx", world.office, len(edited)),
        ]
        page = client.get(reverse("rectification:final_report", args=[world.round.pk])).content.decode()
        for final in finals:
            assert reverse("rectification:final_report_final", args=[final.pk]) in page
            assert final.uploaded_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") in page
        assert page.count(f"<td>{world.office}</td>") == 2
        events = AuditEvent.objects.filter(action="document.final_report_final_upload")
        assert events.count() == 2 and {e.changes["sha256"] for e in events} == {finals[0].sha256}
        response = client.get(reverse("rectification:final_report_final", args=[finals[0].pk]))
        assert b"".join(response.streaming_content) == edited
        assert AuditEvent.objects.get(action="document.final_report_final_download").actor == world.office

    @pytest.mark.parametrize(
        "name, content, message",
        [
            ("报告.doc", b"\xd0\xcf\x11\xe0" + b"0" * 100, "不是 Word 文档（.docx）"),
            ("报告.docx", PDF, "内容不是 Word 文档"),
        ],
    )
    def test_it_refuses_what_is_not_a_real_docx(self, world, client, media, name, content, message):
        client.force_login(world.office)
        assert message in self._upload(client, world, content, name)
        assert not FinalReportFinal.objects.exists() and not list(media.rglob("*.docx"))

    def test_it_refuses_a_declared_dtd_and_a_file_too_large(self, world, client, media, edited, monkeypatch):
        client.force_login(world.office)
        with zipfile.ZipFile(io.BytesIO(edited)) as source:
            parts = {name: source.read(name) for name in source.namelist()}
        laughs = b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]>'
        parts["word/document.xml"] = laughs + parts["word/document.xml"].split(b"?>", 1)[-1]
        bomb = io.BytesIO()
        with zipfile.ZipFile(bomb, "w") as target:
            for name, content in parts.items():
                target.writestr(name, content)
        assert "内容不是 Word 文档" in self._upload(client, world, bomb.getvalue())
        monkeypatch.setattr(checks, "DOCX_MAX_BYTES", len(edited) - 1)
        page = self._upload(client, world, edited)
        assert "超过了" in page and "上限" in page
        assert not FinalReportFinal.objects.exists() and not list(media.rglob("*.docx"))

    def test_the_province_gets_it_only_once_released_and_only_once(self, world, client, edited):
        client.force_login(world.office)
        self._upload(client, world, edited)
        self._upload(client, world, edited, "另一稿.docx")
        first, second = FinalReportFinal.objects.order_by("pk")
        download = reverse("rectification:final_report_final", args=[first.pk])
        releases = reverse("rectification:release_list")

        client.force_login(world.provincial)
        assert client.get(download).status_code == 404
        assert download not in client.get(releases).content.decode()
        assert client.post(reverse("rectification:final_report_release", args=[first.pk])).status_code in (403, 404)

        # Without the confirmation ticked nothing is released.
        client.force_login(world.office)
        release_url = reverse("rectification:final_report_release", args=[first.pk])
        page = client.post(release_url, follow=True).content.decode()
        assert "请勾选“确认报送”" in page
        assert not Release.objects.exists()
        page = client.post(release_url, {"confirmed": "on"}, follow=True).content.decode()
        assert "整改情况报告已报送省巡视组" in page and "已报送" in page
        release = Release.objects.get()
        assert (release.kind, release.final_report, release.released_by) == ("final_report", first, world.office)
        assert AuditEvent.objects.get(action="release.final_report").changes["sha256"] == first.sha256
        # Once, one-way: neither the same final nor another is released again; no upload after it.
        page = client.post(
            reverse("rectification:final_report_release", args=[second.pk]), {"confirmed": "on"}, follow=True
        ).content.decode()
        assert "本轮整改情况报告已报送省巡视组，不能再次报送或撤回" in page
        assert Release.objects.count() == 1
        assert "上传定稿</button>" not in page and "报送省巡视组</button>" not in page
        assert "不能再上传定稿" in self._upload(client, world, edited, "三稿.docx")
        assert FinalReportFinal.objects.count() == 2

        client.force_login(world.provincial)
        listed = client.get(releases).content.decode()
        assert download in listed and "整改情况报告" in listed
        assert reverse("rectification:final_report_final", args=[second.pk]) not in listed
        response = client.get(download)
        assert response.status_code == 200 and b"".join(response.streaming_content) == edited
        event = AuditEvent.objects.get(action="document.final_report_final_download")
        assert event.actor == world.provincial and event.changes["sha256"] == first.sha256
        # The other upload stays the office's.
        assert client.get(reverse("rectification:final_report_final", args=[second.pk])).status_code == 404
        assert client.get(reverse("rectification:final_report", args=[world.round.pk])).status_code == 403

    @pytest.mark.parametrize("actor", ["resp_staff", "resp_head", "leader", "outsider", "provincial", "sysadmin"])
    def test_it_shows_nothing_before_release_to_anyone_else(self, world, client, edited, actor):
        kept = papers.final_report_final_upload(
            actor=world.office, inspection_round=world.round, uploaded=docx_upload(edited)
        )
        client.force_login(getattr(world, actor))
        refused = 403 if actor == "provincial" else 404
        assert client.get(reverse("rectification:final_report_final", args=[kept.pk])).status_code == 404
        release = client.post(reverse("rectification:final_report_release", args=[kept.pk]), {"confirmed": "on"})
        assert release.status_code == refused
        upload = client.post(
            reverse("rectification:final_report_upload", args=[world.round.pk]), {"file": docx_upload(edited)}
        )
        assert upload.status_code in (403, 404)
        assert FinalReportFinal.objects.count() == 1 and not Release.objects.exists()
        assert not AuditEvent.objects.filter(action="document.final_report_final_download").exists()

    def test_supervision_downloads_the_finals_but_neither_uploads_nor_releases(self, world, client, edited):
        kept = papers.final_report_final_upload(
            actor=world.office, inspection_round=world.round, uploaded=docx_upload(edited)
        )
        client.force_login(world.supervision)
        assert client.get(reverse("rectification:final_report_final", args=[kept.pk])).status_code == 200
        release = client.post(reverse("rectification:final_report_release", args=[kept.pk]), {"confirmed": "on"})
        assert release.status_code == 403
        assert not Release.objects.exists()
