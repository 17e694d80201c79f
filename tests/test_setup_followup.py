"""The office's follow-up of a round's set-up: the claim rate with what is unclaimed, and the
measures without an acceptance criterion with the lead units asked to add them. Each card's
number equals the rows of the list it links to and a count made here from the raw rows."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent
from rectification import selectors, services
from rectification.models import AcceptanceCriterion, CloseOutState, Measure, Notification, Problem

from .conftest import refused

SHANGHAI = ZoneInfo("Asia/Shanghai")
DASHBOARD = reverse("rectification:dashboard")
UNCLAIMED = reverse("rectification:unclaimed_list")
CRITERIA = reverse("rectification:criteria_missing")
ASK = reverse("rectification:criteria_ask")
OUTSIDERS = [
    "lead_staff",
    "resp_staff",
    "resp_head",
    "outsider",
    "leader",
    "provincial",
    "supervision",
    "track_office",
    "sysadmin",
    "secadmin",
    "auditadmin",
]


@pytest.fixture
def frozen():
    with time_machine.travel(datetime.datetime(2026, 11, 24, 10, tzinfo=SHANGHAI), tick=False):
        yield


def _all_rows(client, url, params):
    """Every row of a paged list, page after page."""
    rows, page = [], 1
    while True:
        response = client.get(url, {**params, "page": page})
        assert response.status_code == 200
        rows += list(response.context["page"])
        if not response.context["page"].has_next():
            return rows
        page += 1


@pytest.fixture
def claims_world(world):
    """Measures in every claim state, undecomposed problems, and a measure of another round."""
    world.make_problem("2.1", measures=[world.resp_unit, world.coop_unit, world.resp_unit], claimed=False)
    world.make_problem("2.2")  # 未分解
    world.make_problem("2.3", lead_unit=world.other_unit)  # 未分解
    Measure.objects.filter(code="2.1.1").update(claim_state=Measure.ClaimState.CLAIMED)
    Measure.objects.filter(code="2.1.2").update(claim_state=Measure.ClaimState.OBJECTED, objection_reason="不属本单位")
    # 1.1.1 claimed (as the world's measures are), 1.1.2 still waiting for its unit.
    Measure.objects.filter(pk=world.coop_measure.pk).update(claim_state=Measure.ClaimState.PENDING)
    other = world.make_round("另一轮", feedback_date=datetime.date(2026, 8, 1))
    world.make_problem("9.1", inspection_round=other, measures=[world.resp_unit], claimed=False)
    world.make_problem("9.2", inspection_round=other)
    return world


def _independent_claims(inspection_round):
    measures = list(Measure.objects.filter(problem__round=inspection_round).values_list("claim_state", flat=True))
    with_measures = set(Measure.objects.values_list("problem_id", flat=True))
    empty = [
        p for p in Problem.objects.filter(round=inspection_round).values_list("pk", flat=True) if p not in with_measures
    ]
    claimed = measures.count(Measure.ClaimState.CLAIMED)
    return {
        "items": len(measures) + len(empty),
        "claimed": claimed,
        "unclaimed": len(measures) - claimed + len(empty),
        "undecomposed": len(empty),
    }


@pytest.mark.django_db
class TestClaimRate:
    def test_it_counts_a_problem_without_measures_as_one_unclaimed_item(self, claims_world, client, frozen):
        world = claims_world
        client.force_login(world.office)
        card = client.get(DASHBOARD, {"round": world.round.pk}).context["d"]["claims"]
        expected = _independent_claims(world.round)
        # 1.1.1 and 2.1.1 claimed; 1.1.2, 2.1.2 (objected), 2.1.3 and two undecomposed problems not.
        assert expected == {"items": 7, "claimed": 2, "unclaimed": 5, "undecomposed": 2}
        assert card["items"] == expected["items"]
        assert card["claimed"] == expected["claimed"]
        assert card["unclaimed"] == expected["unclaimed"]
        assert card["undecomposed"] == expected["undecomposed"]
        assert card["rate"] == round(100 * 2 / 7)
        # The round's set-up page states the same rate under the same name.
        setup = client.get(reverse("rectification:round_setup", args=[world.round.pk])).content.decode()
        assert f"认领率 {card['rate']}%（2/7，含未分解问题 2 个）" in setup
        rows = _all_rows(client, UNCLAIMED, {"round": world.round.pk})
        assert len(rows) == card["unclaimed"]
        assert {(row["kind"], row["code"]) for row in rows} == {
            ("pending", "1.1.2"),
            ("objected", "2.1.2"),
            ("pending", "2.1.3"),
            ("undecomposed", "2.2"),
            ("undecomposed", "2.3"),
        }

    def test_the_card_links_to_its_list_with_the_dashboards_filters(self, claims_world, client, frozen):
        world = claims_world
        client.force_login(world.office)
        params = {"round": world.round.pk, "unit": world.resp_unit.pk}
        response = client.get(DASHBOARD, params)
        card = response.context["d"]["claims"]
        link = f"{UNCLAIMED}?round={world.round.pk}&amp;unit={world.resp_unit.pk}"
        assert link in response.content.decode()
        rows = _all_rows(client, UNCLAIMED, params)
        # Under the unit filter only the unit's own measures count (none of them are undecomposed).
        assert len(rows) == card["unclaimed"] == 1
        assert rows[0]["code"] == "2.1.3"

    def test_the_list_shows_who_has_to_act_and_for_how_long(self, claims_world, client, frozen):
        world = claims_world
        client.force_login(world.office)
        response = client.get(UNCLAIMED, {"round": world.round.pk, "kind": "undecomposed"})
        rows = list(response.context["page"])
        assert [row["code"] for row in rows] == ["2.2", "2.3"]
        assert rows[1]["acting_unit"] == world.other_unit
        page = response.content.decode()
        assert "未分解" in page and "无关局" in page
        assert f"距反馈已 {(datetime.date(2026, 11, 24) - world.round.feedback_date).days} 天" in page
        objected = client.get(UNCLAIMED, {"round": world.round.pk, "kind": "objected"}).content.decode()
        assert "不属本单位" in objected

    def test_it_pages_a_long_list(self, world, client, frozen):
        for index in range(25):
            world.make_problem(f"5.{index}")
        client.force_login(world.office)
        first = client.get(UNCLAIMED, {"round": world.round.pk})
        # 25 problems not decomposed yet (the world's own measures are claimed).
        assert first.context["page"].paginator.count == 25
        assert len(_all_rows(client, UNCLAIMED, {"round": world.round.pk})) == 25
        assert "下一页" in first.content.decode()

    def test_only_the_office_sees_the_cards(self, world, client, frozen):
        client.force_login(world.office)
        assert "认领率" in client.get(DASHBOARD).content.decode()
        client.force_login(world.supervision)
        assert "认领率" not in client.get(DASHBOARD).content.decode()


def _independent_lacking(inspection_round):
    """Open measures of the round whose own criteria and whose problem's criteria are both none."""
    own = set(AcceptanceCriterion.objects.filter(measure__isnull=False).values_list("measure_id", flat=True))
    problem_level = set(AcceptanceCriterion.objects.filter(measure__isnull=True).values_list("problem_id", flat=True))
    return {
        code
        for pk, code, problem_id, state in Measure.objects.filter(problem__round=inspection_round).values_list(
            "pk", "code", "problem_id", "closeout_state"
        )
        if pk not in own and problem_id not in problem_level and state != CloseOutState.CLOSED
    }


@pytest.fixture
def criteria_world(world):
    """1.1's measures have the problem's criterion; 2.1 has none; 2.2's measures, one with its own;
    2.3 is led by another unit; a closed measure without any is history."""
    world.make_problem("2.1", measures=[world.resp_unit, world.coop_unit])
    world.make_problem("2.2", measures=[world.resp_unit, world.resp_unit])
    world.make_problem("2.3", lead_unit=world.other_unit, measures=[world.coop_unit])
    world.make_problem("2.4", measures=[world.coop_unit])
    measure = Measure.objects.get(code="2.2.1")
    AcceptanceCriterion.objects.create(problem=measure.problem, measure=measure, seq=1, text="制度印发")
    Measure.objects.filter(code="2.4.1").update(closeout_state=CloseOutState.CLOSED)
    return world


@pytest.mark.django_db
class TestMeasuresWithoutCriteria:
    def test_the_card_equals_its_list_and_an_independent_count(self, criteria_world, client, frozen):
        world = criteria_world
        client.force_login(world.office)
        card = client.get(DASHBOARD, {"round": world.round.pk}).context["d"]["claims"]["lacking_criteria"]
        expected = _independent_lacking(world.round)
        assert expected == {"2.1.1", "2.1.2", "2.2.2", "2.3.1"}
        rows = _all_rows(client, CRITERIA, {"round": world.round.pk})
        assert card == len(rows) == len(expected)
        assert {m.code for m in rows} == expected

    def test_the_query_agrees_with_the_close_out_rule_on_every_measure(self, criteria_world):
        lacking = set(Measure.objects.filter(selectors.without_criteria_q()).values_list("pk", flat=True))
        for measure in Measure.objects.select_related("problem"):
            has = bool(services.closeout_criteria(problem=measure.problem, measure=measure))
            assert (measure.pk in lacking) is not has, measure.code

    def test_asking_tells_each_lead_unit_once_about_its_own_measures(self, criteria_world, client, frozen):
        world = criteria_world
        client.force_login(world.office)
        response = client.post(ASK, {"round": world.round.pk})
        assert response.status_code == 302
        assert "已通知 2 个牵头单位" in client.get(response["Location"]).content.decode()
        asked = Notification.objects.filter(text__contains="验收标准")
        lead = asked.get(recipient=world.lead_staff)
        assert "2.1.1、2.1.2、2.2.2" in lead.text
        assert "2.3.1" not in lead.text
        other = asked.filter(recipient__unit=world.other_unit)
        assert other.count() == world.outsider.__class__.objects.filter(unit=world.other_unit).count()
        assert all("2.3.1" in n.text and "2.1.1" not in n.text for n in other)
        assert not asked.filter(recipient=world.resp_staff).exists()
        events = AuditEvent.objects.filter(action="measure.criteria_ask")
        assert events.count() == 2
        assert {tuple(e.changes["measures"]) for e in events} == {("2.1.1", "2.1.2", "2.2.2"), ("2.3.1",)}
        # Pressed again the same day: the same notices are not sent twice (the act is logged).
        client.post(ASK, {"round": world.round.pk})
        assert asked.filter(recipient=world.lead_staff).count() == 1

    def test_the_lead_unit_asked_adds_criteria_to_a_claimed_measure_that_has_none(self, criteria_world, client, frozen):
        world = criteria_world
        Measure.objects.filter(code__in=["2.1.1", "2.2.1"]).update(claim_state=Measure.ClaimState.CLAIMED)
        client.force_login(world.office)
        client.post(ASK, {"round": world.round.pk})
        notice = Notification.objects.filter(recipient=world.lead_staff, text__contains="验收标准").get()
        client.force_login(world.lead_staff)
        page = client.get(notice.link)
        assert page.status_code == 200 and "该措施还没有验收标准" in page.content.decode()
        lacking = Measure.objects.get(code="2.1.1")
        url = reverse("rectification:measure_setup_action", args=[lacking.pk])
        response = client.post(url, {"action": "criteria", "criteria": "清退凭证齐全\n建立审批台账"}, follow=True)
        assert "验收标准已保存" in response.content.decode()
        assert list(lacking.criteria.values_list("text", flat=True)) == ["清退凭证齐全", "建立审批台账"]
        assert "2.1.1" not in _independent_lacking(world.round)
        # A claimed measure that has criteria keeps them: changing agreed terms is the office's.
        agreed = Measure.objects.get(code="2.2.1")
        response = client.post(
            reverse("rectification:measure_setup_action", args=[agreed.pk]),
            {"action": "criteria", "criteria": "改过的标准"},
            follow=True,
        )
        assert "调整需报整改办审批" in response.content.decode()
        assert list(agreed.criteria.values_list("text", flat=True)) == ["制度印发"]

    @pytest.mark.parametrize("person", ["outsider", "resp_staff", "coop_staff", "leader"])
    def test_no_one_but_the_lead_unit_and_the_office_adds_criteria(self, criteria_world, client, frozen, person):
        world = criteria_world
        lacking = Measure.objects.get(code="2.1.1")
        client.force_login(getattr(world, person))
        response = client.post(
            reverse("rectification:measure_setup_action", args=[lacking.pk]),
            {"action": "criteria", "criteria": "外单位写的标准"},
        )
        assert response.status_code in (403, 404)
        assert not lacking.criteria.exists()

    def test_asking_when_nothing_lacks_says_so(self, world, client, frozen):
        client.force_login(world.office)
        response = client.post(ASK, {"round": world.round.pk}, follow=True)
        assert "无需通知" in response.content.decode()
        assert not AuditEvent.objects.filter(action="measure.criteria_ask").exists()

    def test_the_audit_log_names_the_act_in_chinese(self, criteria_world, client, frozen):
        from accounts import audit_catalogue

        assert "要求牵头单位补充验收标准" in str(audit_catalogue.action_label("measure.criteria_ask"))


@pytest.mark.django_db
class TestOutsiders:
    @pytest.mark.parametrize("actor", OUTSIDERS)
    def test_nobody_but_the_office_sees_the_lists_or_asks(self, criteria_world, client, actor):
        world = criteria_world
        client.force_login(getattr(world, actor))
        assert client.get(UNCLAIMED, {"round": world.round.pk}).status_code == refused(actor)
        assert client.get(CRITERIA, {"round": world.round.pk}).status_code == refused(actor)
        assert client.post(ASK, {"round": world.round.pk}).status_code == refused(actor)
        assert not Notification.objects.filter(
            kind=Notification.Kind.NEW_ASSIGNMENT, text__contains="验收标准"
        ).exists()

    def test_asking_is_a_post_with_a_csrf_token(self, criteria_world):
        world = criteria_world
        client = Client(enforce_csrf_checks=True)
        client.force_login(world.office)
        assert client.get(ASK, {"round": world.round.pk}).status_code == 405
        assert client.post(ASK, {"round": world.round.pk}).status_code == 403
        assert not Notification.objects.filter(text__contains="验收标准").exists()

    def test_a_bad_round_is_no_such_page(self, criteria_world, client):
        client.force_login(criteria_world.office)
        for value in ("", "x", "0", "99999999999", "999999"):
            assert client.post(ASK, {"round": value}).status_code == 404

    def test_signed_out_goes_to_the_login(self, client):
        assert client.get(UNCLAIMED).status_code == 302
        assert client.post(ASK).status_code == 302


@pytest.mark.django_db
class TestQueryCounts:
    @pytest.mark.parametrize("url", [UNCLAIMED, CRITERIA])
    def test_a_list_costs_the_same_for_few_and_many_rows(self, world, client, frozen, url):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        def cost():
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url, {"round": world.round.pk}).status_code == 200
            return len(queries)

        world.make_problem("2.1", measures=[world.resp_unit])
        client.force_login(world.office)
        cost()
        few = cost()
        for index in range(12):
            world.make_problem(f"3.{index}", measures=[world.resp_unit, world.coop_unit])
        assert cost() == few
