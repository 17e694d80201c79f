"""Every write about people, units, roles and accounts, each with its audit row."""

import logging

from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import access, audit, crypto, totp
from .middleware import current_client_ip
from .models import AuditEvent, Unit, User
from .roles import Role

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
    """The system administrator deactivates (or reactivates) an account; its sessions end with it."""
    _require_role(actor, "accounts")
    if user.pk == actor.pk:
        raise ValidationError(_("不能停用自己的账号。"))
    if user.is_active == active:
        return user
    user.is_active = active
    user.save(update_fields=["is_active"])
    audit_record(
        actor=actor,
        action="system.user_activate" if active else "system.user_deactivate",
        target=user,
        changes={"is_active": [not active, active]},
    )
    return user


@transaction.atomic
def user_password_reset(*, actor, user, password):
    """The system administrator sets a temporary password, which the person must change at once."""
    _require_role(actor, "accounts")
    if user.pk == actor.pk:
        raise ValidationError(_("请在“修改密码”页面修改自己的密码。"))
    if access.is_administrator(user):
        # Otherwise the system administrator could take over the security or audit administrator.
        raise ValidationError(
            _("管理员账号的密码只能由本人修改，或由运维人员在服务器上执行 manage.py changepassword 重置。")
        )
    user.set_password(password)
    user.save()
    # No change date means "must change now" (see ``passwords.password_expired``).
    User.objects.filter(pk=user.pk).update(password_changed_at=None)
    user.password_changed_at = None
    audit_record(actor=actor, action="system.password_reset", target=user)
    return user


roles_check = access.roles_given


@transaction.atomic
def user_roles_set(*, actor, user, roles):
    """The security administrator sets which role groups a person holds (unit groups are untouched)."""
    _require_role(actor, "security")
    if user.pk == actor.pk:
        raise ValidationError(_("不能修改自己的角色，请由另一名安全管理员操作。"))
    if user.is_superuser:
        raise ValidationError(_("超级用户账号不在此处管理。"))
    new = roles_check(roles)
    old = {Role(g.name) for g in user.groups.filter(name__in=Role.values)}
    if new == old:
        return user
    groups = {g.name: g for g in Group.objects.filter(name__in=Role.values)}
    user.groups.remove(*[groups[r.value] for r in old - new])
    user.groups.add(*[groups[r.value] for r in new - old])
    user.__dict__.pop("role_set", None)
    audit_record(
        actor=actor,
        action="security.roles_change",
        target=user,
        changes={"roles": [_role_labels(old), _role_labels(new)]},
    )
    return user


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
    (三员分立), and the first password must be changed at the first login."""
    _require_role(actor, "accounts")
    if User.objects.filter(username=username).exists():
        raise ValidationError(_("用户名“%(name)s”已被使用。") % {"name": username})
    user = user_create(
        actor=actor, username=username, full_name=full_name, password=password, unit=unit, title=title, phone=phone
    )
    User.objects.filter(pk=user.pk).update(password_changed_at=None)
    user.password_changed_at = None
    return user


@transaction.atomic
def user_move_by_admin(*, actor, user, unit):
    """Move a person to another unit: their access to findings follows the unit group at once."""
    _require_role(actor, "accounts")
    if access.is_administrator(user):
        raise ValidationError(_("管理员账号不属于任何业务单位。"))
    return user_move_to_unit(actor=actor, user=user, unit=unit)


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
