"""Reads for the administrators' pages."""

import datetime
import math
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Max, Q, Sum
from django.utils import timezone

from . import access, audit_catalogue
from .audit import GENESIS, row_hash
from .models import AuditEvent, User


def audit_events_search(*, user, q="", actor="", action="", outcome="", ip="", date_from=None, date_to=None):
    """The audit rows ``user`` may read that match every filter given. The keyword finds the object's
    name, the operator's name and the action by its code or its Chinese name; ``action`` is one code."""
    events = access.audit_events_visible_to(user).select_related("actor").order_by("-id")
    if q:
        keyword = Q(target_repr__icontains=q) | Q(action__icontains=q) | Q(actor__full_name__icontains=q)
        if named := audit_catalogue.actions_named(q):
            keyword |= Q(action__in=named)
        events = events.filter(keyword)
    if actor:
        events = events.filter(actor__username=actor)
    if action:
        events = events.filter(action=action)
    if outcome:
        events = events.filter(outcome=outcome)
    if ip:
        events = events.filter(ip=ip)
    zone = timezone.get_current_timezone()
    if date_from:
        events = events.filter(created_at__gte=datetime.datetime.combine(date_from, datetime.time.min, zone))
    if date_to:
        start_of_next = datetime.datetime.combine(date_to + datetime.timedelta(days=1), datetime.time.min, zone)
        events = events.filter(created_at__lt=start_of_next)
    return events


def locked_accounts(now=None):
    """(username, address) pairs django-axes is refusing right now, with their failures and when the
    lock runs out. The same username may be locked at several addresses and free at others."""
    from axes.models import AccessAttempt

    now = now or timezone.now()
    cool_off = settings.AXES_COOLOFF_TIME
    rows = (
        AccessAttempt.objects.filter(attempt_time__gte=now - cool_off, username__isnull=False)
        .values("username", "ip_address")
        .annotate(failures=Sum("failures_since_start"), last_attempt=Max("attempt_time"))
        .filter(failures__gte=settings.AXES_FAILURE_LIMIT)
        .order_by("-last_attempt")
    )
    rows = list(rows)
    people = User.objects.select_related("unit").in_bulk([r["username"] for r in rows], field_name="username")
    for row in rows:
        row["user"] = people.get(row["username"])
        row["unlocks_at"] = row["last_attempt"] + cool_off
    return rows


def login_failures_at(*, username, ip_address, now=None):
    """Failed attempts of ``username`` from ``ip_address`` that still count towards its lockout."""
    from axes.models import AccessAttempt

    now = now or timezone.now()
    since = now - settings.AXES_COOLOFF_TIME
    attempts = AccessAttempt.objects.filter(username=username, ip_address=ip_address, attempt_time__gte=since)
    return attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0


def login_delay_seconds(*, username, ip_address, now=None):
    """How many more seconds an attempt to sign in as ``username`` from ``ip_address`` must wait.

    The lockout is per (username, address), so guessing one username from many addresses is slowed
    by this instead: from ``LOGIN_DELAY_AFTER_FAILURES`` failures of the username from any address,
    each further attempt waits 1, 2, 4 ... seconds (at most ``LOGIN_DELAY_MAX_SECONDS``) after the
    last failure. An address the person has signed in from before counts only its own last failure,
    so that an attacker elsewhere, failing on purpose, cannot keep the person out even briefly.
    """
    from axes.models import AccessAttempt

    now = now or timezone.now()
    attempts = AccessAttempt.objects.filter(username=username, attempt_time__gte=now - settings.AXES_COOLOFF_TIME)
    summary = attempts.aggregate(total=Sum("failures_since_start"), last=Max("attempt_time"))
    excess = (summary["total"] or 0) - settings.LOGIN_DELAY_AFTER_FAILURES
    if excess < 0:
        return 0
    delay = min(2**excess, settings.LOGIN_DELAY_MAX_SECONDS)
    last = summary["last"]
    if _signed_in_from_before(username=username, ip_address=ip_address):
        last = attempts.filter(ip_address=ip_address).aggregate(last=Max("attempt_time"))["last"]
    if last is None:
        return 0
    return max(0, math.ceil((last + datetime.timedelta(seconds=delay) - now).total_seconds()))


def _signed_in_from_before(*, username, ip_address):
    user_id = User.objects.filter(username=username).values_list("pk", flat=True).first()
    if user_id is None or not ip_address:
        return False
    return AuditEvent.objects.filter(
        action="auth.login", target_type="accounts.user", target_id=str(user_id), ip=ip_address
    ).exists()


def users_for_admin(*, user, page, q=""):
    users = access.users_visible_to(user, page).select_related("unit").prefetch_related("groups").order_by("username")
    if q:
        users = users.filter(Q(username__icontains=q) | Q(full_name__icontains=q) | Q(unit__name__icontains=q))
    return users


def units_for_admin(*, user):
    return access.units_visible_to(user).select_related("parent").order_by("sort_order", "id")


@dataclass
class ChainBreak:
    event_id: int
    reason: str


def chain_verify(queryset=None, *, batch_size=2000):
    """Walk the whole chain in insertion order; return the first broken row, or None if intact."""
    rows = (queryset if queryset is not None else AuditEvent.objects.all()).order_by("id")
    expected_prev = GENESIS
    checked = 0
    for event in rows.iterator(chunk_size=batch_size):
        if event.prev_hash != expected_prev:
            return ChainBreak(event.id, "前一条摘要不符：该记录之前的记录被删除、插入或改动"), checked
        if event.row_hash != row_hash(event.prev_hash, event):
            return ChainBreak(event.id, "本条摘要不符：该记录的内容被改动"), checked
        expected_prev = event.row_hash
        checked += 1
    return None, checked
