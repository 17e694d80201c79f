"""Every write about people, units and roles, each with its audit row."""

from django.contrib.auth.models import Group
from django.db import transaction

from .models import AuditEvent, Unit, User
from .roles import Role


def audit_record(*, actor, action, target, changes=None):
    """Append one audit row in the caller's transaction; ``target`` is any model instance."""
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.pk else None,
        action=action,
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        target_repr=str(target)[:200],
        changes=changes or {},
    )


def role_groups_ensure():
    """Create the role groups that are missing; safe to run any number of times."""
    for role in Role:
        Group.objects.get_or_create(name=role.value)


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
def user_create(*, actor, username, full_name, password=None, password_hash=None, unit=None, title="", phone="",
                roles=()):
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
