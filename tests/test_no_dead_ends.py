"""No dead ends on the lists people answer from: a reply form appears only for someone whose
answer the server accepts, a refused answer comes back with what was typed, and the 督办单 list
has tabs with counts, a search box and pages."""

import datetime

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from rectification.models import CoordinationItem, MissedReport, Notification, SupervisionNotice, WeeklyCycle

from .test_query_budgets import _coordination_item, _measures, _pending_request

pytestmark = pytest.mark.django_db

NOTICES = reverse("rectification:notice_list")
COORDINATION = reverse("rectification:coordination_list")


def _notice(world, measure, *, answered=False, text="督办：进度滞后，请说明原因"):
    cycle, _ = WeeklyCycle.objects.get_or_create(round=world.round, iso_year=2026, iso_week=47)
    return SupervisionNotice.objects.create(
        cycle=cycle,
        unit=measure.owner_unit,
        measure=measure,
        text=text,
        reply_due=datetime.date(2026, 11, 27),
        state="answered" if answered else "open",
        reply="已整改。" if answered else "",
        replied_by=world.resp_staff if answered else None,
        replied_at=timezone.now() if answered else None,
    )


def _reply_forms(response):
    return response.content.decode().count('name="resolution"')


class TestNoticeReplyForm:
    def test_it_shows_the_form_to_the_unit_that_answers(self, world, client):
        notice = _notice(world, world.resp_measure)
        client.force_login(world.resp_staff)
        response = client.get(NOTICES)
        assert reverse("rectification:notice_reply", args=[notice.pk]) in response.content.decode()
        assert _reply_forms(response) == 1

    @pytest.mark.parametrize("actor", ["office", "supervision"])
    def test_it_shows_no_form_to_those_who_only_read(self, world, client, actor):
        notice = _notice(world, world.resp_measure)
        client.force_login(getattr(world, actor))
        response = client.get(NOTICES)
        page = response.content.decode()
        assert world.resp_measure.code in page
        assert _reply_forms(response) == 0
        assert "待" in page and "答复。" in page
        # And indeed the server would refuse it.
        assert client.post(
            reverse("rectification:notice_reply", args=[notice.pk]), {"resolution": "x"}
        ).status_code in (
            403,
            404,
        )

    def test_it_keeps_the_typed_answer_when_the_notice_was_answered_meanwhile(self, world, client):
        notice = _notice(world, world.resp_measure)
        client.force_login(world.resp_staff)
        url = reverse("rectification:notice_reply", args=[notice.pk])
        assert client.post(url, {"resolution": "第一次答复"}).status_code == 302
        # A colleague's page was still open with the form: the answer is refused, the text stays.
        response = client.post(url, {"resolution": "补充说明：已召开专题会议研究"})
        page = response.content.decode()
        assert response.status_code == 200
        assert "补充说明：已召开专题会议研究" in page
        assert "答复未提交" in page


class TestNoticeListTabsSearchAndPages:
    def test_the_counts_on_the_tabs_equal_the_lists_they_open(self, world, client):
        measures = _measures(world, world.problem, world.resp_unit, 24)
        for index, measure in enumerate(measures):
            _notice(world, measure, answered=index % 3 == 0)
        client.force_login(world.office)
        response = client.get(NOTICES)
        tabs = {value: count for value, _label, count in response.context["tabs"]}
        assert tabs == {"": 24, "open": 16, "answered": 8}
        for value, count in tabs.items():
            shown = client.get(NOTICES, {"state": value})
            assert shown.context["page"].paginator.count == count
            # Every page of the tab together lists exactly that many notices.
            listed = []
            for number in shown.context["page"].paginator.page_range:
                listed += list(client.get(NOTICES, {"state": value, "page": number}).context["notices"])
            assert len({notice.pk for notice in listed}) == count
            assert all(notice.state == value for notice in listed if value)
            assert f'data-count="{count}"' in response.content.decode()

    def test_it_pages_twenty_at_a_time(self, world, client):
        for measure in _measures(world, world.problem, world.resp_unit, 24):
            _notice(world, measure)
        client.force_login(world.resp_staff)
        first = client.get(NOTICES)
        assert len(first.context["notices"]) == 20
        assert "第 1 / 2 页" in first.content.decode()
        assert len(client.get(NOTICES, {"page": 2}).context["notices"]) == 4

    def test_it_finds_a_measure_code_or_a_word_of_the_notice(self, world, client):
        measures = _measures(world, world.problem, world.resp_unit, 3)
        _notice(world, measures[0])
        _notice(world, measures[1], text="督办：佐证材料缺少会议纪要")
        _notice(world, measures[2])
        client.force_login(world.office)
        by_code = client.get(NOTICES, {"q": measures[0].code})
        assert [n.measure_id for n in by_code.context["notices"]] == [measures[0].pk]
        by_word = client.get(NOTICES, {"q": "会议纪要"})
        assert [n.measure_id for n in by_word.context["notices"]] == [measures[1].pk]
        # The counts on the tabs follow the search.
        assert [count for _v, _l, count in by_word.context["tabs"]] == [1, 1, 0]
        nothing = client.get(NOTICES, {"q": "不存在的词"})
        assert "没有找到与“不存在的词”相符的督办单" in nothing.content.decode()

    def test_a_unit_sees_only_its_own_notices_and_counts(self, world, client):
        _notice(world, world.resp_measure)
        _notice(world, world.coop_measure)
        client.force_login(world.outsider)
        response = client.get(NOTICES)
        assert [count for _v, _l, count in response.context["tabs"]] == [0, 0, 0]


class TestCoordinationAnswerForm:
    def test_it_shows_the_form_to_the_problems_leader_and_the_office(self, world, client):
        _coordination_item(world.resp_measure, world.resp_staff)
        for actor in (world.leader, world.office):
            client.force_login(actor)
            assert _reply_forms(client.get(COORDINATION)) == 1

    @pytest.mark.parametrize("actor", ["supervision", "provincial", "resp_staff"])
    def test_it_shows_no_form_to_those_who_cannot_answer(self, world, client, actor):
        item = _coordination_item(world.resp_measure, world.resp_staff)
        client.force_login(getattr(world, actor))
        response = client.get(COORDINATION)
        if item.text in response.content.decode():
            assert _reply_forms(response) == 0
            assert "待牵头领导、责任领导或整改办协调答复" in response.content.decode()
        answer = client.post(reverse("rectification:coordination_resolve", args=[item.pk]), {"resolution": "x"})
        assert answer.status_code in (403, 404)

    def test_it_keeps_the_typed_answer_when_refused(self, world, client):
        item = _coordination_item(world.resp_measure, world.resp_staff)
        CoordinationItem.objects.filter(pk=item.pk).update(state=CoordinationItem.State.RESOLVED, resolution="已协调")
        client.force_login(world.office)
        url = reverse("rectification:coordination_resolve", args=[item.pk])
        response = client.post(url, {"resolution": "由财政局牵头，本周内明确清退口径"})
        assert response.status_code == 200
        page = response.content.decode()
        assert "由财政局牵头，本周内明确清退口径" in page
        assert "协调结果未提交" in page


class TestCycleMissedReports:
    @pytest.fixture
    def week(self, world):
        cycle = WeeklyCycle.objects.create(round=world.round, iso_year=2026, iso_week=47)
        for measure in _measures(world, world.problem, world.resp_unit, 25):
            MissedReport.objects.create(cycle=cycle, unit=world.resp_unit, measure=measure)
        for measure in _measures(world, world.problem, world.coop_unit, 10, start=50):
            MissedReport.objects.create(cycle=cycle, unit=world.coop_unit, measure=measure)
        return cycle

    def test_it_pages_the_missing_reports_thirty_at_a_time(self, world, client, week):
        client.force_login(world.office)
        url = reverse("rectification:cycle_detail", args=[week.pk])
        first = client.get(url)
        assert first.context["missed"].paginator.count == 35
        assert "与未报（35）" in first.content.decode()
        assert len(first.context["missed"]) == 30
        assert len(client.get(url, {"page": 2}).context["missed"]) == 5

    def test_it_filters_by_unit_and_finds_a_code(self, world, client, week):
        client.force_login(world.office)
        url = reverse("rectification:cycle_detail", args=[week.pk])
        by_unit = client.get(url, {"unit": world.coop_unit.pk})
        assert by_unit.context["missed"].paginator.count == 10
        assert {row.unit_id for row in by_unit.context["missed"]} == {world.coop_unit.pk}
        # The picker offers exactly the units with missing reports.
        assert {u.pk for u in by_unit.context["missed_units"]} == {world.resp_unit.pk, world.coop_unit.pk}
        code = f"{world.problem.code}.Q7"
        found = client.get(url, {"q": code})
        assert [row.measure.code for row in found.context["missed"]] == [code]
        none = client.get(url, {"q": "不存在"})
        assert "没有符合筛选条件的未报措施" in none.content.decode()


class TestPendingReviews:
    @pytest.fixture
    def waiting(self, world):
        measures = _measures(world, world.problem, world.resp_unit, 24)
        requests = []
        for index, measure in enumerate(measures):
            with time_machine.travel(
                datetime.datetime(2026, 11, 1, 9, 0, tzinfo=datetime.UTC) + datetime.timedelta(hours=index)
            ):
                requests.append(_pending_request(world, measure))
        return requests

    def test_the_badge_equals_the_list_and_it_pages(self, world, client, waiting):
        client.force_login(world.leader)
        url = reverse("rectification:closeout_pending")
        response = client.get(url)
        page = response.content.decode()
        assert 'data-menu="closeout_pending">待我审核<span class="badge">24</span>' in page
        assert response.context["page"].paginator.count == 24
        assert len(response.context["page"]) == 20
        assert len(client.get(url, {"page": 2}).context["page"]) == 4

    def test_it_finds_a_measure_and_sorts_newest_first(self, world, client, waiting):
        client.force_login(world.leader)
        url = reverse("rectification:closeout_pending")
        code = waiting[3].measure.code
        found = client.get(url, {"q": code})
        assert [r.pk for r in found.context["page"]] == [waiting[3].pk]
        assert "符合条件的 1 项" in found.content.decode()
        # The badge still counts everything waiting.
        assert found.context["pending_count"] == 24
        newest = client.get(url, {"order": "newest"})
        assert [r.pk for r in newest.context["page"]][:2] == [waiting[-1].pk, waiting[-2].pk]
        oldest = client.get(url)
        assert oldest.context["page"][0].pk == waiting[0].pk

    def test_another_leader_sees_none_of_them(self, world, client, waiting):
        client.force_login(world.other_leader)
        response = client.get(reverse("rectification:closeout_pending"), {"q": waiting[0].measure.code})
        assert response.context["pending_count"] == 0
        assert list(response.context["page"]) == []


class TestNotificationList:
    def test_the_unread_tab_count_equals_its_list_and_it_pages(self, world, client):
        # Only the notices written here: the world's own (a task assigned) are put aside.
        Notification.objects.filter(recipient=world.resp_staff).delete()
        Notification.objects.bulk_create(
            Notification(
                recipient=world.resp_staff,
                kind=Notification.Kind.DISPATCH,
                text=f"第{i}条通知",
                dedup_key=f"test-{i}",
                read_at=timezone.now() if i % 4 == 0 else None,
            )
            for i in range(40)
        )
        client.force_login(world.resp_staff)
        url = reverse("rectification:notifications")
        everything = client.get(url)
        assert everything.context["page"].paginator.count == 40
        assert len(everything.context["notifications"]) == 30
        unread = client.get(url, {"unread": "1"})
        assert unread.context["page"].paginator.count == 30
        assert 'data-count="30"' in everything.content.decode()
        assert all(n.read_at is None for n in unread.context["notifications"])
        assert len(client.get(url, {"page": 2}).context["notifications"]) == 10
        # Someone else's notifications are not counted.
        client.force_login(world.outsider)
        assert client.get(url, {"unread": "1"}).context["page"].paginator.count == 0
