"""Keeping the audit chain's head outside the database, and checking the chain against it.

The anchor file (``settings.AUDIT_ANCHOR_FILE``) only ever grows: one line per anchor, appended
with ``O_APPEND`` and flushed to disk. The 审计管理员 keeps copies of it (and of the anchor printed
in each export), so deleting the newest audit rows or emptying the table is found by
``verify_audit_chain`` even by someone who can rewrite the database.
"""

import os
from pathlib import Path

from django.conf import settings
from django.db import transaction

from . import audit, selectors, services


class ChainBroken(Exception):
    """The chain does not verify, so its head is not anchored (that would bless the damage)."""

    def __init__(self, broken):
        super().__init__(str(broken))
        self.broken = broken


def anchor_path(path=None):
    return Path(path or settings.AUDIT_ANCHOR_FILE)


def anchors_from_file(path=None):
    """The anchors in the file, oldest first; none if the file does not exist yet."""
    path = anchor_path(path)
    if not path.exists():
        return []
    return audit.anchors_read(path.read_text(encoding="utf-8"))


def chain_verify_anchored(paths=()):
    """``chain_verify`` against every anchor in the given files (the configured file by default)."""
    anchors = []
    for path in paths or [None]:
        anchors.extend(anchors_from_file(path))
    return selectors.chain_verify(anchors=anchors), len(anchors)


def anchor_append(path=None):
    """Check the chain against the anchors so far, record the act, and append the new head.

    Raises ``ChainBroken`` (and appends nothing) when the chain does not verify."""
    path = anchor_path(path)
    (broken, checked), _count = chain_verify_anchored([path] if path.exists() else [])
    if broken is not None:
        raise ChainBroken(broken)
    with transaction.atomic():
        services.audit_record(
            actor=None,
            action="audit.anchor",
            target=None,
            target_type="accounts.auditevent",
            target_repr="审计日志链头锚定",
            changes={"rows_checked": checked},
        )
    anchor = selectors.chain_anchor()
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(descriptor, (anchor.line() + "\n").encode("utf-8"))
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    return anchor
