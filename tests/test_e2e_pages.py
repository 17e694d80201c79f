"""Every role walks every page of its main menu in the demo district, on a phone (390 × 844) and
on an office screen (1366 × 768), in Chromium set to Chinese: no page scrolls sideways, and no
form is shown that the server would refuse for that person (each form shown is sent back as it
stands, and the answer must not be 403 or 404: an empty form may be invalid, never forbidden).
A screenshot of every page is kept in test-artifacts/."""

import re
from urllib.parse import urlparse

import pytest

from rectification.demo import DEMO_PASSWORD, demo_load

from .e2e import login, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {"phone": (390, 844), "desktop": (1366, 768)}
ROLES = [
    "zgb",
    "ld01",
    "ld07",
    "czj_lly",
    "czj_fzr",
    "cgjd_lly",
    "cgjd_fzr",
    "zzb_zx",
    "jw_jd",
    "sxsz",
    "xtgly",
    "aqgly",
    "sjgly",
]
# Besides the menu, the first page of each kind linked from the menu's pages: most forms live there.
DETAILS = [
    r"^/measures/\d+/$",
    r"^/problems/\d+/$",
    r"^/closeout/\d+/$",
    r"^/cycles/\d+/$",
    r"^/calendar/\d+/$",
    r"^/setup/rounds/\d+/$",
    r"^/accounts/approvals/\d+/$",
]
# Forms not sent back: signing out would end the walk.
NOT_SENT = {"/accounts/logout/"}

# Each form that may be sent with what it holds, as the browser would encode it.
FORMS_JS = """() => Array.from(document.querySelectorAll('main form')).filter(
  f => (f.getAttribute('method') || 'get').toLowerCase() === 'post'
).map(f => {
  const data = new URLSearchParams();
  for (const [k, v] of new FormData(f)) { if (typeof v === 'string') data.append(k, v); }
  return {action: new URL(f.getAttribute('action') || '', location.href).pathname, body: data.toString()};
})"""


def _menu(page):
    hrefs = page.eval_on_selector_all(
        "nav.mainnav a[href], .who a[href]", "links => links.map(a => a.getAttribute('href'))"
    )
    return [href for href in dict.fromkeys(hrefs) if href.startswith("/") and not href.startswith("/admin/")]


def _links(page):
    return page.eval_on_selector_all("main a[href]", "links => links.map(a => a.getAttribute('href'))")


def _walk(page, live_server, username, viewport, *, send_forms):
    """The pages seen, pages too wide, and forms refused, for one person at one size."""
    width, height = VIEWPORTS[viewport]
    page.set_viewport_size({"width": width, "height": height})
    too_wide, refused, seen, sent = [], [], [], []
    page.goto(f"{live_server.url}/")
    queue = _menu(page)
    found_details = set()
    while queue:
        path = queue.pop(0)
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, (username, path, response.status)
        seen.append(path)
        scroll = page.evaluate("document.documentElement.scrollWidth")
        if scroll > page.evaluate("window.innerWidth"):
            too_wide.append((username, viewport, path, scroll))
        slug = re.sub(r"[^a-z0-9]+", "-", path).strip("-") or "home"
        screenshot(page, f"pages-{viewport}-{username}-{slug}")
        for href in _links(page):
            target = urlparse(href).path
            for pattern in DETAILS:
                if pattern not in found_details and re.match(pattern, target) and not urlparse(href).query:
                    found_details.add(pattern)
                    queue.append(target)
        if send_forms:
            for form in page.evaluate(FORMS_JS):
                if form["action"] in NOT_SENT:
                    continue
                answer = page.request.post(
                    f"{live_server.url}{form['action']}",
                    data=form["body"],
                    headers={"Content-Type": "application/x-www-form-urlencoded", "Referer": page.url},
                    max_redirects=0,
                )
                sent.append(form["action"])
                if answer.status in (403, 404, 405):
                    refused.append((username, path, form["action"], answer.status))
    return seen, sent, too_wide, refused


def test_every_role_walks_its_menu_without_dead_ends(live_server, browser, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    demo_load()
    too_wide, refused, forms_sent = [], [], 0
    for username in ROLES:
        context = browser.new_context(locale="zh-CN")
        page = context.new_page()
        try:
            login(page, live_server, username, DEMO_PASSWORD)
            for viewport in VIEWPORTS:
                seen, sent, wide, bad = _walk(page, live_server, username, viewport, send_forms=viewport == "phone")
                # Every role has at least its home page and something more in its menu.
                assert len(seen) >= 2, (username, seen)
                forms_sent += len(sent)
                too_wide += wide
                refused += bad
        finally:
            context.close()
    assert (too_wide, refused) == ([], [])
    # The walk did send forms: the unit's week, the reviews, the administrators' pages.
    assert forms_sent > 20
