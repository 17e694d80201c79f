"""The security baseline in a real browser: Chromium enforces the content security policy, so
a page that needed an inline script or style would report a violation here."""

import re

import pytest
from playwright.sync_api import expect

from .conftest import PASSWORD
from .e2e import login, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _watch_violations(page):
    violations = []
    page.on(
        "console",
        lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None,
    )
    return violations


def test_it_runs_every_kind_of_page_without_a_policy_violation(world, live_server, page):
    violations = _watch_violations(page)
    login(page, live_server, "office", PASSWORD)
    for path in (
        "/",
        "/problems/",
        f"/problems/{world.problem.pk}/",
        f"/measures/{world.resp_measure.pk}/",
        "/accounts/password/",
        "/accounts/totp/",
        "/admin/",
    ):
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, path
        assert response.headers["content-security-policy"].startswith("default-src 'self'")
    # The stylesheet really applies under the policy (the red top bar).
    assert page.goto(f"{live_server.url}/").ok
    assert page.locator(".topbar").evaluate("e => getComputedStyle(e).backgroundColor") != "rgba(0, 0, 0, 0)"
    assert violations == []


def test_it_shows_the_lockout_in_chinese(world, live_server, page):
    for _ in range(5):
        login(page, live_server, "resp_lly", "not-the-password")
    assert "已被锁定" in page.locator("[role=alert]").inner_text()
    screenshot(page, "security-lockout")


def test_it_gives_the_audit_administrator_the_log(world, live_server, page):
    violations = _watch_violations(page)
    login(page, live_server, "resp_lly", "not-the-password")
    login(page, live_server, "auditadmin", PASSWORD)
    page.get_by_role("link", name="审计日志").first.click()
    page.select_option("select[name=action]", label="登录失败")
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_text("符合条件的共 1 条")).to_be_visible()
    screenshot(page, "security-audit-log")
    page.get_by_role("button", name="校验完整性").click()
    expect(page.get_by_text("完整性校验通过")).to_be_visible()
    assert violations == []


def test_it_gives_the_security_administrator_lockouts_and_roles(world, live_server, page, browser):
    for _ in range(5):
        login(page, live_server, "resp_lly", "not-the-password")
    login(page, live_server, "secadmin", PASSWORD)
    page.get_by_role("link", name="安全管理").click()
    locked = page.locator("table.grid tbody tr")
    expect(locked).to_have_count(1)
    expect(locked.locator("td")).to_have_text(
        [
            "resp_lly",
            "张联络",
            world.resp_unit.display_name,
            "127.0.0.1",
            "5",
            re.compile(r"\d{4}-"),
            re.compile(r"\d{4}-"),
            "解锁",
        ]
    )
    screenshot(page, "security-lockouts")
    page.get_by_role("button", name="解锁").click()
    expect(page.get_by_text("当前没有被锁定的账号。")).to_be_visible()
    # Unlocked for real: the liaison signs in with the right password and reaches the worklist.
    other = browser.new_context(locale="zh-CN").new_page()
    login(other, live_server, "resp_lly", PASSWORD)
    expect(other.locator("h1")).to_have_text("责任局 · 工作台")
    other.context.close()
    page.get_by_role("link", name="角色授权").click()
    page.fill("input[name=q]", "resp_lly")
    page.get_by_role("button", name="查询").click()
    row = page.locator("table.grid tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(3)).to_have_text("单位联络员")
    screenshot(page, "security-roles")
