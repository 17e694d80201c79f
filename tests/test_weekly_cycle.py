"""The weekly cycle stepped through with time frozen: dispatch, reminders, cut-off, summary."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from rectification import services
from rectification.figures import round_week_figures
from rectification.models import (
    DispatchSheet,
    Measure,
    MissedReport,
    Notification,
    Penalty,
    Release,
    SupervisionNotice,
    WeeklyCycle,
    WeeklySnapshot,
)
from rectification.services import cycle as cycle_services
from rectification.tasks import run_cycle_step, weekly_cycle_tick

from .conftest import refused

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(month, day, hour=12, minute=0):
    return datetime.datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


def _submit(world, iso_year, iso_week, percent=50):
    data = {
        "progress_this_week": "本周推进",
        "cumulative_state": "in_progress",
        "percent": percent,
        "next_week_plan": "",
        "difficulties": "",
    }
    services.report_save(
        actor=world.resp_staff,
        measure=world.resp_measure,
        iso_year=iso_year,
        iso_week=iso_week,
        data=data,
        lock_version=None,
    )
    services.report_submit(actor=world.resp_staff, unit=world.resp_unit, iso_year=iso_year, iso_week=iso_week)


def _tick_through_week(monday_day, month=9):
    """Call the beat task at the moments a week's steps fall due (and once more, harmlessly)."""
    start = datetime.datetime(2026, month, monday_day, 7, 0, tzinfo=SHANGHAI)
    for hours in range(0, 24 * 6, 2):
        with time_machine.travel(start + datetime.timedelta(hours=hours), tick=False):
            weekly_cycle_tick()


class TestSchedule:
    def test_it_moves_the_national_day_cut_off_before_the_holiday(self, db):
        from rectification.models import InspectionRound

        inspection_round = InspectionRound(
            report_weekday=4, report_time=datetime.time(17), summary_weekday=5, summary_time=datetime.time(18)
        )
        due = lambda week, step: services.step_due_at(inspection_round, 2026, week, step)  # noqa: E731
        assert due(40, "collect") == at(9, 30, 17)  # Thursday 1 October is National Day
        assert due(40, "remind_eve") == at(9, 29, 9)
        assert due(40, "dispatch") == at(9, 28, 8, 30)
        assert due(40, "summary") == at(9, 30, 18)  # Friday 2 October too
        assert due(41, "dispatch") == at(10, 8, 8, 30)  # the holiday runs to Wednesday 7 October
        assert due(41, "collect") == at(10, 8, 17)
        assert due(48, "collect") == datetime.datetime(2026, 11, 26, 17, tzinfo=SHANGHAI)


@pytest.mark.django_db
class TestFourWeeks:
    def test_it_runs_a_whole_round_with_a_holiday_week_in_the_middle(self, world):
        # W39 (21 Sep): the responsible unit reports, the township does not.
        with time_machine.travel(at(9, 22), tick=False):
            _submit(world, 2026, 39)
        _tick_through_week(21)
        w39 = WeeklyCycle.objects.get(iso_week=39)
        assert {w39.dispatch_state, w39.collect_state, w39.summary_state} == {"done"}
        assert DispatchSheet.objects.filter(cycle=w39).count() == 2
        assert list(MissedReport.objects.filter(cycle=w39).values_list("measure__code", flat=True)) == ["1.1.2"]

        # W40 (National Day week): nobody reports; the cut-off is Wednesday 30 September.
        _tick_through_week(28)
        w40 = WeeklyCycle.objects.get(iso_week=40)
        assert w40.log["collect"]["missed"] == 2
        assert w40.collect_state == "done"
        # The township has now missed two weeks running: a draft circular and deduction.
        drafts = Penalty.objects.filter(cycle=w40, unit=world.coop_unit, rule="missed_streak")
        assert sorted(drafts.values_list("kind", flat=True)) == ["circular", "deduction"]
        assert not Penalty.objects.filter(unit=world.resp_unit).exists()

        # W41 and W42: the township's measure (due 31 October) is within 20 days: its handler hears;
        # the lead official only from 10 days out.
        _tick_through_week(5, month=10)
        _tick_through_week(12, month=10)
        assert WeeklyCycle.objects.filter(summary_state="done").count() == 4
        assert WeeklySnapshot.objects.count() == 4
        assert Notification.objects.filter(recipient=world.coop_staff, dedup_key__contains=":notice:").count() == 1
        assert not Notification.objects.filter(recipient=world.leader, dedup_key__contains=":leader:").exists()

        # Every unit got exactly one dispatch sheet and one dispatch notice per week.
        assert DispatchSheet.objects.count() == 8
        dispatch_notices = Notification.objects.filter(recipient=world.coop_staff, dedup_key__contains=":dispatch:")
        assert dispatch_notices.count() == 4

    def test_it_escalates_to_the_leader_then_issues_one_supervision_notice(self, world):
        _tick_through_week(26, month=10)  # five days before the township's measure is due
        assert Notification.objects.filter(recipient=world.leader, dedup_key__contains=":leader:").count() == 1
        assert not SupervisionNotice.objects.exists()
        _tick_through_week(2, month=11)  # the township's measure was due 31 October
        _tick_through_week(9, month=11)
        notice = SupervisionNotice.objects.get()
        assert notice.measure == world.coop_measure
        assert notice.reply_due > notice.created_at.date()
        assert Notification.objects.filter(recipient=world.coop_staff, dedup_key__contains=":overdue:").count() == 2


@pytest.mark.django_db
class TestIdempotency:
    def test_it_sends_nothing_twice_when_a_step_runs_twice(self, world):
        with time_machine.travel(at(11, 23, 10), tick=False):
            weekly_cycle_tick()
            counts = (DispatchSheet.objects.count(), Notification.objects.count())
            weekly_cycle_tick()
            cycle = WeeklyCycle.objects.get()
            assert services.step_run(cycle, "dispatch") == {"skipped": True}
            services.step_run(cycle, "dispatch", force=True)
            assert (DispatchSheet.objects.count(), Notification.objects.count()) == counts

    def test_it_completes_a_crashed_dispatch_exactly_once_per_unit(self, world, monkeypatch):
        real = cycle_services._dispatch_unit
        calls = []

        def crash_on_second_unit(cycle, unit, today, **kwargs):
            calls.append(unit.pk)
            if len(calls) == 2:
                raise RuntimeError("worker killed")
            return real(cycle, unit, today, **kwargs)

        monkeypatch.setattr(cycle_services, "_dispatch_unit", crash_on_second_unit)
        with time_machine.travel(at(11, 23, 10), tick=False):
            weekly_cycle_tick()
            cycle = WeeklyCycle.objects.get()
            assert cycle.dispatch_state == "failed"
            assert "worker killed" in cycle.log["dispatch"]["error"]
            assert DispatchSheet.objects.count() == 1
            weekly_cycle_tick()  # the sweep retries the failed step
        cycle.refresh_from_db()
        assert cycle.dispatch_state == "done"
        assert sorted(DispatchSheet.objects.values_list("unit_id", flat=True)) == sorted(
            [world.resp_unit.pk, world.coop_unit.pk]
        )
        for person in (world.resp_staff, world.coop_staff):
            assert Notification.objects.filter(recipient=person, dedup_key__contains=":dispatch:").count() == 1


@pytest.mark.django_db
class TestSnapshot:
    def test_it_freezes_figures_that_equal_a_recomputation(self, world):
        with time_machine.travel(at(11, 27, 19), tick=False):
            cycle = services.cycle_for(world.round, 2026, 48)
            services.step_run(cycle, "collect")
            services.step_run(cycle, "summary")
            snapshot = WeeklySnapshot.objects.get()
            recomputed = round_week_figures(inspection_round=world.round, iso_year=2026, iso_week=48)
            assert snapshot.figures == recomputed
        assert snapshot.figures["measures"]["total"] == 2
        assert snapshot.figures["missed_units"] == {"协办镇": 1, "责任局": 1}
        assert [row["code"] for row in snapshot.figures["overdue"]] == ["1.1.2"]

        Measure.objects.filter(pk=world.coop_measure.pk).update(due_date=datetime.date(2026, 12, 31), percent=90)
        services.step_run(cycle, "summary", force=True)
        snapshot.refresh_from_db()
        assert snapshot.figures == recomputed


@pytest.mark.django_db
class TestPages:
    def _cycle(self, world):
        with time_machine.travel(at(11, 2, 10), tick=False):
            weekly_cycle_tick()
        return WeeklyCycle.objects.get()

    def test_it_shows_the_office_each_weeks_cycle(self, world, client):
        cycle = self._cycle(world)
        client.force_login(world.office)
        assert "2026年第45周" in client.get(reverse("rectification:cycle_list")).content.decode()
        page = client.get(reverse("rectification:cycle_detail", args=[cycle.pk])).content.decode()
        assert "调度（周一）" in page and "已完成" in page

    @pytest.mark.parametrize("actor", ["resp_staff", "outsider", "leader", "provincial", "sysadmin"])
    def test_it_hides_the_cycle_pages_from_others(self, world, client, actor):
        cycle = self._cycle(world)
        client.force_login(getattr(world, actor))
        assert client.get(reverse("rectification:cycle_list")).status_code == refused(actor)
        assert client.get(reverse("rectification:cycle_detail", args=[cycle.pk])).status_code == refused(actor)
        assert client.post(
            reverse("rectification:cycle_rerun", args=[cycle.pk]), {"step": "dispatch"}
        ).status_code == refused(actor)

    # Committed for real: the rerun is queued only once the request's transaction has committed.
    @pytest.mark.django_db(transaction=True)
    def test_it_reruns_a_step_for_the_office_even_with_the_broker_down(self, world, client, settings):
        cycle = self._cycle(world)
        client.force_login(world.office)
        url = reverse("rectification:cycle_rerun", args=[cycle.pk])
        assert client.get(url).status_code == 405
        from config.celery import app

        from .conftest import celery_connections_dropped

        celery_connections_dropped(app)
        app.conf.broker_url = "redis://127.0.0.1:6390/0"  # nothing listens there
        app.conf.broker_connection_timeout = 1
        app.conf.task_publish_retry = False
        try:
            page = client.post(url, {"step": "summary"}, follow=True).content.decode()
        finally:
            celery_connections_dropped(app)
            app.conf.task_publish_retry = True
            app.conf.broker_connection_timeout = 4
        cycle.refresh_from_db()
        assert cycle.summary_state == "pending"
        assert "任务队列暂时不可用，已登记" in page

    def test_it_shows_a_unit_its_dispatch_sheet_and_lets_it_answer_notices(self, world, client):
        self._cycle(world)
        client.force_login(world.coop_staff)
        page = client.get(reverse("rectification:unit_dispatch")).content.decode()
        assert "已逾期" in page and "1.1.2" in page
        notice = SupervisionNotice.objects.get()
        url = reverse("rectification:notice_reply", args=[notice.pk])
        client.force_login(world.outsider)
        assert client.post(url, {"resolution": "冒名答复"}).status_code == 404
        assert "1.1.2" not in client.get(reverse("rectification:notice_list")).content.decode()
        client.force_login(world.coop_staff)
        assert client.get(url).status_code == 405
        client.post(url, {"resolution": "已完成自查，正在整理材料，11月10日前完成。"})
        notice.refresh_from_db()
        assert (notice.state, notice.replied_by) == ("answered", world.coop_staff)

    def test_it_lets_only_the_office_confirm_a_draft_penalty(self, world, client):
        for week_monday in (19, 26):
            _tick_through_week(week_monday, month=10)
        draft = Penalty.objects.filter(unit=world.coop_unit, kind="circular").first()
        assert draft is not None and draft.state == "draft"
        url = reverse("rectification:penalty_decide", args=[draft.pk])
        client.force_login(world.coop_staff)
        assert client.post(url, {"decision": "dismiss"}).status_code == 404
        client.force_login(world.office)
        client.post(url, {"decision": "confirm"})
        draft.refresh_from_db()
        assert draft.state == "confirmed"
        client.force_login(world.coop_staff)
        assert "连续2周未按时报送" in client.get(reverse("rectification:penalty_list")).content.decode()
        client.force_login(world.resp_staff)
        assert "连续2周未按时报送" not in client.get(reverse("rectification:penalty_list")).content.decode()


@pytest.mark.django_db
class TestManagementCommand:
    def test_it_runs_a_given_round_and_week_by_hand(self, world):
        from io import StringIO

        from django.core.management import call_command

        out = StringIO()
        with time_machine.travel(at(11, 27, 19), tick=False):
            call_command("run_weekly_cycle", "--round", str(world.round.pk), "--week", "2026-W48", stdout=out)
            call_command("run_weekly_cycle", "--round", str(world.round.pk), "--week", "2026-W48", stdout=out)
        assert "跳过" in out.getvalue()
        assert DispatchSheet.objects.count() == 2
        assert WeeklySnapshot.objects.count() == 1

    def test_it_explains_a_bad_week_in_chinese(self, world):
        from django.core.management import CommandError, call_command

        with pytest.raises(CommandError, match="格式不对"):
            call_command("run_weekly_cycle", "--round", str(world.round.pk), "--week", "48")

    def test_the_task_wrapper_runs_a_step_by_id(self, world):
        with time_machine.travel(at(11, 23, 10), tick=False):
            cycle = services.cycle_for(world.round, 2026, 48)
            result = run_cycle_step(cycle.pk, "dispatch")
        assert result == {"units": 2, "reviewers": 0}


@pytest.mark.django_db
class TestWeeklyPackage:
    def test_it_stores_the_provincial_package_and_serves_it_to_readers_only(self, world, client, settings, tmp_path):
        import io
        import zipfile

        import openpyxl

        settings.PRIVATE_MEDIA_ROOT = tmp_path
        with time_machine.travel(at(11, 27, 19), tick=False):
            cycle = services.cycle_for(world.round, 2026, 48)
            services.step_run(cycle, "summary")
        snapshot = WeeklySnapshot.objects.get()
        assert snapshot.package_name.endswith(".zip")
        url = reverse("rectification:snapshot_package", args=[snapshot.pk])
        for user in (world.resp_staff, world.leader, world.sysadmin, world.provincial):
            client.force_login(user)
            assert client.get(url).status_code == 404
        # The provincial team downloads it once the office has released it.
        services.release_create(
            actor=world.office, inspection_round=world.round, kind=Release.Kind.WEEKLY_PACKAGE, snapshot=snapshot
        )
        client.force_login(world.provincial)
        response = client.get(url)
        assert response.status_code == 200
        package = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
        names = package.namelist()
        assert len(names) == 3 and any("周报表" in n for n in names) and any("台账" in n for n in names)
        weekly = openpyxl.load_workbook(
            io.BytesIO(package.read(next(n for n in names if "周报表" in n))), read_only=True
        )
        cells = [c for row in weekly.active.iter_rows(values_only=True) for c in row if c]
        assert "全面清理违规发放的津贴补贴" in cells
        weekly.close()

    def test_it_records_the_package_as_the_systems_act_not_an_export_by_a_person(self, world, settings, tmp_path):
        # Before: the package was built as the first provincial account, so every week the audit
        # log said that person had exported the ledger, the weekly table and the statistics.
        from accounts.models import AuditEvent

        settings.PRIVATE_MEDIA_ROOT = tmp_path
        with time_machine.travel(at(11, 27, 19), tick=False):
            cycle = services.cycle_for(world.round, 2026, 48)
            services.step_run(cycle, "summary")
        assert not AuditEvent.objects.filter(action__startswith="excel.export").exists()
        assert not AuditEvent.objects.filter(actor=world.provincial).exists()
        event = AuditEvent.objects.get(action="cycle.package")
        assert event.actor is None and event.target_id == str(cycle.pk)
        ledger = next(changes for name, changes in event.changes["files"].items() if "台账" in name)
        assert ledger == {"problems": 1, "measures": 2}


@pytest.mark.django_db
class TestAfterTheDeadline:
    """The cycle goes on after the report deadline, on the office's cadence, for what is still open."""

    DEADLINE = datetime.date(2026, 10, 23)  # a Friday: week 43 is the deadline's week
    LOOK_BACK = datetime.date(2026, 12, 15)

    def _set_up(self, world, client, cadence):
        from rectification.models import InspectionRound

        InspectionRound.objects.filter(pk=world.round.pk).update(report_deadline=self.DEADLINE)
        client.force_login(world.office)
        response = client.post(
            reverse("rectification:round_setup", args=[world.round.pk]),
            {"form": "after_deadline", "after_deadline_cadence": cadence, "look_back_date": self.LOOK_BACK},
        )
        assert response.status_code == 302
        world.round.refresh_from_db()
        assert (world.round.after_deadline_cadence, world.round.look_back_date) == (cadence, self.LOOK_BACK)

    def test_eight_frozen_weeks_after_the_deadline_with_a_monthly_cadence(self, world, client):
        from rectification.models import CloseOutState

        self._set_up(world, client, "monthly")
        mondays = [datetime.date(2026, 10, 26) + datetime.timedelta(weeks=n) for n in range(8)]  # W44 to W51
        for monday in mondays:
            if monday == datetime.date(2026, 11, 16):
                # The township's measure is closed out in week 47: from then on only the bureau's is open.
                Measure.objects.filter(pk=world.coop_measure.pk).update(closeout_state=CloseOutState.CLOSED)
            _tick_through_week(monday.day, month=monday.month)
            with time_machine.travel(datetime.datetime.combine(monday, datetime.time(12), SHANGHAI), tick=False):
                client.force_login(world.office)
                page = client.get(reverse("rectification:dashboard")).content.decode()
            past, to_look_back = (monday - self.DEADLINE).days, (self.LOOK_BACK - monday).days
            assert f"已超过报送期限<strong>{past}</strong>天" in page, monday
            assert f"距回头看还有<strong>{to_look_back}</strong>天" in page, monday
            assert "距整改报告报送还有" not in page

        # Monthly: the first week of each month only (Monday 2 November, Monday 7 December).
        assert sorted(WeeklyCycle.objects.values_list("iso_week", flat=True)) == [45, 50]
        w45, w50 = WeeklyCycle.objects.get(iso_week=45), WeeklyCycle.objects.get(iso_week=50)
        assert {w45.dispatch_state, w45.collect_state, w45.summary_state, w50.summary_state} == {"done"}
        # Only the measures still open are dispatched and chased.
        assert set(DispatchSheet.objects.filter(cycle=w45).values_list("unit", flat=True)) == {
            world.resp_unit.pk,
            world.coop_unit.pk,
        }
        sheet = DispatchSheet.objects.get(cycle=w50)
        assert sheet.unit == world.resp_unit
        assert [item["code"] for item in sheet.content["open"]] == ["1.1.1"]
        assert set(MissedReport.objects.filter(cycle=w50).values_list("measure__code", flat=True)) == {"1.1.1"}
        # The dispatch notice of 7 December says where the countdown stands that day.
        notice = Notification.objects.get(
            recipient=world.resp_staff, dedup_key=f"cycle:{w50.pk}:dispatch:{world.resp_unit.pk}"
        )
        assert "已超过报送期限45天，距回头看还有8天" in notice.text
        assert sheet.content["countdown"]["days_past"] == 45
        # The summary freezes the countdown of its own day, Friday 11 December.
        assert WeeklySnapshot.objects.get(cycle=w50).figures["countdown"]["look_back_days"] == 4

    def test_it_runs_every_second_week_fortnightly_and_stops_when_nothing_is_open(self, world, client):
        from rectification.models import CloseOutState

        self._set_up(world, client, "fortnightly")
        for monday_day, month in ((26, 10), (2, 11), (9, 11), (16, 11)):
            _tick_through_week(monday_day, month=month)
        assert sorted(WeeklyCycle.objects.values_list("iso_week", flat=True)) == [45, 47]
        Measure.objects.filter(problem__round=world.round).update(closeout_state=CloseOutState.CLOSED)
        for monday_day, month in ((23, 11), (30, 11)):
            _tick_through_week(monday_day, month=month)
        assert sorted(WeeklyCycle.objects.values_list("iso_week", flat=True)) == [45, 47]

    def test_it_counts_down_to_the_look_back_only_until_it_comes(self, world):
        from rectification.workdays import round_countdown

        world.round.report_deadline, world.round.look_back_date = self.DEADLINE, self.LOOK_BACK
        before = round_countdown(world.round, datetime.date(2026, 10, 20))
        assert before["text"] == "距整改报告报送还有3天（3个工作日）"
        assert (
            round_countdown(world.round, datetime.date(2026, 12, 15))["text"]
            == "已超过报送期限53天，距回头看还有0天（0个工作日）"
        )
        assert round_countdown(world.round, datetime.date(2026, 12, 16))["text"] == "已超过报送期限54天"


@pytest.mark.django_db
class TestAfterDeadlineSettings:
    URL = "rectification:round_setup"

    def test_it_refuses_a_look_back_before_the_deadline_in_chinese(self, world, client):
        client.force_login(world.office)
        response = client.post(
            reverse(self.URL, args=[world.round.pk]),
            {"form": "after_deadline", "after_deadline_cadence": "monthly", "look_back_date": "2026-12-01"},
            follow=True,
        )
        assert "回头看日期须晚于整改报告报送期限" in response.content.decode()
        world.round.refresh_from_db()
        assert (world.round.after_deadline_cadence, world.round.look_back_date) == ("weekly", None)

    def test_it_refuses_an_unknown_cadence_without_saving(self, world, client):
        client.force_login(world.office)
        response = client.post(
            reverse(self.URL, args=[world.round.pk]), {"form": "after_deadline", "after_deadline_cadence": "daily"}
        )
        assert response.status_code == 200
        world.round.refresh_from_db()
        assert world.round.after_deadline_cadence == "weekly"

    def test_it_writes_one_audit_row_with_old_and_new_values(self, world, client):
        from accounts.models import AuditEvent

        client.force_login(world.office)
        client.post(
            reverse(self.URL, args=[world.round.pk]),
            {"form": "after_deadline", "after_deadline_cadence": "fortnightly", "look_back_date": "2027-03-01"},
        )
        event = AuditEvent.objects.get(action="round.after_deadline")
        assert event.changes == {
            "after_deadline_cadence": ["weekly", "fortnightly"],
            "look_back_date": [None, "2027-03-01"],
        }

    @pytest.mark.parametrize("actor", ["resp_staff", "leader", "track_office", "sysadmin"])
    def test_it_lets_only_the_office_set_it(self, world, client, actor):
        client.force_login(getattr(world, actor))
        response = client.post(
            reverse(self.URL, args=[world.round.pk]), {"form": "after_deadline", "after_deadline_cadence": "monthly"}
        )
        assert response.status_code in (403, 404)
        world.round.refresh_from_db()
        assert world.round.after_deadline_cadence == "weekly"

    def test_it_refuses_a_post_without_the_csrf_token(self, world):
        from django.test import Client

        client = Client(enforce_csrf_checks=True)
        client.force_login(world.office)
        response = client.post(
            reverse(self.URL, args=[world.round.pk]), {"form": "after_deadline", "after_deadline_cadence": "monthly"}
        )
        assert response.status_code == 403
        world.round.refresh_from_db()
        assert world.round.after_deadline_cadence == "weekly"


@pytest.mark.django_db
class TestOnlyClaimedWorkIsChased:
    def test_a_measure_not_yet_claimed_is_neither_missing_nor_reminded(self, world):
        # The township's measure waits for its claim (or is objected to): nobody may report on it.
        Measure.objects.filter(pk=world.coop_measure.pk).update(claim_state=Measure.ClaimState.PENDING)
        with time_machine.travel(at(9, 22), tick=False):
            _submit(world, 2026, 39)
        _tick_through_week(21)
        w39 = WeeklyCycle.objects.get(iso_week=39)
        assert w39.collect_state == "done"
        assert not MissedReport.objects.filter(cycle=w39).exists()
        assert not Notification.objects.filter(recipient=world.coop_staff, text__contains="未报").exists()
        # Once claimed, it is chased like any other.
        Measure.objects.filter(pk=world.coop_measure.pk).update(claim_state=Measure.ClaimState.CLAIMED)
        _tick_through_week(28)
        w40 = WeeklyCycle.objects.get(iso_week=40)
        assert "1.1.2" in set(MissedReport.objects.filter(cycle=w40).values_list("measure__code", flat=True))
