"""Reads for the administrators' pages."""

import datetime
import math
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Max, Prefetch, Q, Sum
from django.utils import timezone

from . import access, audit_catalogue
from .audit import GENESIS, Anchor, row_hash
from .models import AdminApproval, AuditEvent, User


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


def _pending_approvals():
    return Prefetch(
        "approvals",
        queryset=AdminApproval.objects.filter(status=AdminApproval.Status.PENDING).order_by("id"),
        to_attr="pending_approvals",
    )


def users_for_admin(*, user, page, q=""):
    """The accounts of an administrator's page, each with its requests waiting for approval
    (``pending_approvals``: a person whose unit waits for approval belongs to none yet)."""
    users = (
        access.users_visible_to(user, page)
        .select_related("unit")
        .prefetch_related("groups", _pending_approvals())
        .order_by("username")
    )
    if q:
        users = users.filter(Q(username__icontains=q) | Q(full_name__icontains=q) | Q(unit__name__icontains=q))
    return users


def _approvals_listed(approvals):
    return approvals.select_related("target__unit", "requested_by", "decided_by").order_by("-requested_at", "-id")


def approvals_waiting(*, user):
    """待我审批: the requests this administrator may decide, newest first."""
    return _approvals_listed(access.approvals_waiting_for(user))


def approvals_requested(*, user):
    """我的申请: the requests this administrator made, whatever became of them."""
    return _approvals_listed(access.approvals_visible_to(user).filter(requested_by_id=user.pk))


def approvals_waiting_count(*, user):
    return access.approvals_waiting_for(user).count()


def approvals_pending_for_person(*, user, person):
    """The requests about ``person`` still waiting, as the administrator's page about them shows them."""
    return list(
        access.approvals_visible_to(user)
        .filter(target_id=person.pk, status=AdminApproval.Status.PENDING)
        .select_related("requested_by")
        .order_by("id")
    )


def units_for_admin(*, user):
    return access.units_visible_to(user).select_related("parent").order_by("sort_order", "id")


@dataclass
class ChainBreak:
    """Where the chain stops being trustworthy: ``position`` is the row's place in the chain
    (1 = the first row ever written); ``event_id`` is its id, or None for rows that are missing."""

    event_id: int | None
    reason: str
    position: int

    def __str__(self):
        if self.event_id is None:
            return f"链中第 {self.position} 条记录处：{self.reason}"
        return f"第 {self.event_id} 号记录（链中第 {self.position} 条）处：{self.reason}"


def chain_verify(queryset=None, *, anchors=(), batch_size=2000):
    """Walk the whole chain in insertion order, checking each row's link and MAC and, at each
    anchor's position, that the row there is the anchored one; then that no anchored row is missing.

    Returns ``(first break or None, rows checked before it)``."""
    rows = (queryset if queryset is not None else AuditEvent.objects.all()).order_by("id")
    by_position: dict[int, list[Anchor]] = {}
    for anchor in anchors:
        by_position.setdefault(anchor.rows, []).append(anchor)
    expected_prev = GENESIS
    checked = 0
    for event in rows.iterator(chunk_size=batch_size):
        position = checked + 1
        if event.prev_hash != expected_prev:
            reason = "前一条摘要不符：该记录之前的记录被删除、插入或改动"
            return ChainBreak(event.id, reason, position), checked
        if event.row_hash != row_hash(event.prev_hash, event):
            return ChainBreak(event.id, "本条摘要不符：该记录的内容被改动", position), checked
        for anchor in by_position.get(position, ()):
            if (anchor.last_id, anchor.row_hash) != (event.id, event.row_hash):
                reason = (
                    f"与 {anchor.at} 的锚点不符（锚定时该处为第 {anchor.last_id} 号记录，校验码不同）："
                    "锚定之前的记录被改写或替换"
                )
                return ChainBreak(event.id, reason, position), checked
        expected_prev = event.row_hash
        checked += 1
    longest = max((anchor for anchor in anchors if anchor.rows > checked), key=lambda a: a.rows, default=None)
    if longest is not None:
        reason = (
            f"记录缺失：{longest.at} 的锚点记有 {longest.rows} 条（最后一条为第 {longest.last_id} 号），"
            f"现只有 {checked} 条，其后的记录被删除或整表被清空"
        )
        return ChainBreak(None, reason, checked + 1), checked
    return None, checked


def chain_anchor():
    """The chain head now, as an anchor to keep outside the database."""
    last = AuditEvent.objects.order_by("-id").values_list("id", "row_hash").first()
    at = timezone.now().astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if last is None:
        return Anchor(rows=0, last_id=None, row_hash=GENESIS, at=at)
    return Anchor(rows=AuditEvent.objects.filter(id__lte=last[0]).count(), last_id=last[0], row_hash=last[1], at=at)
