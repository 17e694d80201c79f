"""The campaign page, the district battle board and the leader hand-over in Chromium, with the three
actors (the office, a unit's staff, an outsider) and the provincial team (refused: it reads only
what the district released), at 1366 × 768 and 390 × 844:
what each sees, no sideways scrolling of the page, a screenshot of each; the board printed on A3
landscape carries every open problem's code."""

import re
import subprocess

import pytest

from rectification.models import CloseOutState, Problem

from .conftest import PASSWORD
from .e2e import ARTIFACTS, login, screenshot
from .test_maintenance import campaign_world  # noqa: F401 - the fixture, shared

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SIZES = [(1366, 768), (390, 844)]
ACTORS = ["office", "resp_staff", "outsider", "provincial"]


def _each_actor_and_size(browser, live_server, world, visit):
    """``visit(page, actor)`` for every actor at every size, in a fresh signed-in context each."""
    for actor in ACTORS:
        for width, height in SIZES:
            context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
            page = context.new_page()
            try:
                login(page, live_server, getattr(world, actor).username, PASSWORD)
                visit(page, actor, width)
            finally:
                context.close()


def _fits(page, width):
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_the_campaign_page_for_each_actor(browser, live_server, world, campaign_world):  # noqa: F811
    campaign, _ours, _theirs = campaign_world
    expected_rows = {"office": 4, "resp_staff": 2}

    def visit(page, actor, width):
        response = page.goto(f"{live_server.url}/campaigns/{campaign.pk}/")
        if actor == "outsider":
            assert response.status == 404
            assert "群众身边不正之风" not in page.content()
        elif actor == "provincial":
            # The provincial team reads only what the district released, and is told so.
            assert response.status == 403
            assert "省巡视组账号只查看区整改办已报送的材料" in page.content()
            assert "群众身边不正之风" not in page.content()
        else:
            assert response.status == 200
            measures = page.locator("section.card").nth(2).locator("tbody tr")
            assert measures.count() == expected_rows[actor]
            # The edit link is the office's only: nobody else is shown what they cannot do.
            assert (page.locator("text=修改专项整治").count() == 1) == (actor == "office")
        _fits(page, width)
        screenshot(page, f"campaign-{actor}-{width}")

    _each_actor_and_size(browser, live_server, world, visit)


def test_the_battle_board_for_each_actor(browser, live_server, world, campaign_world):  # noqa: F811
    open_codes = set(Problem.objects.exclude(closeout_state=CloseOutState.CLOSED).values_list("code", flat=True))
    expected = {"office": open_codes, "provincial": set(), "resp_staff": {"1.1", "2.1"}, "outsider": set()}

    def visit(page, actor, width):
        for group in ("aspect", "leader"):
            response = page.goto(f"{live_server.url}/board/?group={group}")
            # The live board is not among what the district released to the provincial team.
            assert response.status == (403 if actor == "provincial" else 200)
            codes = set(page.eval_on_selector_all("tr.board-row", "rows => rows.map(r => r.dataset.code)"))
            assert codes == expected[actor], (actor, group)
            _fits(page, width)
            screenshot(page, f"board-{actor}-{group}-{width}")

    _each_actor_and_size(browser, live_server, world, visit)


def test_the_battle_board_prints_on_a3_landscape(page, live_server, world, campaign_world):  # noqa: F811
    login(page, live_server, world.office.username, PASSWORD)
    page.goto(f"{live_server.url}/board/?group=track")
    ARTIFACTS.mkdir(exist_ok=True)
    pdf = ARTIFACTS / "board-a3.pdf"
    page.pdf(path=str(pdf), format="A3", landscape=True, print_background=True, prefer_css_page_size=True)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    width, height = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info).groups())
    # A3 landscape: 420 × 297 mm.
    assert abs(width - 420 / 25.4 * 72) < 2 and abs(height - 297 / 25.4 * 72) < 2
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    open_codes = Problem.objects.exclude(closeout_state=CloseOutState.CLOSED).values_list("code", flat=True)
    assert len(open_codes) == 3
    for code in open_codes:
        assert re.search(rf"(?<![\d.]){re.escape(code)}(?![\d.])", text), code
    assert "挂图作战总图" in text
    # The menu is not printed.
    assert "修改密码" not in text


def test_the_office_hands_a_leaders_items_over_in_bulk(browser, live_server, world):
    second = world.make_problem("1.2", measures=[world.coop_unit])
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = context.new_page()
    try:
        login(page, live_server, world.office.username, PASSWORD)
        page.goto(f"{live_server.url}/setup/leaders/handover/")
        page.select_option("#id_inspection_round", str(world.round.pk))
        page.select_option("#id_old_leader", str(world.leader.pk))
        page.select_option("#id_new_leader", str(world.other_leader.pk))
        page.click("button[value=preview]")
        page.wait_for_load_state()
        assert page.locator("tr.handover-row").count() == 2
        screenshot(page, "handover-preview-1366")
        page.click("button[value=confirm]")
        page.wait_for_load_state()
        assert "已将王牵头的 2 个问题移交李其他" in page.content()
        screenshot(page, "handover-done-1366")
    finally:
        context.close()
    for leader, status in ((world.leader, 404), (world.other_leader, 200)):
        context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
        page = context.new_page()
        try:
            login(page, live_server, leader.username, PASSWORD)
            assert page.goto(f"{live_server.url}/problems/{second.pk}/").status == status
            _fits(page, 390)
            screenshot(page, f"handover-{leader.username}-390")
        finally:
            context.close()
