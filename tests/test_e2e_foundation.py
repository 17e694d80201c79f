"""A person logs in with a real browser and sees what their role allows."""

import pytest
from playwright.sync_api import expect

from .conftest import PASSWORD
from .e2e import login, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_it_shows_a_liaison_their_units_measures_and_not_others(world, live_server, page):
    login(page, live_server, "resp_lly", PASSWORD)
    assert page.locator("h1").inner_text() == "责任局 · 工作台"
    expect(page.get_by_text("全面清理违规发放的津贴补贴")).to_be_visible()
    assert page.get_by_text("镇街自查自纠").count() == 0
    screenshot(page, "foundation-liaison-home")

    page.get_by_role("link", name="全面清理违规发放的津贴补贴").click()
    assert page.locator("h1").inner_text() == "整改措施 1.1.1"

    response = page.goto(f"{live_server.url}/problems/{world.problem.pk + 999}/")
    assert response.status == 404
    expect(page.get_by_text("页面不存在，或您无权查看")).to_be_visible()


def test_it_shows_the_office_the_countdown_and_filters_the_list(world, live_server, page):
    login(page, live_server, "office", PASSWORD)
    expect(page.locator(".countdown")).to_be_visible()
    page.get_by_role("link", name="问题清单").first.click()
    page.select_option("select[name=track]", "cadre")
    page.get_by_role("button", name="筛选").click()
    expect(page.get_by_text("没有符合条件的问题。")).to_be_visible()
    screenshot(page, "foundation-office-problem-list")


def test_it_tells_a_wrong_password_in_chinese(world, live_server, page):
    login(page, live_server, "resp_lly", "not-the-password")
    assert page.locator(".error").inner_text().startswith("请输入一个正确的")
