"""The main menu per role: unit staff and leaders see their few daily pages first, the office its
full menu; every entry comes from the access module, and the numbers on 待认领, 督办单 and 待我审核
equal the lengths of the lists they open."""

import re

import pytest
from django.urls import reverse

from rectification.models import Measure

from .test_no_dead_ends import _notice
from .test_query_budgets import _measures

pytestmark = pytest.mark.django_db

HOME = reverse("rectification:home")


def _menu(client):
    page = client.get(reverse("rectification:notifications")).content.decode()
    nav = page[page.index('<nav class="mainnav"') : page.index("</nav>")]
    return re.findall(r'data-menu="([^"]+)"', nav), nav


def _badge(nav, name):
    found = re.search(rf'data-menu="{re.escape(name)}">[^<]*<span class="badge">(\d+)<', nav)
    return int(found.group(1)) if found else 0


class TestMenuOrder:
    def test_a_liaison_sees_the_units_five_things_first(self, world, client):
        client.force_login(world.resp_staff)
        names, nav = _menu(client)
        assert names[:5] == ["worklist", "report_week", "unit_claims", "notice_list", "closeout_pending"]
        assert "problem_list" in names[5:] and "home" not in names
        assert nav.count('class="primary"') == 5

    def test_a_leader_sees_the_leaders_pages_first(self, world, client):
        client.force_login(world.leader)
        names, _nav = _menu(client)
        assert names[0] == "leader"
        assert names[1:3] == ["closeout_pending", "coordination_list"]
        # Not the unit's pages, nor the office's.
        assert not {"worklist", "report_week", "round_list", "admin"} & set(names)

    def test_the_office_sees_its_full_menu(self, world, client):
        client.force_login(world.office)
        names, nav = _menu(client)
        assert names[0] == "home"
        assert {"round_list", "cycle_list", "notice_list", "penalty_list", "problem_list", "admin"} <= set(names)
        assert 'class="more"' not in nav

    @pytest.mark.parametrize("actor", ["supervision", "provincial", "auditadmin"])
    def test_readers_and_administrators_get_no_entry_they_cannot_open(self, world, client, actor):
        client.force_login(getattr(world, actor))
        _names, nav = _menu(client)
        for href in re.findall(r'href="([^"]+)"', nav):
            if href.startswith("/admin/"):
                continue
            assert client.get(href).status_code == 200, (actor, href)


class TestMenuCounts:
    def test_the_claims_count_equals_the_claims_list(self, world, client):
        Measure.objects.filter(pk=world.resp_measure.pk).update(claim_state=Measure.ClaimState.PENDING)
        _measures(world, world.problem, world.resp_unit, 3, claimed=False)
        client.force_login(world.resp_staff)
        _names, nav = _menu(client)
        shown = client.get(reverse("rectification:unit_claims")).context["measures"]
        assert _badge(nav, "unit_claims") == len(shown) == 4

    def test_the_notice_count_equals_the_open_notices_it_links_to(self, world, client):
        measures = _measures(world, world.problem, world.resp_unit, 5)
        for index, measure in enumerate(measures):
            _notice(world, measure, answered=index == 0)
        for actor in (world.resp_staff, world.office):
            client.force_login(actor)
            _names, nav = _menu(client)
            href = re.search(r'href="([^"]+)"[^>]*data-menu="notice_list"', nav).group(1)
            assert href.endswith("?state=open")
            listed = client.get(href).context["page"].paginator.count
            assert _badge(nav, "notice_list") == listed == 4

    def test_another_units_notices_are_not_counted(self, world, client):
        _notice(world, world.resp_measure)
        client.force_login(world.outsider)
        _names, nav = _menu(client)
        assert _badge(nav, "notice_list") == 0
        assert client.get(reverse("rectification:notice_list"), {"state": "open"}).context["page"].paginator.count == 0
