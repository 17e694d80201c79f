"""The one way a service hands work on: after commit, as a Celery task by name.

Services sit below ``tasks.py`` (which calls them), so they never import it; they name the task
instead. Nothing leaves before the transaction that asked for it has committed, so the worker
always finds the rows it is given, and a rolled-back request sends nothing. Copies of notices by
e-mail, SMS and 企业微信 are rows of the outbox (``services.outbox``), written with the notice: a
broker that is down delays them until the per-minute sweep, and loses none.
"""

import logging
from dataclasses import dataclass

from celery import current_app
from django.db import transaction

logger = logging.getLogger(__name__)


@dataclass
class Queued:
    """What became of a queued task: ``sent`` is None until the transaction commits, then whether
    the broker took the message (outside a transaction that is known as soon as the call returns)."""

    task: str
    sent: bool | None = None


def task_after_commit(name: str, *args: object) -> Queued:
    """Queue ``name`` with ``args`` once the current transaction commits.

    A broker that is down never fails the request: the work is already recorded as pending in the
    database, and the quarter-hourly sweep (``weekly_cycle_tick``) picks it up once it is back.
    """
    queued = Queued(task=name)

    def send() -> None:
        try:
            # By name: the web process need not have imported the tasks module to send one.
            current_app.send_task(name, args=list(args))
        except Exception:  # noqa: BLE001 - a dead broker must not lose the request; the sweep runs it
            logger.warning("%s%r left for the sweep: the broker is unreachable", name, args)
            queued.sent = False
        else:
            queued.sent = True

    transaction.on_commit(send)
    return queued
