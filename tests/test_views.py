"""The pages of the foundation: login, home per role, problem list and details, the admin."""

import datetime
import html
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from rectification.models import Track

from .conftest import PASSWORD

LIST = reverse("rectification:problem_list")
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.django_db
class TestLogin:
    def test_it_sends_anonymous_visitors_to_the_login_page(self, client):
        response = client.get(reverse("rectification:home"))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))

    def test_it_logs_in_with_username_and_password(self, world, client):
        response = client.post(reverse("accounts:login"), {"username": "resp_lly", "password": PASSWORD}, follow=True)
        # A liaison lands on the unit's worklist.
        assert "责任局 · 工作台" in response.content.decode()

    def test_it_refuses_a_wrong_password_in_chinese(self, world, client):
        response = client.post(reverse("accounts:login"), {"username": "resp_lly", "password": "wrong"})
        assert response.status_code == 200
        assert "请输入一个正确的" in response.content.decode()

    def test_it_logs_out_only_by_post(self, world, client):
        client.force_login(world.resp_staff)
        assert client.get(reverse("accounts:logout")).status_code == 405
        client.post(reverse("accounts:logout"))
        assert client.get(reverse("rectification:home")).status_code == 302


@pytest.mark.django_db
class TestHome:
    def test_it_shows_the_office_the_countdown_and_totals(self, world, client):
        # The round's report is due on 2026-12-31. Signed in on the day, as sessions expire.
        with time_machine.travel(datetime.datetime(2026, 12, 21, 10, tzinfo=SHANGHAI), tick=False):
            client.force_login(world.office)
            page = client.get(reverse("rectification:home")).content.decode()
        assert "测试轮次" in page
        assert "距整改报告报送还有<strong>10</strong>天" in page
        assert "已超过报送期限" not in page
        with time_machine.travel(datetime.datetime(2027, 1, 5, 10, tzinfo=SHANGHAI), tick=False):
            client.force_login(world.office)
            page = client.get(reverse("rectification:home")).content.decode()
        assert "已超过报送期限<strong>5</strong>天" in page
        assert "距整改报告报送还有" not in page

    def test_it_shows_a_unit_its_own_measures_only(self, world, client):
        client.force_login(world.resp_staff)
        page = client.get(reverse("rectification:home"), follow=True).content.decode()
        assert "全面清理违规发放的津贴补贴" in page
        assert "镇街自查自纠" not in page

    def test_it_shows_a_leader_the_problems_they_lead(self, world, client):
        client.force_login(world.leader)
        page = client.get(reverse("rectification:home")).content.decode()
        assert "我牵头或负责的问题" in page
        assert "违规发放津补贴" in page

    def test_it_tells_an_administrator_they_see_no_findings(self, world, client):
        client.force_login(world.sysadmin)
        page = client.get(reverse("rectification:home")).content.decode()
        assert "三员分立" in page
        assert "违规发放津补贴" not in page

    def test_it_refuses_post(self, world, client):
        client.force_login(world.office)
        assert client.post(reverse("rectification:home")).status_code == 405


@pytest.mark.django_db
class TestProblemList:
    def test_it_filters_by_track(self, world, client):
        world.make_problem("3.1", track_kind=Track.Kind.CADRE)
        client.force_login(world.office)
        page = client.get(LIST, {"track": "cadre"}).content.decode()
        assert "问题3.1" in page
        assert "违规发放津补贴" not in page

    def test_it_searches_by_text(self, world, client):
        world.make_problem("3.2")
        client.force_login(world.office)
        page = client.get(LIST, {"q": "津补贴"}).content.decode()
        assert "违规发放津补贴" in page
        assert "问题3.2" not in page

    def test_it_counts_closed_and_total_measures(self, world, client):
        client.force_login(world.office)
        assert "0/2" in client.get(LIST).content.decode()

    def test_it_refuses_post(self, world, client):
        client.force_login(world.office)
        assert client.post(LIST).status_code == 405

    def test_its_next_page_keeps_the_filters(self, world, client):
        for n in range(25):
            world.make_problem(f"6.{n}", track_kind=Track.Kind.CADRE)
        client.force_login(world.office)
        first = client.get(LIST, {"track": "cadre"}).content.decode()
        next_link = html.unescape(re.search(r'href="([^"]*)">下一页', first)[1])
        second = client.get(LIST + next_link)
        assert second.context["page"].number == 2
        assert second.context["page"].paginator.count == 25
        assert "违规发放津补贴" not in second.content.decode()

    @pytest.mark.parametrize("actor", ["office", "resp_staff", "leader"])
    def test_it_runs_the_same_number_of_queries_for_3_and_30_problems(
        self, world, client, django_assert_num_queries, actor
    ):
        user = getattr(world, actor)
        client.force_login(user)
        for n in range(2):
            world.make_problem(f"5.{n}", responsible_units=[world.resp_unit], measures=[world.resp_unit])
        client.get(LIST)  # warm the content-type cache
        with django_assert_num_queries(QUERY_BUDGET[actor]):
            client.get(LIST)
        for n in range(2, 29):
            world.make_problem(f"5.{n}", responsible_units=[world.resp_unit], measures=[world.resp_unit])
        with django_assert_num_queries(QUERY_BUDGET[actor]):
            response = client.get(LIST, {"track": "general"})
        assert response.context["page"].paginator.count == 30


# Session, user, roles, the user's unit (page header), unread notices (the bell), pending
# close-outs, rounds, count, page of problems, the campaigns for the filter; the menu's numbers on
# 督办单 and 待认领 (one query, for unit staff and the office). A district leader belongs to no unit
# and has neither entry.
QUERY_BUDGET = {"office": 11, "resp_staff": 11, "leader": 9}


@pytest.mark.django_db
class TestAdminSite:
    def test_it_opens_for_the_office(self, world, client):
        client.force_login(world.office)
        assert client.get(reverse("admin:rectification_problem_changelist")).status_code == 200

    @pytest.mark.parametrize("actor", ["resp_staff", "leader", "sysadmin", "provincial"])
    def test_it_stays_closed_to_everyone_else(self, world, client, actor):
        user = getattr(world, actor)
        user.is_staff = True
        user.save()
        client.force_login(user)
        response = client.get(reverse("admin:rectification_problem_changelist"))
        assert response.status_code == 302
        assert "/admin/login/" in response["Location"]

    def test_it_moves_access_when_the_office_changes_the_lead_unit_in_the_admin(self, world, client):
        from rectification.access import problems_visible_to

        client.force_login(world.office)
        url = reverse("admin:rectification_problem_change", args=[world.problem.pk])
        form = client.get(url).context["adminform"].form
        data = {k: v for k, v in form.initial.items() if v is not None and not isinstance(v, list)}
        data.update(
            {
                "round": world.round.pk,
                "aspect": world.problem.aspect_id,
                "track": world.problem.track_id,
                "lead_unit": world.other_unit.pk,
                "lead_official": world.leader.pk,
                "responsible_units": [world.resp_unit.pk],
                "due_date": "2026-12-31",
                "manifestations-TOTAL_FORMS": 0,
                "manifestations-INITIAL_FORMS": 0,
                "criteria-TOTAL_FORMS": 0,
                "criteria-INITIAL_FORMS": 0,
            }
        )
        response = client.post(url, data)
        assert response.status_code == 302, response.context["adminform"].form.errors
        assert world.problem in problems_visible_to(world.outsider)
        assert world.problem not in problems_visible_to(world.lead_staff)
