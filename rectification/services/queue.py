"""The one way a service hands work on: after commit, as a Celery task by name or an e-mail.

Services sit below ``tasks.py`` (which calls them), so they never import it; they name the task
instead. Nothing leaves before the transaction that asked for it has committed, so the worker
always finds the rows it is given, and a rolled-back request sends nothing. E-mail copies of
notices go straight to the mail server rather than through the broker, so a broker that is down
costs nobody their e-mail.
"""

import logging
from dataclasses import dataclass

from celery import current_app
from django.core.mail import send_mail
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


def mail_after_commit(*, subject: str, message: str, to: str) -> None:
    """E-mail one person once the current transaction commits; a mail server that fails loses
    only the copy (the notice itself is in the bell)."""
    transaction.on_commit(
        lambda: send_mail(subject=subject, message=message, from_email=None, recipient_list=[to], fail_silently=True)
    )
