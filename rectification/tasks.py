"""Celery tasks: thin wrappers that load by id and call a service.

Both are safe to run twice (the services claim their work atomically), so ``acks_late`` is
on: a worker that dies mid-task has the message redelivered. Time limits stay well below
the Redis visibility timeout so a long step is never handed to a second worker.
"""

from celery import shared_task

from .models import WeeklyCycle
from .services import cycle_tick, step_run


@shared_task(acks_late=True, time_limit=900, soft_time_limit=840)
def weekly_cycle_tick():
    from .services.export_jobs import export_jobs_sweep

    # The quarter-hourly tick also sweeps export jobs a dead broker left in the queue.
    export_jobs_sweep()
    return [list(item) for item in cycle_tick()]


@shared_task(acks_late=True, time_limit=900, soft_time_limit=840)
def run_cycle_step(cycle_id, step, force=False):
    return step_run(WeeklyCycle.objects.select_related("round").get(pk=cycle_id), step, force=force)


@shared_task(acks_late=True, time_limit=900, soft_time_limit=840)
def run_export_job(job_id):
    from .services.export_jobs import export_job_run

    return export_job_run(job_id)


@shared_task(acks_late=True, time_limit=300, soft_time_limit=270)
def outbox_send(notification_ids=None):
    """Send the outbox rows of these notices (after the commit that wrote them)."""
    from .services.outbox import outbox_send as send

    return send(notification_ids)


@shared_task(acks_late=True, time_limit=300, soft_time_limit=270)
def outbox_sweep():
    """Every minute: urgent notices left unread go to the unit head; from the digest hour, the day's
    digests; then the rows due again after a failure, and any a dead broker left behind."""
    from .services.notifications import notices_escalate
    from .services.outbox import digests_write
    from .services.outbox import outbox_send as send

    notices_escalate()
    digests_write()
    return send()
