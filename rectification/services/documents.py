"""The office's documents: the 公文 format profile, the final 简报 kept with its week and the final
整改情况报告 kept with its round."""

import hashlib
import uuid

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import access
from ..documents.checks import docx_check
from ..models import BriefingFinal, DocumentProfile, FinalReportFinal, Release
from .audit import audit_record


def document_profile():
    """The district's 公文 format: the saved one, else the standard's defaults (not saved until edited)."""
    return DocumentProfile.objects.order_by("pk").first() or DocumentProfile()


def document_profile_update(*, actor, profile, data):
    """Save the profile with ``data`` (field name → value); the audit row holds each change as [before, after]."""
    changes = {}
    for name, value in data.items():
        before = getattr(profile, name)
        if before != value:
            changes[name] = [str(before), str(value)]
        setattr(profile, name, value)
    profile.full_clean(exclude=["updated_by"])
    profile.updated_by = actor
    with transaction.atomic():
        profile.save()
        audit_record(actor=actor, action="document.profile_update", target=profile, changes={"format": changes})
    return profile


def document_delivered(*, actor, export, target):
    """A drafted document handed to ``actor``: one audit row naming the file."""
    audit_record(actor=actor, action=export.action, target=target, changes={"file": export.filename, **export.changes})


def briefing_path(final):
    return settings.PRIVATE_MEDIA_ROOT / "briefings" / final.stored_name


def final_report_path(final):
    return settings.PRIVATE_MEDIA_ROOT / "final-reports" / final.stored_name


def _docx_keep(*, actor, uploaded, folder, year, create, action, target):
    """Check ``uploaded`` is a real .docx, store it under ``folder``/``year`` and, in one transaction,
    write its row (``create(stored_name, sha256)``) and the audit row; the file is removed again if
    the rows are not written, so nothing is half-kept."""
    docx_check(uploaded)
    stored_name = f"{year}/{uuid.uuid4().hex}.docx"
    path = settings.PRIVATE_MEDIA_ROOT / folder / stored_name
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with open(path, "xb") as out:
        for chunk in uploaded.chunks():
            digest.update(chunk)
            out.write(chunk)
    try:
        with transaction.atomic():
            final = create(stored_name, digest.hexdigest())
            audit_record(
                actor=actor, action=action, target=target, changes={"file": final.original_name, "sha256": final.sha256}
            )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return final


def briefing_final_upload(*, actor, snapshot, uploaded):
    """Keep the office's edited 简报 with its week; refused (ValidationError) unless a real .docx."""
    return _docx_keep(
        actor=actor,
        uploaded=uploaded,
        folder="briefings",
        year=snapshot.cycle.iso_year,
        create=lambda stored_name, sha256: BriefingFinal.objects.create(
            snapshot=snapshot,
            original_name=uploaded.name[:200],
            stored_name=stored_name,
            size=uploaded.size,
            sha256=sha256,
            uploaded_by=actor,
        ),
        action="document.briefing_final_upload",
        target=snapshot,
    )


def final_report_final_upload(*, actor, inspection_round, uploaded):
    """Keep the office's edited 整改情况报告 with its round; the same checks as the 简报's final."""
    if not access.may_write_documents(actor):
        raise PermissionDenied(_("只有整改办可以上传整改情况报告定稿。"))
    # What the province was sent stays the round's final: a later upload could be taken for it.
    if Release.objects.filter(round=inspection_round, kind=Release.Kind.FINAL_REPORT).exists():
        raise ValidationError(_("本轮整改情况报告已报送省巡视组，不能再上传定稿。"))
    return _docx_keep(
        actor=actor,
        uploaded=uploaded,
        folder="final-reports",
        year=timezone.localdate().year,
        create=lambda stored_name, sha256: FinalReportFinal.objects.create(
            round=inspection_round,
            original_name=uploaded.name[:200],
            stored_name=stored_name,
            size=uploaded.size,
            sha256=sha256,
            uploaded_by=actor,
        ),
        action="document.final_report_final_upload",
        target=inspection_round,
    )


def final_report_final_downloaded(*, actor, final):
    audit_record(
        actor=actor,
        action="document.final_report_final_download",
        target=final.round,
        changes={"file": final.original_name, "sha256": final.sha256},
    )


def briefing_final_downloaded(*, actor, final):
    audit_record(
        actor=actor,
        action="document.briefing_final_download",
        target=final.snapshot,
        changes={"file": final.original_name, "sha256": final.sha256},
    )
