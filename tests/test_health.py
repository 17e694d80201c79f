"""GET /healthz for the district's monitoring: database, broker and the weekly cycle, as JSON."""

import datetime
import json
import socket
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import OperationalError
from django.urls import reverse

from config.version import __version__
from rectification.models import StepState, WeeklyCycle
from rectification.services import cycle_tick

SHANGHAI = ZoneInfo("Asia/Shanghai")
CLOSED_BROKER = "redis://127.0.0.1:6390/0"
REAL_BROKER = "redis://127.0.0.1:6379/13"


def _listening(port):
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _needs_redis():
    """Redis is part of the test environment (.ci/run starts it): missing, it is a failure."""
    if not _listening(6379):
        pytest.fail("Redis is not listening on 127.0.0.1:6379: start it (see .ci/run) and run the tests again")


@pytest.fixture
def filesystem_broker(settings, tmp_path):
    for folder in ("queue", "processed"):
        (tmp_path / folder).mkdir()
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(tmp_path / "queue"),
        "data_folder_out": str(tmp_path / "queue"),
        "processed_folder": str(tmp_path / "processed"),
    }


@pytest.fixture
def no_token(settings, monkeypatch):
    monkeypatch.delenv("DJANGO_HEALTH_TOKEN", raising=False)
    if hasattr(settings, "HEALTH_TOKEN"):
        del settings.HEALTH_TOKEN


def _get(client, **headers):
    response = client.get(reverse("healthz"), **headers)
    return response, json.loads(response.content)


@pytest.mark.django_db
@pytest.mark.usefixtures("no_token")
class TestHealthChecks:
    def test_it_is_healthy_with_the_embedded_default_broker(self, client, filesystem_broker):
        response, body = _get(client)
        assert response.status_code == 200
        assert response["Content-Type"] == "application/json"
        assert body["status"] == "ok"
        assert body["version"] == __version__
        assert body["checks"]["database"]["ok"] is True
        assert body["checks"]["broker"] == {"ok": True, "ms": body["checks"]["broker"]["ms"], "transport": "filesystem"}

    def test_it_is_healthy_with_a_running_redis(self, client, settings):
        _needs_redis()
        settings.CELERY_BROKER_URL = REAL_BROKER
        settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
        response, body = _get(client)
        assert response.status_code == 200, body
        assert body["status"] == "ok"
        assert body["checks"]["broker"]["ok"] is True
        assert body["checks"]["broker"]["transport"] == "redis"

    def test_it_reports_a_stopped_broker_as_unavailable(self, client, settings):
        assert not _listening(6390), "the test needs nothing listening on 127.0.0.1:6390"
        settings.CELERY_BROKER_URL = CLOSED_BROKER
        settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
        response, body = _get(client)
        assert response.status_code == 503
        assert body["status"] == "unavailable"
        assert body["checks"]["broker"]["ok"] is False
        assert body["checks"]["broker"]["error"] == "OperationalError"
        # The database still answered, and the port or host of the broker is not given away.
        assert body["checks"]["database"]["ok"] is True
        assert "6390" not in response.content.decode()

    def test_it_reports_an_unreachable_database_as_unavailable(self, client, filesystem_broker):
        with mock.patch("config.health.connection.cursor", side_effect=OperationalError("could not connect to server")):
            response, body = _get(client)
        assert response.status_code == 503
        assert body["status"] == "unavailable"
        assert body["checks"]["database"] == {"ok": False, "error": "OperationalError"}
        assert body["weekly_cycle"] is None
        assert "could not connect" not in response.content.decode()

    def test_it_is_never_cached(self, client, filesystem_broker):
        response, _ = _get(client)
        assert "no-store" in response["Cache-Control"]

    def test_it_refuses_the_wrong_method(self, client, filesystem_broker):
        assert client.post(reverse("healthz")).status_code == 405

    def test_it_needs_no_login_and_sets_no_cookie(self, client, filesystem_broker):
        response, _ = _get(client)
        assert response.status_code == 200
        assert not response.cookies

    def test_it_reveals_no_findings_data(self, client, world, filesystem_broker):
        with time_machine.travel(datetime.datetime(2026, 11, 23, 9, tzinfo=SHANGHAI), tick=False):
            cycle_tick()
            response, body = _get(client)
        text = response.content.decode()
        # The problem's code ("1.1") is left out: it is also what a timing in the body may read
        # ("ms": 1.1); its title and its measure's text stand for it.
        for secret in (
            world.problem.title,
            world.resp_measure.text,
            world.round.title,
            world.lead_unit.name,
            world.resp_unit.name,
            world.leader.username,
            world.leader.full_name,
        ):
            assert secret not in text
        assert set(body) == {"status", "version", "time", "checks", "weekly_cycle"}


@pytest.mark.django_db
class TestHealthToken:
    def test_it_is_open_without_a_token(self, client, no_token, filesystem_broker):
        assert _get(client)[0].status_code == 200

    def test_it_requires_the_token_when_one_is_set(self, client, settings, filesystem_broker):
        settings.HEALTH_TOKEN = "x7Qp2Lm9Zr4Tv8Wn1Bc6"
        response, body = _get(client)
        assert response.status_code == 403
        assert body == {"status": "forbidden"}
        assert _get(client, HTTP_AUTHORIZATION="Bearer wrong")[0].status_code == 403
        assert _get(client, HTTP_AUTHORIZATION="x7Qp2Lm9Zr4Tv8Wn1Bc6")[0].status_code == 403
        assert _get(client, HTTP_AUTHORIZATION="Bearer x7Qp2Lm9Zr4Tv8Wn1Bc6")[0].status_code == 200

    def test_it_reads_the_token_from_the_environment_without_a_setting(
        self, client, settings, monkeypatch, no_token, filesystem_broker
    ):
        monkeypatch.setenv("DJANGO_HEALTH_TOKEN", "Hn3Kd8Pq1Zx5")
        assert _get(client)[0].status_code == 403
        assert _get(client, HTTP_AUTHORIZATION="Bearer Hn3Kd8Pq1Zx5")[0].status_code == 200


@pytest.mark.usefixtures("no_token", "filesystem_broker")
class TestWeeklyCycleReport:
    def test_it_reports_the_last_step_that_ran(self, client, world):
        with time_machine.travel(datetime.datetime(2026, 11, 23, 9, tzinfo=SHANGHAI), tick=False):
            cycle_tick()
        with time_machine.travel(datetime.datetime(2026, 11, 23, 10, tzinfo=SHANGHAI), tick=False):
            response, body = _get(client)
        assert response.status_code == 200
        cycle = body["weekly_cycle"]
        assert body["status"] == "ok"
        assert cycle["ok"] is True
        assert cycle["current_week"] == "2026-W48"
        assert cycle["last_run"]["week"] == "2026-W48"
        assert cycle["last_run"]["step"] == "dispatch"
        assert cycle["last_run"]["state"] == "done"
        assert cycle["last_run"]["at"].startswith("2026-11-23T01:00")

    def test_it_is_degraded_when_the_ticks_stopped(self, client, world):
        with time_machine.travel(datetime.datetime(2026, 11, 23, 9, tzinfo=SHANGHAI), tick=False):
            cycle_tick()
        # Thursday evening with no tick since Monday: both reminders and the cut-off are overdue.
        with time_machine.travel(datetime.datetime(2026, 11, 26, 19, tzinfo=SHANGHAI), tick=False):
            response, body = _get(client)
        assert response.status_code == 200
        assert body["status"] == "degraded"
        assert body["weekly_cycle"]["overdue_steps"] == [
            "2026-W48 collect",
            "2026-W48 remind_day",
            "2026-W48 remind_eve",
        ]

    def test_it_is_degraded_when_no_tick_created_this_weeks_cycle(self, client, world):
        with time_machine.travel(datetime.datetime(2026, 11, 23, 12, tzinfo=SHANGHAI), tick=False):
            _, body = _get(client)
        assert body["status"] == "degraded"
        assert body["weekly_cycle"]["last_run"] is None
        assert body["weekly_cycle"]["overdue_steps"] == ["2026-W48 dispatch"]

    def test_it_is_not_degraded_before_the_grace_period_ends(self, client, world):
        with time_machine.travel(datetime.datetime(2026, 11, 23, 9, 15, tzinfo=SHANGHAI), tick=False):
            _, body = _get(client)
        assert body["status"] == "ok"

    def test_it_is_degraded_when_a_step_failed(self, client, world):
        with time_machine.travel(datetime.datetime(2026, 11, 23, 9, tzinfo=SHANGHAI), tick=False):
            cycle_tick()
            WeeklyCycle.objects.update(dispatch_state=StepState.FAILED)
            response, body = _get(client)
        assert response.status_code == 200
        assert body["status"] == "degraded"
        assert body["weekly_cycle"]["failed_steps"] == ["2026-W48 dispatch"]

    def test_it_ignores_rounds_that_are_over(self, client, world):
        # Over: past the report deadline with every measure closed out (open work goes on being
        # dispatched after the deadline, on the office's cadence).
        from rectification.models import CloseOutState, Measure

        Measure.objects.filter(problem__round=world.round).update(closeout_state=CloseOutState.CLOSED)
        with time_machine.travel(datetime.datetime(2027, 3, 1, 12, tzinfo=SHANGHAI), tick=False):
            _, body = _get(client)
        assert body["status"] == "ok"
        assert body["weekly_cycle"]["overdue_steps"] == []

    def test_it_watches_a_round_past_its_deadline_with_open_work(self, client, world):
        with time_machine.travel(datetime.datetime(2027, 3, 1, 12, tzinfo=SHANGHAI), tick=False):
            _, body = _get(client)
        assert body["weekly_cycle"]["overdue_steps"] == ["2027-W09 dispatch"]

    def test_it_keeps_its_queries_few(self, client, world, django_assert_max_num_queries):
        with time_machine.travel(datetime.datetime(2026, 11, 23, 9, tzinfo=SHANGHAI), tick=False):
            cycle_tick()
            with django_assert_max_num_queries(6):
                _get(client)
