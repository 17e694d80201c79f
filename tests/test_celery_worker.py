"""A real Celery worker, a real broker (Redis) and the real database: a dispatch is delivered."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

from config.celery import app
from rectification import services
from rectification.models import DispatchSheet, Notification
from rectification.tasks import run_cycle_step

from .conftest import celery_connections_dropped

ROOT = Path(__file__).resolve().parent.parent
BROKER = os.environ.get("CELERY_TEST_BROKER_URL", "redis://127.0.0.1:6379/15")


def _database_url():
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _worker(queue, tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": BROKER,
        "DJANGO_VAR_DIR": str(tmp_path),
        "DJANGO_PRIVATE_MEDIA_ROOT": str(tmp_path / "private"),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "-Q",
            queue,
            "--without-mingle",
            "--without-gossip",
            "--loglevel=INFO",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _stop(worker):
    worker.terminate()
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()


@pytest.mark.django_db(transaction=True)
def test_it_delivers_a_dispatch_through_a_real_worker(world, tmp_path):
    queue = f"zg-test-{uuid.uuid4().hex[:8]}"
    worker = _worker(queue, tmp_path)
    try:
        cycle = services.cycle_for(world.round, 2026, 48)
        # An explicit connection to Redis: the app's own pool points at the tests' broker.
        with app.connection_for_write(BROKER) as connection:
            run_cycle_step.apply_async(args=[cycle.pk, "dispatch"], queue=queue, connection=connection)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and DispatchSheet.objects.filter(cycle=cycle).count() < 2:
            assert worker.poll() is None, worker.stdout.read()
            time.sleep(0.5)
        assert DispatchSheet.objects.filter(cycle=cycle).count() == 2
        cycle.refresh_from_db()
        assert cycle.dispatch_state == "done"
        assert Notification.objects.filter(recipient=world.coop_staff, dedup_key__contains=":dispatch:").count() == 1
    finally:
        _stop(worker)


@pytest.mark.django_db(transaction=True)
def test_it_runs_an_export_a_service_queued_after_commit(world, tmp_path, settings):
    # The way every service hands work on (services.queue: by the task's name, after commit),
    # end to end: the request is committed, the worker builds the file with the requester's rights.
    from rectification.models import ExportJob
    from rectification.services.export_jobs import export_job_request, job_path

    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    queue = f"zg-test-{uuid.uuid4().hex[:8]}"
    saved = {key: app.conf[key] for key in ("broker_url", "task_default_queue")}
    celery_connections_dropped(app)
    app.conf.update(broker_url=BROKER, task_default_queue=queue)
    worker = _worker(queue, tmp_path)
    try:
        job = export_job_request(actor=world.resp_staff, inspection_round=world.round, kind=ExportJob.Kind.LEDGER)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and ExportJob.objects.get(pk=job.pk).state != ExportJob.State.DONE:
            assert worker.poll() is None, worker.stdout.read()
            time.sleep(0.5)
        job.refresh_from_db()
        assert job.state == ExportJob.State.DONE
        assert job_path(job).read_bytes()[:2] == b"PK"
    finally:
        _stop(worker)
        celery_connections_dropped(app)
        app.conf.update(saved)


@pytest.mark.django_db(transaction=True)
def test_it_delivers_a_notice_to_wecom_through_a_real_worker(world, tmp_path, settings, monkeypatch):
    # A notice written in a committed transaction: the outbox row is handed to the worker on Redis,
    # which asks the (test) 企业微信 server for a token and sends the card, once.
    from django.core.cache import cache

    from rectification.models import OutboxMessage
    from rectification.services.channels import WECOM_TOKEN_CACHE_KEY
    from rectification.services.notifications import notify

    from .test_notify_channels import AGENT_ID, CORP_ID, CORP_SECRET, Platform, gettoken, message_send

    platform = Platform()
    platform.answers = [gettoken(), message_send()]
    wecom = {
        "NOTIFY_CHANNELS": "wecom",
        "WECOM_API_BASE": platform.url,
        "WECOM_CORP_ID": CORP_ID,
        "WECOM_CORP_SECRET": CORP_SECRET,
        "WECOM_AGENT_ID": str(AGENT_ID),
        "DJANGO_SITE_URL": "https://zg.example.gov.cn",
    }
    for name, value in wecom.items():
        monkeypatch.setenv(name, value)
    settings.NOTIFY_CHANNELS = ["wecom"]
    cache.delete(WECOM_TOKEN_CACHE_KEY)
    world.resp_staff.wecom_userid = "ZhangLianLuo"
    world.resp_staff.save(update_fields=["wecom_userid"])
    queue = f"zg-test-{uuid.uuid4().hex[:8]}"
    saved = {key: app.conf[key] for key in ("broker_url", "task_default_queue", "broker_transport_options")}
    celery_connections_dropped(app)
    # The one-second socket timeout of production is for a web request; on a test machine busy
    # starting the worker, Redis may take longer to answer the publish.
    app.conf.update(
        broker_url=BROKER,
        task_default_queue=queue,
        broker_transport_options={
            **saved["broker_transport_options"],
            "socket_timeout": 10,
            "socket_connect_timeout": 10,
        },
    )
    worker = _worker(queue, tmp_path)
    try:
        notice = notify(
            recipient=world.resp_staff,
            kind=Notification.Kind.DISPATCH,
            text="督办：请于三日内答复。",
            link=world.resp_measure.get_absolute_url(),
            dedup_key="worker:dispatch",
        )
        row = OutboxMessage.objects.get(notification=notice, channel="wecom")
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and OutboxMessage.objects.get(pk=row.pk).state != OutboxMessage.State.SENT:
            assert worker.poll() is None, worker.stdout.read()
            time.sleep(0.5)
        assert OutboxMessage.objects.get(pk=row.pk).state == OutboxMessage.State.SENT
        sends = [r for r in platform.requests if r["path"] == "/cgi-bin/message/send"]
        assert len(sends) == 1 and sends[0]["body"]["touser"] == "ZhangLianLuo"
        assert sends[0]["body"]["textcard"]["url"] == f"https://zg.example.gov.cn/notifications/{notice.pk}/"
    finally:
        _stop(worker)
        platform.close()
        celery_connections_dropped(app)
        app.conf.update(saved)
