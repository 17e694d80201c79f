"""Every write about people, units, roles and accounts, each with its audit row."""

import hashlib
import logging

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import access, audit, crypto, totp
from .middleware import current_client_ip
from .models import AdminApproval, AuditEvent, Unit, User
from .roles import Role
from .ui import masked

logger = logging.getLogger(__name__)

# Actions whose name says they failed are recorded with outcome "failure" unless told otherwise,
# so existing callers (e.g. "closeout.leader.password_failed") need no change.
_FAILURE_SUFFIXES = ("failed", "refused", "denied")


def _audit_event(*, actor, action, target, changes, outcome, target_type, target_repr, ip):
    """An unsaved, unchained audit row: what ``audit_record`` and ``audit_record_many`` append."""
    if target is not None:
        # A caller may name the target itself (the findings' code names it by its code, not its text).
        target_type, target_id, target_repr = target._meta.label_lower, str(target.pk), target_repr or str(target)
    else:
        target_id = ""
    if outcome is None:
        failed = action.rsplit(".", 1)[-1].endswith(_FAILURE_SUFFIXES)
        outcome = AuditEvent.Outcome.FAILURE if failed else AuditEvent.Outcome.SUCCESS
    return AuditEvent(
        actor=actor if actor is not None and actor.pk else None,
        action=audit.clean_text(action, 60),
        target_type=audit.clean_text(target_type, 60),
        target_id=audit.clean_text(target_id, 40),
        target_repr=audit.clean_text(target_repr, 200),
        changes=audit.normalised_changes(changes),
        outcome=outcome,
        ip=ip,
    )


def _chained(event, prev_hash):
    event.prev_hash = prev_hash
    # Stamped after the lock, so that time order and chain order agree.
    event.created_at = timezone.now()
    event.row_hash = audit.row_hash(event.prev_hash, event)
    return event


def audit_record(*, actor, action, target=None, changes=None, outcome=None, target_type="", target_repr=""):
    """Append one audit row in the caller's transaction; ``target`` is any model instance.

    Without a model instance (e.g. a failed login for an unknown name), pass ``target_type`` and
    ``target_repr`` instead. The client's address comes from ``RequestContextMiddleware``.
    """
    event = _audit_event(
        actor=actor,
        action=action,
        target=target,
        changes=changes,
        outcome=outcome,
        target_type=target_type,
        target_repr=target_repr,
        ip=current_client_ip(),
    )
    # The chain lock must be held until the row is committed, so the read of the last hash and the
    # insert share one transaction (the caller's if there is one; no savepoint: no extra query).
    with transaction.atomic(savepoint=False):
        _chained(event, audit.chain_head_locked()).save()
    return event


def audit_record_many(*, actor, entries, labels=None):
    """``audit_record`` for many rows by one actor: one lock, one read of the chain head, one insert.

    ``entries`` are ``(action, target, changes)`` triples, ``target`` a saved model instance. The
    rows are chained in the given order, each onto the one before, exactly as that many calls of
    ``audit_record`` would chain them, so ``chain_verify`` cannot tell the difference. ``labels``,
    when given, name the targets (one per entry), as ``target_repr`` does for ``audit_record``.
    """
    ip = current_client_ip()
    entries = list(entries)
    labels = list(labels) if labels is not None else [""] * len(entries)
    events = [
        _audit_event(
            actor=actor,
            action=action,
            target=target,
            changes=changes,
            outcome=None,
            target_type="",
            target_repr=label,
            ip=ip,
        )
        for (action, target, changes), label in zip(entries, labels, strict=True)
    ]
    if not events:
        return []
    with transaction.atomic(savepoint=False):
        prev_hash = audit.chain_head_locked()
        for event in events:
            prev_hash = _chained(event, prev_hash).row_hash
        AuditEvent.objects.all()._chained_insert(events)
    return events


def user_guide_dismiss(*, user, guide):
    """The person puts away a first-week guide (a chapter name such as "01-liaison"): their own
    preference, like the notification channels, so no audit row."""
    if guide not in user.guides_dismissed:
        user.guides_dismissed = [*user.guides_dismissed, guide]
        user.save(update_fields=["guides_dismissed"])


def _unit_group_name(name):
    return f"unit:{name}"


@transaction.atomic
def unit_create(*, actor, name, level, kind, short_name="", parent=None, sort_order=0):
    group = Group.objects.create(name=_unit_group_name(name))
    unit = Unit.objects.create(
        name=name, short_name=short_name, parent=parent, level=level, kind=kind, group=group, sort_order=sort_order
    )
    audit_record(actor=actor, action="unit.create", target=unit, changes={"name": name, "level": level})
    return unit


@transaction.atomic
def user_create(
    *, actor, username, full_name, password=None, password_hash=None, unit=None, title="", phone="", roles=()
):
    """Create an account; pass ``password_hash`` (from ``make_password``) to reuse one slow hash for many."""
    user = User(username=username, full_name=full_name, unit=unit, title=title, phone=phone)
    if password_hash is not None:
        user.password = password_hash
    else:
        user.set_password(password)
    user.save()
    groups = [Group.objects.get_or_create(name=Role(role).value)[0] for role in roles]
    if unit is not None:
        groups.append(unit.group)
    user.groups.add(*groups)
    audit_record(
        actor=actor,
        action="user.create",
        target=user,
        changes={"unit": unit.name if unit else None, "roles": [str(Role(r).label) for r in roles]},
    )
    return user


@transaction.atomic
def user_move_to_unit(*, actor, user, unit):
    """Move a person to another unit; their access to findings moves with the unit group."""
    old_unit = user.unit
    if old_unit == unit:
        return user
    if old_unit is not None:
        user.groups.remove(old_unit.group)
    if unit is not None:
        user.groups.add(unit.group)
    user.unit = unit
    user.save(update_fields=["unit"])
    audit_record(
        actor=actor,
        action="user.move_unit",
        target=user,
        changes={"unit": [old_unit.name if old_unit else None, unit.name if unit else None]},
    )
    return user


# --- the three administrators (三员分立) -------------------------------------------------------


def _require_role(actor, page):
    """A service behind an administrator's page applies the page's rule itself."""
    if actor is None:
        raise PermissionDenied(_("该操作须由管理员执行。"))
    access.require_admin_page(actor, page)


def _role_labels(roles):
    return sorted(str(Role(r).label) for r in roles)


@transaction.atomic
def user_set_active(*, actor, user, active):
    """The system administrator deactivates (or reactivates) an account; its sessions end with it.

    Deactivating someone who is not an administrator takes effect at once. Deactivating an
    administrator, and reactivating anyone, is a request another administrator approves
    (``access.deactivation_approver``, ``access.activation_approver``). Returns the request, or
    None when the change was made at once (or there was nothing to change).
    """
    _require_role(actor, "accounts")
    if user.pk == actor.pk:
        raise ValidationError(_("不能停用自己的账号。"))
    if user.is_active == active:
        return None
    if active:
        return _approval_request(
            actor=actor, kind=AdminApproval.Kind.ACTIVATE, target=user, approver=access.activation_approver(user)
        )
    approver = access.deactivation_approver(user)
    if approver is not None:
        return _approval_request(actor=actor, kind=AdminApproval.Kind.DEACTIVATE, target=user, approver=approver)
    _active_apply(actor=actor, user=user, active=False)
    return None


def _active_apply(*, actor, user, active, approval=None):
    user.is_active = active
    user.save(update_fields=["is_active"])
    audit_record(
        actor=actor,
        action="system.user_activate" if active else "system.user_deactivate",
        target=user,
        changes={"is_active": [not active, active], **_approved_by(approval)},
    )


def _approved_by(approval):
    """What an audit row of a change made on approval adds: which request, asked by whom."""
    if approval is None:
        return {}
    return {"approval": approval.pk, "requested_by": approval.requested_by.username}


@transaction.atomic
def user_password_reset(*, actor, user, password):
    """The system administrator asks to give an account a temporary password; the security
    administrator approves, and only then does it replace the password (which the person must
    change at their next login, after their second factor if they have one: the second factor is
    never touched here).

    Until then the password waits as its hash only (``make_password``); the system administrator
    chose it and hands it to the person once the request is approved. Returns the request.
    """
    _require_role(actor, "accounts")
    if user.pk == actor.pk:
        raise ValidationError(_("请在“修改密码”页面修改自己的密码。"))
    if access.is_administrator(user):
        # Otherwise the system administrator could take over the security or audit administrator.
        raise ValidationError(
            _("管理员账号的密码只能由本人修改，或由运维人员在服务器上执行 manage.py changepassword 重置。")
        )
    return _approval_request(
        actor=actor,
        kind=AdminApproval.Kind.PASSWORD,
        target=user,
        approver=access.PASSWORD_APPROVER,
        secret={"password_hash": make_password(password)},
    )


def _password_apply(*, actor, user, password_hash, approval):
    user.password = password_hash
    # No change date means "must change now" (see ``passwords.password_expired``).
    user.password_changed_at = None
    user.save(update_fields=["password", "password_changed_at"])
    audit_record(actor=actor, action="system.password_reset", target=user, changes=_approved_by(approval))


def _password_fingerprint(user):
    """Which password an account has, without the password or its hash: a request to reset it is
    out of date once the person has changed it themselves."""
    return hashlib.sha256(user.password.encode()).hexdigest()[:16]


roles_check = access.roles_given


@transaction.atomic
def user_roles_set(*, actor, user, roles):
    """The security administrator sets which role groups a person holds (unit groups are untouched).

    Removing roles takes effect at once; adding one (or removing an administrator's role) is a
    request another administrator approves (``access.roles_change_approver``). Returns the request,
    or None when the change was made at once (or there was nothing to change).
    """
    _require_role(actor, "security")
    if user.pk == actor.pk:
        raise ValidationError(_("不能修改自己的角色，请由另一名安全管理员操作。"))
    if user.is_superuser:
        raise ValidationError(_("超级用户账号不在此处管理。"))
    new = roles_check(roles)
    old = _roles_of(user)
    if new == old:
        return None
    approver = access.roles_change_approver(old, new)
    if approver is not None:
        return _approval_request(
            actor=actor,
            kind=AdminApproval.Kind.ROLES,
            target=user,
            approver=approver,
            payload={"old": _role_values(old), "new": _role_values(new)},
        )
    _roles_apply(actor=actor, user=user, old=old, new=new)
    return None


def _roles_of(user):
    return {Role(g.name) for g in user.groups.filter(name__in=Role.values)}


def _role_values(roles):
    return sorted(Role(r).value for r in roles)


def _roles_apply(*, actor, user, old, new, approval=None):
    groups = {g.name: g for g in Group.objects.filter(name__in=Role.values)}
    for role in new - old:
        # A role nobody held yet may have no group.
        groups.setdefault(role.value, Group.objects.get_or_create(name=role.value)[0])
    user.groups.remove(*[groups[r.value] for r in old - new])
    user.groups.add(*[groups[r.value] for r in new - old])
    user.__dict__.pop("role_set", None)
    audit_record(
        actor=actor,
        action="security.roles_change",
        target=user,
        changes={"roles": [_role_labels(old), _role_labels(new)], **_approved_by(approval)},
    )


@transaction.atomic
def account_unlock(*, actor, username):
    """The security administrator lifts a lockout (django-axes) before it runs out."""
    from axes.utils import reset

    _require_role(actor, "security")
    removed = reset(username=username)
    user = User.objects.filter(username=username).first()
    audit_record(
        actor=actor,
        action="security.unlock",
        target=user,
        target_type="accounts.user",
        target_repr=username,
        changes={"username": username, "attempts_removed": removed},
    )
    return removed


def password_reconfirm(*, user, password, request=None, reason="reconfirm"):
    """Check a password re-entered to confirm a sensitive act (a leader's sign-off).

    Returns "ok", "wrong" or "locked". It counts exactly as a login does: a wrong password goes
    through Django's ``user_login_failed``, so django-axes adds one failure towards the account's
    lockout (by username) and the audit log records it with ``reason``; a locked account is
    refused even the right password, so this form is no way to keep guessing once login has
    locked. ``request`` is the HTTP request (axes reads the address from it); a caller without
    one, such as a command, gets an empty one in its place.
    """
    from axes.handlers.proxy import AxesProxyHandler
    from django.contrib.auth.signals import user_login_failed
    from django.http import HttpRequest

    request = request if request is not None else HttpRequest()
    credentials = {"username": user.username}
    if AxesProxyHandler.is_locked(request, credentials):
        return "locked"
    if password and user.check_password(password):
        return "ok"
    request.login_failure_reason = reason
    user_login_failed.send(sender=__name__, credentials=credentials, request=request)
    return "locked" if getattr(request, "axes_locked_out", False) else "wrong"


def account_self_unlock(*, username, password, code, request):
    """A person locked out at this address lifts the lock with the password and the second factor.

    Only the lock of (username, this address) is lifted, and only for an active account with a
    second factor: someone who holds both could sign in anyway, were the lock not there. A wrong
    answer counts as a failed login (audited, and it keeps the lock in place). Returns True if
    unlocked.
    """
    from axes.handlers.proxy import AxesProxyHandler
    from django.contrib.auth.signals import user_login_failed

    from .middleware import client_ip

    ip_address = client_ip(request)
    user = User.objects.filter(username=username, is_active=True).first()
    if (
        user is not None
        and user.has_totp
        and ip_address
        and user.check_password(password)
        and totp_check(user=user, code=code)
    ):
        with transaction.atomic():
            removed = AxesProxyHandler.reset_attempts(ip_address=ip_address, username=username)
            audit_record(actor=user, action="auth.self_unlock", target=user, changes={"attempts_removed": removed})
        return True
    request.login_failure_reason = "self_unlock"
    user_login_failed.send(sender=__name__, credentials={"username": username}, request=request)
    return False


@transaction.atomic
def totp_reset(*, actor, user):
    """The security administrator removes a person's second factor (e.g. a lost phone)."""
    _require_role(actor, "security")
    if not user.has_totp:
        return user
    user.totp_secret = ""
    user.totp_confirmed_at = None
    user.totp_last_step = 0
    user.save(update_fields=["totp_secret", "totp_confirmed_at", "totp_last_step"])
    audit_record(actor=actor, action="security.totp_reset", target=user)
    return user


# --- a person's own second factor --------------------------------------------------------------


def totp_enrol(*, actor, secret, code):
    """Turn on the second factor once the person proves their app holds ``secret``."""
    step = totp.matching_step(secret, code)
    if step is None:
        # Recorded outside any transaction the refusal would roll back.
        audit_record(actor=actor, action="auth.totp_enrol_failed", target=actor)
        raise ValidationError(_("动态口令不正确，请核对手机上显示的6位数字后重试。"))
    with transaction.atomic():
        actor.totp_secret = totp.secret_seal(actor, secret)
        actor.totp_confirmed_at = timezone.now()
        actor.totp_last_step = step
        actor.save(update_fields=["totp_secret", "totp_confirmed_at", "totp_last_step"])
        audit_record(actor=actor, action="auth.totp_enrol", target=actor)
    return actor


def totp_check(*, user, code):
    """True if ``code`` is the person's current code and was not used before (no replay)."""
    try:
        secret = totp.secret_of(user)
    except crypto.SealError:
        # Refused, never waved through: the key changed or someone altered the row. The security
        # administrator clears the second factor and the person enrols again.
        logger.error("The TOTP secret of user %s does not open with DJANGO_FIELD_ENCRYPTION_KEY.", user.pk)
        return False
    step = totp.matching_step(secret, code)
    if step is None or step <= user.totp_last_step:
        return False
    # Compare-and-set: of two requests with the same code, only one moves the step forward.
    claimed = User.objects.filter(pk=user.pk, totp_last_step__lt=step).update(totp_last_step=step)
    if claimed:
        user.totp_last_step = step
    return bool(claimed)


@transaction.atomic
def user_create_by_admin(*, actor, username, full_name, password, unit=None, title="", phone=""):
    """The system administrator opens an account; roles are the security administrator's to grant
    (三员分立), and the first password must be changed at the first login.

    The account belongs to no unit until the security administrator approves the unit asked for
    here: until then it is in no unit's group and its ``unit`` is empty, so it sees nothing of it.
    """
    _require_role(actor, "accounts")
    if User.objects.filter(username=username).exists():
        raise ValidationError(_("用户名“%(name)s”已被使用。") % {"name": username})
    user = user_create(actor=actor, username=username, full_name=full_name, password=password, title=title, phone=phone)
    User.objects.filter(pk=user.pk).update(password_changed_at=None)
    user.password_changed_at = None
    if unit is not None:
        _unit_request(actor=actor, user=user, unit=unit)
    return user


@transaction.atomic
def user_move_by_admin(*, actor, user, unit):
    """Move a person to another unit. Leaving the old unit (and its findings) takes effect at once;
    joining the new one is a request the security administrator approves. Returns the request, or
    None when nothing waits (no new unit, or the same unit)."""
    _require_role(actor, "accounts")
    if access.is_administrator(user):
        raise ValidationError(_("管理员账号不属于任何业务单位。"))
    if unit is not None and user.unit_id == unit.pk:
        return None
    _refuse_second_request(user, AdminApproval.Kind.UNIT)
    if user.unit_id is not None:
        user_move_to_unit(actor=actor, user=user, unit=None)
    if unit is None:
        return None
    return _unit_request(actor=actor, user=user, unit=unit)


def _unit_request(*, actor, user, unit):
    return _approval_request(
        actor=actor,
        kind=AdminApproval.Kind.UNIT,
        target=user,
        approver=access.UNIT_APPROVER,
        payload={"unit_id": unit.pk, "unit": unit.name},
    )


@transaction.atomic
def unit_create_by_admin(*, actor, name, level, kind, short_name="", parent=None):
    _require_role(actor, "accounts")
    if Unit.objects.filter(name=name).exists():
        raise ValidationError(_("单位“%(name)s”已存在。") % {"name": name})
    if parent is not None and level != Unit.Level.VILLAGE and parent.level == Unit.Level.TOWNSHIP:
        raise ValidationError(_("镇街的下级只能是村（社区）。"))
    return unit_create(
        actor=actor,
        name=name,
        level=level,
        kind=kind,
        short_name=short_name,
        parent=parent,
        sort_order=Unit.objects.count() + 1,
    )


# --- two-person approval (双人审批) -------------------------------------------------------------
#
# Who asks and who approves what is ``accounts.access``'s (see the table there). A request keeps
# what the target looked like when it was asked (``payload["before"]``); if that has changed by the
# time of approval, the approval is refused and the request must be rejected or withdrawn.


def _before(kind, user):
    """What a request of ``kind`` depends on: approving it after this has changed would apply a
    decision taken about an account that is no longer what the approver was shown."""
    if kind == AdminApproval.Kind.UNIT:
        return {"unit_id": user.unit_id}
    if kind == AdminApproval.Kind.ROLES:
        return {"roles": _role_values(_roles_of(user))}
    if kind == AdminApproval.Kind.PASSWORD:
        return {"password": _password_fingerprint(user)}
    return {"is_active": user.is_active}


def _refuse_second_request(user, kind):
    if AdminApproval.objects.filter(target=user, kind=kind, status=AdminApproval.Status.PENDING).exists():
        raise ValidationError(
            _("“%(name)s”已有一项待审批的“%(kind)s”申请，请等待审批结果，或先撤回该申请。")
            % {"name": user, "kind": AdminApproval.Kind(kind).label}
        )


def _approval_public(approval):
    """The request as its audit rows record it: who, what, never a password's hash (nor the
    fingerprint of the password it replaces)."""
    hidden = {"password_hash"} | ({"before"} if approval.kind == AdminApproval.Kind.PASSWORD else set())
    return {
        "kind": approval.kind,
        "target": approval.target.username,
        "approver": approval.approver,
        "request": {key: value for key, value in approval.payload.items() if key not in hidden},
    }


def _approval_request(*, actor, kind, target, approver, payload=None, secret=None):
    """Record a request (one pending per account and kind) and its audit row."""
    _refuse_second_request(target, kind)
    approval = AdminApproval(
        kind=kind,
        target=target,
        approver=approver,
        requested_by=actor,
        payload={**(payload or {}), "before": _before(kind, target)},
    )
    # Kept out of the audit row and the pages; removed again once the request is decided.
    approval.payload.update(secret or {})
    try:
        with transaction.atomic():
            approval.save()
    except IntegrityError:
        # Two administrators asked at the same moment; the unique constraint let one through.
        _refuse_second_request(target, kind)
        raise
    audit_record(actor=actor, action="approval.request", target=approval, changes=_approval_public(approval))
    return approval


def _approval_locked(approval):
    """The request, re-read and locked until the end of the transaction, so that two decisions
    (or a decision and a withdrawal) made at the same moment are taken one after the other."""
    return AdminApproval.objects.select_for_update().select_related("requested_by").get(pk=approval.pk)


def _approval_close(*, actor, approval, status, reason=""):
    old_status = approval.status
    approval.status = status
    approval.decided_by = actor
    approval.decided_at = timezone.now()
    approval.reason = reason[:200]
    approval.payload.pop("password_hash", None)
    approval.save(update_fields=["status", "decided_by", "decided_at", "reason", "payload"])
    action = {
        AdminApproval.Status.APPROVED: "approval.approve",
        AdminApproval.Status.REJECTED: "approval.reject",
        AdminApproval.Status.WITHDRAWN: "approval.withdraw",
    }[status]
    audit_record(
        actor=actor,
        action=action,
        target=approval,
        changes={
            **_approval_public(approval),
            "requested_by": approval.requested_by.username,
            "status": [old_status, status],
            **({"reason": reason} if reason else {}),
        },
    )


def _require_decider(actor, approval):
    _require_role(actor, "approvals")
    refusal = access.approval_refusal(actor, approval)
    if refusal is not None:
        raise PermissionDenied(refusal)


def _stale_reason(approval, target):
    """Why ``approval`` can no longer be applied as it was asked, in Chinese; None if it can."""
    Kind = AdminApproval.Kind
    if _before(approval.kind, target) != approval.payload.get("before"):
        what = {
            Kind.UNIT: _("所在单位已有变化"),
            Kind.ROLES: _("角色已被调整"),
            Kind.PASSWORD: _("密码已被修改"),
        }.get(approval.kind, _("账号状态已有变化"))
        return _("申请提交后，“%(name)s”的%(what)s。") % {"name": target, "what": what}
    if approval.kind in {Kind.UNIT, Kind.PASSWORD} and access.is_administrator(target):
        return _("“%(name)s”现已是管理员账号。") % {"name": target}
    if approval.kind == Kind.UNIT and not Unit.objects.filter(pk=approval.payload["unit_id"], is_active=True).exists():
        return _("单位“%(unit)s”已停用或不存在。") % {"unit": approval.payload.get("unit", "")}
    return None


def _approval_apply(*, actor, approval, target):
    Kind = AdminApproval.Kind
    if approval.kind == Kind.UNIT:
        user_move_to_unit(actor=actor, user=target, unit=Unit.objects.get(pk=approval.payload["unit_id"]))
    elif approval.kind == Kind.ROLES:
        old = {Role(r) for r in approval.payload["old"]}
        new = roles_check(approval.payload["new"])
        _roles_apply(actor=actor, user=target, old=old, new=new, approval=approval)
    elif approval.kind == Kind.PASSWORD:
        _password_apply(actor=actor, user=target, password_hash=approval.payload["password_hash"], approval=approval)
    else:
        _active_apply(actor=actor, user=target, active=approval.kind == Kind.ACTIVATE, approval=approval)


def approval_approve(*, actor, approval, reason=""):
    """Another administrator approves a request: the change it asks for is made now, with its own
    audit row, in the same transaction as the decision. A request overtaken by a later change is
    refused (and stays waiting, to be rejected or withdrawn)."""
    with transaction.atomic():
        approval = _approval_locked(approval)
        _require_decider(actor, approval)
        target = User.objects.select_for_update().get(pk=approval.target_id)
        stale = _stale_reason(approval, target)
        if stale is None:
            _approval_apply(actor=actor, approval=approval, target=target)
            _approval_close(actor=actor, approval=approval, status=AdminApproval.Status.APPROVED, reason=reason)
            return approval
    # Recorded outside the transaction, which the refusal would otherwise roll back.
    audit_record(
        actor=actor,
        action="approval.approve_refused",
        target=approval,
        changes={**_approval_public(approval), "stale": stale},
    )
    raise ValidationError(
        _("%(stale)s该申请已失效，不能批准；请驳回该申请，或由申请人撤回后重新提交。") % {"stale": stale}
    )


@transaction.atomic
def approval_reject(*, actor, approval, reason=""):
    """Another administrator rejects a request; nothing changes but the request's status."""
    approval = _approval_locked(approval)
    _require_decider(actor, approval)
    _approval_close(actor=actor, approval=approval, status=AdminApproval.Status.REJECTED, reason=reason)
    return approval


@transaction.atomic
def approval_withdraw(*, actor, approval):
    """The administrator who asked withdraws the request while it waits."""
    _require_role(actor, "approvals")
    approval = _approval_locked(approval)
    if not access.may_withdraw_approval(actor, approval):
        if not approval.is_pending:
            raise ValidationError(
                _("该申请已处理（%(status)s），不能撤回。") % {"status": approval.get_status_display()}
            )
        raise PermissionDenied(_("只有申请人本人可以撤回申请。"))
    _approval_close(actor=actor, approval=approval, status=AdminApproval.Status.WITHDRAWN)
    return approval


# --- how a person is reached ----------------------------------------------------------------------


@transaction.atomic
def user_channels_set(*, actor, channels_on, quiet=None):
    """The person chooses which of the deployment's channels reach them (the bell always does) and,
    with ``quiet`` = (from, until) or (None, None), their quiet hours; ``quiet`` None keeps them."""
    enabled = [channel.value for channel in access.channels_enabled()]
    # A channel the deployment does not have now keeps the person's earlier choice for when it returns.
    kept = [value for value in actor.channels_off if value not in enabled]
    off = sorted(kept + [value for value in enabled if value not in channels_on])
    old = sorted(actor.channels_off)
    changes = {}
    if off != old:
        changes["channels_off"] = [old, off]
        actor.channels_off = off
    if quiet is not None:
        was = [_hhmm(actor.quiet_from), _hhmm(actor.quiet_until)]
        now = [_hhmm(quiet[0]), _hhmm(quiet[1])]
        if was != now:
            changes["quiet_hours"] = [was, now]
            actor.quiet_from, actor.quiet_until = quiet
    if not changes:
        return False
    actor.save(update_fields=["channels_off", "quiet_from", "quiet_until"])
    audit_record(actor=actor, action="user.channels_set", target=actor, changes=changes)
    return True


def _hhmm(moment):
    return moment.strftime("%H:%M") if moment is not None else ""


@transaction.atomic
def user_contact_set(*, actor, user, mobile, wecom_userid, dingtalk_userid=""):
    """The system administrator sets where the outside channels reach a person. The audit row keeps
    the values masked: the audit administrator need not read anyone's mobile number."""
    _require_role(actor, "accounts")
    changes = {}
    fields = (
        ("mobile", mobile, (3, 4)),
        ("wecom_userid", wecom_userid, (2, 0)),
        ("dingtalk_userid", dingtalk_userid, (2, 0)),
    )
    for field, value, keep in fields:
        old = getattr(user, field)
        if old != value:
            changes[field] = [
                masked(old, keep_start=keep[0], keep_end=keep[1]),
                masked(value, keep_start=keep[0], keep_end=keep[1]),
            ]
            setattr(user, field, value)
    if not changes:
        return False
    user.save(update_fields=sorted(changes))
    audit_record(actor=actor, action="system.contact_set", target=user, changes=changes)
    return True
