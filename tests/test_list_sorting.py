"""The problem and measure lists can be ordered (``?order=``): the order chosen is the order shown,
across pages, for the same number of queries; an unknown order is the usual one."""

import datetime
import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from rectification.models import DeadlineCategory, Measure, Problem

PROBLEMS = reverse("rectification:problem_list")
MEASURES = reverse("rectification:measure_list")


def _queries(client, url, params):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params)
    assert response.status_code == 200
    return response, len(captured)


@pytest.fixture
def spread(world):
    """Three more problems with due dates out of code order, and measures with varied progress."""
    dues = {"2.1": datetime.date(2026, 12, 20), "2.2": datetime.date(2026, 10, 31), "2.3": None}
    for code, due in dues.items():
        problem = world.make_problem(code, measures=[world.resp_unit, world.coop_unit])
        # A 长期坚持 problem has no due date of its own.
        category = DeadlineCategory.BY_DATE if due else DeadlineCategory.LONG_TERM
        Problem.objects.filter(pk=problem.pk).update(due_date=due, deadline_category=category)
    for percent, measure in zip(
        [70, 10, 40, 90, 0, 55], Measure.objects.filter(problem__code__startswith="2."), strict=True
    ):
        Measure.objects.filter(pk=measure.pk).update(percent=percent)


@pytest.mark.django_db
class TestProblemListOrder:
    def test_by_due_date_earliest_first_and_undated_last(self, world, client, spread):
        client.force_login(world.office)
        response, _count = _queries(client, PROBLEMS, {"round": world.round.pk, "order": "due"})
        shown = [problem.code for problem in response.context["page"]]
        expected = [
            problem.code
            for problem in sorted(
                Problem.objects.filter(round=world.round),
                key=lambda p: (p.due_date is None, p.due_date or datetime.date.max, p.seq, p.pk),
            )
        ]
        assert shown == expected
        assert shown[-1] == "2.3"  # no due date: last
        assert 'option value="due" selected' in response.content.decode()

    def test_it_costs_no_more_queries_than_the_usual_order(self, world, client, spread):
        client.force_login(world.office)
        client.get(PROBLEMS)
        _response, usual = _queries(client, PROBLEMS, {"round": world.round.pk})
        for order in ("due", "lead_unit"):
            _response, ordered = _queries(client, PROBLEMS, {"round": world.round.pk, "order": order})
            assert ordered == usual

    def test_an_unknown_order_is_the_usual_one(self, world, client, spread):
        client.force_login(world.office)
        usual, _ = _queries(client, PROBLEMS, {"round": world.round.pk})
        odd, _ = _queries(client, PROBLEMS, {"round": world.round.pk, "order": "title; drop"})
        assert [p.code for p in odd.context["page"]] == [p.code for p in usual.context["page"]]

    def test_unit_staff_see_only_their_own_problems_in_any_order(self, world, client, spread):
        client.force_login(world.outsider)
        response, _ = _queries(client, PROBLEMS, {"order": "due"})
        assert list(response.context["page"]) == []


@pytest.mark.django_db
class TestMeasureListOrder:
    def test_by_progress_lowest_first(self, world, client, spread):
        client.force_login(world.office)
        response, _ = _queries(client, MEASURES, {"round": world.round.pk, "order": "percent"})
        shown = [measure.percent for measure in response.context["page"]]
        assert shown == sorted(shown)
        assert len(shown) == Measure.objects.filter(problem__round=world.round).count()
        assert 'class="active">进度从低到高' in response.content.decode()

    def test_by_unit_groups_each_units_measures(self, world, client, spread):
        client.force_login(world.office)
        response, _ = _queries(client, MEASURES, {"round": world.round.pk, "order": "unit"})
        units = [measure.owner_unit_id for measure in response.context["page"]]
        # Each unit's measures come together: once a unit is left, it does not come back.
        runs = [unit for unit, _run in itertools.groupby(units)]
        assert len(runs) == len(set(runs)) > 1

    def test_it_costs_no_more_queries_than_the_usual_order(self, world, client, spread):
        client.force_login(world.office)
        client.get(MEASURES)
        _response, usual = _queries(client, MEASURES, {"round": world.round.pk})
        for order in ("percent", "unit", "reported"):
            _response, ordered = _queries(client, MEASURES, {"round": world.round.pk, "order": order})
            assert ordered == usual
