"""Setting up a round in the browser: the office's forms, decomposition, claiming, changes."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from accounts.models import AuditEvent
from rectification import access, selectors, services
from rectification.access import measures_visible_to, problems_visible_to
from rectification.models import InspectionRound, Measure, MeasureChangeRequest, Problem, Track
from rectification.workdays import is_workday


def _problem_post(world, code="2.1"):
    return {
        "code": code,
        "aspect": world.round.aspects.first().pk,
        "track": world.round.tracks.get(kind=Track.Kind.GENERAL).pk,
        "title": "基层减负不到位",
        "text": "文山会海问题仍然存在。",
        "manifestations": "某镇一年开会200余次\n填报表格重复",
        "problem_type": "common",
        "deadline_category": "by_date",
        "due_date": "2026-12-31",
        "goal": "切实为基层减负",
        "criteria": "会议数量压减30%\n报表统一归口",
        "lead_official": world.leader.pk,
        "responsible_leaders": [world.other_leader.pk],
        "lead_unit": world.lead_unit.pk,
        "responsible_units": [world.resp_unit.pk, world.coop_unit.pk],
    }


def _measure_post(unit, **extra):
    data = {
        "text": "制定会议和文件精简办法",
        "kind": "rules",
        "owner_unit": unit.pk,
        "handler_name": "",
        "handler_phone": "",
        "start_date": "2026-11-02",
        "due_date": "2026-12-18",
        "expected_deliverable": "出台精简办法",
        "criteria": "办法印发\n会议数量压减",
        "generate_milestones": "on",
    }
    data.update(extra)
    return data


@pytest.fixture
def unclaimed(world):
    """The world's two measures as the lead unit just decomposed them: not claimed yet."""
    Measure.objects.filter(pk__in=[world.resp_measure.pk, world.coop_measure.pk]).update(
        claim_state=Measure.ClaimState.PENDING, claimed_at=None, handler_name="", handler_phone=""
    )
    world.resp_measure.refresh_from_db()
    world.coop_measure.refresh_from_db()
    return world


@pytest.mark.django_db
class TestOfficeForms:
    def test_it_lets_the_office_create_a_round_with_its_tracks(self, world, client):
        client.force_login(world.office)
        response = client.post(
            reverse("rectification:round_create"),
            {
                "title": "区委第二轮巡察整改",
                "kind": "district",
                "inspection_team": "区委第一巡察组",
                "feedback_date": "2026-11-20",
                "report_deadline": "2027-02-28",
                "general_office": world.lead_unit.pk,
                "cadre_office": world.cadre_office_unit.pk,
                "track_offices_review": "on",
            },
        )
        inspection_round = InspectionRound.objects.get(title="区委第二轮巡察整改")
        assert response.status_code == 302
        assert {t.kind for t in inspection_round.tracks.all()} == {"general", "cadre"}
        assert inspection_round.track_offices_review

    def test_it_explains_a_deadline_before_the_feedback(self, world, client):
        client.force_login(world.office)
        page = client.post(
            reverse("rectification:round_create"),
            {
                "title": "x",
                "kind": "district",
                "inspection_team": "y",
                "feedback_date": "2026-11-20",
                "report_deadline": "2026-10-01",
                "general_office": world.lead_unit.pk,
            },
        ).content.decode()
        assert "整改报告报送期限不能早于反馈日期" in page

    def test_it_lets_only_the_office_create_problems(self, world, client):
        url = reverse("rectification:problem_create", args=[world.round.pk])
        for user in (world.lead_staff, world.leader, world.outsider):
            client.force_login(user)
            assert client.post(url, _problem_post(world)).status_code == 404
        # The provincial team opens only what was released to it: refused with the reason.
        client.force_login(world.provincial)
        assert client.post(url, _problem_post(world)).status_code == 403
        client.force_login(world.office)
        assert client.post(url, _problem_post(world)).status_code == 302
        problem = Problem.objects.get(code="2.1")
        assert problem.manifestations.count() == 2 and problem.criteria.count() == 2
        assert problem in problems_visible_to(world.coop_staff)

    def test_it_sets_up_the_leading_group(self, world, client):
        client.force_login(world.office)
        url = reverse("rectification:round_setup", args=[world.round.pk])
        client.post(url, {"form": "member", "user": world.leader.pk, "role": "group_leader"})
        client.post(url, {"form": "aspect", "title": "第二方面"})
        assert world.round.members.get().role == "group_leader"
        assert world.round.aspects.count() == 2

    @pytest.mark.parametrize("name", ["round_list", "round_create"])
    def test_it_hides_the_office_pages_from_others(self, world, client, name):
        client.force_login(world.lead_staff)
        assert client.get(reverse(f"rectification:{name}")).status_code == 404

    def test_it_hides_the_round_setup_from_others(self, world, client):
        client.force_login(world.outsider)
        assert client.get(reverse("rectification:round_setup", args=[world.round.pk])).status_code == 404


@pytest.mark.django_db
@pytest.mark.usefixtures("unclaimed")
class TestDecomposition:
    def test_it_lets_the_lead_unit_decompose_with_backward_milestones(self, world, client):
        client.force_login(world.lead_staff)
        url = reverse("rectification:problem_decompose", args=[world.problem.pk])
        assert client.post(url, _measure_post(world.resp_unit)).status_code == 302
        measure = Measure.objects.get(text="制定会议和文件精简办法")
        assert measure.code == "1.1.3" and measure.claim_state == "pending"
        dates = [m.due_date for m in measure.milestones.order_by("seq")]
        assert dates == sorted(dates) and len(dates) == 4
        assert all(is_workday(d) for d in dates)
        assert dates[-1] == datetime.date(2026, 12, 18)
        assert [c.text for c in measure.criteria.all()] == ["办法印发", "会议数量压减"]

    def test_it_refuses_decomposition_to_others(self, world, client):
        url = reverse("rectification:problem_decompose", args=[world.problem.pk])
        client.force_login(world.resp_staff)
        assert client.post(url, _measure_post(world.resp_unit)).status_code == 403
        client.force_login(world.outsider)
        assert client.get(url).status_code == 404
        assert not Measure.objects.filter(text="制定会议和文件精简办法").exists()

    def test_it_keeps_a_measures_due_date_within_the_problems(self, world, client):
        client.force_login(world.lead_staff)
        page = client.post(
            reverse("rectification:problem_decompose", args=[world.problem.pk]),
            _measure_post(world.resp_unit, due_date="2027-03-01"),
        ).content.decode()
        assert "不能晚于问题的整改时限" in page

    def test_it_reorders_and_withdraws_until_claimed(self, world, client):
        client.force_login(world.lead_staff)
        action = lambda m, a: client.post(reverse("rectification:measure_setup_action", args=[m.pk]), {"action": a})  # noqa: E731
        action(world.coop_measure, "up")
        assert list(world.problem.measures.order_by("seq").values_list("code", flat=True)) == ["1.1.2", "1.1.1"]
        services.measure_claim(
            actor=world.resp_staff, measure=world.resp_measure, handler_name="张三", handler_phone="13800000000"
        )
        action(world.resp_measure, "withdraw")
        assert Measure.objects.filter(pk=world.resp_measure.pk).exists()
        action(world.coop_measure, "withdraw")
        assert not Measure.objects.filter(pk=world.coop_measure.pk).exists()
        assert not problems_visible_to(world.coop_staff).exists()
        assert AuditEvent.objects.filter(action="measure.withdraw").exists()

    def test_it_numbers_a_new_measure_after_the_last_once_one_was_withdrawn(self, world, client):
        client.force_login(world.lead_staff)
        client.post(reverse("rectification:measure_setup_action", args=[world.resp_measure.pk]), {"action": "withdraw"})
        assert not Measure.objects.filter(pk=world.resp_measure.pk).exists()
        url = reverse("rectification:problem_decompose", args=[world.problem.pk])
        assert client.post(url, _measure_post(world.resp_unit)).status_code == 302
        assert client.post(url, _measure_post(world.coop_unit, text="规范补贴审批程序")).status_code == 302
        measures = world.problem.measures.order_by("seq", "id")
        assert [(m.code, m.text) for m in measures] == [
            ("1.1.2", "镇街自查自纠"),
            ("1.1.3", "制定会议和文件精简办法"),
            ("1.1.4", "规范补贴审批程序"),
        ]

    def test_it_lets_the_lead_unit_adjust_a_generated_milestone(self, world, client):
        client.force_login(world.lead_staff)
        client.post(
            reverse("rectification:measure_setup_action", args=[world.resp_measure.pk]), {"action": "milestones"}
        )
        first = world.resp_measure.milestones.order_by("seq").first()
        client.post(
            reverse("rectification:milestone_edit", args=[first.pk]),
            {"title": "制定清退方案", "due_date": "2026-09-15"},
        )
        first.refresh_from_db()
        assert (first.title, first.due_date) == ("制定清退方案", datetime.date(2026, 9, 15))
        client.force_login(world.outsider)
        assert (
            client.post(
                reverse("rectification:milestone_edit", args=[first.pk]), {"title": "x", "due_date": "2026-09-16"}
            ).status_code
            == 404
        )


@pytest.mark.django_db
@pytest.mark.usefixtures("unclaimed")
class TestClaiming:
    def _claim(self, client, measure, **data):
        return client.post(reverse("rectification:measure_claim", args=[measure.pk]), data)

    def test_it_lets_only_the_owner_unit_claim(self, world, client):
        client.force_login(world.lead_staff)
        assert self._claim(client, world.resp_measure, handler_name="李四", handler_phone="1").status_code == 403
        client.force_login(world.outsider)
        assert self._claim(client, world.resp_measure, handler_name="李四", handler_phone="1").status_code == 404
        client.force_login(world.resp_staff)
        page = client.get(reverse("rectification:unit_claims")).content.decode()
        assert "全面清理违规发放的津贴补贴" in page and "镇街自查自纠" not in page
        self._claim(client, world.resp_measure, handler_name="李四", handler_phone="13900000000")
        world.resp_measure.refresh_from_db()
        assert (world.resp_measure.claim_state, world.resp_measure.handler_name) == ("claimed", "李四")
        assert client.get(reverse("rectification:measure_claim", args=[world.resp_measure.pk])).status_code == 405

    def test_it_moves_access_when_the_office_reassigns_after_an_objection(self, world, client):
        client.force_login(world.coop_staff)
        self._claim(client, world.coop_measure, action="object", reason="不是本镇职责")
        world.coop_measure.refresh_from_db()
        assert world.coop_measure.claim_state == "objected"
        client.force_login(world.office)
        client.post(
            reverse("rectification:measure_reassign", args=[world.coop_measure.pk]), {"owner_unit": world.other_unit.pk}
        )
        world.coop_measure.refresh_from_db()
        assert (world.coop_measure.owner_unit, world.coop_measure.claim_state) == (world.other_unit, "pending")
        assert not measures_visible_to(world.coop_staff).exists()
        assert access.may_report(world.outsider, world.coop_measure)
        client.force_login(world.lead_staff)
        assert (
            client.post(
                reverse("rectification:measure_reassign", args=[world.coop_measure.pk]),
                {"owner_unit": world.coop_unit.pk},
            ).status_code
            == 404
        )

    def test_it_needs_a_reason_for_an_objection_and_a_handler_for_a_claim(self, world):
        with pytest.raises(ValidationError, match="理由"):
            services.measure_object(actor=world.resp_staff, measure=world.resp_measure, reason=" ")
        with pytest.raises(ValidationError, match="经办人"):
            services.measure_claim(
                actor=world.resp_staff, measure=world.resp_measure, handler_name="", handler_phone=""
            )

    def test_it_counts_the_claim_rate_like_an_independent_count(self, world):
        services.measure_claim(
            actor=world.resp_staff, measure=world.resp_measure, handler_name="张三", handler_phone="1"
        )
        world.make_problem("2.1", measures=[world.resp_unit, world.coop_unit, world.coop_unit], claimed=False)
        rates = selectors.claim_rates(user=world.office, inspection_round=world.round)
        measures = Measure.objects.filter(problem__round=world.round)
        assert (
            (rates["claimed"], rates["total"])
            == (measures.filter(claim_state="claimed").count(), measures.count())
            == (1, 5)
        )
        assert rates["rate"] == 20
        by_unit = {row["owner_unit__name"]: (row["claimed"], row["total"]) for row in rates["by_unit"]}
        assert by_unit == {"责任局": (1, 2), "协办镇": (0, 3)}
        assert len(rates["unclaimed"]) == 4


@pytest.mark.django_db
@pytest.mark.usefixtures("unclaimed")
class TestChangesAfterClaiming:
    def test_it_refuses_direct_edits_and_applies_an_approved_request(self, world, client):
        services.measure_claim(
            actor=world.resp_staff, measure=world.resp_measure, handler_name="张三", handler_phone="1"
        )
        with pytest.raises(PermissionDenied):
            services.measure_update(
                actor=world.lead_staff, measure=world.resp_measure, due_date=datetime.date(2026, 12, 20)
            )
        client.force_login(world.lead_staff)
        url = reverse("rectification:measure_change_request", args=[world.resp_measure.pk])
        client.post(
            url,
            {
                "text": world.resp_measure.text,
                "due_date": "2026-12-20",
                "expected_deliverable": "",
                "reason": "清退对象增加",
            },
        )
        change = MeasureChangeRequest.objects.get()
        assert change.changes == {"due_date": "2026-12-20"}
        world.resp_measure.refresh_from_db()
        assert world.resp_measure.due_date == datetime.date(2026, 11, 30)

        decide = reverse("rectification:change_request_decide", args=[change.pk])
        assert client.post(decide, {"decision": "approve"}).status_code == 404
        client.force_login(world.office)
        client.post(decide, {"decision": "approve"})
        world.resp_measure.refresh_from_db()
        assert world.resp_measure.due_date == datetime.date(2026, 12, 20)
        assert AuditEvent.objects.filter(action="measure.update", actor=world.office).exists()

    def test_it_refuses_a_change_request_beyond_the_problems_deadline(self, world, client):
        services.measure_claim(
            actor=world.resp_staff, measure=world.resp_measure, handler_name="张三", handler_phone="1"
        )
        client.force_login(world.lead_staff)
        url = reverse("rectification:measure_change_request", args=[world.resp_measure.pk])
        page = client.post(
            url,
            {
                "text": world.resp_measure.text,
                "due_date": "2027-03-01",
                "expected_deliverable": "",
                "reason": "清退对象增加",
            },
        ).content.decode()
        # Refused at once: the office could never approve it.
        assert "措施完成时限（2027-03-01）不能晚于问题的整改时限（2026-12-31）" in page
        assert not MeasureChangeRequest.objects.exists()

    def test_it_hides_the_change_form_from_others(self, world, client):
        url = reverse("rectification:measure_change_request", args=[world.resp_measure.pk])
        client.force_login(world.resp_staff)
        assert client.get(url).status_code == 403
        client.force_login(world.outsider)
        assert client.get(url).status_code == 404


@pytest.mark.django_db
class TestBattleMap:
    def test_it_shows_every_measure_with_its_owner_and_milestones(self, world, client):
        services.milestones_generate(actor=world.office, measure=world.resp_measure)
        client.force_login(world.leader)
        page = client.get(reverse("rectification:problem_battle_map", args=[world.problem.pk])).content.decode()
        for text in ("1.1.1", "1.1.2", "责任局", "协办镇", "制定整改工作方案", "王牵头"):
            assert text in page
        client.force_login(world.outsider)
        assert client.get(reverse("rectification:problem_battle_map", args=[world.problem.pk])).status_code == 404
