"""The one way a service hands work to the background: a Celery task, by name, after commit.

Services sit below ``tasks.py`` (which calls them), so they never import it; they name the task
instead. The message is sent only once the transaction that asked for it has committed, so the
worker always finds the rows it is given, and a rolled-back request queues nothing.
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
            current_app.tasks[name].delay(*args)
        except Exception:  # noqa: BLE001 - a dead broker must not lose the request; the sweep runs it
            logger.warning("%s%r left for the sweep: the broker is unreachable", name, args)
            queued.sent = False
        else:
            queued.sent = True

    transaction.on_commit(send)
    return queued
