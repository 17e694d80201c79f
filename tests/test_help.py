"""The user manual inside the system (帮助): every page links to the chapter that explains it, the
chapters render from docs/manual/ with their links and pictures pointed at the served pages, and
only people signed in read it."""

import re

import pytest
from django.urls import reverse

from rectification.views.help import MANUAL, _rendered, chapters

pytestmark = pytest.mark.django_db

INDEX = reverse("rectification:help_index")


def _help_link(page):
    return re.search(r'<a class="help" href="([^"]+)">帮助</a>', page).group(1)


class TestHelpLinks:
    @pytest.mark.parametrize(
        "actor, url_name, chapter",
        [
            ("resp_staff", "rectification:worklist", "01-liaison"),
            ("resp_head", "rectification:worklist", "02-unit-head"),
            ("lead_staff", "rectification:led_reports", "03-lead-unit"),
            ("leader", "rectification:leader", "04-leader"),
            ("office", "rectification:round_list", "05-office"),
            ("office", "rectification:problem_list", "05-office"),
            ("supervision", "rectification:problem_list", "06-supervision"),
            ("provincial", "rectification:problem_list", "07-provincial"),
            ("auditadmin", "accounts:audit_log", "08-administrators"),
        ],
    )
    def test_each_page_links_to_its_chapter(self, world, client, actor, url_name, chapter):
        client.force_login(getattr(world, actor))
        page = client.get(reverse(url_name)).content.decode()
        link = _help_link(page)
        assert link == reverse("rectification:help_chapter", args=[chapter])
        opened = client.get(link)
        assert opened.status_code == 200
        title = (MANUAL / f"{chapter}.md").read_text(encoding="utf-8").split("\n", 1)[0].lstrip("# ").strip()
        assert title in opened.content.decode()


class TestManualPages:
    def test_the_index_lists_every_chapter_and_each_opens(self, world, client):
        client.force_login(world.resp_staff)
        page = client.get(INDEX).content.decode()
        assert len(chapters()) == 8
        for name, title in chapters():
            url = reverse("rectification:help_chapter", args=[name])
            assert url in page and title in page
            assert client.get(url).status_code == 200
        # Links between chapters point at the served pages, never at the .md files.
        assert ".md" not in re.sub(r"<code>.*?</code>", "", page)

    def test_it_escapes_html_written_in_a_chapter(self):
        html = _rendered("文字<script>alert(1)</script> ![图](img/common-login.png) [第一章](01-liaison.md#1)")
        assert "<script>" not in html and "&lt;script&gt;" in html
        assert f'src="{reverse("rectification:help_image", args=["common-login.png"])}"' in html
        assert f'href="{reverse("rectification:help_chapter", args=["01-liaison"])}#1"' in html

    @pytest.mark.parametrize("name", ["99-nothing", "README", "..", "01-liaison.md"])
    def test_it_answers_404_for_what_is_not_a_chapter(self, world, client, name):
        client.force_login(world.resp_staff)
        assert client.get(f"/help/{name}/").status_code == 404

    @pytest.mark.parametrize("name", ["..%2Fsettings.py", "missing-picture.png", "a.svg"])
    def test_it_serves_only_the_manuals_pictures(self, world, client, name):
        client.force_login(world.resp_staff)
        assert client.get(f"/help/img/{name}").status_code == 404

    def test_it_asks_someone_not_signed_in_to_sign_in(self, client):
        response = client.get(reverse("rectification:help_chapter", args=["01-liaison"]))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


class TestFirstWeekGuide:
    @pytest.mark.parametrize(
        "actor, landing, first_step",
        [
            ("resp_staff", "rectification:worklist", "rectification:worklist"),
            ("leader", "rectification:leader", "rectification:leader"),
            ("office", "rectification:home", "rectification:cycle_list"),
        ],
    )
    def test_a_new_user_gets_the_guide_of_the_role_on_the_landing_page(self, world, client, actor, landing, first_step):
        client.force_login(getattr(world, actor))
        page = client.get(reverse(landing)).content.decode()
        assert "本周要做的事" in page
        guide = page[page.index("本周要做的事") : page.index("</section>", page.index("本周要做的事"))]
        hrefs = re.findall(r'<a href="([^"]+)" class="small">去办理</a>', guide)
        assert hrefs[0] == reverse(first_step)
        # Every step links to a page the person may open.
        for href in hrefs:
            assert client.get(href).status_code == 200, href

    def test_it_goes_away_once_dismissed_and_stays_away(self, world, client):
        client.force_login(world.resp_staff)
        worklist = reverse("rectification:worklist")
        response = client.post(
            reverse("rectification:guide_dismiss"), {"guide": "01-liaison", "next": worklist}, follow=True
        )
        assert response.redirect_chain[-1][0] == worklist
        assert "本周要做的事" not in response.content.decode()
        world.resp_staff.refresh_from_db()
        assert world.resp_staff.guides_dismissed == ["01-liaison"]
        client.logout()
        client.force_login(world.resp_staff)
        assert "本周要做的事" not in client.get(worklist).content.decode()

    def test_it_dismisses_only_ones_own_roles_guide_and_stays_on_this_site(self, world, client):
        client.force_login(world.resp_staff)
        url = reverse("rectification:guide_dismiss")
        assert client.post(url, {"guide": "05-office"}).status_code == 404
        response = client.post(url, {"guide": "01-liaison", "next": "https://evil.example/"})
        assert response["Location"] == reverse("rectification:home")
        assert client.get(url).status_code == 405

    def test_administrators_get_no_guide(self, world, client):
        client.force_login(world.sysadmin)
        assert "本周要做的事" not in client.get(reverse("rectification:home")).content.decode()
