"""A liaison fills the week's report in a real browser, the unit head confirms it."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from rectification import services
from rectification.models import Evidence, Measure, ProgressReport

from .conftest import PASSWORD, as_claimed
from .e2e import login, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_it_reports_two_measures_with_evidence_and_the_head_confirms(world, live_server, page, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    second = as_claimed(
        services.measure_create(
            actor=world.office,
            problem=world.problem,
            code="1.1.3",
            text="建立津补贴发放审核制度",
            kind=Measure.Kind.RULES,
            owner_unit=world.resp_unit,
            start_date=datetime.date(2026, 9, 1),
            due_date=datetime.date(2026, 12, 20),
        )
    )
    evidence_file = tmp_path / "清退凭证.pdf"
    evidence_file.write_bytes(PDF)

    login(page, live_server, "resp_lly", PASSWORD)
    assert page.locator("h1").inner_text() == "责任局 · 工作台"
    screenshot(page, "unit-worklist")
    page.get_by_role("link", name="填报").first.click()

    first = f"#m{world.resp_measure.pk}"
    page.fill(f"{first} textarea[name$=progress_this_week]", "已清退违规津补贴12万元，涉及3个单位。")
    page.fill(f"{first} input[name$=percent]", "60")
    page.set_input_files(f"{first} input[name$=evidence_file]", str(evidence_file))
    page.select_option(f"{first} select[name$=evidence_kind]", "receipt")
    row = f"#m{second.pk}"
    page.fill(f"{row} textarea[name$=progress_this_week]", "已起草《津补贴发放审核办法》初稿。")
    page.fill(f"{row} input[name$=percent]", "30")
    page.fill(f"{row} textarea[name$=difficulties]", "需区财政局明确发放标准")
    screenshot(page, "unit-report-filled")
    page.get_by_role("button", name="提交勾选的措施").click()
    page.wait_for_load_state()
    expect(page.get_by_text("周报已提交，等待单位负责人确认")).to_be_visible()
    expect(page.get_by_text("清退凭证.pdf")).to_be_visible()
    page.get_by_role("button", name="退出").click()
    login(page, live_server, "resp_fzr", PASSWORD)
    page.get_by_role("link", name="周报填报").click()
    expect(page.get_by_role("heading", name="单位负责人确认")).to_be_visible()
    screenshot(page, "unit-report-head-review")
    page.get_by_role("button", name="确认全部").click()
    page.wait_for_load_state()
    expect(page.get_by_text("已确认 2 项措施的周报")).to_be_visible()
    screenshot(page, "unit-report-confirmed")

    states = set(ProgressReport.objects.values_list("state", flat=True))
    assert states == {ProgressReport.State.CONFIRMED}
    assert Evidence.objects.get().kind == "receipt"
    world.resp_measure.refresh_from_db()
    assert world.resp_measure.percent == 60


def _fits(page):
    """The page scrolls only vertically."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.parametrize("width", [390, 1366])
def test_the_head_confirms_one_row_and_returns_another_on_any_screen(world, live_server, browser, width):
    second = as_claimed(
        services.measure_create(
            actor=world.office,
            problem=world.problem,
            code="1.1.3",
            text="建立津补贴发放审核制度",
            kind=Measure.Kind.RULES,
            owner_unit=world.resp_unit,
            start_date=datetime.date(2026, 9, 1),
            due_date=datetime.date(2026, 12, 20),
        )
    )
    year, week, _day = timezone.localdate().isocalendar()
    for measure in (world.resp_measure, second):
        services.report_save(
            actor=world.resp_staff,
            measure=measure,
            iso_year=year,
            iso_week=week,
            data={
                "progress_this_week": f"{measure.code}本周推进",
                "cumulative_state": "in_progress",
                "percent": 50,
                "next_week_plan": "继续",
                "difficulties": "",
            },
            lock_version=None,
        )
    services.report_submit(actor=world.resp_staff, unit=world.resp_unit, iso_year=year, iso_week=week)
    context = browser.new_context(viewport={"width": width, "height": 844}, locale="zh-CN")
    page = context.new_page()
    try:
        login(page, live_server, "resp_fzr", PASSWORD)
        page.goto(f"{live_server.url}/unit/report/")
        assert _fits(page)
        page.check(f"#m{world.resp_measure.pk} input[value=confirm]")
        page.check(f"#m{second.pk} input[value=return]")
        page.fill(f"#m{second.pk} textarea[name^=reason]", "制度草稿未附")
        screenshot(page, f"unit-report-head-rows-{width}")
        page.get_by_role("button", name="提交审核结果").click()
        page.wait_for_load_state()
        expect(page.get_by_text("已确认 1 项、退回 1 项措施的周报")).to_be_visible()
        expect(page.get_by_text("负责人退回：制度草稿未附")).to_be_visible()
        assert _fits(page)
    finally:
        context.close()
    states = dict(ProgressReport.objects.values_list("measure__code", "state"))
    assert states == {"1.1.1": "confirmed", "1.1.3": "returned"}
