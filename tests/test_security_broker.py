"""Reliability: a person's save never depends on the Celery broker. The broker (Redis in
production) is pointed at a closed port, and every save path still commits; the one request
that does enqueue (re-running a weekly step) is kept and says the queue is down.

Transactional tests: ``on_commit`` callbacks run as in production, right after the commit."""

import datetime
import socket

import pytest
from celery.app.task import Task
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from config.celery import app as celery_app
from rectification import services
from rectification.models import Evidence, ProgressReport, WeeklyCycle

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

    def test_it_saves_through_the_services_with_e_mail_after_commit(self, world, broker_down):
        # Assigning a measure notifies the unit and e-mails after commit: still no broker.
        world.resp_staff.email = "lly@example.gov.cn"
        world.resp_staff.save(update_fields=["email"])
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
        assert broker_down == []

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
