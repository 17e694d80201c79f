"""A bounded load test of one page on loopback: gunicorn with two workers, a small threaded client.

The server is started with the deployment's own configuration (deploy/gunicorn.conf.py) and
bound to 127.0.0.1 only; the client sends at most ``requests`` requests (and stops after
``max_seconds`` in any case), then the server is stopped. Signed-in sessions are made in the
database beforehand, as ``Client.force_login`` makes them, so no password is hashed under load.
"""

import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import redis
from django.conf import settings
from django.test import Client

from .measure import percentile

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


@dataclass
class LoadResult:
    label: str
    path: str
    workers: int
    concurrency: int
    sessions: int
    requests: int
    errors: int
    seconds: float
    rps: float
    p50_ms: float
    p95_ms: float
    max_ms: float
    key: str = ""
    ratio_to_trivial: float | None = None


def _free_port():
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def session_cookies(users):
    cookies = []
    for user in users:
        client = Client()
        client.force_login(user)
        cookies.append(f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}")
    return cookies


def page_cache_url():
    return os.environ.get("DJANGO_PAGE_CACHE_URL", "redis://127.0.0.1:6379/1")


def page_cache_empty():
    """Empty the shared page cache's Redis database, so that every page is written once in the run
    (a page kept from an earlier run under the same generations would be a free hit)."""
    client = redis.Redis.from_url(page_cache_url(), socket_connect_timeout=2, socket_timeout=5)
    try:
        client.flushdb()
    finally:
        client.close()


class Server:
    """gunicorn on 127.0.0.1 with the deployment's configuration; a context manager."""

    def __init__(self, *, workers=2, log_path, settings_module="config.settings"):
        self.port = _free_port()
        self.settings_module = settings_module
        self.workers = workers
        self.log_path = log_path
        self.process = None

    def __enter__(self):
        env = {
            **os.environ,
            "GUNICORN_BIND": f"{HOST}:{self.port}",
            "GUNICORN_WORKERS": str(self.workers),
            "GUNICORN_LOG_LEVEL": "warning",
            # As in .env.example: a worker keeps its database connection between requests.
            "DATABASE_CONN_MAX_AGE": os.environ.get("DATABASE_CONN_MAX_AGE", "60"),
            # As in .env.example: the worklist pages are shared by the workers through Redis.
            "DJANGO_PAGE_CACHE_URL": page_cache_url(),
            "DJANGO_DEBUG": "0",
            "DJANGO_SETTINGS_MODULE": self.settings_module,
        }
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                str(ROOT / "deploy" / "gunicorn.conf.py"),
                "--access-logfile",
                "/dev/null",
                "config.wsgi",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited early, see {self.log_path}")
            try:
                connection = http.client.HTTPConnection(HOST, self.port, timeout=5)
                connection.request("GET", "/healthz")
                connection.getresponse().read()
                connection.close()
                return self
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("gunicorn did not answer within 60 seconds")

    def __exit__(self, *exc):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def _get(port, path, cookie):
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        connection.request("GET", path, headers={"Cookie": cookie, "Host": HOST})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def load_run(*, label, port, path, cookies, workers, requests=3000, concurrency=8, max_seconds=120, warmup=40):
    """Send ``requests`` GETs of ``path`` from ``concurrency`` threads, cycling through ``cookies``."""
    for i in range(warmup):
        _get(port, path, cookies[i % len(cookies)])
    lock = threading.Lock()
    issued = [0]
    latencies, errors = [], [0]
    stop_at = time.monotonic() + max_seconds

    def worker():
        while True:
            with lock:
                if issued[0] >= requests or time.monotonic() > stop_at:
                    return
                n = issued[0]
                issued[0] += 1
            started = time.perf_counter()
            try:
                status = _get(port, path, cookies[n % len(cookies)])
            except OSError:
                status = 0
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)
                if status != 200:
                    errors[0] += 1

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    return LoadResult(
        label=label,
        path=path,
        workers=workers,
        concurrency=concurrency,
        sessions=len(cookies),
        requests=len(latencies),
        errors=errors[0],
        seconds=round(seconds, 1),
        rps=round(len(latencies) / seconds, 1),
        p50_ms=round(percentile(latencies, 50), 1),
        p95_ms=round(percentile(latencies, 95), 1),
        max_ms=round(max(latencies), 1),
    )
