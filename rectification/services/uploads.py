"""Uploaded ledgers waiting for the office to confirm the preview.

Nothing is written to the ledger before the office confirms, so the file itself is kept under
the private media root (outside the web root) and the confirm form carries only a signed token
naming it: who uploaded it, into which round, its SHA-256 and the fingerprint of the plan the
office saw. A token is good for two hours and only for the person it was issued to.
"""

import hashlib
import re
import secrets
import time

from django.conf import settings
from django.core import signing
from django.utils.translation import gettext_lazy as _

from ..excel.reading import ImportRefused

TOKEN_SALT = "rectification.excel.import"
TOKEN_MAX_AGE = 2 * 60 * 60
# Files of previews that were never confirmed are removed on the next upload after a day.
STALE_AFTER = 24 * 60 * 60
_NAME = re.compile(r"^[0-9a-f]{32}\.xlsx$")
EXPIRED = _("导入预览已过期或无效，请重新上传文件。")


def _folder():
    return settings.PRIVATE_MEDIA_ROOT / "imports"


def upload_path(name):
    if not _NAME.match(name):
        raise ImportRefused(EXPIRED)
    return _folder() / name


def upload_store(uploaded):
    """Write the upload to a new private file; returns (stored name, SHA-256)."""
    folder = _folder()
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_hex(16)}.xlsx"
    digest = hashlib.sha256()
    uploaded.seek(0)
    with open(folder / name, "xb") as out:
        for chunk in uploaded.chunks():
            digest.update(chunk)
            out.write(chunk)
    return name, digest.hexdigest()


def upload_discard(name):
    if _NAME.match(name):
        (_folder() / name).unlink(missing_ok=True)


def uploads_prune(now=None):
    folder = _folder()
    if not folder.exists():
        return
    limit = (now or time.time()) - STALE_AFTER
    for path in folder.glob("*.xlsx"):
        if path.stat().st_mtime < limit:
            path.unlink(missing_ok=True)


def token_make(*, user, inspection_round, name, file_name, sha256, digest):
    payload = {"u": user.pk, "r": inspection_round.pk, "n": name, "f": file_name, "s": sha256, "d": digest}
    return signing.dumps(payload, salt=TOKEN_SALT, compress=True)


def token_read(token, *, user):
    """The token's payload, or ImportRefused when it is forged, expired, someone else's or its file is gone."""
    try:
        payload = signing.loads(token or "", salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE)
    except signing.BadSignature:
        raise ImportRefused(EXPIRED) from None
    if payload.get("u") != user.pk or not upload_path(payload.get("n", "")).exists():
        raise ImportRefused(EXPIRED)
    return payload
