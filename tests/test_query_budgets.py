"""Query budgets of the pages the benchmark measures (bench/run.py), pinned with few and many rows.

The dashboard, the worklist, the problem list and the measure list are pinned where they are
tested (test_dashboard.py, test_unit_workflow.py, test_views.py); these are the others. Each
page runs a fixed number of queries however many measures, reports or requests it shows: the
count with "many" rows must equal the count with "few". Timings are the benchmark's business,
never the tests'.
"""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from rectification.models import (
    CloseOutRequest,
    CloseOutState,
    Evidence,
    Manifestation,
    Measure,
    Milestone,
    ProgressReport,
    SignOffStep,
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


def _measures(world, problem, owner, count, start=0):
    """Measures written straight to the table, each with two milestones, visible through the grants."""
    measures = Measure.objects.bulk_create(
        Measure(
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


def _report(measure, user, *, with_evidence=True):
    report = ProgressReport.objects.create(
        measure=measure, iso_year=2026, iso_week=48, state="draft", progress_this_week="推进中", percent=30, filled_by=user
    )
    if with_evidence:
        Evidence.objects.create(
            measure=measure,
            report=report,
            kind=Evidence.Kind.REPORT,
            original_name="进展报告.pdf",
            stored_name=f"query-budget/{measure.pk}.pdf",
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
        Manifestation.objects.bulk_create(Manifestation(problem=problem, seq=10 + i, text=f"表现{i}") for i in range(10))
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
        assert len(response.context["requests"]) == 21


# Session, user, roles; the problem through the access check, then with its related rows
# (responsible leaders, responsible units, manifestations, criteria, measures, their
# milestones); two object-permission checks (may decompose, may apply: none for the office);
# the close-out history; the bell, the pending count and the user's unit (page header).
PROBLEM_DETAIL = {"lead_staff": 17, "office": 15}
# Session, user, roles, the open measures, this week's reports, their evidence, the bell, the
# pending count and the unit.
REPORT_FORM = 9
# Session, user, roles, the requests (with problem, measure and applicant unit), the bell, and
# the unit for unit staff (a leader belongs to none); the badge counts the list already read.
PENDING = {"leader": 5, "lead_staff": 6}


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
