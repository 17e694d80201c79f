"""Navigation badges and dashboard figures cached per process, never stale: generations.

The badges (待我审核, 待认领, 督办单, the bell's unread count) are on every page and the office
dashboard's aggregates are costly, so each process keeps them in a small memory cache, keyed by
the person (or round and filter) *and the generations of the scopes the value depends on*. A
generation is a row of ``Generation``: a random number, replaced after every committed write that
can change what its scope shows. A request reads the generations it needs in one indexed query;
a value cached under older generations is simply never looked up again.

Which writes bump which scope is decided here, from the SQL itself: every connection runs its
statements through ``_on_statement``, which maps an INSERT, UPDATE or DELETE on a table to its
scopes (an UPDATE by the columns it sets, so a weekly report's new percent does not clear the
close-out badges). Services, the admin, bulk_create, queryset.update(), cascades, the Celery
worker and raw SQL all pass there, so no write path can forget to invalidate.

Why after the commit rather than inside the writing transaction: a bump inside it would hold the
scope's row lock until the commit, serialising every writer (a ten-second dispatch would stall
every liaison) and deadlocking two transactions that touch a measure and the row in opposite
orders. Bumping just after the commit is as safe, because the order is what matters: the data is
committed *before* the new number exists, so whoever reads the new number computes with the new
data; whoever read the old number in between computed with data at least as new as the number,
which is never stale. While a transaction has written and not yet committed, its own process reads
around the cache (``_dirty``), so uncommitted or rolled-back rows are never cached. A process
killed between the commit and the bump (a few microseconds) would leave the old number: entries
also expire after ``TTL`` seconds, the only bound that case has.

The bell's unread count is per person: the notification services bump ``user:<id>`` for the
people they write to (``per_user``), and any other write to the notifications bumps everyone's.

A whole page (the worklist, ``page``) is kept the same way, per person and day under every
generation at once, and shared by the web server's processes through Redis when
``settings.PAGE_CACHE_URL`` is set: the generations are random numbers read from the database, so a
page kept by one process under them is as good for another.
"""

import hashlib
import logging
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.contrib.messages import get_messages
from django.core.cache import caches
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate, pre_migrate
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.utils import timezone

from .models import Generation

logger = logging.getLogger(__name__)

# Entries are dropped after this many seconds even when no write came (see the module's note).
TTL = 600

# scope -> the columns whose UPDATE changes it (None: any write to the table).
ANY = None
ACCESS = "access"
CLOSEOUT = "closeout"
NOTICES = "notices"
CLAIMS = "claims"
NOTIFY = "notify"
WORK = "work"
BADGE_SCOPES = (ACCESS, CLOSEOUT, NOTICES, CLAIMS, NOTIFY)
# Every shared scope: bumping them all (and ACCESS empties every key) follows a write made past the
# application, e.g. by psql (docs/OPERATIONS.md 6.1).
ALL_SCOPES = (*BADGE_SCOPES, WORK)
# What the findings' pages (the dashboard, a worklist) depend on: who sees what, and the findings.
WORK_SCOPES = (ACCESS, WORK)

# Who may see and do what: roles, units, groups, object permissions, track offices, rounds. Every
# cached value depends on it.
_ACCESS_TABLES = (
    "accounts_unit",
    "accounts_user_groups",
    "accounts_user_user_permissions",
    "accounts_namealias",
    "accounts_adminapproval",
    "auth_group",
    "auth_group_permissions",
    "auth_permission",
    "guardian_groupobjectpermission",
    "guardian_userobjectpermission",
    "rectification_problemuserobjectpermission",
    "rectification_problemgroupobjectpermission",
    "rectification_measureuserobjectpermission",
    "rectification_measuregroupobjectpermission",
    "rectification_roundmember",
    "rectification_track",
    "rectification_inspectionround",
)
# A person's row: anything but signing in (the password, its date, the second factor), the guides put
# away and the quiet hours changes what they or others are shown.
_USER_COLUMNS_IGNORED = {
    "last_login",
    "password",
    "password_changed_at",
    "totp_secret",
    "totp_confirmed_at",
    "totp_last_step",
    "guides_dismissed",
    "channels_off",
    "quiet_from",
    "quiet_until",
}
# Tables whose writes change no badge and no dashboard figure.
_NOT_WORK = {
    "rectification_generation",
    "rectification_notification",
    "rectification_outboxmessage",
    "rectification_exportjob",
    "rectification_channelsetup",
    "rectification_grouprobot",
    "rectification_importcolumnmapping",
    "rectification_documentprofile",
}
_MEASURE_PLACE = frozenset({"problem_id", "owner_unit_id"})
SCOPES_BY_TABLE: dict[str, dict[str, frozenset[str] | None]] = {
    **{table: {ACCESS: ANY} for table in _ACCESS_TABLES},
    "rectification_closeoutrequest": {CLOSEOUT: ANY},
    "rectification_problem": {CLOSEOUT: frozenset({"round_id", "track_id", "lead_official_id", "lead_unit_id"})},
    "rectification_problem_responsible_leaders": {CLOSEOUT: ANY},
    "rectification_measure": {
        CLOSEOUT: _MEASURE_PLACE,
        NOTICES: _MEASURE_PLACE,
        CLAIMS: _MEASURE_PLACE | {"claim_state"},
    },
    "rectification_supervisionnotice": {NOTICES: ANY},
    "rectification_notification": {NOTIFY: frozenset({"recipient_id", "read_at"})},
}

# SQLite's bulk_create(ignore_conflicts=True) writes ``INSERT OR IGNORE INTO``.
_WRITE = re.compile(r'\s*(INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.IGNORECASE)
# A statement's first six letters that make it a write (TRUNCATE changes everything).
WRITE_WORDS = ("INSERT", "UPDATE", "DELETE", "TRUNCA")
# The tables of the installed apps; a write to any other name was not read right.
_KNOWN_PREFIXES = ("rectification_", "accounts_", "auth_", "guardian_", "django_", "axes_")
_SET_COLUMN = re.compile(r'"(\w+)"\s*=')


def _set_columns(rest: str) -> set[str]:
    """The columns an UPDATE sets: its ``"name" =`` outside parentheses and before the WHERE (a
    subquery's columns are not set; reading them too would only bump more)."""
    outside, depth, quoted = [], 0, False
    for char in rest:
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        outside.append(char if depth == 0 and not quoted else " ")
    top = "".join(outside)
    where = re.search(r"\sWHERE\s", top, re.IGNORECASE)
    return set(_SET_COLUMN.findall(top[: where.start()] if where else top))


def scopes_written(sql: str) -> set[str]:
    """The scopes an SQL statement changes: empty for a read or a table no badge depends on.

    An UPDATE counts by the columns it sets; any other write by its table."""
    match = _WRITE.match(sql)
    if match is None:
        # A write this reading does not follow changes anything, as far as it knows.
        return {*ALL_SCOPES} if sql[:32].lstrip()[:6].upper() in WRITE_WORDS else set()
    table = match.group(2).lower()
    if not table.startswith(_KNOWN_PREFIXES):
        return {*ALL_SCOPES}
    columns = None
    if match.group(1).upper() == "UPDATE":
        columns = _set_columns(sql[match.end() :])
    scopes: set[str] = set()
    if table == "accounts_user":
        if columns is None or columns - _USER_COLUMNS_IGNORED:
            scopes.add(ACCESS)
    elif table.startswith("rectification_") and table not in _NOT_WORK:
        scopes.add(WORK)
    for scope, wanted in SCOPES_BY_TABLE.get(table, {}).items():
        if wanted is ANY or columns is None or columns & wanted:
            scopes.add(scope)
    if ACCESS in scopes:
        scopes.add(WORK)
    return scopes


class _State(threading.local):
    def __init__(self):
        # alias -> the scopes written by its open transaction, bumped when it commits.
        self.pending: dict[str, set[str]] = {}
        # scopes whose writes a service bumps itself, more narrowly (``per_user``).
        self.owned: set[str] = set()
        # ``migrate`` is running: its writes are not followed one by one (the table of generations
        # may not exist yet); everything is bumped once it has finished.
        self.migrating = False


_state = _State()


def bump(scopes: Iterable[str], using: str = DEFAULT_DB_ALIAS) -> None:
    """Give each scope a new generation now (one statement; rows in a fixed order, so two bumps
    never wait for each other crosswise)."""
    ordered = sorted(set(scopes))
    if not ordered:
        return
    rows = ", ".join(["(%s, %s)"] * len(ordered))
    params: list[Any] = []
    for scope in ordered:
        params += [scope, secrets.randbits(62)]
    table = Generation._meta.db_table
    connection = connections[using]
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (scope, value) VALUES {rows} ON CONFLICT (scope) DO UPDATE SET value = excluded.value",
                params,
            )
    except DatabaseError:
        # A database migrated back to before the table of generations (a downgrade, the audit
        # chain's upgrade tests) has nothing to bump; any other failure is raised. Bumps run outside
        # a transaction (after its commit), so the failed statement spoils nothing.
        if table in connection.introspection.table_names():
            raise


def _flush(using: str) -> None:
    scopes = _state.pending.pop(using, None)
    if scopes:
        bump(scopes, using)


def touch(scopes: Iterable[str], using: str = DEFAULT_DB_ALIAS) -> None:
    """Mark scopes changed by the current write: bumped when its transaction commits (at once
    outside a transaction, where the write is already committed)."""
    scopes = set(scopes)
    if not scopes:
        return
    connection = connections[using]
    if not connection.in_atomic_block:
        bump(scopes, using)
        return
    _state.pending.setdefault(using, set()).update(scopes)
    # Once per write: a callback registered in a savepoint that is rolled back is dropped with it,
    # so each write registers its own; the first to run bumps them all, the rest find nothing.
    transaction.on_commit(lambda: _flush(using), using=using, robust=True)


def _on_statement(execute, sql, params, many, context):
    result = execute(sql, params, many, context)
    if _state.migrating:
        return result
    text = sql if isinstance(sql, str) else str(sql)
    # Only the head of the statement is looked at for a read (a long IN list is not copied).
    if text[:32].lstrip()[:6].upper() in WRITE_WORDS:
        scopes = scopes_written(text) - _state.owned
        if scopes:
            touch(scopes, context["connection"].alias)
    return result


def install(connection, **kwargs):
    """Run every statement of ``connection`` through ``_on_statement`` (once)."""
    if _on_statement not in connection.execute_wrappers:
        connection.execute_wrappers.append(_on_statement)


def _migrate_started(using=DEFAULT_DB_ALIAS, **kwargs):
    _state.migrating = True
    _state.pending.pop(using, None)


def _migrate_finished(using=DEFAULT_DB_ALIAS, **kwargs):
    """After ``migrate`` every shared scope changes once, if the table of generations is there (a
    migration back to before it leaves nothing to bump)."""
    if not _state.migrating:
        return
    _state.migrating = False
    connection = connections[using]
    if Generation._meta.db_table in connection.introspection.table_names():
        bump(ALL_SCOPES, using)


def connect() -> None:
    """Called once at start-up (``apps.ready``): every connection, present and future, reports its writes."""
    connection_created.connect(install, dispatch_uid="rectification.counters.install")
    pre_migrate.connect(_migrate_started, dispatch_uid="rectification.counters.migrate_started")
    post_migrate.connect(_migrate_finished, dispatch_uid="rectification.counters.migrate_finished")
    for connection in connections.all(initialized_only=True):
        install(connection)


@contextmanager
def per_user(scope: str = NOTIFY):
    """Writes inside bump no ``scope`` for everyone: the caller ``touch``es each person's scope."""
    already = scope in _state.owned
    _state.owned.add(scope)
    try:
        yield
    finally:
        if not already:
            _state.owned.discard(scope)


def user_scope(user_id: int) -> str:
    return f"user:{user_id}"


def _dirty(using: str = DEFAULT_DB_ALIAS) -> bool:
    """Whether this process's open transaction has written (its rows are not everyone's yet)."""
    if not connections[using].in_atomic_block:
        # A transaction rolled back runs no callback: what it left pending bumps nothing.
        _state.pending.pop(using, None)
        return False
    return bool(_state.pending.get(using))


class _Store:
    """A bounded least-recently-used memory of this process: key -> (expiry, value)."""

    def __init__(self, size: int):
        self.size = size
        self.entries: OrderedDict[Any, tuple[float, Any]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key):
        with self.lock:
            entry = self.entries.get(key)
            if entry is None or entry[0] < time.monotonic():
                return None
            self.entries.move_to_end(key)
            return entry

    def put(self, key, value):
        with self.lock:
            self.entries[key] = (time.monotonic() + TTL, value)
            self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)

    def clear(self):
        with self.lock:
            self.entries.clear()


_badges = _Store(20_000)
_figures = _Store(64)
# A liaison's worklist rows, rendered: one entry per person and day (a busy unit's is ~0.5 MB).
_pages = _Store(1_000)
# Whole pages as a person was shown them (``page``): one entry per person and page.
_whole_pages = _Store(1_000)


def forget() -> None:
    """Empty this process's memory (the tests do, since their database is rolled back under it)."""
    _badges.clear()
    _figures.clear()
    _pages.clear()
    _whole_pages.clear()


class Generations:
    """The generations one request needs, read lazily in one query, and the values cached under them."""

    def __init__(self, scopes: Iterable[str], using: str = DEFAULT_DB_ALIAS):
        self.scopes = tuple(sorted(set(scopes)))
        self.using = using
        self._values: dict[str, int] | None = None

    def _read(self) -> dict[str, int]:
        if self._values is None:
            found = dict(
                Generation.objects.using(self.using).filter(scope__in=self.scopes).values_list("scope", "value")
            )
            self._values = {scope: found.get(scope, 0) for scope in self.scopes}
        return self._values

    def cached(
        self, name: str, key: Any, scopes: Iterable[str], compute: Callable[[], Any], *, large=False, page=False
    ):
        """``compute()``, or the value it gave under the same generations of ``scopes``."""
        if _dirty(self.using):
            return compute()
        values = self._read()
        full_key = (name, key, tuple((scope, values[scope]) for scope in sorted(set(scopes))))
        store = _pages if page else _figures if large else _badges
        entry = store.get(full_key)
        if entry is not None:
            return entry[1]
        value = compute()
        store.put(full_key, value)
        return value


def of_request(request) -> Generations:
    """Every generation a page may need, the shared scopes and the person's own, read together in one
    query the first time the request asks (the badges, the worklist, the dashboard, ``page``)."""
    generations = getattr(request, "_generations", None)
    if generations is None:
        generations = Generations((*ALL_SCOPES, user_scope(request.user.pk)))
        request._generations = generations
    return generations


# The hidden CSRF field of a form: its value differs per request, so a page is kept without it.
_CSRF_FIELD = re.compile(rb'(name="csrfmiddlewaretoken" value=")[^"]*(")')
_CSRF_MARK = b"\x00csrf\x00"


def _person(user) -> tuple:
    """Everything of the person's own row (name, unit, roles' row fields, guides put away): read by
    every request anyway, so a change to any of it is a new page without a generation."""
    values = (field.value_from_object(user) for field in user._meta.concrete_fields)
    # A list or a mapping (the guides put away, the channels turned off) is kept as its text.
    return tuple(repr(value) if isinstance(value, list | dict) else value for value in values)


def page(request, name: str, render: Callable[[], HttpResponse]) -> HttpResponse:
    """A GET page as ``render()`` wrote it for this person, or as it wrote it before under the same
    generations of every scope (the findings, who sees what, the badges, the person's notices), the
    same day, language and row of the person: any committed write anyone makes that could change
    what the page shows (its rows, its menu's counts, the bell) gives a new page.

    Only for a page that reads nothing but the person, the day and the database: no query string
    (a page per made-up query would fill the memory), no message waiting to be shown, no write of
    this process's own still uncommitted. The CSRF field is put back with this request's token."""
    if request.method != "GET" or request.GET or _dirty() or len(get_messages(request)):
        return render()
    values = of_request(request)._read()
    user = request.user
    key = (
        name,
        user.pk,
        _person(user),
        request.path,
        getattr(request, "LANGUAGE_CODE", ""),
        request.headers.get("HX-Request"),
        timezone.localdate(),
        tuple(sorted(values.items())),
    )
    entry = _whole_pages.get(key)
    kept = entry[1] if entry is not None else _shared_get(key)
    if kept is not None:
        if entry is None:
            _whole_pages.put(key, kept)
        content_type, parts = kept
        token = get_token(request).encode() if len(parts) > 1 else b""
        return HttpResponse(token.join(parts), content_type=content_type)
    response = render()
    if response.status_code == 200 and not response.streaming and not response.cookies:
        body = _CSRF_FIELD.sub(rb"\1" + _CSRF_MARK + rb"\2", response.content)
        kept = (response["Content-Type"], body.split(_CSRF_MARK))
        _whole_pages.put(key, kept)
        _shared_put(key, kept)
    return response


# The cache the web server's processes share (settings.PAGE_CACHE_URL), if there is one.
SHARED_PAGES = "pages"


def _shared_key(key) -> str:
    return hashlib.sha256(repr(key).encode()).hexdigest()


def _shared_get(key):
    if SHARED_PAGES not in settings.CACHES:
        return None
    try:
        return caches[SHARED_PAGES].get(_shared_key(key))
    except Exception:  # whatever the cache server did, the page is written here instead
        logger.warning("the shared page cache did not answer; the page is written here", exc_info=True)
        return None


def _shared_put(key, kept) -> None:
    if SHARED_PAGES not in settings.CACHES:
        return
    try:
        caches[SHARED_PAGES].set(_shared_key(key), kept, TTL)
    except Exception:  # a page not shared is written again by the next process
        logger.warning("the shared page cache did not take a page", exc_info=True)


def figures() -> Generations:
    """The generations behind the office dashboard's figures."""
    return Generations(WORK_SCOPES)
