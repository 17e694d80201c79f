"""Audit rows of the findings' work: acts, not findings.

The audit administrator reads every row of the audit log and may read no finding (三员分立). So
the rows the findings' code writes say who did what to which object (its type and code or id),
when and from where, and which fields changed; a finding's text (a problem's wording, a report's
progress, a reason, a reply, a comment) is kept as its SHA-256 and length: enough to prove later
that a text was or was not the one written, and nothing to read. Everything in ``rectification``
writes its audit rows through here (a test checks it).
"""

import hashlib

from accounts.services import audit_record as _audit_record
from accounts.services import audit_record_many as _audit_record_many

from ..models import (
    CloseOutRequest,
    ExportJob,
    InspectionRound,
    MeasureChangeRequest,
    MissedReport,
    Penalty,
    ProgressReport,
    SupervisionNotice,
    Track,
    WeeklyCycle,
    WeeklySnapshot,
)

# Values under these keys are codes, states, dates, counts, units, people and files: the act
# itself. Any other text is a finding's and is stored as its digest.
ACT_KEYS = frozenset(
    {
        "code",
        "step",
        "kind",
        "state",
        "week",
        "cycle",
        "version",
        "file",
        "files",
        "sha256",
        "size",
        "unit",
        "owner_unit",
        "lead_unit",
        "lead_official",
        "responsible_leaders",
        "responsible_units",
        "measure",
        "measures",
        "order",
        "reports",
        "late",
        "locked",
        "errors",
        "user",
        "role",
        "handler",
        "start_date",
        "due_date",
        "done_on",
        "report_deadline",
        "after_deadline_cadence",
        "look_back_date",
        "amount_wan",
        "doc_number",
        "problems_created",
        "problems_updated",
        "problems_unchanged",
        "measures_created",
        "measures_updated",
        "measures_unchanged",
        "measures_withdrawn",
        "aspects_created",
        "problems",
        "rows",
        "reported",
        "iso_year",
        "iso_week",
        "date",
        "end_date",
        "year",
        "holiday",
        # Names as a ledger writes them, headers and their mapping: no finding's text.
        "written",
        "header",
        "mapped_as",
        "units",
        "leaders",
        "recipients",
        "channel",
        "platform",
        "secrets_replaced",
        # The 公文 format's settings (margins, fonts), [before, after] per field.
        "format",
    }
)
# Objects whose own name is already a code, a week or a unit: shown as they are.
NAMED_BY_CODE = (
    CloseOutRequest, ExportJob, InspectionRound, MeasureChangeRequest, MissedReport, Penalty, ProgressReport,
    SupervisionNotice, Track, WeeklyCycle, WeeklySnapshot,
)  # fmt: skip


def text_digest(text):
    """What the audit log keeps of a finding's text."""
    text = str(text)
    return {"sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(), "length": len(text)}


def acts_only(value, key=None):
    """``value`` with every string that is not an act replaced by its digest (recursively)."""
    if isinstance(value, dict):
        return {name: acts_only(item, name if key not in ACT_KEYS else key) for name, item in value.items()}
    if isinstance(value, list | tuple):
        return [acts_only(item, key) for item in value]
    if isinstance(value, str) and key not in ACT_KEYS:
        return text_digest(value)
    return value


def audit_label(obj):
    """How an object is named in the audit log: by its code, never by its text."""
    if obj is None:
        return ""
    if isinstance(obj, NAMED_BY_CODE):
        return str(obj)
    # By code, else by its number in its list (an aspect, a manifestation), else by id.
    number = getattr(obj, "code", "") or getattr(obj, "seq", "") or f"#{obj.pk}"
    return f"{obj._meta.verbose_name} {number}"


def audit_record(*, actor, action, target=None, changes=None, **extra):
    return _audit_record(
        actor=actor,
        action=action,
        target=target,
        changes=acts_only(changes or {}),
        target_repr=extra.pop("target_repr", "") or audit_label(target),
        **extra,
    )


def audit_record_many(*, actor, entries):
    return _audit_record_many(
        actor=actor,
        entries=[(action, target, acts_only(changes or {})) for action, target, changes in entries],
        labels=[audit_label(target) for _action, target, _changes in entries],
    )
