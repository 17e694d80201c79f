"""双人审批 in a real browser, on a phone (390 px) and on an office screen (1366 px): the approver
reads what is asked, approves with a click, and no page is wider than the screen."""

import pytest

from accounts import services
from accounts.models import User

from .conftest import PASSWORD
from .e2e import login, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _fits(page):
    """The page scrolls only vertically (a wide table scrolls inside its own box)."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.parametrize("width", [390, 1366])
def test_the_security_administrator_approves_a_unit_on_any_screen(world, live_server, browser, width):
    person = services.user_create_by_admin(
        actor=world.sysadmin, username="new_lly", full_name="新联络员", password="Linshi#2026pass", unit=world.resp_unit
    )
    context = browser.new_context(viewport={"width": width, "height": 844}, locale="zh-CN")
    page = context.new_page()
    try:
        login(page, live_server, "secadmin", PASSWORD)
        page.goto(f"{live_server.url}/accounts/approvals/")
        assert page.locator(".tabs .badge").inner_text() == "1"
        assert "加入单位“责任局”" in page.content()
        assert _fits(page)
        screenshot(page, f"approvals-{width}")
        page.click("text=单位授权")
        page.wait_for_load_state()
        assert "sysadmin" in page.content()
        screenshot(page, f"approval-detail-{width}")
        assert _fits(page)
        page.fill("textarea[name=reason]", "核实无误")
        page.click("button[value=approve]")
        page.wait_for_load_state()
        assert "已批准" in page.content()
        assert User.objects.get(pk=person.pk).unit_id == world.resp_unit.pk

        # The header's 退出 is a submit button too: sign out first, so that the login form is the page's only one.
        page.click("button:has-text('退出')")
        page.wait_for_load_state()
        login(page, live_server, "sysadmin", PASSWORD)
        page.goto(f"{live_server.url}/accounts/approvals/mine/")
        assert "已批准" in page.content() and "核实无误" in page.content()
        assert _fits(page)
        page.goto(f"{live_server.url}/accounts/system/users/")
        assert _fits(page)
        screenshot(page, f"approvals-mine-{width}")
    finally:
        context.close()
