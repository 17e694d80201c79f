"""The audit log's hash chain: how a row is hashed, how it is appended, how the chain is checked.

Each row stores ``prev_hash`` (the ``row_hash`` of the row before it, or ``GENESIS`` for the first)
and ``row_hash = HMAC-SHA256(key, prev_hash + canonical content)``, the key being
``settings.AUDIT_CHAIN_KEY``, which lives in the environment, never in the database. Changing any
field of a row afterwards, or removing a row from the middle, makes ``chain_verify`` report that
row, and without the key nobody can recompute hashes that would hide it.

Removing the newest rows, or every row, leaves a shorter chain that is still whole. So the chain
head is *anchored* outside the database: an ``Anchor`` (how many rows, the last row's id and MAC,
when) is appended to a file every day, and ``chain_verify`` checks the rows against each anchor.

Appending reads the last row's hash and inserts after it; two writers doing that at the same
time would both chain onto the same row. So the read happens under a lock held until the
writer's transaction ends: on PostgreSQL a transaction-scoped advisory lock; on SQLite writes
are serialised by the database itself. ``prev_hash`` is unique, so even a missed lock could
never fork the chain: the second writer would fail instead.
"""

import dataclasses
import datetime
import hashlib
import hmac
import ipaddress
import json
import math

from django.conf import settings
from django.db import connection

GENESIS = "0" * 64
# Any fixed number: the key of the advisory lock that serialises appends to the chain.
CHAIN_LOCK_KEY = 7301_2026


def _timestamp(value):
    return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _plain(value):
    """JSON values as any database gives them back: PostgreSQL's jsonb may turn 1e16 into an integer."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _address(value):
    # PostgreSQL stores addresses as ``inet`` and prints IPv6 its own way; compare the address itself.
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return str(value)


def canonical_content(event):
    """The row's content as one exact string: the same bytes on SQLite and PostgreSQL, now and later.

    Works on the model and on the historical model of a migration alike (plain attributes only).
    """
    content = {
        "actor_id": event.actor_id,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "target_repr": event.target_repr,
        "changes": _plain(event.changes),
        "outcome": event.outcome,
        "ip": _address(event.ip),
        "created_at": _timestamp(event.created_at),
    }
    return json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def row_hash(prev_hash, event, *, key=None):
    """The row's MAC: keyed, so a row rewritten without the key cannot be given a matching hash."""
    message = (prev_hash + canonical_content(event)).encode("utf-8")
    return hmac.new(key or settings.AUDIT_CHAIN_KEY, message, hashlib.sha256).hexdigest()


def legacy_row_hash(prev_hash, event):
    """The unkeyed hash of releases before the keyed chain (kept for migrations 0003 and 0007)."""
    return hashlib.sha256((prev_hash + canonical_content(event)).encode("utf-8")).hexdigest()


@dataclasses.dataclass(frozen=True)
class Anchor:
    """The chain head at one moment: ``rows`` rows, the last of them ``last_id`` with ``row_hash``.

    Written as one line of JSON with its own MAC, so a line made up or altered without the key is
    refused when read back."""

    rows: int
    last_id: int | None
    row_hash: str
    at: str

    def _message(self):
        return f"{self.rows}|{self.last_id or 0}|{self.row_hash}|{self.at}".encode()

    def mac(self, key=None):
        return hmac.new(key or settings.AUDIT_CHAIN_KEY, b"anchor|" + self._message(), hashlib.sha256).hexdigest()

    def line(self):
        fields = {**dataclasses.asdict(self), "mac": self.mac()}
        return json.dumps(fields, sort_keys=True, separators=(",", ":"))


class AnchorError(ValueError):
    """A line of an anchor file that is not a valid anchor (its number is in ``line_number``)."""

    def __init__(self, line_number, reason):
        super().__init__(f"锚点文件第 {line_number} 行{reason}")
        self.line_number = line_number


def anchors_read(text):
    """Every anchor in the text of an anchor file, in order; blank lines are skipped.

    A line that is not an anchor, or whose MAC does not match (altered, or made under another key),
    raises ``AnchorError``: an anchor that cannot be trusted must not be silently ignored."""
    anchors = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            fields = json.loads(line)
            anchor = Anchor(
                rows=int(fields["rows"]),
                last_id=int(fields["last_id"]) if fields["last_id"] is not None else None,
                row_hash=str(fields["row_hash"]),
                at=str(fields["at"]),
            )
            mac = str(fields["mac"])
        except (ValueError, KeyError, TypeError) as exc:
            raise AnchorError(number, "不是锚点记录") from exc
        if not hmac.compare_digest(mac, anchor.mac()):
            raise AnchorError(number, "校验码不符：已被改动，或来自另一套系统（密钥不同）")
        anchors.append(anchor)
    return anchors


def _without_nul(value):
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


def normalised_changes(changes):
    """What the JSON column will give back when read: tuples become lists, keys become strings.

    Dates and other objects become their text; NUL characters (refused by PostgreSQL) are dropped.
    """
    return _without_nul(json.loads(json.dumps(changes or {}, ensure_ascii=False, default=str)))


def clean_text(value, limit):
    return str(value).replace("\x00", "")[:limit]


def chain_head_locked():
    """The hash to chain the next row onto. Call inside the transaction that inserts that row."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # ``accounts_auditevent_chain_head()`` (migration 0004) runs
            # ``SELECT pg_advisory_xact_lock(...)`` and then reads the last hash in a statement of its
            # own, which sees everything committed before the lock was granted. The lock is held until
            # this transaction ends, so the next writer reads this writer's row. One round trip, as
            # on SQLite, so pages that write an audit row cost the same number of queries on both.
            cursor.execute("SELECT accounts_auditevent_chain_head()")
        else:
            cursor.execute("SELECT row_hash FROM accounts_auditevent ORDER BY id DESC LIMIT 1")
        row = cursor.fetchone()
    return row[0] if row and row[0] else GENESIS
