"""The office dashboard on the demo district, in a real browser."""

import pytest
from playwright.sync_api import expect

from rectification.demo import DEMO_PASSWORD, demo_load

from .e2e import login, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_it_shows_the_office_the_demo_district_and_drills_down(live_server, page, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    demo_load()
    login(page, live_server, "zgb", DEMO_PASSWORD)
    page.get_by_role("link", name="总览").click()
    expect(page.locator(".countdown.big")).to_be_visible()
    expect(page.get_by_role("heading", name="上热中温下冷：各层级单位的投入程度")).to_be_visible()
    screenshot(page, "dashboard-office")
    red = int(page.locator("a.stat.red strong").inner_text())
    page.locator("a.stat.red").click()
    assert page.locator("h1").inner_text().startswith("整改措施清单")
    assert f"共 {red} 项" in page.locator("main").inner_text()
    screenshot(page, "dashboard-red-list")

    page.get_by_role("button", name="退出").click()
    login(page, live_server, "ld01", DEMO_PASSWORD)
    page.get_by_role("link", name="我的牵头事项").click()
    expect(page.get_by_role("heading", name="书记领办事项（4）")).to_be_visible()
    screenshot(page, "dashboard-secretary")
