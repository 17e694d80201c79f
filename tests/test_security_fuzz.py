"""Property-based tests (hypothesis): random bytes against the two doors files come in by, the
evidence upload check and the Excel ledger import. Each must refuse with a clean Chinese
message and never fail with anything else."""

import datetime
import io
import os
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from accounts.models import AuditEvent
from rectification.evidence import ALLOWED, evidence_check
from rectification.excel.imports import (
    ImportPlan,
    ImportRefused,
    ledger_plan,
    xlsx_check,
)
from rectification.lights import LIGHTS
from rectification.models import CloseOutState, CoordinationItem, Track, WeeklyCycle

from .test_excel_names import private_media  # noqa: F401  (keeps the uploads of the import in tmp_path)
from .test_excel_reimport import drop_coop_measure, exported

ROOT = Path(__file__).resolve().parent.parent
CHINESE = re.compile(r"[\u4e00-\u9fff]")
EXTENSIONS = [*sorted(ALLOWED), "exe", "html", "svg", "js", ""]
# Real magic numbers, so that the random files sometimes get past the first check.
MAGIC = [
    b"",
    b"%PDF",
    b"%PDF-1.7\n",
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",
    b"PK\x03\x04",
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
]
PROFILE = settings(max_examples=300, deadline=None, database=None)
DB_PROFILE = settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _upload(name, content):
    return SimpleUploadedFile(name, content)


class TestEvidenceCheck:
    @PROFILE
    @given(content=st.binary(min_size=1, max_size=4096))
    def test_it_accepts_a_pdf_only_if_it_starts_with_the_pdf_signature(self, content):
        try:
            extension = evidence_check(_upload("材料.pdf", content))
        except ValidationError as error:
            assert CHINESE.search(" ".join(error.messages))
        else:
            assert extension == "pdf"
            assert content.startswith(b"%PDF")

    @PROFILE
    @given(
        stem=st.text(max_size=40),
        extension=st.sampled_from(EXTENSIONS),
        magic=st.sampled_from(MAGIC),
        tail=st.binary(max_size=2048),
    )
    def test_it_raises_nothing_but_a_chinese_validation_error(self, stem, extension, magic, tail):
        name = f"{stem}.{extension}" if extension else stem
        # Names Django's upload handling would never hand on (it refuses them itself).
        assume(os.path.basename(name) not in {"", ".", ".."} and "\x00" not in name)
        content = magic + tail
        try:
            accepted = evidence_check(_upload(name, content))
        except ValidationError as error:
            assert CHINESE.search(" ".join(error.messages))
        else:
            # Whatever is accepted is what its extension says.
            assert accepted in ALLOWED
            assert content[:1] != b""

    @PROFILE
    @given(content=st.binary(min_size=1, max_size=2048))
    def test_it_never_accepts_random_bytes_as_an_image(self, content):
        for name, signature in (("照片.png", b"\x89PNG"), ("照片.jpg", b"\xff\xd8\xff")):
            try:
                evidence_check(_upload(name, content))
            except ValidationError:
                continue
            assert content.startswith(signature)


def _chinese_refusal(refused):
    message = str(refused)
    assert message and CHINESE.search(message), message


class TestXlsxCheck:
    @PROFILE
    @given(magic=st.sampled_from(MAGIC), tail=st.binary(max_size=4096))
    def test_it_refuses_random_bytes_in_chinese(self, magic, tail):
        content = magic + tail
        try:
            xlsx_check(io.BytesIO(content), size=len(content))
        except ImportRefused as refused:
            _chinese_refusal(refused)
        else:
            pytest.fail("random bytes passed as an .xlsx workbook")


def _zip(entries):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


# Text a spreadsheet can hold (openpyxl refuses control characters when writing the test file).
CELL_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), max_size=30)
CELL = st.one_of(
    st.none(),
    CELL_TEXT,
    st.sampled_from(
        ["1.1", "1.1.1", "牵头局", "责任局", "王牵头", "立行立改", "长期坚持", "10月底", "2026-13-45", "个性问题", "="]
    ),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.dates(min_value=datetime.date(1900, 1, 1), max_value=datetime.date(2100, 12, 31)),
)
HEADERS = [
    "问题编号",
    "方面",
    "反馈问题",
    "问题类型",
    "整改时限",
    "牵头领导",
    "牵头单位",
    "责任单位",
    "措施编号",
    "整改措施",
    "措施类别",
    "完成时限",
    "时间节点",
    "验收标准",
]


# The parts of a workbook the reader must parse to reach the rows (openpyxl does without a
# readable _rels/.rels: it then looks for xl/workbook.xml where Excel puts it).
PARTS = [
    "[Content_Types].xml",
    "xl/workbook.xml",
    "xl/_rels/workbook.xml.rels",
    "xl/worksheets/sheet1.xml",
    "xl/styles.xml",
]


def _well_formed(data):
    try:
        ElementTree.fromstring(data)
    except ElementTree.ParseError:
        return False
    return True


def _workbook(rows, headers):
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "问题清单"
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.mark.django_db
class TestLedgerImport:
    """``ledger_plan`` is the parser's entry point (after ``xlsx_check``); it writes nothing."""

    def _plan(self, world, tmp_path, content):
        path = tmp_path / "台账.xlsx"
        path.write_bytes(content)
        try:
            plan = ledger_plan(path, inspection_round=world.round)
        except ImportRefused as refused:
            _chinese_refusal(refused)
            return None
        assert isinstance(plan, ImportPlan)
        for issue in plan.errors + plan.warnings:
            assert CHINESE.search(str(issue))
        return plan

    @DB_PROFILE
    @given(magic=st.sampled_from(MAGIC), tail=st.binary(max_size=4096))
    def test_it_refuses_random_bytes_in_chinese(self, world, tmp_path, magic, tail):
        assert self._plan(world, tmp_path, magic + tail) is None

    @DB_PROFILE
    @given(part=st.sampled_from(PARTS), garbage=st.binary(max_size=1024))
    def test_it_refuses_a_workbook_with_a_part_that_is_not_xml_in_chinese(self, world, tmp_path, part, garbage):
        # A real workbook, so that the reader gets as far as the damaged part.
        assume(not _well_formed(garbage))
        with zipfile.ZipFile(io.BytesIO(_workbook([["1.1"]], HEADERS))) as archive:
            parts = {name: archive.read(name) for name in archive.namelist()}
        assert part in parts
        content = _zip({**parts, part: garbage})
        xlsx_check(io.BytesIO(content), size=len(content))
        assert self._plan(world, tmp_path, content) is None

    @DB_PROFILE
    @given(
        headers=st.lists(st.sampled_from(HEADERS), min_size=1, max_size=len(HEADERS), unique=True),
        rows=st.lists(st.lists(CELL, max_size=len(HEADERS)), max_size=8),
    )
    def test_it_plans_a_real_workbook_of_random_cells_without_crashing(self, world, tmp_path, headers, rows):
        self._plan(world, tmp_path, _workbook(rows, headers))


# Values a query parameter may be sent: anything typed, numbers of every size, and the texts that
# once broke a page (a superscript digit, a week past year 9999, NUL, a partial address).
CRAFTED = [
    "",
    " ",
    "²",
    "٣",
    "１",
    "\x00",
    "a\x00b",
    "-1",
    "0",
    "1" * 30,
    "9999-W52",
    "0001-W01",
    "2026-W53",
    "2026-W48",
    "٢٠٢٦-W48",
    "10.0.",
    "10.0.0.1",
    "::g",
    "0001-01-01",
    "9999-12-31",
    "2026-02-30",
    "%",
    "_",
    "'",
    "all",
    "1",
    "csv",
    "xlsx",
    *Track.Kind.values,
    *CloseOutState.values,
    *CoordinationItem.State.values,
    *(light.code for light in LIGHTS),
    *AuditEvent.Outcome.values,
    # Actions of the audit search's list, so that the fuzz also runs searches that find rows.
    "auth.login",
    "audit.search",
    "closeout.apply",
]
PARAM_VALUE = st.one_of(
    st.sampled_from(CRAFTED),
    st.text(max_size=40),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)
FILTERS = ["round", "track", "state", "unit", "leader", "overdue", "campaign"]
AUDIT_SEARCH = ["q", "actor", "action", "outcome", "ip", "date_from", "date_to", "page"]
# Every page that reads its query string: (URL name, the page's object, who asks, its parameters).
PAGES_WITH_PARAMETERS = [
    ("rectification:dashboard", None, "office", [*FILTERS, "ranking"]),
    ("rectification:measure_list", None, "office", [*FILTERS, "light", "page", "order"]),
    ("rectification:review_stuck", None, "office", ["round"]),
    ("rectification:problem_list", None, "office", ["round", "track", "state", "q", "page", "campaign", "order"]),
    ("rectification:campaign_list", None, "office", ["round"]),
    ("rectification:battle_board", None, "office", ["round", "group"]),
    ("rectification:unclaimed_list", None, "office", [*FILTERS, "kind", "page"]),
    ("rectification:criteria_missing", None, "office", [*FILTERS, "page"]),
    ("rectification:coordination_list", None, "office", ["state", "page"]),
    ("rectification:notice_list", None, "office", ["state", "q", "page"]),
    ("rectification:cycle_detail", "cycle", "office", ["unit", "q", "page"]),
    ("rectification:closeout_pending", None, "leader", ["round", "q", "order", "page"]),
    ("rectification:notifications", None, "resp_staff", ["unread", "page"]),
    ("rectification:notice_list", None, "resp_staff", ["state", "q", "page"]),
    ("rectification:excel:index", None, "office", ["round"]),
    ("rectification:excel:weekly", "round", "office", ["week"]),
    ("rectification:worklist", None, "resp_staff", ["week"]),
    ("rectification:report_week", None, "resp_staff", ["week", "round"]),
    ("rectification:led_reports", None, "lead_staff", ["week"]),
    ("rectification:unit_dispatch", None, "resp_staff", ["week"]),
    ("rectification:deliveries", None, "office", ["state", "channel", "unit", "read", "page"]),
    ("rectification:records_index", None, "office", ["round"]),
    ("rectification:petition_list", None, "supervision", ["round"]),
    ("rectification:meeting_list", None, "office", ["round"]),
    ("rectification:visit_list", None, "office", ["round"]),
    ("rectification:secretary_problems", None, "office", ["round"]),
    ("rectification:penalty_new", None, "office", ["round"]),
    ("rectification:penalty_deductions", None, "office", ["year"]),
    ("accounts:audit_log", None, "auditadmin", AUDIT_SEARCH),
    ("accounts:audit_export", None, "auditadmin", [*AUDIT_SEARCH, "format"]),
    ("accounts:security_users", None, "secadmin", ["q", "page"]),
    ("accounts:system_users", None, "sysadmin", ["q", "page"]),
    ("accounts:system_units", None, "sysadmin", ["page"]),
    ("accounts:approvals", None, "secadmin", ["page"]),
    ("accounts:approvals_mine", None, "sysadmin", ["page"]),
    ("accounts:login", None, None, ["next"]),
    ("accounts:login_unlock", None, None, ["username"]),
    ("admin:login", None, None, ["next"]),
]


def _target(world, name):
    """The page's object: one of the world's, or a week's cycle of its round (the world has none)."""
    if name == "cycle":
        return WeeklyCycle.objects.get_or_create(round=world.round, iso_year=2026, iso_week=47)[0]
    return getattr(world, name)


PAGE_PROFILE = settings(
    max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.mark.django_db
class TestQueryParameters:
    """Whatever a query string holds, a page answers: it ignores a value it cannot use, or refuses
    it with 400 and a Chinese message. Never 500."""

    @pytest.mark.parametrize("name, target, actor, parameters", PAGES_WITH_PARAMETERS)
    @PAGE_PROFILE
    @given(data=st.data())
    def test_it_never_fails_on_a_query_parameter(self, client, world, name, target, actor, parameters, data):
        if actor:
            client.force_login(getattr(world, actor))
        url = reverse(name, args=[_target(world, target).pk] if target else [])
        query = data.draw(st.dictionaries(st.sampled_from(parameters), PARAM_VALUE, min_size=1))
        response = client.get(url, query)
        assert response.status_code < 500
        if response.status_code == 400:
            assert CHINESE.search(response.content.decode())

    def test_it_fuzzes_every_parameter_the_code_reads(self):
        # A parameter a view starts reading is fuzzed from that day: name it in the list above.
        read = set()
        for path in [*ROOT.glob("rectification/views/*.py"), *ROOT.glob("accounts/*.py")]:
            text = path.read_text(encoding="utf-8")
            read |= set(re.findall(r"GET\.get\(\"(\w+)\"", text))
            read |= set(re.findall(r"_param\(request, \"(\w+)\"\)", text))
            read |= {"q"} if "search_param(request)" in text else set()
        read |= {"unit", "leader"}  # read in a loop by ``_dashboard_filters``
        fuzzed = {parameter for *_page, parameters in PAGES_WITH_PARAMETERS for parameter in parameters}
        assert len(read) > 8
        assert read - fuzzed == set()

    @pytest.mark.parametrize(
        "name, actor, query",
        [
            ("rectification:dashboard", "office", {"unit": "²"}),
            ("rectification:measure_list", "office", {"leader": "²"}),
            ("rectification:dashboard", "office", {"unit": "1" * 30}),
            ("rectification:worklist", "resp_staff", {"week": "9999-W52"}),
            ("rectification:led_reports", "lead_staff", {"week": "0001-W01"}),
            ("rectification:problem_list", "office", {"q": "\x00"}),
            ("accounts:security_users", "secadmin", {"q": "a\x00"}),
        ],
    )
    def test_it_ignores_a_value_that_once_failed(self, client, world, name, actor, query):
        client.force_login(getattr(world, actor))
        assert client.get(reverse(name), query).status_code == 200

    @pytest.mark.parametrize(
        "query, message",
        [
            ({"ip": "10.0."}, "来源地址：请输入完整的 IPv4 或 IPv6 地址。"),
            ({"date_to": "9999-12-31"}, "截止日期：日期不能晚于 2099-12-31。"),
            ({"date_from": "0001-01-01"}, "起始日期：日期不能早于 2000-01-01。"),
            ({"actor": "a\x00"}, "操作人用户名："),
            ({"action": "auth."}, "操作：请从列表中选择操作。"),
        ],
    )
    def test_it_refuses_an_audit_search_it_cannot_run_in_chinese(self, client, world, query, message):
        # The world's set-up wrote rows; a search that cannot run shows none of them.
        assert AuditEvent.objects.exists()
        client.force_login(world.auditadmin)
        page = client.get(reverse("accounts:audit_log"), query)
        assert page.status_code == 400
        assert message in page.content.decode()
        assert page.context["page"].paginator.count == 0
        export = client.get(reverse("accounts:audit_export"), {**query, "format": "csv"})
        assert export.status_code == 400
        assert message in export.content.decode()


@pytest.mark.django_db
@pytest.mark.usefixtures("private_media")
class TestImportChoices:
    """The re-import preview's 保留 / 撤销 choice per left-out measure ("missing-<id>"), as anyone
    could post it: kept, withdrawn, or refused in Chinese. Never 500."""

    @settings(
        max_examples=12, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(suffix=st.one_of(st.sampled_from(CRAFTED), st.text(max_size=20)), value=PARAM_VALUE)
    def test_a_crafted_choice_never_fails(self, client, world, tmp_path, suffix, value):
        client.force_login(world.office)
        with exported(world, tmp_path, drop_coop_measure).open("rb") as handle:
            preview = client.post(
                reverse("rectification:excel:import_upload"), {"inspection_round": world.round.pk, "file": handle}
            )
        form = preview.context["confirm_form"]
        data = {"token": form.initial["token"], f"missing-{suffix}": value}
        response = client.post(reverse("rectification:excel:import_confirm"), data)
        assert response.status_code < 500
        if response.status_code != 302:
            assert CHINESE.search(response.content.decode())
