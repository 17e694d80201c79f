"""``GET /healthz``: can this instance serve, and is the weekly cycle running? For monitoring.

The district's monitoring (Zabbix, Prometheus' blackbox exporter, a Nagios ``check_http``...)
polls this URL. It answers 200 when the database and the Celery broker both answer, and 503 when
either does not, with a JSON body that also reports when the weekly cycle last ran and whether a
step is overdue (beat or the workers stopped) or failed; those make the status "degraded" but keep
the 200, because the site itself still works and people can still report.

The body holds states, week numbers, times and exception class names only: no finding, unit,
person or round title, and never an exception's message (it may name hosts or database users;
that goes to the server log). So it needs no login. A district that exposes the server to other
tenants of a shared government network can require a shared token: set ``DJANGO_HEALTH_TOKEN``
and send it as ``Authorization: Bearer <token>`` (docs/DEPLOYMENT.md, "健康检查").
"""

import datetime
import hmac
import logging
import os
import time

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .version import __version__

logger = logging.getLogger(__name__)

# Seconds to wait for the broker. Monitoring usually gives up after about ten seconds; a broker
# that needs longer than this to accept a connection is not healthy anyway.
BROKER_TIMEOUT = 2
# A step of the weekly cycle may run this long after it is due (beat ticks every quarter hour, a
# busy worker may take a while) before the cycle counts as stuck.
STEP_GRACE = datetime.timedelta(hours=1)
# Failed steps older than this many weeks no longer make the status "degraded": by then the
# office has seen them on the 周工作循环 page and decided what to do.
FAILED_LOOKBACK_WEEKS = 2


def health_token():
    """The shared token, or "" when the endpoint is open.

    Read from the ``HEALTH_TOKEN`` setting when settings.py defines it, otherwise straight from
    the ``DJANGO_HEALTH_TOKEN`` environment variable, so the documented variable works either way.
    """
    token = getattr(settings, "HEALTH_TOKEN", None)
    if token is None:
        token = os.environ.get("DJANGO_HEALTH_TOKEN", "")
    return token or ""


def _token_accepted(request, token):
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer":
        return False
    # Constant time, so the token cannot be guessed one character at a time.
    return hmac.compare_digest(given.strip().encode(), token.encode())


def _elapsed_ms(started):
    return round((time.monotonic() - started) * 1000, 1)


def database_check():
    started = time.monotonic()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    # Whatever goes wrong, the answer is "unhealthy"; what it was goes to the log.
    except Exception as error:  # noqa: BLE001
        logger.warning("health check: database unreachable: %s", error)
        return {"ok": False, "error": type(error).__name__}
    return {"ok": True, "ms": _elapsed_ms(started)}


def broker_check():
    """Open a connection to the Celery broker with kombu and a short timeout."""
    from kombu import Connection

    url = settings.CELERY_BROKER_URL
    options = dict(getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", None) or {})
    if url.split("://", 1)[0] in ("redis", "rediss", "sentinel"):
        # Without these a broker host that drops packets (rather than refusing) blocks for minutes.
        options.setdefault("socket_connect_timeout", BROKER_TIMEOUT)
        options.setdefault("socket_timeout", BROKER_TIMEOUT)
    started = time.monotonic()
    try:
        with Connection(url, connect_timeout=BROKER_TIMEOUT, transport_options=options) as broker:
            broker.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=BROKER_TIMEOUT)
            # Opening a channel is what makes the Redis transport actually talk to the server.
            _channel = broker.default_channel
            transport = broker.transport_cls
    except Exception as error:  # noqa: BLE001
        logger.warning("health check: broker unreachable: %s", error)
        return {"ok": False, "error": type(error).__name__}
    return {"ok": True, "ms": _elapsed_ms(started), "transport": str(transport)}


def weekly_cycle_report(now=None):
    """When the weekly cycle last ran, and whether any step is overdue or failed.

    "Overdue": a step of this or last week whose time came more than STEP_GRACE ago and which has
    not finished, for a round under way; that is what a stopped beat or worker pool looks like.
    """
    from rectification.models import StepState, WeeklyCycle
    from rectification.services.cycle import STEPS, active_rounds, step_due_at
    from rectification.workdays import iso_week_of, week_key

    now = now or timezone.now()
    today = timezone.localdate(now)
    this_week = iso_week_of(today)
    last_week = iso_week_of(today - datetime.timedelta(days=7))
    oldest_counted = iso_week_of(today - datetime.timedelta(days=7 * FAILED_LOOKBACK_WEEKS))

    recent = list(WeeklyCycle.objects.select_related("round").order_by("-iso_year", "-iso_week", "-id")[:50])
    last_run = None
    for cycle in recent:
        for step in STEPS:
            entry = cycle.log.get(step, {})
            finished = entry.get("finished_at") or entry.get("failed_at")
            if finished and (last_run is None or finished > last_run["at"]):
                last_run = {
                    "week": week_key(cycle.iso_year, cycle.iso_week),
                    "step": step,
                    "state": cycle.state_of(step),
                    "at": finished,
                }

    failed = [
        f"{week_key(c.iso_year, c.iso_week)} {step}"
        for c in recent
        if (c.iso_year, c.iso_week) >= oldest_counted
        for step in STEPS
        if c.state_of(step) == StepState.FAILED
    ]

    # The tick creates this week's cycle of every round under way and sweeps every unfinished
    # cycle, so a missing row this week, or a step of this or last week not done long after it
    # was due, means no tick has run. (It never creates rows for past weeks: none missing there.)
    due_checks = [
        (c.round, c.iso_year, c.iso_week, c) for c in recent if (c.iso_year, c.iso_week) in (last_week, this_week)
    ]
    have_this_week = {c.round_id for c in recent if (c.iso_year, c.iso_week) == this_week}
    due_checks += [(r, *this_week, None) for r in active_rounds(today) if r.pk not in have_this_week]
    overdue = set()
    for inspection_round, iso_year, iso_week, cycle in due_checks:
        for step in STEPS:
            state = cycle.state_of(step) if cycle else StepState.PENDING
            if state in (StepState.DONE, StepState.FAILED):
                continue
            if now - step_due_at(inspection_round, iso_year, iso_week, step) > STEP_GRACE:
                overdue.add(f"{week_key(iso_year, iso_week)} {step}")

    return {
        "ok": not failed and not overdue,
        "current_week": week_key(*this_week),
        "last_run": last_run,
        "failed_steps": failed,
        "overdue_steps": sorted(overdue),
    }


@never_cache
@require_GET
def healthz(request):
    token = health_token()
    if token and not _token_accepted(request, token):
        return JsonResponse({"status": "forbidden"}, status=403)

    database = database_check()
    broker = broker_check()
    cycle = None
    if database["ok"]:
        try:
            cycle = weekly_cycle_report()
        except Exception as error:
            logger.exception("health check: weekly cycle report failed")
            cycle = {"ok": False, "error": type(error).__name__}

    if not (database["ok"] and broker["ok"]):
        status, code = "unavailable", 503
    elif cycle is not None and not cycle["ok"]:
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    body = {
        "status": status,
        "version": __version__,
        "time": timezone.localtime().isoformat(timespec="seconds"),
        "checks": {"database": database, "broker": broker},
        "weekly_cycle": cycle,
    }
    return JsonResponse(body, status=code, json_dumps_params={"ensure_ascii": False})
