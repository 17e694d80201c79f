"""审核中 and escalation that follows whoever holds the item.

One measure walked through frozen weeks: on track, milestone late, due soon, overdue, in review,
returned, closed, reopened. At every step every page that shows it shows the same label, and a
督办单 is issued only when the owner unit can act; an item left with a reviewer is chased at the
reviewer and listed on the office dashboard.
"""

import datetime
import html
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from rectification import services
from rectification.dashboard import stuck_with_reviewers
from rectification.excel.exports import unit_task_rows
from rectification.lights import LIGHTS, REVIEW_STUCK_DAYS, light_q, measure_light, with_oldest_open_milestone
from rectification.models import (
    CloseOutRequest,
    CloseOutState,
    DispatchSheet,
    Measure,
    Milestone,
    Notification,
    ProgressState,
    SignOffStep,
    SupervisionNotice,
)
from rectification.workdays import iso_week_of

from .conftest import PASSWORD, measure_finished, week_report_data

SHANGHAI = ZoneInfo("Asia/Shanghai")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
LIGHT = re.compile(r'<span class="light-label[^"]*" data-light="(\w+)">(.*?)</span>', re.S)
CODE = "1.1.1"


def at(month, day, hour=10):
    return time_machine.travel(datetime.datetime(2026, month, day, hour, tzinfo=SHANGHAI), tick=False)


def _text(fragment):
    return html.unescape(re.sub(r"<[^>]+>", "", fragment)).strip()


def _row_light(content):
    """The light shown in the table row of measure 1.1.1, or None when the page does not list it."""
    for row in content.split("<tr")[1:]:
        if CODE in row and (found := LIGHT.search(row)):
            return found.group(1), _text(found.group(2))
    return None


def _get(user, url, params=None):
    client = Client()
    client.force_login(user)
    response = client.get(url, params or {})
    assert response.status_code == 200, url
    return response.content.decode()


def labels_everywhere(world):
    """Page name -> (light code, label text) for every page that shows measure 1.1.1 now."""
    measure = world.resp_measure
    found = {}
    pages = {
        "worklist": (world.resp_staff, reverse("rectification:worklist"), {}),
        "measure_list": (world.office, reverse("rectification:measure_list"), {"round": world.round.pk}),
        "leader": (world.leader, reverse("rectification:leader"), {}),
        "battle_map": (world.office, reverse("rectification:problem_battle_map", args=[world.problem.pk]), {}),
    }
    for light in LIGHTS:
        pages[f"list_{light.code}"] = (
            world.office,
            reverse("rectification:measure_list"),
            {"round": world.round.pk, "light": light.code},
        )
    for name, (user, url, params) in pages.items():
        if (shown := _row_light(_get(user, url, params))) is not None:
            found[name] = shown
    detail = LIGHT.search(_get(world.office, reverse("rectification:measure_detail", args=[measure.pk])))
    found["detail"] = (detail.group(1), _text(detail.group(2)))
    rows = unit_task_rows(
        user=world.office, inspection_round=world.round, unit=world.resp_unit, today=timezone.localdate()
    )
    found["export"] = ("", next(row.light for row in rows if row.measure.pk == measure.pk))
    return found


def assert_label(world, code, label, *, listed_on):
    found = labels_everywhere(world)
    assert set(found) == {*listed_on, "detail", "battle_map", "measure_list", "export"}, found
    for page, (shown_code, text) in found.items():
        assert text == label, (page, text)
        if page != "export":
            assert shown_code == code, (page, shown_code)


def dispatch_notices(world):
    """Run this week's dispatch; the 督办单 it issued for measure 1.1.1 (0 or 1)."""
    cycle = services.cycle_for(world.round, *iso_week_of(timezone.localdate()))
    services.step_run(cycle, "dispatch")
    return SupervisionNotice.objects.filter(cycle=cycle, measure=world.resp_measure).count()


def answer_notices(world):
    for notice in SupervisionNotice.objects.filter(measure=world.resp_measure, state="open"):
        services.notice_reply(actor=world.resp_staff, notice=notice, reply="已按要求说明情况。")


def reported_now(world):
    Measure.objects.filter(pk=world.resp_measure.pk).update(last_reported_at=timezone.now())


@pytest.fixture
def walk(world, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    Measure.objects.filter(pk=world.resp_measure.pk).update(
        claim_state=Measure.ClaimState.CLAIMED,
        progress_state=ProgressState.IN_PROGRESS,
        percent=40,
        start_date=datetime.date(2026, 9, 1),
        due_date=datetime.date(2026, 11, 30),
    )
    Milestone.objects.create(
        measure=world.resp_measure, seq=1, title="完成摸底排查", due_date=datetime.date(2026, 10, 20)
    )
    return world


def _apply(world):
    evidence = services.evidence_upload(
        actor=world.resp_staff,
        measure=world.resp_measure,
        uploaded=SimpleUploadedFile("清退凭证.pdf", PDF),
        kind="receipt",
    )
    return services.closeout_apply(
        actor=world.resp_head,
        problem=world.problem,
        measure=world.resp_measure,
        statement="违规发放资金已全部清退。",
        pledged=True,
        checks={world.problem.criteria.get().pk: [evidence.pk]},
    )


@pytest.mark.django_db
class TestOneMeasureThroughItsLife:
    def test_the_same_label_on_every_page_and_a_notice_only_when_the_unit_can_act(self, walk):
        world = walk
        warning_pages = {"worklist", "leader"}
        with at(10, 12):  # on track: the milestone and the due date are weeks away
            reported_now(world)
            assert_label(world, "green", "正常", listed_on={"worklist", "list_green"})
            assert dispatch_notices(world) == 0

        with at(10, 26):  # the milestone is six days late: yellow, and the page says which
            reported_now(world)
            assert_label(
                world, "yellow", "临期（里程碑“完成摸底排查”已逾期6天）", listed_on={*warning_pages, "list_yellow"}
            )
            assert dispatch_notices(world) == 0

        with at(11, 24):  # the milestone done, the measure due in six days
            reported_now(world)
            milestone = world.resp_measure.milestones.get()
            services.milestone_mark_done(
                actor=world.resp_staff, milestone=milestone, done_on=datetime.date(2026, 11, 23)
            )
            assert_label(world, "yellow", "临期", listed_on={*warning_pages, "list_yellow"})
            assert dispatch_notices(world) == 0

        with at(12, 7):  # past its due date: red, and the unit gets a 督办单
            reported_now(world)
            assert_label(world, "red", "逾期", listed_on={*warning_pages, "list_red"})
            assert dispatch_notices(world) == 1
            answer_notices(world)

        with at(12, 8):  # finished and applied: it waits for the lead unit, then for the leader
            measure_finished(world.resp_measure, liaison=world.resp_staff, head=world.resp_head)
            request = _apply(world)
            assert_label(world, "review", "审核中（待牵头单位审核：牵头局）", listed_on={*warning_pages, "list_review"})
            services.closeout_decide(actor=world.lead_staff, request=request, approve=True, comment="材料齐全")
            assert_label(world, "review", "审核中（待领导审核：王牵头）", listed_on={*warning_pages, "list_review"})

        with at(12, 14):  # six days with the leader: not yet stuck
            assert (
                stuck_with_reviewers(user=world.office, inspection_round=world.round, today=timezone.localdate()) == []
            )

        with at(12, 15):  # a week with the leader: the unit cannot act, so no 督办单; the leader is chased
            assert_label(world, "review", "审核中（待领导审核：王牵头）", listed_on={*warning_pages, "list_review"})
            assert dispatch_notices(world) == 0
            sheet = DispatchSheet.objects.get(cycle__iso_week=51, unit=world.resp_unit).content
            assert [(i["code"], i["holder"]) for i in sheet["in_review"]] == [(CODE, "待领导审核：王牵头")]
            assert CODE not in [i["code"] for i in sheet["overdue"]]
            chased = Notification.objects.filter(recipient=world.leader, text__startswith="督办：").get()
            assert "已7天未审核（待领导审核：王牵头）" in chased.text
            assert not Notification.objects.filter(recipient=world.resp_staff, text__contains="已7天未审核").exists()
            (stuck,) = stuck_with_reviewers(user=world.office, inspection_round=world.round, today=timezone.localdate())
            assert (stuck.pk, stuck.holder, stuck.waiting_days) == (request.pk, "待领导审核：王牵头", 7)

        with at(12, 16):  # returned to the unit: it is the unit's to act on again
            services.closeout_decide(
                actor=world.leader, request=request, approve=False, comment="佐证不足", password=PASSWORD
            )
            assert_label(world, "green", "正常", listed_on={"worklist", "list_green"})

        with at(12, 21):  # still overdue and back with the unit: a 督办单 again
            assert dispatch_notices(world) == 1
            answer_notices(world)

        with at(12, 22):  # resubmitted and approved all the way: closed
            request = _apply(world)
            services.closeout_decide(actor=world.lead_staff, request=request, approve=True)
            services.closeout_decide(actor=world.leader, request=request, approve=True, password=PASSWORD)
            services.closeout_decide(
                actor=world.office,
                request=request,
                approve=True,
                no_accountability_reason="系制度执行偏差，已批评教育。",
                no_rules_reason="已有制度规定，无需新建。",
            )
            assert_label(world, "closed", "已销号", listed_on=set())

        with at(12, 23):  # reopened in a look-back: overdue again, the unit's to act on
            services.closeout_reopen(actor=world.office, request=request, reason="回头看发现仍有未清退资金")
            assert_label(world, "red", "逾期", listed_on={*warning_pages, "list_red"})

        with at(12, 28):
            assert dispatch_notices(world) == 1


@pytest.mark.django_db
class TestTheRuleAndItsSqlTwin:
    def test_python_and_sql_agree_on_every_light_including_review_and_closed(self, world):
        today = datetime.date(2026, 11, 24)
        states = [*CloseOutState.values]
        progress = [ProgressState.IN_PROGRESS, ProgressState.COMPLETED, ProgressState.NOT_STARTED]
        Measure.objects.bulk_create(
            Measure(
                problem=world.problem,
                code=f"9.{i}",
                seq=10 + i,
                text=f"措施{i}",
                kind=Measure.Kind.RULES,
                owner_unit=world.resp_unit,
                start_date=datetime.date(2026, 9, 1),
                due_date=today + datetime.timedelta(days=i % 21 - 6),
                progress_state=progress[i % 3],
                closeout_state=states[i % len(states)],
                last_reported_at=None if i % 4 else datetime.datetime(2026, 11, 23, tzinfo=SHANGHAI),
            )
            for i in range(84)
        )
        for measure in Measure.objects.filter(code__startswith="9.")[:30]:
            Milestone.objects.create(
                measure=measure, seq=1, title="节点", due_date=today - datetime.timedelta(days=measure.pk % 12)
            )
        measures = with_oldest_open_milestone(Measure.objects.filter(problem=world.problem))
        codes = {*(light.code for light in LIGHTS), "closed"}
        seen = set()
        for code in codes:
            in_sql = set(
                Measure.objects.filter(problem=world.problem).filter(light_q(code, today)).values_list("pk", flat=True)
            )
            in_python = {
                m.pk
                for m in measures
                if measure_light(m, today, oldest_open_milestone_due=m.oldest_open_milestone).code == code
            }
            assert in_sql == in_python, code
            seen |= {code} if in_sql else set()
        assert seen == codes  # the data reaches every light

    def test_review_outranks_red_and_completed_and_closed_outranks_review(self, world):
        today = datetime.date(2026, 12, 20)
        measure = world.resp_measure  # due 2026-11-30: overdue
        for state, code in (
            (CloseOutState.NOT_APPLIED, "red"),
            (CloseOutState.PENDING_OFFICE, "review"),
            (CloseOutState.RETURNED, "red"),
            (CloseOutState.REOPENED, "red"),
            (CloseOutState.CLOSED, "closed"),
        ):
            measure.closeout_state = state
            assert measure_light(measure, today).code == code, state
        measure.progress_state = ProgressState.COMPLETED
        measure.closeout_state = CloseOutState.PENDING_LEADER
        assert measure_light(measure, today).code == "review"
        measure.closeout_state = CloseOutState.RETURNED
        assert measure_light(measure, today).code == "green"


def _raw_request(world, problem, index, *, state, since):
    measure = Measure.objects.create(
        problem=problem,
        code=f"{problem.code}.S{index}",
        seq=50 + index,
        text=f"待审措施{index}",
        kind=Measure.Kind.RULES,
        owner_unit=world.resp_unit,
        start_date=datetime.date(2026, 9, 1),
        due_date=datetime.date(2026, 12, 31),
        closeout_state=state,
    )
    request = CloseOutRequest.objects.create(
        problem=problem,
        measure=measure,
        state=state,
        statement="已完成。",
        applicant_unit=world.resp_unit,
        applied_by=world.resp_head,
        pledged_at=since,
    )
    CloseOutRequest.objects.filter(pk=request.pk).update(created_at=since - datetime.timedelta(days=3))
    step = SignOffStep.objects.create(request=request, step="apply", decision="submitted", actor=world.resp_head)
    SignOffStep.objects.filter(pk=step.pk).update(created_at=since)
    return request


@pytest.mark.django_db
class TestStuckWithReviewers:
    def test_the_card_equals_its_list_and_an_independent_count(self, world):
        today = datetime.date(2026, 12, 15)
        other = world.make_problem("2.1")
        states = [
            CloseOutRequest.State.PENDING_LEAD_UNIT,
            CloseOutRequest.State.PENDING_LEADER,
            CloseOutRequest.State.PENDING_OFFICE,
            CloseOutRequest.State.RETURNED,
            CloseOutRequest.State.CLOSED,
        ]
        for i in range(25):
            since = datetime.datetime(2026, 12, 15, 9, tzinfo=SHANGHAI) - datetime.timedelta(days=i % 11, hours=i)
            _raw_request(world, other if i % 2 else world.problem, i, state=states[i % len(states)], since=since)

        # Independent count from the raw rows: pending at a reviewer, last step at least 7 days ago.
        pending = {"pending_lead_unit", "pending_leader", "pending_office"}
        expected = set()
        for request in CloseOutRequest.objects.filter(problem__round=world.round):
            last = max((s.created_at for s in SignOffStep.objects.filter(request=request)), default=request.created_at)
            if request.state in pending and (today - last.astimezone(SHANGHAI).date()).days >= REVIEW_STUCK_DAYS:
                expected.add(request.pk)
        assert expected

        with time_machine.travel(datetime.datetime(2026, 12, 15, 10, tzinfo=SHANGHAI), tick=False):
            client = Client()
            client.force_login(world.office)
            dashboard = client.get(reverse("rectification:dashboard"), {"round": world.round.pk})
            assert dashboard.context["stuck_reviews"] == len(expected)
            card = re.search(
                r'id="stuck-reviews-card" href="([^"]+)"><span>[^<]*</span><strong>(\d+)</strong>',
                dashboard.content.decode(),
            )
            assert int(card.group(2)) == len(expected)
            listing = client.get(html.unescape(card.group(1)))
            content = listing.content.decode()
            assert {r.pk for r in listing.context["rows"]} == expected
            assert content.count('class="stuck-row"') == len(expected)
            assert [r.waiting_days for r in listing.context["rows"]] == sorted(
                (r.waiting_days for r in listing.context["rows"]), reverse=True
            )
            assert "待牵头单位审核：牵头局" in content and "待领导审核：王牵头" in content

    @pytest.mark.parametrize("person", ["resp_staff", "outsider", "lead_staff", "sysadmin", "auditadmin"])
    def test_someone_without_the_dashboard_gets_a_404(self, world, client, person):
        client.force_login(getattr(world, person))
        response = client.get(reverse("rectification:review_stuck"), {"round": world.round.pk})
        assert response.status_code in (403, 404)

    def test_it_asks_for_a_login_and_says_so_when_nothing_is_stuck(self, world, client):
        url = reverse("rectification:review_stuck")
        assert client.get(url).status_code == 302
        client.force_login(world.office)
        response = client.get(url, {"round": "不是数字"})
        assert response.status_code == 200
        assert "没有滞留在审核环节的事项" in response.content.decode()


@pytest.mark.django_db
class TestReportsStuckWithTheUnitHead:
    """A weekly report waits for the unit head's confirmation: the head is the reviewer, listed and
    chased after the same number of days as a close-out's reviewer."""

    def _submit(self, world):
        iso_year, iso_week = iso_week_of(timezone.localdate())
        services.report_save(
            actor=world.resp_staff,
            measure=world.resp_measure,
            iso_year=iso_year,
            iso_week=iso_week,
            data=week_report_data("本周清退两笔。"),
            lock_version=None,
        )
        services.report_submit(actor=world.resp_staff, unit=world.resp_unit, iso_year=iso_year, iso_week=iso_week)

    def test_it_is_listed_counted_and_chased_after_a_week(self, world):
        from rectification.dashboard import stuck_with_reviewers_count
        from rectification.models import ProgressReport

        with at(12, 1):
            self._submit(world)
        with at(12, 7):  # six days: not yet
            assert (
                stuck_with_reviewers(user=world.office, inspection_round=world.round, today=timezone.localdate()) == []
            )
        with at(12, 8):
            today = timezone.localdate()
            (row,) = stuck_with_reviewers(user=world.office, inspection_round=world.round, today=today)
            assert (row.holder, row.waiting_days) == ("待单位负责人确认：责任局", 7)
            raw = ProgressReport.objects.filter(
                state="submitted", submitted_at__date__lte=today - datetime.timedelta(days=REVIEW_STUCK_DAYS)
            ).count()
            assert stuck_with_reviewers_count(user=world.office, inspection_round=world.round, today=today) == raw == 1
            page = Client()
            page.force_login(world.office)
            listing = page.get(reverse("rectification:review_stuck"), {"round": world.round.pk}).content.decode()
            assert "待单位负责人确认：责任局" in listing
            dispatch_notices(world)
            chased = Notification.objects.filter(recipient=world.resp_head, text__contains="未确认").get()
            assert "1项周报已提交7天未确认（1.1.1）" in chased.text
            assert not Notification.objects.filter(recipient=world.resp_staff, text__contains="未确认").exists()
            # Confirmed, it is no longer anyone's delay.
            iso_year, iso_week = iso_week_of(datetime.date(2026, 12, 1))
            services.report_confirm(actor=world.resp_head, unit=world.resp_unit, iso_year=iso_year, iso_week=iso_week)
            assert stuck_with_reviewers(user=world.office, inspection_round=world.round, today=today) == []
