"""Large exports in the background: the request records a job, a worker builds the file with
the requester's own access rights, and the downloads page shows progress and the result."""

import datetime
import logging
import uuid

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from ..access import measures_visible_to
from ..excel import exports
from ..models import ExportJob
from .audit import audit_record
from .queue import task_after_commit

logger = logging.getLogger(__name__)
# A queued job nobody picked up this long (the broker was down) is run by the sweep.
STALE_QUEUED = datetime.timedelta(minutes=2)


def export_is_large(*, user, inspection_round):
    """Whether an export of this round for this user goes to the background."""
    threshold = getattr(settings, "EXPORT_BACKGROUND_MEASURES", 2000)
    return measures_visible_to(user).filter(problem__round=inspection_round).count() > threshold


def job_path(job):
    return settings.PRIVATE_MEDIA_ROOT / "exports" / job.stored_name


def export_job_request(*, actor, inspection_round, kind, params=None):
    job = ExportJob.objects.create(requested_by=actor, round=inspection_round, kind=kind, params=params or {})
    audit_record(actor=actor, action="excel.export_requested", target=job, changes={"kind": kind, **(params or {})})
    task_after_commit("rectification.tasks.run_export_job", job.pk)
    return job


def export_delivered(*, actor, export, inspection_round):
    """Record that ``export`` was handed to ``actor``: one audit row, naming that person."""
    audit_record(actor=actor, action=export.action, target=inspection_round, changes=export.changes)
    return export


def export_job_run(job_id):
    """Build the file. Claimed by a compare-and-set so that a retry never builds it twice."""
    claimed = ExportJob.objects.filter(pk=job_id, state=ExportJob.State.QUEUED).update(
        state=ExportJob.State.RUNNING, progress=10
    )
    if not claimed:
        return None
    job = ExportJob.objects.select_related("requested_by", "round").get(pk=job_id)
    today = timezone.localdate()
    try:
        if job.kind == ExportJob.Kind.LEDGER:
            export = exports.ledger_export(user=job.requested_by, inspection_round=job.round, today=today)
        else:
            export = exports.weekly_export(
                user=job.requested_by,
                inspection_round=job.round,
                iso_year=job.params["iso_year"],
                iso_week=job.params["iso_week"],
                today=today,
            )
        ExportJob.objects.filter(pk=job.pk).update(progress=90)
        job.stored_name = f"{uuid.uuid4().hex}.xlsx"
        path = job_path(job)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(export.content)
    except Exception as error:
        ExportJob.objects.filter(pk=job.pk).update(
            state=ExportJob.State.FAILED,
            error=_("生成失败：%(error)s") % {"error": str(error)[:200]},
            finished_at=timezone.now(),
        )
        raise
    ExportJob.objects.filter(pk=job.pk).update(
        state=ExportJob.State.DONE,
        progress=100,
        file_name=export.filename,
        stored_name=job.stored_name,
        finished_at=timezone.now(),
    )
    return job.pk


def export_jobs_sweep(*, now=None):
    """Run jobs that waited too long in the queue (the broker was down when they were asked for)."""
    now = now or timezone.now()
    ran = []
    for job_id in ExportJob.objects.filter(state=ExportJob.State.QUEUED, created_at__lt=now - STALE_QUEUED).values_list(
        "pk", flat=True
    ):
        try:
            if export_job_run(job_id):
                ran.append(job_id)
        except Exception:  # recorded on the job; the sweep goes on with the others
            logger.exception("export job %s failed", job_id)
    return ran
