"""The close-out (销号) chain: who may act at each step, returns, reopening, the three tests."""

import datetime
import threading

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError, connection
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent
from accounts.roles import Role
from accounts.services import user_create
from rectification import access, selectors, services
from rectification.models import (
    AcceptanceCriterion,
    AccountabilityRecord,
    CloseOutRequest,
    CloseOutState,
    DeadlineCategory,
    Measure,
    Problem,
    ProgressState,
    SignOffStep,
)
from rectification.views import closeout as views_closeout

from .conftest import PASSWORD, measure_finished

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
State = CloseOutRequest.State


@pytest.fixture
def evidence(world, settings, tmp_path):
    """The responsible unit's proof, uploaded once its measure is finished (as close-out asks)."""
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    measure_finished(world.resp_measure, liaison=world.resp_staff, head=world.resp_head)
    return services.evidence_upload(
        actor=world.resp_staff,
        measure=world.resp_measure,
        uploaded=SimpleUploadedFile("清退凭证.pdf", PDF),
        kind="receipt",
    )


def _criterion(world):
    return world.problem.criteria.get()


def _apply(world, evidence, actor=None, measure=None, **kwargs):
    measure = measure or world.resp_measure
    arguments = dict(statement="违规发放资金已全部清退。", pledged=True)
    arguments.update(kwargs)
    if "checks" not in arguments:
        arguments["checks"] = {_criterion(world).pk: [evidence.pk]}
    return services.closeout_apply(
        actor=actor or world.resp_head, problem=measure.problem, measure=measure, **arguments
    )


def _records(world):
    services.accountability_record_create(
        actor=world.supervision,
        problem=world.problem,
        person_name="钱某",
        person_unit="责任局",
        post="财务科科长",
        kind=AccountabilityRecord.Kind.PARTY_WARNING,
        decided_on=datetime.date(2026, 11, 10),
    )
    services.rule_record_create(
        actor=world.resp_staff,
        problem=world.problem,
        title="津贴补贴发放管理办法",
        doc_number="示财发〔2026〕12号",
        issued_on=datetime.date(2026, 11, 15),
        issuing_unit=world.resp_unit,
    )


def _walk_to_office(world, evidence):
    request = _apply(world, evidence)
    services.closeout_decide(actor=world.lead_staff, request=request, approve=True, comment="材料齐全")
    services.closeout_decide(actor=world.leader, request=request, approve=True, comment="同意", password=PASSWORD)
    request.refresh_from_db()
    return request


@pytest.mark.django_db
class TestApplication:
    def test_it_walks_a_measure_to_closed(self, world, evidence):
        _records(world)
        request = _apply(world, evidence)
        assert request.state == State.PENDING_LEAD_UNIT
        world.resp_measure.refresh_from_db()
        assert world.resp_measure.closeout_state == CloseOutState.PENDING_LEAD_UNIT

        services.closeout_decide(actor=world.lead_staff, request=request, approve=True)
        services.closeout_decide(actor=world.leader, request=request, approve=True, password=PASSWORD)
        services.closeout_decide(actor=world.office, request=request, approve=True)

        request.refresh_from_db()
        world.resp_measure.refresh_from_db()
        assert request.state == State.CLOSED
        assert (world.resp_measure.closeout_state, world.resp_measure.progress_state) == ("closed", "completed")
        chain = [(s.step, s.decision, s.actor) for s in request.steps.all()]
        assert chain == [
            ("apply", "submitted", world.resp_head),
            ("lead_unit", "approved", world.lead_staff),
            ("leader", "approved", world.leader),
            ("office", "approved", world.office),
        ]

    def test_it_needs_the_unit_heads_pledge_and_every_criterion_proven(self, world, evidence):
        with pytest.raises(ValidationError, match="承诺"):
            _apply(world, evidence, pledged=False)
        with pytest.raises(ValidationError, match="违规资金全部清退"):
            services.closeout_apply(
                actor=world.resp_head,
                problem=world.problem,
                measure=world.resp_measure,
                statement="完成",
                pledged=True,
                checks={},
            )
        assert not CloseOutRequest.objects.exists()

    @pytest.mark.parametrize("state", ["pending", "objected"])
    def test_it_refuses_a_measure_its_unit_has_not_claimed(self, world, evidence, state):
        # The office reassigned it meanwhile (待认领 again), or the unit objects to it (有异议).
        Measure.objects.filter(pk=world.resp_measure.pk).update(claim_state=state)
        world.resp_measure.refresh_from_db()
        label = {"pending": "待认领", "objected": "有异议"}[state]
        refusals = services.closeout_readiness(problem=world.problem, measure=world.resp_measure)
        assert refusals == [f"措施 1.1.1 尚未认领（{label}），认领后才能填报和申请销号。"]
        with pytest.raises(ValidationError, match="尚未认领"):
            _apply(world, evidence)
        assert not CloseOutRequest.objects.exists()

    def test_it_refuses_evidence_of_another_measure(self, world, evidence, settings):
        other = services.evidence_upload(
            actor=world.coop_staff,
            measure=world.coop_measure,
            uploaded=SimpleUploadedFile("别人的.pdf", PDF),
            kind="report",
        )
        with pytest.raises(ValidationError):
            services.closeout_apply(
                actor=world.resp_head,
                problem=world.problem,
                measure=world.resp_measure,
                statement="完成",
                pledged=True,
                checks={_criterion(world).pk: [other.pk]},
            )

    @pytest.mark.parametrize("actor", ["resp_staff", "lead_staff", "outsider", "office", "leader"])
    def test_it_lets_only_the_owner_units_head_apply(self, world, evidence, actor):
        with pytest.raises(PermissionDenied):
            _apply(world, evidence, actor=getattr(world, actor))

    def test_it_refuses_a_second_application_while_one_is_in_review(self, world, evidence):
        _apply(world, evidence)
        with pytest.raises(ValidationError, match="已在销号审核中"):
            _apply(world, evidence)


@pytest.mark.django_db
class TestSteps:
    @pytest.mark.parametrize("actor", ["resp_head", "resp_staff", "leader", "office", "outsider", "provincial"])
    def test_it_refuses_the_lead_unit_step_to_others(self, world, evidence, actor):
        request = _apply(world, evidence)
        with pytest.raises(PermissionDenied):
            services.closeout_decide(actor=getattr(world, actor), request=request, approve=True)
        request.refresh_from_db()
        assert request.state == State.PENDING_LEAD_UNIT

    @pytest.mark.parametrize("actor", ["other_leader", "lead_staff", "office", "resp_head"])
    def test_it_refuses_the_leader_step_to_others(self, world, evidence, actor):
        request = _apply(world, evidence)
        services.closeout_decide(actor=world.lead_staff, request=request, approve=True)
        with pytest.raises(PermissionDenied):
            services.closeout_decide(actor=getattr(world, actor), request=request, approve=True)

    @pytest.mark.parametrize("actor", ["supervision", "provincial", "leader", "lead_staff", "track_office"])
    def test_it_refuses_the_office_step_to_others(self, world, evidence, actor):
        request = _walk_to_office(world, evidence)
        with pytest.raises(PermissionDenied):
            services.closeout_decide(actor=getattr(world, actor), request=request, approve=True)

    def test_it_never_lets_the_applicant_approve_its_own_item(self, world, evidence, settings):
        # A measure owned by the lead unit itself: the lead-unit step is skipped, not self-approved.
        lead_head = user_create(
            actor=None,
            username="lead_fzr",
            full_name="牵头局长",
            password=PASSWORD,
            unit=world.lead_unit,
            roles=[Role.UNIT_HEAD],
        )
        own = services.measure_create(
            actor=world.office,
            problem=world.problem,
            code="1.1.9",
            text="牵头单位自己的措施",
            kind=Measure.Kind.RULES,
            owner_unit=world.lead_unit,
            start_date=datetime.date(2026, 9, 1),
            due_date=datetime.date(2026, 12, 1),
        )
        measure_finished(own, liaison=world.lead_staff, head=lead_head)
        proof = services.evidence_upload(
            actor=lead_head, measure=own, uploaded=SimpleUploadedFile("制度.pdf", PDF), kind="rule_document"
        )
        request = _apply(world, proof, actor=lead_head, measure=own)
        assert request.state == State.PENDING_LEADER
        assert request.steps.filter(step="lead_unit", decision="skipped").exists()
        assert not access.may_decide_closeout(lead_head, request)
        with pytest.raises(PermissionDenied):
            services.closeout_decide(actor=lead_head, request=request, approve=True)

    def test_it_returns_with_a_reason_and_takes_a_resubmission(self, world, evidence):
        request = _apply(world, evidence)
        with pytest.raises(ValidationError, match="退回原因"):
            services.closeout_decide(actor=world.lead_staff, request=request, approve=False)
        services.closeout_decide(actor=world.lead_staff, request=request, approve=False, comment="缺少银行回单")
        world.resp_measure.refresh_from_db()
        assert world.resp_measure.closeout_state == CloseOutState.RETURNED

        again = _apply(world, evidence)
        assert again.pk == request.pk
        assert again.state == State.PENDING_LEAD_UNIT
        assert [s.decision for s in again.steps.all()] == ["submitted", "returned", "submitted"]

    def test_it_blocks_closing_without_the_three_tests(self, world, evidence):
        request = _walk_to_office(world, evidence)
        with pytest.raises(ValidationError) as error:
            services.closeout_decide(actor=world.office, request=request, approve=True)
        assert "人要处理" in str(error.value) and "长效机制要建立" in str(error.value)
        request.refresh_from_db()
        assert request.state == State.PENDING_OFFICE

        services.closeout_decide(
            actor=world.office,
            request=request,
            approve=True,
            no_accountability_reason="系政策理解偏差，经集体研究不予追责",
            no_rules_reason="已有《津补贴管理办法》，无需新建",
        )
        request.refresh_from_db()
        assert request.state == State.CLOSED

    def test_it_lets_a_track_office_check_its_track_when_the_round_says_so(self, world, settings, tmp_path):
        settings.PRIVATE_MEDIA_ROOT = tmp_path
        world.round.track_offices_review = True
        world.round.save()
        from rectification.models import Track

        problem = world.make_problem("3.1", track_kind=Track.Kind.CADRE, measures=[world.resp_unit])
        AcceptanceCriterion.objects.create(problem=problem, seq=1, text="干部档案全部核查")
        measure = measure_finished(problem.measures.get(), liaison=world.resp_staff, head=world.resp_head)
        proof = services.evidence_upload(
            actor=world.resp_staff, measure=measure, uploaded=SimpleUploadedFile("a.pdf", PDF), kind="report"
        )
        request = services.closeout_apply(
            actor=world.resp_head,
            problem=problem,
            measure=measure,
            statement="完成",
            pledged=True,
            checks={problem.criteria.get().pk: [proof.pk]},
        )
        services.closeout_decide(actor=world.lead_staff, request=request, approve=True)
        services.closeout_decide(actor=world.leader, request=request, approve=True, password=PASSWORD)
        with pytest.raises(PermissionDenied):
            services.closeout_decide(
                actor=world.office, request=request, approve=True, no_accountability_reason="无", no_rules_reason="无"
            )
        services.closeout_decide(
            actor=world.track_office, request=request, approve=True, no_accountability_reason="无", no_rules_reason="无"
        )
        request.refresh_from_db()
        assert request.state == State.CLOSED


@pytest.mark.django_db
class TestProblemAndReopen:
    def _close_measure(self, world, measure, proof):
        request = _apply(world, proof, measure=measure)
        services.closeout_decide(actor=world.lead_staff, request=request, approve=True)
        services.closeout_decide(actor=world.leader, request=request, approve=True, password=PASSWORD)
        services.closeout_decide(actor=world.office, request=request, approve=True)
        return request

    def test_it_keeps_a_problem_open_while_a_measure_is_open(self, world, evidence):
        _records(world)
        self._close_measure(world, world.resp_measure, evidence)
        lead_head = user_create(
            actor=None,
            username="lead_fzr",
            full_name="牵头局长",
            password=PASSWORD,
            unit=world.lead_unit,
            roles=[Role.UNIT_HEAD],
        )
        with pytest.raises(ValidationError, match=r"1\.1\.2"):
            services.closeout_apply(
                actor=lead_head,
                problem=world.problem,
                statement="整体完成",
                pledged=True,
                checks={_criterion(world).pk: [evidence.pk]},
            )

    def test_it_reopens_a_closed_item_as_a_new_cycle_keeping_history(self, world, evidence):
        _records(world)
        first = self._close_measure(world, world.resp_measure, evidence)
        with pytest.raises(PermissionDenied):
            services.closeout_reopen(actor=world.lead_staff, request=first, reason="回头看")
        services.closeout_reopen(actor=world.supervision, request=first, reason="回头看发现仍有2人未清退")
        world.resp_measure.refresh_from_db()
        assert world.resp_measure.closeout_state == CloseOutState.REOPENED

        # Reopened means worked on again: the unit reports it finished anew (the next week) first.
        with pytest.raises(ValidationError, match="进度未完成"):
            _apply(world, evidence)
        with time_machine.travel(datetime.timedelta(days=7)):
            measure_finished(world.resp_measure, liaison=world.resp_staff, head=world.resp_head)
            second = _apply(world, evidence)
        assert (second.cycle, first.cycle) == (2, 1)
        first.refresh_from_db()
        assert first.state == State.CLOSED
        assert [s.step for s in first.steps.all()] == ["apply", "lead_unit", "leader", "office", "reopen"]
        assert SignOffStep.objects.filter(request=first).count() == 5

    def test_it_closes_a_long_term_item_as_staged_and_keeps_it_open(self, world, evidence):
        Problem.objects.filter(pk=world.problem.pk).update(deadline_category=DeadlineCategory.LONG_TERM)
        world.problem.refresh_from_db()
        _records(world)
        request = _apply(world, evidence, kind=CloseOutRequest.Kind.STAGED)
        services.closeout_decide(actor=world.lead_staff, request=request, approve=True)
        services.closeout_decide(actor=world.leader, request=request, approve=True, password=PASSWORD)
        services.closeout_decide(actor=world.office, request=request, approve=True)
        world.resp_measure.refresh_from_db()
        assert world.resp_measure.progress_state == ProgressState.STAGED
        assert world.resp_measure.closeout_state == CloseOutState.NOT_APPLIED

    def test_it_refuses_staged_closure_for_a_by_date_item(self, world, evidence):
        with pytest.raises(ValidationError, match="长期坚持"):
            _apply(world, evidence, kind=CloseOutRequest.Kind.STAGED)


@pytest.mark.django_db
class TestPendingList:
    def test_it_agrees_with_the_rule_for_every_actor_and_step(self, world, evidence):
        _records(world)
        request = _apply(world, evidence)
        actors = [
            "office",
            "lead_staff",
            "resp_staff",
            "resp_head",
            "coop_staff",
            "outsider",
            "leader",
            "other_leader",
            "provincial",
            "supervision",
            "track_office",
        ]
        for approver in (world.lead_staff, world.leader, world.office):
            for name in actors:
                user = getattr(world, name)
                listed = request in selectors.closeouts_pending_for(user)
                assert listed == access.may_decide_closeout(user, request), (name, request.state)
                # The navigation badge, which skips the full count when nothing waits, agrees too.
                assert selectors.pending_closeout_count(user=user) == int(listed), (name, request.state)
            services.closeout_decide(actor=approver, request=request, approve=True, password=PASSWORD)
            request.refresh_from_db()


@pytest.mark.django_db
class TestViews:
    def test_it_shows_the_signed_chain_and_three_tests(self, world, evidence, client):
        request = _walk_to_office(world, evidence)
        client.force_login(world.office)
        page = client.get(request.get_absolute_url()).content.decode()
        for text in ("事要解决", "人要处理", "长效机制要建立", "清退凭证.pdf", "材料齐全", "审核通过"):
            assert text in page

    def test_it_hides_requests_from_outsiders(self, world, evidence, client):
        request = _apply(world, evidence)
        client.force_login(world.outsider)
        assert client.get(request.get_absolute_url()).status_code == 404
        decide = reverse("rectification:closeout_decide", args=[request.pk])
        assert client.post(decide, {"decision": "approve"}).status_code == 404
        assert (
            client.post(reverse("rectification:closeout_reopen", args=[request.pk]), {"reason": "x"}).status_code == 404
        )
        request.refresh_from_db()
        assert request.state == State.PENDING_LEAD_UNIT

    def test_it_asks_the_leader_for_the_password_before_signing(self, world, evidence, client):
        request = _apply(world, evidence)
        services.closeout_decide(actor=world.lead_staff, request=request, approve=True)
        client.force_login(world.leader)
        url = reverse("rectification:closeout_decide", args=[request.pk])
        page = client.post(url, {"decision": "approve", "password": "wrong"}, follow=True).content.decode()
        assert "密码不正确，未签批" in page
        request.refresh_from_db()
        assert request.state == State.PENDING_LEADER
        client.post(url, {"decision": "approve", "password": PASSWORD})
        request.refresh_from_db()
        assert request.state == State.PENDING_OFFICE

    def test_it_applies_through_the_form(self, world, evidence, client):
        client.force_login(world.resp_head)
        url = reverse("rectification:measure_closeout_apply", args=[world.resp_measure.pk])
        assert "违规资金全部清退" in client.get(url).content.decode()
        response = client.post(
            url,
            {
                "statement": "已全部清退",
                "kind": "full",
                "pledged": "on",
                f"criterion_{_criterion(world).pk}": [evidence.pk],
            },
        )
        assert response.status_code == 302
        assert CloseOutRequest.objects.get().state == State.PENDING_LEAD_UNIT

    def test_it_hides_the_application_form_from_others(self, world, evidence, client):
        url = reverse("rectification:measure_closeout_apply", args=[world.resp_measure.pk])
        client.force_login(world.outsider)
        assert client.get(url).status_code == 404
        client.force_login(world.resp_staff)
        assert client.get(url).status_code == 403
        client.force_login(world.resp_head)
        assert client.put(url).status_code == 405

    def test_it_lists_pending_items_with_a_count_in_the_navigation(self, world, evidence, client):
        _apply(world, evidence)
        client.force_login(world.lead_staff)
        response = client.get(reverse("rectification:closeout_pending"))
        badge = '待我审核<span class="badge">1</span>'
        assert badge in response.content.decode()
        # The application's number (第1次) and the inspection round it belongs to.
        assert "1.1.1 销号申请（第1次）" in response.content.decode()
        assert f"<td>{world.round.title}</td>" in response.content.decode()
        assert "1.1.1" in response.content.decode()
        # Every other page shows the same badge, counted through the access check.
        assert badge in client.get(reverse("rectification:home"), follow=True).content.decode()
        # Waiting for the lead unit, not yet for the leader.
        client.force_login(world.leader)
        assert "待我审核<span" not in client.get(reverse("rectification:home"), follow=True).content.decode()
        client.force_login(world.outsider)
        assert "1.1.1" not in client.get(reverse("rectification:closeout_pending")).content.decode()


@pytest.mark.django_db
class TestLeaderPassword:
    def test_it_refuses_a_leader_without_the_password_when_the_step_moved_on_meanwhile(
        self, world, evidence, client, monkeypatch
    ):
        request = _apply(world, evidence)
        seen = views_closeout.closeout_for_user

        def stale_then_approved(user, pk, action="view"):
            # The leader's page showed the lead unit's step (no password field); before the
            # leader's decision reaches the service, the lead unit approves.
            closeout = seen(user, pk, action)
            services.closeout_decide(actor=world.lead_staff, request=request, approve=True)
            return closeout

        monkeypatch.setattr(views_closeout, "closeout_for_user", stale_then_approved)
        client.force_login(world.leader)
        url = reverse("rectification:closeout_decide", args=[request.pk])
        page = client.post(url, {"decision": "approve", "comment": "同意"}, follow=True).content.decode()
        assert "签批须再次输入您的登录密码" in page
        request.refresh_from_db()
        assert request.state == State.PENDING_LEADER
        assert not SignOffStep.objects.filter(request=request, step="leader").exists()

    def test_it_locks_the_account_after_as_many_wrong_passwords_as_wrong_logins(
        self, world, evidence, client, settings
    ):
        request = _apply(world, evidence)
        services.closeout_decide(actor=world.lead_staff, request=request, approve=True)
        client.force_login(world.leader)
        url = reverse("rectification:closeout_decide", args=[request.pk])
        for _ in range(settings.AXES_FAILURE_LIMIT):
            client.post(url, {"decision": "approve", "password": "wrong"})
        assert (
            AuditEvent.objects.filter(action="closeout.leader.password_failed").count() == settings.AXES_FAILURE_LIMIT
        )
        # Locked now: the right password signs nothing, and signing in is refused as after wrong logins.
        page = client.post(url, {"decision": "approve", "password": PASSWORD}, follow=True).content.decode()
        assert "已被锁定" in page
        request.refresh_from_db()
        assert request.state == State.PENDING_LEADER
        fresh = Client()
        response = fresh.post(reverse("accounts:login"), {"username": world.leader.username, "password": PASSWORD})
        assert response.status_code == 429
        assert "已被锁定" in response.content.decode()


@pytest.mark.django_db
class TestRecords:
    def test_it_lets_involved_units_and_supervision_record(self, world, client):
        url = reverse("rectification:problem_records", args=[world.problem.pk])
        data = {
            "record": "rule",
            "rule-title": "津贴补贴发放管理办法",
            "rule-doc_number": "示财发〔2026〕12号",
            "rule-issued_on": "2026-11-15",
            "rule-change": "new",
            "rule-issuing_unit": world.resp_unit.pk,
        }
        client.force_login(world.resp_staff)
        assert client.post(url, data).status_code == 302
        assert world.problem.rules.count() == 1
        client.force_login(world.outsider)
        assert client.post(url, data).status_code == 404
        client.force_login(world.provincial)
        assert client.post(url, data).status_code == 403
        assert world.problem.rules.count() == 1


@pytest.mark.django_db(transaction=True)
class TestConcurrency:
    def test_it_records_exactly_one_decision_for_two_simultaneous_approvals(self, world, settings, tmp_path):
        settings.PRIVATE_MEDIA_ROOT = tmp_path
        measure_finished(world.resp_measure, liaison=world.resp_staff, head=world.resp_head)
        proof = services.evidence_upload(
            actor=world.resp_staff, measure=world.resp_measure, uploaded=SimpleUploadedFile("a.pdf", PDF), kind="report"
        )
        _records(world)
        request = _walk_to_office(world, proof)
        second_office = user_create(
            actor=None, username="office2", full_name="整改办二", password=PASSWORD, roles=[Role.OFFICE]
        )
        barrier = threading.Barrier(2)
        outcomes = []

        def approve(user):
            try:
                barrier.wait()
                services.closeout_decide(actor=user, request=request, approve=True)
                outcomes.append("ok")
            except (ValidationError, OperationalError) as error:
                outcomes.append(error)
            finally:
                connection.close()

        threads = [threading.Thread(target=approve, args=(u,)) for u in (world.office, second_office)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert outcomes.count("ok") == 1, outcomes
        (loser,) = [outcome for outcome in outcomes if outcome != "ok"]
        already_handled = "该申请当前不在审核环节，可能已由他人处理，请刷新页面。"
        if connection.vendor == "postgresql":
            # The row lock makes the second approval wait for the first and then see its result.
            assert isinstance(loser, ValidationError) and loser.messages == [already_handled], loser
        else:
            # SQLite has one writer at a time: the second either comes after the first, or is
            # refused at its write because it read before the first committed.
            assert (isinstance(loser, ValidationError) and loser.messages == [already_handled]) or (
                isinstance(loser, OperationalError) and "locked" in str(loser)
            ), loser
        request.refresh_from_db()
        assert request.state == State.CLOSED
        assert SignOffStep.objects.filter(request=request, step="office").count() == 1


@pytest.mark.django_db
class TestNothingIsClosedThatIsNotDone:
    """Close-out refuses what is not done, each precondition on its own, naming it in Chinese."""

    def _upload(self, world, name="清退凭证.pdf"):
        return services.evidence_upload(
            actor=world.resp_staff, measure=world.resp_measure, uploaded=SimpleUploadedFile(name, PDF), kind="receipt"
        )

    @pytest.fixture(autouse=True)
    def media(self, settings, tmp_path):
        settings.PRIVATE_MEDIA_ROOT = tmp_path

    def test_it_refuses_a_measure_not_reported_finished(self, world):
        # 88% and still in progress: the case that got closed out before.
        world.resp_measure.percent = 88
        world.resp_measure.progress_state = ProgressState.IN_PROGRESS
        world.resp_measure.save(update_fields=["percent", "progress_state"])
        with pytest.raises(ValidationError) as refused:
            _apply(world, self._upload(world))
        assert refused.value.messages == ["进度未完成：须为“已完成”且完成百分比为 100%，现为“推进中”、88%。"]
        assert not CloseOutRequest.objects.exists()

    def test_it_refuses_while_a_milestone_is_neither_done_nor_waived(self, world):
        services.milestones_generate(
            actor=world.lead_staff, measure=world.resp_measure, titles=["制定方案", "全面清退"]
        )
        measure_finished(world.resp_measure, liaison=world.resp_staff, head=world.resp_head)
        # A milestone reopened by a plan change after the unit reported: the last one still open.
        last = world.resp_measure.milestones.order_by("seq").last()
        last.done_on = None
        last.save(update_fields=["done_on"])
        with pytest.raises(ValidationError) as refused:
            _apply(world, self._upload(world))
        (message,) = refused.value.messages
        assert message.startswith("以下时间节点既未完成也未免除")
        assert f"{last.seq}“全面清退”" in message
        # Waived with a reason, it no longer stands in the way; the reason is on record.
        services.milestone_waive(actor=world.resp_staff, milestone=last, reason="清退已在第一个节点一并完成")
        request = _apply(world, self._upload(world, "第二份.pdf"))
        assert request.state == State.PENDING_LEAD_UNIT
        last.refresh_from_db()
        assert (last.waived_by, last.waived_reason) == (world.resp_staff, "清退已在第一个节点一并完成")

    def test_it_refuses_a_measure_without_acceptance_criteria(self, world):
        measure_finished(world.resp_measure, liaison=world.resp_staff, head=world.resp_head)
        world.problem.criteria.all().delete()
        with pytest.raises(ValidationError) as refused:
            services.closeout_apply(
                actor=world.resp_head,
                problem=world.problem,
                measure=world.resp_measure,
                statement="完成",
                pledged=True,
                checks={},
            )
        assert refused.value.messages == [
            "该事项没有验收标准，无从核验：请牵头单位先补充验收标准（每项措施至少一条）。"
        ]

    def test_one_file_for_several_criteria_needs_a_note_under_each(self, world):
        measure_finished(world.resp_measure, liaison=world.resp_staff, head=world.resp_head)
        first = _criterion(world)
        second = AcceptanceCriterion.objects.create(problem=world.problem, seq=2, text="建立津补贴审批制度")
        proof = self._upload(world)
        checks = {first.pk: [proof.pk], second.pk: [proof.pk]}
        with pytest.raises(ValidationError) as refused:
            _apply(world, proof, checks=checks, notes={first.pk: "凭证载明清退金额"})
        assert refused.value.messages == [
            "佐证材料“清退凭证.pdf”同时用于第 1、2 条验收标准：请在第 2 条下说明这一份材料为何能证明该条标准。"
        ]
        notes = {first.pk: "凭证载明清退金额", second.pk: "凭证附有新制度的审批单"}
        request = _apply(world, proof, checks=checks, notes=notes)
        assert sorted(request.checks.values_list("note", flat=True)) == sorted(notes.values())

    def test_a_staged_application_needs_the_staged_state_and_the_milestones_due_so_far(self, world):
        world.problem.deadline_category = DeadlineCategory.LONG_TERM
        world.problem.save(update_fields=["deadline_category"])
        with pytest.raises(ValidationError, match="进度未达到阶段性完成"):
            _apply(world, self._upload(world), kind=CloseOutRequest.Kind.STAGED)

    def test_the_page_says_what_stands_in_the_way_before_anyone_types(self, world, client):
        client.force_login(world.resp_head)
        page = client.get(reverse("rectification:measure_closeout_apply", args=[world.resp_measure.pk]))
        text = page.content.decode()
        assert "尚不能申请销号" in text and "进度未完成" in text
        measure_finished(world.resp_measure, liaison=world.resp_staff, head=world.resp_head)
        page = client.get(reverse("rectification:measure_closeout_apply", args=[world.resp_measure.pk]))
        assert "尚不能申请销号" not in page.content.decode()


@pytest.mark.django_db
class TestWaivingAMilestone:
    @pytest.fixture
    def milestone(self, world):
        services.milestones_generate(actor=world.lead_staff, measure=world.resp_measure, titles=["制定方案"])
        return world.resp_measure.milestones.get()

    def test_the_responsible_unit_waives_with_a_reason_and_it_is_audited(self, world, client, milestone):
        client.force_login(world.resp_staff)
        url = reverse("rectification:milestone_waive", args=[milestone.pk])
        response = client.post(url, {"reason": ""}, follow=True)
        assert "免除时间节点须填写理由" in response.content.decode()
        response = client.post(url, {"reason": "方案已并入上级统一部署"}, follow=True)
        assert "已免除" in response.content.decode()
        milestone.refresh_from_db()
        assert not milestone.is_open and milestone.waived_reason == "方案已并入上级统一部署"
        event = AuditEvent.objects.filter(action="milestone.waive").get()
        assert event.actor == world.resp_staff
        # Twice is refused, saying when.
        response = client.post(url, {"reason": "再次"}, follow=True)
        assert "已于" in response.content.decode() and "免除" in response.content.decode()

    def test_a_waived_milestone_no_longer_makes_the_measure_late(self, world, milestone):
        from rectification.lights import measure_light, with_oldest_open_milestone

        Milestone = type(milestone)
        Milestone.objects.filter(pk=milestone.pk).update(due_date=datetime.date(2026, 9, 2))
        today = datetime.date(2026, 9, 20)

        def light():
            measure = with_oldest_open_milestone(Measure.objects.filter(pk=world.resp_measure.pk)).get()
            return measure_light(measure, today, oldest_open_milestone_due=measure.oldest_open_milestone).code

        assert light() == "red"
        services.milestone_waive(actor=world.resp_staff, milestone=milestone, reason="不再需要")
        assert light() != "red"

    @pytest.mark.parametrize("person", ["lead_staff", "coop_staff", "outsider", "office", "leader", "auditadmin"])
    def test_no_one_but_the_responsible_unit_waives(self, world, client, milestone, person):
        client.force_login(getattr(world, person))
        response = client.post(reverse("rectification:milestone_waive", args=[milestone.pk]), {"reason": "x"})
        assert response.status_code in (403, 404)
        milestone.refresh_from_db()
        assert milestone.is_open

    def test_it_takes_posts_only(self, world, client, milestone):
        client.force_login(world.resp_staff)
        assert client.get(reverse("rectification:milestone_waive", args=[milestone.pk])).status_code == 405
