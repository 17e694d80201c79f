"""The accounts app's scheduled work (thin wrappers around services, see config/celery.py)."""

import logging

from celery import shared_task

from . import anchoring

logger = logging.getLogger(__name__)


@shared_task(name="accounts.tasks.anchor_audit_chain")
def anchor_audit_chain():
    """Daily: append the audit chain's head to the anchor file (settings.AUDIT_ANCHOR_FILE)."""
    try:
        anchor = anchoring.anchor_append()
    except anchoring.ChainBroken as exc:
        # Loud on purpose: the operations guide's monitoring watches for this line.
        logger.error("审计日志哈希链校验未通过，未锚定：%s", exc)
        raise
    return {"rows": anchor.rows, "last_id": anchor.last_id}
