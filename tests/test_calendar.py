"""节假日安排: the office enters a year the holiday package does not know, and pages say when a
date falls in a year nobody entered."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from accounts.models import AuditEvent
from rectification import services, workdays
from rectification.models import CalendarDay, CalendarYear, Milestone, Problem

from .conftest import refused

D = datetime.date
# The test's 2027 Spring Festival: 2/6 (Saturday) to 2/14, with Saturday 2/20 a make-up working day.
SPRING = {"start": "2027-02-06", "end": "2027-02-14", "name": "春节"}
# ISO week 2027-W06 runs from Monday 2/8 to Sunday 2/14: its Thursday cut-off is inside the holiday.
WEEK = (2027, 6)
SHANGHAI = ZoneInfo("Asia/Shanghai")
WARNING = "2027 年的节假日安排尚未录入，按周一至周五计算工作日，日期可能不准"


def year_url(year=2027):
    return reverse("rectification:calendar_year", args=[year])


def add_spring_festival(client):
    return client.post(reverse("rectification:calendar_holidays_add", args=[2027]), SPRING)


def confirm_2027(client):
    return client.post(reverse("rectification:calendar_year_confirm", args=[2027]))


@pytest.fixture
def cycle_2027(world):
    return services.cycle_for(world.round, *WEEK)


@pytest.fixture
def office(client, world):
    client.force_login(world.office)
    return client


class TestEnteringAYear:
    def test_it_moves_the_cut_off_of_the_spring_festival_week_once_entered(self, office, cycle_2027):
        page = reverse("rectification:cycle_detail", args=[cycle_2027.pk])
        # Monday to Friday: the cut-off stays on Thursday 2/11, in the middle of the holiday.
        assert "2月11日 17:00（星期四）" in office.get(page).content.decode()

        assert add_spring_festival(office).status_code == 302

        shown = office.get(page).content.decode()
        assert "2月11日 17:00" not in shown
        # The last working day before the holiday is Friday 2/5.
        assert "2月5日 17:00（星期五）" in shown

    def test_it_counts_a_make_up_day_as_a_working_day(self, office):
        add_spring_festival(office)
        response = office.post(
            reverse("rectification:calendar_workday_add", args=[2027]), {"day": "2027-02-20", "name": "春节"}
        )
        assert response.status_code == 302
        page = office.get(year_url()).content.decode()
        assert "调休上班" in page and "2月20日" in page
        assert workdays.is_workday(D(2027, 2, 20))
        assert not workdays.is_workday(D(2027, 2, 10))

    def test_it_lists_years_by_what_is_known_about_them(self, office):
        add_spring_festival(office)
        page = office.get(reverse("rectification:calendar_years")).content.decode()
        assert "系统内置（国务院已公布）" in page  # 2026
        assert "已录入，尚未确认" in page  # 2027
        confirm_2027(office)
        assert "整改办已录入并确认" in office.get(reverse("rectification:calendar_years")).content.decode()

    def test_it_deletes_an_entry(self, office):
        add_spring_festival(office)
        entry = CalendarDay.objects.get(date=D(2027, 2, 10))
        response = office.post(reverse("rectification:calendar_day_delete", args=[entry.pk]))
        assert response.status_code == 302
        assert not CalendarDay.objects.filter(pk=entry.pk).exists()
        # Read in a fresh request: Wednesday 2/10 is a working day again.
        office.get(year_url())
        assert workdays.is_workday(D(2027, 2, 10))

    def test_it_is_usable_from_the_office_menu(self, office):
        assert reverse("rectification:calendar_years") in office.get(reverse("rectification:home")).content.decode()


class TestAudit:
    def test_it_writes_an_audit_row_for_every_change(self, office, world):
        add_spring_festival(office)
        office.post(reverse("rectification:calendar_workday_add", args=[2027]), {"day": "2027-02-20", "name": "春节"})
        entry = CalendarDay.objects.get(date=D(2027, 2, 6))
        office.post(reverse("rectification:calendar_day_delete", args=[entry.pk]))
        confirm_2027(office)
        rows = {event.action: event for event in AuditEvent.objects.filter(action__startswith="calendar.")}
        assert set(rows) == {
            "calendar.holidays_add",
            "calendar.workday_add",
            "calendar.day_delete",
            "calendar.year_confirm",
        }
        assert all(event.actor_id == world.office.pk for event in rows.values())
        added = rows["calendar.holidays_add"].changes
        assert added["date"] == "2027-02-06" and added["end_date"] == "2027-02-14" and added["rows"] == 9
        assert added["holiday"] == "春节"
        assert rows["calendar.year_confirm"].changes["year"] == 2027


class TestWarnings:
    def test_it_warns_on_the_cycle_page_until_the_year_is_confirmed(self, office, cycle_2027):
        page = reverse("rectification:cycle_detail", args=[cycle_2027.pk])
        shown = office.get(page).content.decode()
        assert WARNING in shown
        assert year_url() in shown  # the office is sent where it can fix it

        add_spring_festival(office)
        # Entered but not confirmed: still a warning.
        assert WARNING in office.get(page).content.decode()
        assert confirm_2027(office).status_code == 302
        assert WARNING not in office.get(page).content.decode()

    def test_it_warns_on_the_dashboard_when_the_deadline_is_in_an_unknown_year(self, office, world):
        dashboard = reverse("rectification:dashboard")
        assert WARNING not in office.get(dashboard).content.decode()  # 2026: the package knows it
        world.round.report_deadline = D(2027, 3, 31)
        world.round.save(update_fields=["report_deadline"])
        assert WARNING in office.get(dashboard).content.decode()
        add_spring_festival(office)
        confirm_2027(office)
        assert WARNING not in office.get(dashboard).content.decode()

    def test_it_warns_where_a_milestone_falls_in_an_unknown_year(self, client, world):
        Milestone.objects.create(measure=world.resp_measure, seq=9, title="验收", due_date=D(2027, 1, 20))
        client.force_login(world.resp_staff)
        for url in (
            reverse("rectification:measure_detail", args=[world.resp_measure.pk]),
            reverse("rectification:problem_detail", args=[world.problem.pk]),
        ):
            shown = client.get(url).content.decode()
            assert WARNING in shown
            # The unit cannot enter the calendar: it is told who can, and given no link it cannot use.
            assert "请联系整改办录入" in shown
            assert year_url() not in shown
        CalendarDay.objects.create(date=D(2027, 2, 6), kind="holiday", name="春节", entered_by=world.office)
        CalendarYear.objects.create(year=2027, confirmed_by=world.office)
        assert (
            WARNING
            not in client.get(reverse("rectification:measure_detail", args=[world.resp_measure.pk])).content.decode()
        )

    def test_it_warns_on_the_dashboard_when_the_look_back_is_in_an_unknown_year(self, office, world):
        dashboard = reverse("rectification:dashboard")
        world.round.look_back_date = D(2027, 4, 1)
        world.round.save(update_fields=["look_back_date"])
        assert WARNING in office.get(dashboard).content.decode()

    def test_it_warns_on_the_report_form_when_the_cut_off_is_in_an_unknown_year(self, client, world):
        client.force_login(world.resp_staff)
        report = reverse("rectification:report_week")
        assert WARNING in client.get(report, {"week": "2027-W06"}).content.decode()
        assert "请联系整改办录入" in client.get(report, {"week": "2027-W06"}).content.decode()
        assert WARNING not in client.get(report, {"week": "2026-W48"}).content.decode()

    def test_it_warns_on_the_worklist_for_this_weeks_cut_off_and_the_dates_listed(self, client, world):
        worklist = reverse("rectification:worklist")
        with time_machine.travel(datetime.datetime(2027, 1, 11, 10, tzinfo=SHANGHAI), tick=False):
            client.force_login(world.resp_staff)
            assert WARNING in client.get(worklist).content.decode()  # the cut-off of 2027-W02
        with time_machine.travel(datetime.datetime(2026, 11, 16, 10, tzinfo=SHANGHAI), tick=False):
            client.force_login(world.resp_staff)
            assert WARNING not in client.get(worklist).content.decode()
            # The measure's next milestone, shown on the worklist, falls in 2027.
            Milestone.objects.create(measure=world.resp_measure, seq=9, title="验收", due_date=D(2027, 1, 20))
            assert WARNING in client.get(worklist).content.decode()

    def test_it_warns_on_the_leader_page_for_the_due_dates_shown(self, client, world):
        client.force_login(world.leader)
        leader = reverse("rectification:leader")
        assert WARNING not in client.get(leader).content.decode()
        Problem.objects.filter(pk=world.problem.pk).update(due_date=D(2027, 3, 31))
        assert WARNING in client.get(leader).content.decode()

    def test_it_warns_on_the_decompose_page_for_the_milestones_planned_backwards(self, client, world):
        client.force_login(world.lead_staff)
        decompose = reverse("rectification:problem_decompose", args=[world.problem.pk])
        assert WARNING not in client.get(decompose).content.decode()
        Milestone.objects.create(measure=world.coop_measure, seq=9, title="验收", due_date=D(2027, 1, 20))
        assert WARNING in client.get(decompose).content.decode()
        CalendarYear.objects.create(year=2027, confirmed_by=world.office)
        assert WARNING not in client.get(decompose).content.decode()

    def test_it_says_nothing_for_years_the_package_knows(self, office, world):
        assert workdays.unknown_years([D(2026, 10, 1), None, D(2004, 1, 1)]) == []
        assert workdays.unknown_years([D(2027, 1, 1), D(2028, 5, 1), D(2027, 12, 31)]) == [2027, 2028]


class TestSeenWithoutRestart:
    def test_it_reads_a_change_made_elsewhere_at_the_next_request(self, office, world, cycle_2027):
        page = reverse("rectification:cycle_detail", args=[cycle_2027.pk])
        assert "2月11日 17:00" in office.get(page).content.decode()
        # Another process (here: the service called directly, which tells no cache anything)
        # writes the entries; this process learns of them at its next request.
        services.calendar_holidays_add(
            actor=world.office, year=2027, start=D(2027, 2, 6), end=D(2027, 2, 14), name="春节"
        )
        assert "2月5日 17:00" in office.get(page).content.decode()

    def test_it_asks_the_database_once_however_many_days_are_asked_about(self, world, django_assert_num_queries):
        workdays.entries_expire()
        with django_assert_num_queries(2):
            for offset in range(3000):
                workdays.is_workday(D(2026, 1, 1) + datetime.timedelta(days=offset))

    def test_it_keeps_what_it_read_until_the_next_request_or_task(self, world):
        assert workdays.is_workday(D(2027, 2, 10))
        CalendarDay.objects.create(date=D(2027, 2, 10), kind="holiday", name="春节", entered_by=world.office)
        assert workdays.is_workday(D(2027, 2, 10))  # within one request or task the answer holds
        from celery.signals import task_prerun

        task_prerun.send(sender=None)
        assert not workdays.is_workday(D(2027, 2, 10))  # a new task reads the entries again


class TestBadInput:
    @pytest.mark.parametrize(
        "data, message",
        [
            ({"start": "2027-02-14", "end": "2027-02-06", "name": "春节"}, "结束日期不能早于开始日期。"),
            ({"start": "2026-12-31", "end": "2027-01-02", "name": "元旦"}, "2026年12月31日 不在 2027 年内。"),
            (
                {"start": "2027-01-01", "end": "2027-02-15", "name": "寒假"},
                "一次最多录入 31 天的假期，所选范围有 46 天。",
            ),
            ({"start": "2027-02-30", "end": "2027-03-01", "name": "春节"}, "有效的日期"),
            ({"start": "2027-02-06", "end": "2027-02-07", "name": ""}, "这个字段是必填项"),
        ],
    )
    def test_it_refuses_a_bad_holiday_range_with_a_reason(self, office, data, message):
        response = office.post(reverse("rectification:calendar_holidays_add", args=[2027]), data)
        assert response.status_code == 400
        assert message in response.content.decode()
        assert not CalendarDay.objects.exists()

    def test_it_refuses_a_date_entered_twice(self, office):
        add_spring_festival(office)
        response = office.post(
            reverse("rectification:calendar_workday_add", args=[2027]), {"day": "2027-02-07", "name": "春节"}
        )
        assert response.status_code == 400
        assert "2027年2月7日 已录入为「春节」放假，请先删除该条再录入。" in response.content.decode()
        response = add_spring_festival(office)
        assert response.status_code == 400
        assert CalendarDay.objects.count() == 9

    def test_it_refuses_to_confirm_an_empty_year_or_a_built_in_one(self, office):
        response = office.post(reverse("rectification:calendar_year_confirm", args=[2027]), follow=True)
        assert "请先录入 2027 年的放假安排，再确认。" in response.content.decode()
        response = office.post(reverse("rectification:calendar_year_confirm", args=[2026]), follow=True)
        assert "2026 年的节假日安排系统已内置，无需确认。" in response.content.decode()
        assert not CalendarYear.objects.exists()

    def test_it_answers_404_for_a_year_it_does_not_serve(self, office):
        assert office.get(year_url(2200)).status_code == 404
        assert office.post(reverse("rectification:calendar_holidays_add", args=[1999]), SPRING).status_code == 404


class TestOutsiders:
    @pytest.mark.parametrize(
        "who",
        [
            "resp_staff",
            "resp_head",
            "leader",
            "supervision",
            "provincial",
            "track_office",
            "sysadmin",
            "secadmin",
            "auditadmin",
        ],
    )
    def test_it_shows_nothing_and_changes_nothing_for_anyone_but_the_office(self, client, world, who):
        entry = services.calendar_workday_add(actor=world.office, year=2027, day=D(2027, 2, 20), name="春节")
        client.force_login(getattr(world, who))
        home = client.get(reverse("rectification:home")).content.decode()
        assert reverse("rectification:calendar_years") not in home
        assert client.get(reverse("rectification:calendar_years")).status_code == refused(who)
        assert client.get(year_url()).status_code == refused(who)
        posts = [
            (reverse("rectification:calendar_holidays_add", args=[2027]), SPRING),
            (reverse("rectification:calendar_workday_add", args=[2027]), {"day": "2027-02-21", "name": "春节"}),
            (reverse("rectification:calendar_year_confirm", args=[2027]), {}),
            (reverse("rectification:calendar_day_delete", args=[entry.pk]), {}),
        ]
        for url, data in posts:
            assert client.post(url, data).status_code == refused(who)
        assert list(CalendarDay.objects.values_list("date", flat=True)) == [D(2027, 2, 20)]
        assert not CalendarYear.objects.exists()

    def test_it_refuses_the_service_to_anyone_but_the_office(self, world):
        from django.core.exceptions import PermissionDenied

        with pytest.raises(PermissionDenied, match="只有整改办可以维护节假日安排"):
            services.calendar_year_confirm(actor=world.resp_staff, year=2027)

    def test_it_answers_the_wrong_method(self, office):
        assert office.get(reverse("rectification:calendar_year_confirm", args=[2027])).status_code == 405
        assert office.post(reverse("rectification:calendar_years")).status_code == 405
