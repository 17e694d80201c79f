"""The office creates a problem, the lead unit decomposes it for two units, both claim, and the
battle map shows both: in a real browser."""

import pytest
from playwright.sync_api import expect

from rectification.models import Measure

from .conftest import PASSWORD
from .e2e import login, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _switch(page, live_server, username):
    page.get_by_role("button", name="退出").click()
    login(page, live_server, username, PASSWORD)


def test_it_sets_up_a_problem_from_creation_to_the_battle_map(world, live_server, page):
    login(page, live_server, "office", PASSWORD)
    page.goto(f"{live_server.url}/setup/rounds/{world.round.pk}/problems/new/")
    page.fill("input[name=code]", "2.1")
    page.select_option("select[name=aspect]", label="方面一")
    page.select_option("select[name=track]", label="综合")
    page.fill("input[name=title]", "基层减负不到位")
    page.fill("textarea[name=text]", "文山会海问题仍然存在，基层负担较重。")
    page.fill("textarea[name=manifestations]", "某镇一年开会200余次")
    page.select_option("select[name=deadline_category]", "by_date")
    page.fill("input[name=due_date]", "2026-12-31")
    page.fill("textarea[name=criteria]", "会议数量压减30%")
    page.locator("input.picker-search").first.fill("王牵头")
    page.select_option("select[name=lead_official]", label="王牵头")
    page.select_option("select[name=lead_unit]", label="牵头局")
    page.select_option("select[name=responsible_units]", label=["责任局", "协办镇"])
    screenshot(page, "setup-problem-form")
    page.get_by_role("button", name="创建问题").click()
    expect(page.get_by_text("问题 2.1 已创建")).to_be_visible()
    _switch(page, live_server, "lead_lly")
    problem = world.round.problems.get(code="2.1")
    page.goto(f"{live_server.url}/problems/{problem.pk}/decompose/")
    for unit, text in (("责任局", "制定会议精简办法"), ("协办镇", "清理镇级报表")):
        form = page.locator("#new-measure")
        form.locator("textarea[name=text]").fill(text)
        form.locator("select[name=kind]").select_option("rules")
        form.locator("select[name=owner_unit]").select_option(label=unit)
        form.locator("input[name=start_date]").fill("2026-11-02")
        form.locator("input[name=due_date]").fill("2026-12-18")
        page.get_by_role("button", name="添加措施").click()
        expect(page.get_by_text(f"已分解给{unit}")).to_be_visible()
    screenshot(page, "setup-decompose")

    for username, handler, text in (("resp_lly", "张三", "制定会议精简办法"), ("coop_lly", "李四", "清理镇级报表")):
        _switch(page, live_server, username)
        page.get_by_role("link", name="待认领").click()
        task = page.locator("section.card", has_text=text)
        task.locator("input[name=handler_name]").fill(handler)
        task.locator("input[name=handler_phone]").fill("13800000000")
        task.get_by_role("button", name="认领").click()
        expect(page.get_by_text("已认领措施")).to_be_visible()
    _switch(page, live_server, "leader")
    page.goto(f"{live_server.url}/problems/{problem.pk}/map/")
    body = page.locator("main").inner_text()
    for text in ("2.1.1", "2.1.2", "责任局", "协办镇", "张三", "李四"):
        assert text in body
    screenshot(page, "setup-battle-map")
    assert set(Measure.objects.filter(problem=problem).values_list("claim_state", flat=True)) == {"claimed"}
