"""Query budgets of the pages, pinned with few and many rows, each for the people who use it.

The dashboard, the worklist, the problem list and the measure list are pinned where they are
tested (test_dashboard.py, test_unit_workflow.py, test_views.py); these are the others: the pages
the benchmark measures (bench/run.py) and every other list or detail page. Each page runs a fixed
number of queries however many measures, reports, requests or records it shows: the count with
"many" rows must equal the count with "few", and both are the same on PostgreSQL and SQLite.
Timings are the benchmark's business, never the tests'.
"""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from accounts.models import Unit
from rectification.models import (
    AcceptanceCriterion,
    AccountabilityRecord,
    CloseOutRequest,
    CloseOutState,
    CoordinationItem,
    CriterionCheck,
    DispatchSheet,
    Evidence,
    Manifestation,
    Measure,
    Milestone,
    MissedReport,
    Penalty,
    Problem,
    ProgressReport,
    RuleRecord,
    SignOffStep,
    SupervisionNotice,
    WeeklyCycle,
    WeeklySnapshot,
)
from rectification.views import unitwork

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Tuesday of ISO week 2026-W48.
TUESDAY = datetime.datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI)
WEEK = "2026-W48"


@pytest.fixture
def frozen():
    with time_machine.travel(TUESDAY, tick=False):
        yield


def _measures(world, problem, owner, count, start=0, claimed=True):
    """Measures written straight to the table, each with two milestones, visible through the grants;
    claimed by their unit unless told otherwise."""
    measures = Measure.objects.bulk_create(
        Measure(
            claim_state=Measure.ClaimState.CLAIMED if claimed else Measure.ClaimState.PENDING,
            problem=problem,
            code=f"{problem.code}.Q{i}",
            seq=100 + i,
            text=f"批量措施{i}",
            kind=Measure.Kind.RULES,
            owner_unit=owner,
            start_date=datetime.date(2026, 9, 1),
            due_date=datetime.date(2026, 12, 1),
        )
        for i in range(start, start + count)
    )
    Milestone.objects.bulk_create(
        Milestone(measure=m, seq=seq, title=f"节点{seq}", due_date=datetime.date(2026, 10, seq * 10))
        for m in measures
        for seq in (1, 2)
    )
    from rectification.access import permissions_sync_for_problem

    permissions_sync_for_problem(problem)
    return measures


def _report(measure, user, *, with_evidence=True, iso_week=48):
    report = ProgressReport.objects.create(
        measure=measure,
        iso_year=2026,
        iso_week=iso_week,
        state="draft",
        progress_this_week="推进中",
        percent=30,
        filled_by=user,
    )
    if with_evidence:
        Evidence.objects.create(
            measure=measure,
            report=report,
            kind=Evidence.Kind.REPORT,
            original_name="进展报告.pdf",
            stored_name=f"query-budget/{report.pk}.pdf",
            content_type="application/pdf",
            size=10,
            sha256="0" * 64,
            uploaded_by=user,
        )
    return report


def _pending_request(world, measure, state=CloseOutRequest.State.PENDING_LEADER):
    """A close-out request already past the lead unit, waiting for the lead official."""
    request = CloseOutRequest.objects.create(
        problem=measure.problem,
        measure=measure,
        state=state,
        statement="已完成。",
        applicant_unit=measure.owner_unit,
        applied_by=world.resp_head,
        pledged_at=timezone.now(),
    )
    SignOffStep.objects.create(request=request, step="apply", decision="submitted", actor=world.resp_head)
    Measure.objects.filter(pk=measure.pk).update(closeout_state=CloseOutState(state.value))
    return request


@pytest.mark.django_db
class TestProblemDetail:
    @pytest.mark.parametrize("actor", ["lead_staff", "office"])
    def test_it_runs_the_same_number_of_queries_for_2_and_32_measures(
        self, world, client, frozen, django_assert_num_queries, actor
    ):
        problem = world.problem
        problem.responsible_leaders.add(world.other_leader)
        Milestone.objects.create(measure=world.resp_measure, seq=1, title="节点", due_date=datetime.date(2026, 10, 1))
        _pending_request(world, world.resp_measure)
        url = reverse("rectification:problem_detail", args=[problem.pk])
        client.force_login(getattr(world, actor))
        client.get(url)
        with django_assert_num_queries(PROBLEM_DETAIL[actor]):
            client.get(url)
        many = _measures(world, problem, world.resp_unit, 30)
        Manifestation.objects.bulk_create(
            Manifestation(problem=problem, seq=10 + i, text=f"表现{i}") for i in range(10)
        )
        for measure in many[:5]:
            _pending_request(world, measure)
        with django_assert_num_queries(PROBLEM_DETAIL[actor]):
            response = client.get(url)
        assert len(response.context["problem"].measures.all()) == 32


@pytest.mark.django_db
class TestWeeklyReportForm:
    def test_it_runs_the_same_number_of_queries_for_1_and_21_measures(
        self, world, client, frozen, django_assert_num_queries, settings, tmp_path
    ):
        settings.PRIVATE_MEDIA_ROOT = tmp_path
        _report(world.resp_measure, world.resp_staff)
        url = f"{reverse('rectification:report_week')}?week={WEEK}"
        client.force_login(world.resp_staff)
        client.get(url)
        with django_assert_num_queries(REPORT_FORM):
            client.get(url)
        for measure in _measures(world, world.problem, world.resp_unit, 20):
            _report(measure, world.resp_staff)
        with django_assert_num_queries(REPORT_FORM):
            response = client.get(url)
        assert len(response.context["rows"]) == 21

    def test_it_runs_as_many_queries_before_anything_is_written_this_week(
        self, world, client, frozen, django_assert_num_queries
    ):
        # No report yet, so no evidence either: the page still reads both (the demo's busiest
        # unit on a Monday), so the count does not depend on what has been written.
        url = f"{reverse('rectification:report_week')}?week={WEEK}"
        client.force_login(world.resp_staff)
        client.get(url)
        with django_assert_num_queries(REPORT_FORM):
            response = client.get(url)
        assert [row["report"] for row in response.context["rows"]] == [None]

    def test_it_runs_as_many_queries_for_a_busy_unit_shown_one_round_at_a_time(
        self, world, client, frozen, django_assert_num_queries, settings, tmp_path, monkeypatch
    ):
        settings.PRIVATE_MEDIA_ROOT = tmp_path
        # Over the limit, the page shows one round at a time; the rounds come with the rows.
        monkeypatch.setattr(unitwork, "REPORT_ROWS_ON_ONE_PAGE", 10)
        _report(world.resp_measure, world.resp_staff)
        for index in range(3):
            later = world.make_round(f"第{index + 2}轮", feedback_date=datetime.date(2026, 10, index + 1))
            problem = world.make_problem("9.1", inspection_round=later, responsible_units=[world.resp_unit])
            for measure in _measures(world, problem, world.resp_unit, 5, start=10 * index):
                _report(measure, world.resp_staff)
        url = f"{reverse('rectification:report_week')}?week={WEEK}"
        client.force_login(world.resp_staff)
        client.get(url)
        with django_assert_num_queries(REPORT_FORM):
            assert len(client.get(url).context["rows"]) == 5
        with django_assert_num_queries(REPORT_FORM):
            assert len(client.get(f"{url}&round=all").context["rows"]) == 16


@pytest.mark.django_db
class TestPendingList:
    @pytest.mark.parametrize("actor", ["leader", "lead_staff"])
    def test_it_runs_the_same_number_of_queries_for_1_and_21_requests(
        self, world, client, frozen, django_assert_num_queries, actor
    ):
        state = CloseOutRequest.State.PENDING_LEADER if actor == "leader" else CloseOutRequest.State.PENDING_LEAD_UNIT
        _pending_request(world, world.resp_measure, state)
        url = reverse("rectification:closeout_pending")
        client.force_login(getattr(world, actor))
        client.get(url)
        with django_assert_num_queries(PENDING[actor]):
            client.get(url)
        for measure in _measures(world, world.problem, world.resp_unit, 20):
            _pending_request(world, measure, state)
        with django_assert_num_queries(PENDING[actor]):
            response = client.get(url)
        assert response.context["pending_count"] == 21 and len(response.context["page"]) == 20


def _permission_reads(queries):
    return [q["sql"] for q in queries if "objectpermission" in q["sql"].lower()]


@pytest.mark.django_db
class TestWeeklyReportSubmission:
    def test_it_reads_the_permissions_once_however_many_measures_are_submitted(self, world, frozen):
        # Before: two permission reads per measure (74 queries, 42 of them permission reads, for
        # a unit with 21 measures), because each row was checked on its own.
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from rectification import services

        _report(world.resp_measure, world.resp_staff, with_evidence=False)
        with CaptureQueriesContext(connection) as one:
            services.report_submit(actor=world.resp_staff, unit=world.resp_unit, iso_year=2026, iso_week=48)
        ProgressReport.objects.update(state="draft")
        for measure in _measures(world, world.problem, world.resp_unit, 20):
            _report(measure, world.resp_staff, with_evidence=False)
        with CaptureQueriesContext(connection) as many:
            submitted = services.report_submit(actor=world.resp_staff, unit=world.resp_unit, iso_year=2026, iso_week=48)
        assert len(submitted) == 21
        assert 0 < len(_permission_reads(many.captured_queries)) == len(_permission_reads(one.captured_queries)) <= 2


def _closed_request(world, measure, cycle):
    """A close-out of an earlier cycle with its whole chain: a row of the pages' history."""
    request = CloseOutRequest.objects.create(
        problem=measure.problem,
        measure=measure,
        cycle=cycle,
        state=CloseOutRequest.State.CLOSED,
        statement="已完成。",
        applicant_unit=measure.owner_unit,
        applied_by=world.resp_head,
        pledged_at=timezone.now(),
    )
    SignOffStep.objects.bulk_create(
        SignOffStep(request=request, step=step, decision=decision, actor=actor)
        for step, decision, actor in (
            ("apply", "submitted", world.resp_head),
            ("lead_unit", "approved", world.lead_staff),
            ("leader", "approved", world.leader),
            ("office", "approved", world.office),
        )
    )
    return request


def _coordination_item(measure, user, iso_week=48):
    report = _report(measure, user, with_evidence=False, iso_week=iso_week)
    return CoordinationItem.objects.create(measure=measure, report=report, text="需财政局协调清退口径")


def _units(count):
    groups = Group.objects.bulk_create(Group(name=f"unit:批量单位{i}") for i in range(count))
    return Unit.objects.bulk_create(
        Unit(name=f"批量单位{i}", level=Unit.Level.TOWNSHIP, kind=Unit.Kind.TOWNSHIP, group=group)
        for i, group in enumerate(groups)
    )


@pytest.mark.django_db
class TestMeasureDetail:
    @pytest.mark.parametrize("actor", ["resp_head", "office"])
    def test_it_runs_the_same_number_of_queries_for_1_and_21_reports(
        self, world, client, frozen, django_assert_num_queries, actor
    ):
        measure = world.resp_measure

        def add(start, count):
            # Each round of rows: a milestone with its evidence, a week's report with its
            # evidence, an acceptance criterion and an earlier close-out with its chain.
            for i in range(start, start + count):
                milestone = Milestone.objects.create(
                    measure=measure, seq=i + 1, title=f"节点{i}", due_date=datetime.date(2026, 10, 1)
                )
                report = _report(measure, world.resp_staff, iso_week=48 - i)
                Evidence.objects.filter(report=report).update(milestone=milestone)
                AcceptanceCriterion.objects.create(problem=measure.problem, measure=measure, seq=i + 1, text=f"标准{i}")
                _closed_request(world, measure, cycle=i + 1)

        add(0, 1)
        url = reverse("rectification:measure_detail", args=[measure.pk])
        client.force_login(getattr(world, actor))
        client.get(url)
        with django_assert_num_queries(MEASURE_DETAIL[actor]):
            client.get(url)
        add(1, 20)
        with django_assert_num_queries(MEASURE_DETAIL[actor]):
            response = client.get(url)
        assert len(response.context["reports"]) == 21
        assert len(response.context["closeouts"]) == 21


@pytest.mark.django_db
class TestLeaderPage:
    def test_it_runs_the_same_number_of_queries_for_2_and_22_measures(
        self, world, client, frozen, django_assert_num_queries
    ):
        Problem.objects.filter(pk=world.problem.pk).update(is_secretary_led=True)
        _pending_request(world, world.resp_measure)
        _coordination_item(world.coop_measure, world.coop_staff)
        url = reverse("rectification:leader")
        client.force_login(world.leader)
        client.get(url)
        with django_assert_num_queries(LEADER_PAGE):
            client.get(url)
        for measure in _measures(world, world.problem, world.resp_unit, 20):
            _pending_request(world, measure)
            _coordination_item(measure, world.resp_staff)
        for index in range(5):
            problem = world.make_problem(f"2.{index}", responsible_units=[world.resp_unit], measures=[world.resp_unit])
            Problem.objects.filter(pk=problem.pk).update(is_secretary_led=True)
        with django_assert_num_queries(LEADER_PAGE):
            response = client.get(url)
        assert (len(response.context["pending"]), len(response.context["coordination"])) == (21, 21)
        assert (len(response.context["problems"]), len(response.context["secretary_items"])) == (6, 6)
        assert len(response.context["measures"]) == 27


@pytest.mark.django_db
class TestBattleMap:
    @pytest.mark.parametrize("actor", ["lead_staff", "office"])
    def test_it_runs_the_same_number_of_queries_for_2_and_32_measures(
        self, world, client, frozen, django_assert_num_queries, actor
    ):
        Milestone.objects.create(measure=world.resp_measure, seq=1, title="节点", due_date=datetime.date(2026, 10, 1))
        url = reverse("rectification:problem_battle_map", args=[world.problem.pk])
        client.force_login(getattr(world, actor))
        client.get(url)
        with django_assert_num_queries(BATTLE_MAP[actor]):
            client.get(url)
        _measures(world, world.problem, world.resp_unit, 30)
        with django_assert_num_queries(BATTLE_MAP[actor]):
            response = client.get(url)
        assert len(response.context["map"]["measures"]) == 32


@pytest.mark.django_db
class TestCloseOutDetail:
    @pytest.mark.parametrize(
        "actor, state",
        [("leader", CloseOutRequest.State.PENDING_LEADER), ("office", CloseOutRequest.State.PENDING_OFFICE)],
    )
    def test_it_runs_the_same_number_of_queries_for_1_and_21_criteria(
        self, world, client, frozen, django_assert_num_queries, actor, state
    ):
        measure = world.resp_measure
        request = _pending_request(world, measure, state)

        def add(start, count):
            # Each round of rows: a criterion checked with its evidence, a step of the chain, an
            # earlier close-out with its chain, an accountability and a rule record.
            for i in range(start, start + count):
                criterion = AcceptanceCriterion.objects.create(
                    problem=measure.problem, measure=measure, seq=i + 1, text=f"标准{i}"
                )
                check = CriterionCheck.objects.create(request=request, criterion=criterion)
                check.evidence.add(_report(measure, world.resp_staff, iso_week=48 - i).evidence.get())
                SignOffStep.objects.create(
                    request=request, step="lead_unit", decision="approved", actor=world.lead_staff
                )
                _closed_request(world, measure, cycle=i + 2)
                AccountabilityRecord.objects.create(
                    round=world.round,
                    problem=measure.problem,
                    person_name=f"干部{i}",
                    kind=AccountabilityRecord.Kind.ADMONITION,
                    decided_on=datetime.date(2026, 10, 1),
                    entered_by=world.office,
                )
                RuleRecord.objects.create(
                    round=world.round,
                    title=f"制度{i}",
                    doc_number=f"文号{i}",
                    issued_on=datetime.date(2026, 10, 1),
                    issuing_unit=world.resp_unit,
                    entered_by=world.office,
                ).problems.add(measure.problem)

        add(0, 1)
        url = reverse("rectification:closeout_detail", args=[request.pk])
        client.force_login(getattr(world, actor))
        client.get(url)
        with django_assert_num_queries(CLOSEOUT_DETAIL[actor]):
            client.get(url)
        add(1, 20)
        with django_assert_num_queries(CLOSEOUT_DETAIL[actor]):
            response = client.get(url)
        assert response.context["can_decide"]
        assert len(response.context["tests"]["solved"]["checks"]) == 21
        assert len(response.context["history"]) == 22


@pytest.mark.django_db
class TestLeadUnitReports:
    def test_it_runs_the_same_number_of_queries_for_2_and_22_measures(
        self, world, client, frozen, django_assert_num_queries
    ):
        _report(world.resp_measure, world.resp_staff)
        url = f"{reverse('rectification:led_reports')}?week={WEEK}"
        client.force_login(world.lead_staff)
        client.get(url)
        with django_assert_num_queries(LED_REPORTS):
            client.get(url)
        for measure in _measures(world, world.problem, world.resp_unit, 20):
            _report(measure, world.resp_staff)
        with django_assert_num_queries(LED_REPORTS):
            response = client.get(url)
        assert len(response.context["measures"]) == 22


@pytest.mark.django_db
class TestUnitClaims:
    def test_it_runs_the_same_number_of_queries_for_1_and_21_measures(
        self, world, client, frozen, django_assert_num_queries
    ):
        Measure.objects.filter(pk=world.resp_measure.pk).update(claim_state=Measure.ClaimState.PENDING)
        url = reverse("rectification:unit_claims")
        client.force_login(world.resp_staff)
        client.get(url)
        with django_assert_num_queries(UNIT_CLAIMS):
            client.get(url)
        _measures(world, world.problem, world.resp_unit, 20, claimed=False)
        with django_assert_num_queries(UNIT_CLAIMS):
            response = client.get(url)
        assert len(response.context["measures"]) == 21


@pytest.mark.django_db
class TestNoticeList:
    @pytest.mark.parametrize("actor", ["resp_staff", "office"])
    def test_it_runs_the_same_number_of_queries_for_1_and_21_notices(
        self, world, client, frozen, django_assert_num_queries, actor
    ):
        cycle = WeeklyCycle.objects.create(round=world.round, iso_year=2026, iso_week=47)

        def notice(measure, answered_by=None):
            SupervisionNotice.objects.create(
                cycle=cycle,
                unit=measure.owner_unit,
                measure=measure,
                text="督办：进度滞后",
                reply_due=datetime.date(2026, 11, 27),
                state="answered" if answered_by else "open",
                reply="已整改。" if answered_by else "",
                replied_by=answered_by,
                replied_at=timezone.now() if answered_by else None,
            )

        notice(world.resp_measure)
        url = reverse("rectification:notice_list")
        client.force_login(getattr(world, actor))
        client.get(url)
        with django_assert_num_queries(NOTICES[actor]):
            client.get(url)
        # Half of them answered, by two different people.
        for index, measure in enumerate(_measures(world, world.problem, world.resp_unit, 20)):
            notice(measure, answered_by=[None, world.resp_staff, None, world.resp_head][index % 4])
        with django_assert_num_queries(NOTICES[actor]):
            response = client.get(url)
        # A page of twenty, and the tabs count all twenty-one.
        assert len(response.context["notices"]) == 20
        assert [count for _value, _label, count in response.context["tabs"]] == [21, 11, 10]


@pytest.mark.django_db
class TestPenaltyList:
    @pytest.mark.parametrize("actor, shown", [("office", 26), ("resp_staff", 21)])
    def test_it_runs_the_same_number_of_queries_for_1_and_21_penalties(
        self, world, client, frozen, django_assert_num_queries, actor, shown
    ):
        cycles = [WeeklyCycle.objects.create(round=world.round, iso_year=2026, iso_week=week) for week in (46, 47)]

        def penalty(index, unit, confirmed):
            Penalty.objects.create(
                round=world.round,
                cycle=cycles[index % 2],
                unit=unit,
                kind=Penalty.Kind.DEDUCTION,
                rule=f"rule{index}",
                reason="连续未报",
                points=0.5,
                state=Penalty.State.CONFIRMED if confirmed else Penalty.State.DRAFT,
                decided_by=world.office if confirmed else None,
                decided_at=timezone.now() if confirmed else None,
            )

        penalty(0, world.resp_unit, confirmed=True)
        url = reverse("rectification:penalty_list")
        client.force_login(getattr(world, actor))
        client.get(url)
        with django_assert_num_queries(PENALTIES[actor]):
            client.get(url)
        # Confirmed against the unit (which it sees), and drafts against others (which only the office sees).
        for index in range(1, 21):
            penalty(index, world.resp_unit, confirmed=True)
        for index, unit in enumerate(_units(5), start=21):
            penalty(index, unit, confirmed=False)
        with django_assert_num_queries(PENALTIES[actor]):
            response = client.get(url)
        assert len(response.context["penalties"]) == shown


@pytest.mark.django_db
class TestCoordinationList:
    @pytest.mark.parametrize("actor", ["leader", "office"])
    def test_it_runs_the_same_number_of_queries_for_1_and_21_items(
        self, world, client, frozen, django_assert_num_queries, actor
    ):
        _coordination_item(world.resp_measure, world.resp_staff)
        url = reverse("rectification:coordination_list")
        client.force_login(getattr(world, actor))
        client.get(url)
        with django_assert_num_queries(COORDINATION[actor]):
            client.get(url)
        # Under five problems, each with its own lead official shown on the page.
        for index in range(4):
            problem = world.make_problem(f"3.{index}", responsible_units=[world.resp_unit])
            problem.responsible_leaders.add(world.leader)
            Problem.objects.filter(pk=problem.pk).update(lead_official=world.other_leader)
            # _measures brings the grants up to date with the leaders set here.
            for measure in _measures(world, problem, world.resp_unit, 5):
                _coordination_item(measure, world.resp_staff)
        with django_assert_num_queries(COORDINATION[actor]):
            response = client.get(url)
        assert len(response.context["items"]) == 21
        # Ten more: a second page, with the same number of queries, and the total said on both.
        problem = world.make_problem("4.1", responsible_units=[world.resp_unit])
        problem.responsible_leaders.add(world.leader)
        for measure in _measures(world, problem, world.resp_unit, 10):
            _coordination_item(measure, world.resp_staff)
        raw = CoordinationItem.objects.filter(state=CoordinationItem.State.OPEN).count()
        assert raw == 31
        with django_assert_num_queries(COORDINATION[actor]):
            second = client.get(url, {"page": 2})
        assert len(second.context["items"]) == 1
        assert second.context["page"].paginator.count == raw
        assert f"共 {raw} 项" in second.content.decode()
        assert "第 2 / 2 页" in second.content.decode()


@pytest.mark.django_db
class TestCycleList:
    def test_it_runs_the_same_number_of_queries_for_1_and_31_cycles(
        self, world, client, frozen, django_assert_num_queries
    ):
        def cycle(iso_year, iso_week, inspection_round=world.round):
            made = WeeklyCycle.objects.create(round=inspection_round, iso_year=iso_year, iso_week=iso_week)
            WeeklySnapshot.objects.create(cycle=made, figures={"measures": {"total": 2, "closed": 0}})

        cycle(2026, 47)
        url = reverse("rectification:cycle_list")
        client.force_login(world.office)
        client.get(url)
        with django_assert_num_queries(CYCLE_LIST):
            client.get(url)
        later = world.make_round("第二轮", feedback_date=datetime.date(2026, 10, 1))
        for week in range(30, 45):
            cycle(2026, week)
            cycle(2026, week, later)
        with django_assert_num_queries(CYCLE_LIST):
            response = client.get(url)
        assert len(response.context["cycles"]) == 31


@pytest.mark.django_db
class TestCycleDetail:
    def test_it_runs_the_same_number_of_queries_for_1_and_21_units(
        self, world, client, frozen, django_assert_num_queries
    ):
        cycle = WeeklyCycle.objects.create(round=world.round, iso_year=2026, iso_week=47)
        WeeklySnapshot.objects.create(cycle=cycle, figures={"measures": {"total": 2, "closed": 0}, "overdue": []})

        def unit_missed(unit, measure):
            DispatchSheet.objects.create(cycle=cycle, unit=unit, content={"overdue": []})
            MissedReport.objects.create(cycle=cycle, unit=unit, measure=measure)

        unit_missed(world.resp_unit, world.resp_measure)
        url = reverse("rectification:cycle_detail", args=[cycle.pk])
        client.force_login(world.office)
        client.get(url)
        with django_assert_num_queries(CYCLE_DETAIL):
            client.get(url)
        for index, unit in enumerate(_units(20)):
            (measure,) = _measures(world, world.problem, unit, 1, start=index)
            unit_missed(unit, measure)
        with django_assert_num_queries(CYCLE_DETAIL):
            response = client.get(url)
        assert (len(response.context["sheets"]), len(response.context["missed"])) == (21, 21)


@pytest.mark.django_db
class TestAuditLog:
    def test_it_runs_the_same_number_of_queries_for_1_and_60_rows(
        self, world, client, frozen, django_assert_num_queries
    ):
        from accounts.services import audit_record

        # The search narrows the log to the rows written here: the world's setup wrote its own.
        # Each row is shown in Chinese (operator, action, object type, changes): none of it asks
        # the database again.
        url = f"{reverse('accounts:audit_log')}?action=measure.update"
        changes = {"text": [{"sha256": "0" * 64, "length": 12}, {"sha256": "1" * 64, "length": 14}]}
        client.force_login(world.auditadmin)
        audit_record(actor=world.office, action="measure.update", target=world.resp_measure, changes=changes)
        client.get(url)
        with django_assert_num_queries(AUDIT_LOG):
            client.get(url)
        # Sixty rows by a dozen different people: more than a page (fifty).
        people = [
            world.office,
            world.lead_staff,
            world.resp_staff,
            world.resp_head,
            world.coop_staff,
            world.outsider,
            world.leader,
            world.other_leader,
            world.provincial,
            world.supervision,
            world.track_office,
            None,
        ]
        for index in range(59):
            actor = people[index % len(people)]
            audit_record(actor=actor, action="measure.update", target=world.resp_measure, changes=changes)
        with django_assert_num_queries(AUDIT_LOG):
            response = client.get(url)
        assert response.context["page"].paginator.count == 60
        assert len(response.context["rows"]) == 50
        assert "修改整改措施" in response.content.decode()


# The main menu's numbers on 督办单 and 待认领, in one query, for unit staff and the office (leaders,
# supervision and the administrators have neither entry); it is on every page.
MENU = 1
# Session, user, roles; the problem through the access check, then with its related rows
# (responsible leaders, responsible units, manifestations, criteria, measures, their
# milestones); two object-permission checks (may decompose, may apply: none for the office);
# the close-out history; the bell, the pending count and the user's unit (page header).
PROBLEM_DETAIL = {"lead_staff": 17 + MENU, "office": 15 + MENU}
# Session, user, roles, the open measures, this week's reports, their evidence, the bell, the
# pending count and the unit; the office's holiday entries and confirmed years (the cut-off).
REPORT_FORM = 11 + MENU
# Session, user, roles, the requests (with problem, measure and applicant unit), the bell, and
# the unit for unit staff (a leader belongs to none); the badge counts the list already read.
PENDING = {"leader": 5, "lead_staff": 6 + MENU}
# Session, user, roles; the measure through the access check, then with its problem, units and
# lead official; its milestones, their evidence, its criteria; for the owner unit's head, two
# object-permission checks of two queries each (may report, may apply: none for the office); the
# pending probe, the bell and the unit (page header); the close-out history, its steps and their
# actors; the measure's evidence (with uploader); the reports and their evidence.
MEASURE_DETAIL = {"resp_head": 21 + MENU, "office": 17 + MENU}
# Session, user, roles; the measures needing attention (with their oldest open milestone), the
# problems (with their measure counts); the pending probe and count, the bell (a leader belongs to
# no unit); the requests waiting for the leader, the coordination items.
LEADER_PAGE = 10
# Session, user, roles; the problem through the access check, then with its related rows (as the
# problem page: responsible leaders, responsible units, manifestations, criteria, measures,
# milestones); the map's own measures and their milestones; the pending probe, the bell, the unit.
BATTLE_MAP = {"lead_staff": 16 + MENU, "office": 16 + MENU}
# Session, user, roles; the request through the access check, then with its problem, measure and
# units; its steps and their actors; its checks, their criteria and evidence (the selector), read
# again for the three tests (checks with criteria, evidence), the accountability and rule records;
# for the leader, one object-permission check (may sign off: two queries); the pending probe and
# count, the bell, the unit for the office (a leader belongs to none); the history, its steps and
# their actors.
CLOSEOUT_DETAIL = {"leader": 22, "office": 21 + MENU}
# Session, user, roles, the unit; the pending probe, the bell; the measures with this week's
# report in subqueries; the office's holiday entries and confirmed years (the cut-off).
LED_REPORTS = 9 + MENU
# Session, user, roles, the unit; the pending probe, the bell; the unclaimed measures with their
# problem, lead unit and lead official.
UNIT_CLAIMS = 7 + MENU
# Session, user, roles; the pending probe, the bell, the unit; the counts for the tabs (which the
# pager reuses); the notices with unit, measure and the person who replied; for a unit's staff, its
# permissions on the page's measures (user and group: who may answer).
NOTICES = {"resp_staff": 10 + MENU, "office": 8 + MENU}
# Session, user, roles; the pending probe, the bell, the unit; the penalties with unit, week and
# the person who decided; their evidence files (one query for all).
PENALTIES = {"office": 8 + MENU, "resp_staff": 8 + MENU}
# Session, user, roles; the pending probe, the bell, the unit for the office (a leader belongs to
# none); the items with measure, problem, lead official, owner unit and the person who resolved.
# Before: one more query per item for its problem's lead official (27 for 21 items). For a leader,
# the permissions on the items' problems (user and group: on which the answer form is shown). The
# count of the items (the pager).
COORDINATION = {"leader": 9, "office": 8 + MENU}
# Session, user, roles; the pending probe, the bell, the unit; the cycles with round and snapshot.
CYCLE_LIST = 7 + MENU
# Session, user, roles; the cycle with round and snapshot; the pending probe, the bell, the unit;
# the dispatch sheets with their units, the missed reports with unit and measure; the office's
# holiday entries and confirmed years (the steps' due times), read once whatever the page asks;
# the units with missing reports (the filter) and the count of missing reports (the pager);
# and the week's uploaded 简报 finals with who uploaded them.
CYCLE_DETAIL = 14 + MENU
# Session, user, roles; the matching rows counted (pager); the chain head and the audit row of the
# search itself; the bell (an auditor belongs to no unit and reviews nothing); the page of rows
# with their actors; the count of requests waiting for the auditor's approval (双人审批).
AUDIT_LOG = 9
