"""A leader's pages keep this round's items apart from what is left of an earlier round: the
newest round (by feedback date) first, each earlier round in its own section below."""

import datetime

import pytest
from django.urls import reverse

from .conftest import FEEDBACK

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_rounds(world):
    """The world's round is now the earlier one; a later round gives the leader problem 9.1."""
    later = world.make_round("第二轮巡视", feedback_date=FEEDBACK + datetime.timedelta(days=60))
    world.make_problem("9.1", responsible_units=[world.resp_unit], measures=[world.resp_unit], inspection_round=later)
    return later


def _section(page, heading):
    start = page.index(heading)
    return page[start : page.index("</section>", start)]


class TestLeaderPage:
    def test_it_lists_this_rounds_problems_apart_from_the_earlier_rounds(self, world, client, two_rounds):
        client.force_login(world.leader)
        response = client.get(reverse("rectification:leader"))
        assert [p.code for p in response.context["problems"]] == ["9.1"]
        earlier = response.context["earlier"]
        assert [(block["round"].pk, [p.code for p in block["problems"]]) for block in earlier] == [
            (world.round.pk, [world.problem.code])
        ]
        page = response.content.decode()
        assert page.index("本轮我牵头或负责的问题") < page.index(f"往轮遗留：{world.round.title}")
        assert "问题9.1" not in _section(page, f"往轮遗留：{world.round.title}")
        assert world.problem.title in _section(page, f"往轮遗留：{world.round.title}")

    def test_it_shows_no_earlier_section_with_one_round(self, world, client):
        client.force_login(world.leader)
        response = client.get(reverse("rectification:leader"))
        assert response.context["earlier"] == []
        assert "往轮遗留" not in response.content.decode()
        assert [p.code for p in response.context["problems"]] == [world.problem.code]

    def test_another_leader_sees_neither(self, world, client, two_rounds):
        client.force_login(world.other_leader)
        response = client.get(reverse("rectification:leader"))
        assert response.context["problems"] == [] and response.context["earlier"] == []


class TestLeaderHome:
    def test_it_separates_the_rounds_on_the_home_page(self, world, client, two_rounds):
        client.force_login(world.leader)
        response = client.get(reverse("rectification:home"))
        assert [p.code for p in response.context["leader_problems"]] == ["9.1"]
        page = response.content.decode()
        assert f"本轮（{two_rounds.title}）我牵头或负责的问题" in page
        assert world.problem.title in _section(page, f"往轮遗留：{world.round.title}")
