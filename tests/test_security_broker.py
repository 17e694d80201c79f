"""Reliability: a person's save never depends on the Celery broker. The broker (Redis in
production) is pointed at a closed port, and every save path still commits; the requests that
do enqueue (re-running a weekly step, a large export) are kept and say so. A broker that accepts
connections but never answers holds none of them for more than a few seconds.

Transactional tests: ``on_commit`` callbacks run as in production, right after the commit."""

import datetime
import socket
import threading
import time

import pytest
from celery.app.task import Task
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from config.celery import app as celery_app
from rectification import services
from rectification.models import Evidence, ExportJob, OutboxMessage, ProgressReport, WeeklyCycle
from rectification.services import export_jobs
from rectification.services.outbox import outbox_send

from .conftest import celery_connections_dropped

CLOSED_BROKER = "redis://127.0.0.1:6390/0"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _port_closed(port):
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture
def broker_down(settings, monkeypatch, tmp_path):
    assert _port_closed(6390), "the test needs nothing listening on 127.0.0.1:6390"
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    settings.CELERY_BROKER_URL = CLOSED_BROKER
    saved = {key: celery_app.conf[key] for key in ("broker_url", "task_publish_retry", "broker_connection_timeout")}
    celery_connections_dropped(celery_app)  # no pooled connection to the real broker
    celery_app.conf.broker_url = CLOSED_BROKER
    # Fail fast instead of retrying: the point is that nothing waits for the broker at all.
    celery_app.conf.task_publish_retry = False
    celery_app.conf.broker_connection_timeout = 1
    published = []
    original = Task.apply_async

    def spy(task, *args, **kwargs):
        published.append(task.name)
        return original(task, *args, **kwargs)

    monkeypatch.setattr(Task, "apply_async", spy)
    # Services send their tasks by name (services.queue), without the task object.
    original_send = type(celery_app).send_task

    def send_spy(app, name, *args, **kwargs):
        published.append(name)
        return original_send(app, name, *args, **kwargs)

    monkeypatch.setattr(type(celery_app), "send_task", send_spy)
    yield published
    celery_connections_dropped(celery_app)
    celery_app.conf.update(saved)


def _week():
    year, week, _ = timezone.localdate().isocalendar()
    return year, week


@pytest.mark.django_db(transaction=True)
class TestBrokerDown:
    def test_it_really_cannot_reach_the_broker(self, broker_down):
        from kombu.exceptions import OperationalError

        with pytest.raises(OperationalError), celery_app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1)

    def test_it_saves_a_weekly_report(self, world, client, broker_down):
        year, week = _week()
        client.force_login(world.resp_staff)
        prefix = f"m{world.resp_measure.pk}"
        response = client.post(
            f"{reverse('rectification:report_week')}?week={year}-W{week:02d}",
            {
                "week": f"{year}-W{week:02d}",
                "action": "save",
                f"{prefix}-progress_this_week": "已清退8万元",
                f"{prefix}-cumulative_state": "in_progress",
                f"{prefix}-percent": "50",
                f"{prefix}-next_week_plan": "继续清退",
                f"{prefix}-difficulties": "",
                f"{prefix}-lock_version": "",
                f"{prefix}-evidence_kind": "other",
            },
        )
        assert response.status_code == 302
        report = ProgressReport.objects.get(measure=world.resp_measure, iso_year=year, iso_week=week)
        assert report.progress_this_week == "已清退8万元"
        assert AuditEvent.objects.filter(action="report.save", target_id=str(report.pk)).exists()
        assert broker_down == []

    def test_it_saves_an_evidence_upload(self, world, client, broker_down):
        client.force_login(world.resp_staff)
        response = client.post(
            reverse("rectification:measure_evidence_upload", args=[world.resp_measure.pk]),
            {"file": SimpleUploadedFile("清退凭证.pdf", PDF), "kind": "receipt"},
        )
        assert response.status_code == 302
        assert Evidence.objects.filter(measure=world.resp_measure, original_name="清退凭证.pdf").exists()
        assert broker_down == []

    def test_it_saves_through_the_services_with_e_mail_after_commit(self, world, broker_down, mailoutbox, settings):
        settings.NOTIFY_DIGEST_HOUR = -1  # each routine notice by itself, not in the daily digest
        # Assigning a measure notifies the unit and puts its e-mail in the outbox: the broker being
        # down delays the e-mail until the sweep, and loses nothing.
        world.resp_staff.email = "lly@example.gov.cn"
        # No quiet hours: the routine e-mail would otherwise wait for the morning when run at night.
        world.resp_staff.quiet_from = world.resp_staff.quiet_until = None
        world.resp_staff.save(update_fields=["email", "quiet_from", "quiet_until"])
        services.measure_create(
            actor=world.office,
            problem=world.problem,
            code="1.1.3",
            text="建立津贴补贴发放审批制度",
            kind="rules",
            owner_unit=world.resp_unit,
            start_date=datetime.date(2026, 9, 1),
            due_date=datetime.date(2026, 12, 31),
        )
        year, week = _week()
        services.report_save(
            actor=world.resp_staff,
            measure=world.resp_measure,
            iso_year=year,
            iso_week=week,
            data={
                "progress_this_week": "进展",
                "cumulative_state": "in_progress",
                "percent": 10,
                "next_week_plan": "",
                "difficulties": "",
            },
            lock_version=None,
        )
        assert ProgressReport.objects.filter(measure=world.resp_measure).exists()
        assert broker_down == ["rectification.tasks.outbox_send"]
        waiting = OutboxMessage.objects.get(notification__recipient=world.resp_staff, channel="email")
        assert waiting.state == OutboxMessage.State.PENDING and mailoutbox == []
        outbox_send()
        assert [m.to for m in mailoutbox] == [["lly@example.gov.cn"]]

    # Committed for real: the rerun is handed to Celery only once its transaction has committed.
    @pytest.mark.django_db(transaction=True)
    def test_it_keeps_a_rerun_request_when_the_queue_is_down(self, world, client, broker_down):
        year, week = _week()
        cycle = services.cycle_for(world.round, year, week)
        WeeklyCycle.objects.filter(pk=cycle.pk).update(dispatch_state="done")
        client.force_login(world.office)
        response = client.post(reverse("rectification:cycle_rerun", args=[cycle.pk]), {"step": "dispatch"}, follow=True)
        assert response.status_code == 200
        assert "任务队列暂时不可用" in response.content.decode()
        cycle.refresh_from_db()
        assert cycle.dispatch_state == "pending"
        assert AuditEvent.objects.filter(action="cycle.rerun").exists()
        # It really tried the queue (and did not, say, fail to import the task and blame the broker).
        assert broker_down == ["rectification.tasks.run_cycle_step"], "the rerun never reached Celery"


class _SilentBroker(threading.Thread):
    """A listener on a free port of 127.0.0.1 that accepts every connection and never answers,
    like a Redis that hangs. After ``patience`` seconds it hangs up on everyone and stops
    listening, so that a client with no timeout fails the test instead of hanging it."""

    def __init__(self, patience=15):
        super().__init__(daemon=True)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.deadline = time.monotonic() + patience
        self.accepted = []
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.is_set() and time.monotonic() < self.deadline:
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            # What the client sends stays unread in the kernel's buffer; nothing is ever written back.
            self.accepted.append(connection)
        for connection in self.accepted:
            connection.close()
        self.listener.close()

    def stop(self):
        self.stopping.set()
        self.join()


@pytest.fixture
def hung_broker(settings, tmp_path):
    """The Celery app points at a silent broker with the settings production uses for Redis."""
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    broker = _SilentBroker()
    broker.start()
    url = f"redis://127.0.0.1:{broker.port}/0"
    settings.CELERY_BROKER_URL = url
    saved = {key: celery_app.conf[key] for key in ("broker_url", "broker_transport_options")}
    celery_connections_dropped(celery_app)
    # The connect and publish timeouts and the publish retry policy are the ones the settings give
    # every Redis broker; only the address is the test's.
    celery_app.conf.broker_url = url
    celery_app.conf.broker_transport_options = dict(settings.REDIS_TRANSPORT_OPTIONS)
    yield broker
    celery_connections_dropped(celery_app)
    celery_app.conf.update(saved)
    broker.stop()


def _timed(request):
    started = time.monotonic()
    response = request()
    return response, time.monotonic() - started


@pytest.mark.django_db(transaction=True)
class TestBrokerHung:
    def test_it_answers_a_rerun_within_five_seconds_and_keeps_it_pending(self, world, client, hung_broker):
        year, week = _week()
        cycle = services.cycle_for(world.round, year, week)
        WeeklyCycle.objects.filter(pk=cycle.pk).update(dispatch_state="done")
        client.force_login(world.office)
        response, seconds = _timed(
            lambda: client.post(
                reverse("rectification:cycle_rerun", args=[cycle.pk]), {"step": "dispatch"}, follow=True
            )
        )
        # A behaviour limit, not a benchmark: the person must not wait on the broker.
        assert seconds < 5, f"the rerun took {seconds:.1f} s"
        assert "任务队列暂时不可用，已登记" in response.content.decode()
        cycle.refresh_from_db()
        assert cycle.dispatch_state == "pending"
        assert hung_broker.accepted, "the request never reached the silent broker"

    def test_it_answers_a_large_export_within_five_seconds_and_leaves_it_for_the_sweep(
        self, world, client, hung_broker, settings
    ):
        settings.EXPORT_BACKGROUND_MEASURES = 1
        client.force_login(world.office)
        response, seconds = _timed(
            lambda: client.get(reverse("rectification:excel:ledger", args=[world.round.pk]), follow=True)
        )
        assert seconds < 5, f"the export request took {seconds:.1f} s"
        assert "正在后台生成" in response.content.decode()
        job = ExportJob.objects.get()
        assert job.state == "queued"
        assert hung_broker.accepted, "the request never reached the silent broker"
        # Nothing is lost: the sweep builds what the broker never took.
        assert export_jobs.export_jobs_sweep(now=timezone.now() + datetime.timedelta(minutes=5)) == [job.pk]
        job.refresh_from_db()
        assert job.state == "done"
