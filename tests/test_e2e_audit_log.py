"""The audit log as the audit administrator sees it in Chromium, on a laptop and on a phone: Chinese
names, changes as a list, no code or JSON on the screen, nothing wider than the window."""

import datetime
import re

import pytest

from .conftest import PASSWORD
from .e2e import login, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# An action or object code (``auth.login``, ``accounts.user``) or a JSON brace, shown as text.
RAW = re.compile(r"\b[a-z_]+\.[a-z_]+\b|[{}]")


@pytest.mark.parametrize("width, height", [(1366, 768), (390, 844)])
def test_it_reads_as_chinese_and_fits_the_window(world, live_server, browser, width, height):
    from rectification.services import measure_update

    due = world.resp_measure.due_date - datetime.timedelta(days=2)
    measure_update(actor=world.office, measure=world.resp_measure, text="新的措施内容：清理津贴补贴", due_date=due)
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    page = context.new_page()
    try:
        login(page, live_server, "auditadmin", PASSWORD)
        page.goto(f"{live_server.url}/accounts/audit/")
        page.select_option("#id_action", label="修改整改措施")
        page.click("form.filters button[type=submit]")
        page.wait_for_load_state()
        table = page.locator("table.audit-log")
        text = table.inner_text()
        assert "修改整改措施" in text and "完成时限" in text and "（文字已隐去，共 13 字）" in text
        assert "清理津贴补贴" not in page.content()
        assert RAW.findall(text) == []
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        screenshot(page, f"audit-log-{width}")
    finally:
        context.close()
