"""The office's documents: the 公文 format profile, and the final 简报 kept with its week."""

import hashlib
import uuid

from django.conf import settings
from django.db import transaction

from ..documents.checks import docx_check
from ..models import BriefingFinal, DocumentProfile
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


def briefing_final_upload(*, actor, snapshot, uploaded):
    """Keep the office's edited 简报 with its week; refused (ValidationError) unless a real .docx."""
    docx_check(uploaded)
    stored_name = f"{snapshot.cycle.iso_year}/{uuid.uuid4().hex}.docx"
    path = settings.PRIVATE_MEDIA_ROOT / "briefings" / stored_name
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with open(path, "xb") as out:
        for chunk in uploaded.chunks():
            digest.update(chunk)
            out.write(chunk)
    try:
        with transaction.atomic():
            final = BriefingFinal.objects.create(
                snapshot=snapshot,
                original_name=uploaded.name[:200],
                stored_name=stored_name,
                size=uploaded.size,
                sha256=digest.hexdigest(),
                uploaded_by=actor,
            )
            audit_record(
                actor=actor,
                action="document.briefing_final_upload",
                target=snapshot,
                changes={"file": final.original_name, "sha256": final.sha256},
            )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return final


def briefing_final_downloaded(*, actor, final):
    audit_record(
        actor=actor,
        action="document.briefing_final_download",
        target=final.snapshot,
        changes={"file": final.original_name, "sha256": final.sha256},
    )
