"""The demo district on a phone (390 × 844) in Chromium: every main page of every role fits the
screen without sideways scrolling, and the top bar with the menu stays a small strip."""

import re

import pytest

from rectification.demo import DEMO_PASSWORD, demo_load

from .conftest import PASSWORD
from .e2e import login, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WIDTH, HEIGHT = 390, 844

# A detail page is reached through the first link of this form on its list.
DETAIL = {
    "measure": ("/measures/", r"^/measures/\d+/$"),
    "cycle": ("/cycles/", r"^/cycles/\d+/$"),
}

PAGES = {
    "zgb": ["/dashboard/", "/measures/", "/problems/", "measure", "/cycles/", "cycle"],
    "ld07": ["/leader/"],
    "czj_lly": ["/unit/", "/unit/report/", "measure"],
    "sjgly": ["/accounts/audit/"],
    "xtgly": ["/accounts/approvals/"],
}


def _first_link(page, live_server, list_path, pattern):
    page.goto(f"{live_server.url}{list_path}")
    hrefs = page.eval_on_selector_all("main a[href]", "links => links.map(a => a.getAttribute('href'))")
    return next(href for href in hrefs if re.match(pattern, href))


def test_it_fits_a_phone_screen_for_every_role(live_server, browser, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    demo_load()
    too_wide = []
    for username, paths in PAGES.items():
        context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT}, locale="zh-CN")
        page = context.new_page()
        try:
            login(page, live_server, username, DEMO_PASSWORD)
            for path in paths:
                if path in DETAIL:
                    path = _first_link(page, live_server, *DETAIL[path])
                response = page.goto(f"{live_server.url}{path}")
                assert response.status == 200, (username, path, response.status)
                width = page.evaluate("document.documentElement.scrollWidth")
                if width > WIDTH:
                    too_wide.append((username, path, width))
                # The bar with the menu is a strip at the top, not a third of the screen.
                bar = page.evaluate("document.querySelector('.topbar').getBoundingClientRect().height")
                assert bar < HEIGHT / 6, (username, path, bar)
                slug = re.sub(r"[^a-z0-9]+", "-", path).strip("-")
                screenshot(page, f"phone-{username}-{slug}")
        finally:
            context.close()
    assert too_wide == []


def test_it_keeps_the_whole_menu_reachable_in_one_row(world, live_server, browser):
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT}, locale="zh-CN")
    page = context.new_page()
    try:
        login(page, live_server, "office", PASSWORD)
        links = page.locator("nav.mainnav a")
        tops = {round(box["y"]) for box in (links.nth(i).bounding_box() for i in range(links.count()))}
        assert len(tops) == 1
        # The last entry scrolls into view inside the menu; the page itself does not move sideways.
        links.last.scroll_into_view_if_needed()
        assert links.last.bounding_box()["x"] + links.last.bounding_box()["width"] <= WIDTH
        assert page.evaluate("window.scrollX") == 0
        links.last.click()
        page.wait_for_load_state()
        assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
    finally:
        context.close()
