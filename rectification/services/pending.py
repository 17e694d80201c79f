"""Names as ledgers write them: aliases, column mappings, and pending (待开通) leaders and units.

- The office confirms from an import preview that a written name is a unit or leader
  (``name_alias_add``) or maps a header the import did not know (``column_mapping_set``); both
  are kept for every later import.
- An import keeps a leader or unit the system does not know under its written name
  (``pending_resolve``, called by ``ledger_import`` in its transaction): a unit without staff, or
  a person who cannot sign in. Nobody but the office sees what is assigned to them.
- The office sends the list to the system administrators (``pending_send_to_admins``), who bind
  each to a real account or unit (``pending_unit_bind``, ``pending_leader_bind``) or open a
  pending unit as a unit of its own (``pending_unit_open``). Binding moves the assignments in one
  transaction and re-syncs the object permissions through ``permissions_sync_for_problems``, the
  same as any assignment: the bound unit's staff see the findings as soon as it commits.
"""

import secrets

from django.contrib.auth.hashers import make_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import ProtectedError
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.models import NameAlias, Unit, User
from accounts.services import unit_create, user_create
from rectification import access
from rectification.access import permissions_sync_for_problems
from rectification.excel.imports import column_targets, header_key
from rectification.excel.mapping import header_sane
from rectification.excel.matching import normalised
from rectification.excel.names import PendingName
from rectification.models import ImportColumnMapping, Measure, Notification, Problem

from .audit import audit_record
from .notifications import notify_each, notify_new_assignments

_SINGLE = ("lead_official", "lead_unit", "owner_unit")
_MANY = ("responsible_leaders", "responsible_units")


def _require_office(actor):
    if not access.may_manage_ledger(actor):
        raise PermissionDenied(_("只有整改办可以进行此项操作。"))


def _require_binder(actor):
    if not access.may_bind_pending_names(actor):
        raise PermissionDenied(_("只有系统管理员可以绑定待开通的领导和单位。"))


# --- what the office teaches the import ------------------------------------------------------------


@transaction.atomic
def name_alias_add(*, actor, kind, written, target):
    """ "区卫健局 = 区卫生健康局": the written name is read as ``target`` by every later import."""
    _require_office(actor)
    written = (written or "").strip()
    if not written or len(written) > 100:
        raise ValidationError(_("台账中的写法不能为空，且不超过100个字。"))
    fields: dict[str, object]
    if kind == NameAlias.Kind.UNIT:
        if not isinstance(target, Unit) or target.is_pending or not target.is_active:
            raise ValidationError(_("只能对应到已开通的单位。"))
        fields = {"unit": target, "person": None}
    elif kind == NameAlias.Kind.LEADER:
        if not isinstance(target, User) or target.is_pending or not access.leader_accounts().filter(pk=target.pk):
            raise ValidationError(_("只能对应到已开通的区领导。"))
        fields = {"unit": None, "person": target}
    else:
        raise ValidationError(_("别名类别不正确。"))
    alias, _created = NameAlias.objects.update_or_create(
        kind=kind, key=normalised(written), defaults={"written": written, "created_by": actor, **fields}
    )
    audit_record(
        actor=actor,
        action="name.alias_add",
        target=alias,
        changes={"kind": kind, "written": written, "unit" if kind == NameAlias.Kind.UNIT else "user": str(target)},
    )
    return alias


@transaction.atomic
def column_mapping_set(*, actor, header, target):
    """A header the import did not know is read as ``target`` by this and every later import."""
    _require_office(actor)
    if not header_sane(header) or target not in dict(column_targets()):
        raise ValidationError(_("列对应关系不正确，请从下拉列表中选择。"))
    mapping, _created = ImportColumnMapping.objects.update_or_create(
        key=header_key(header), defaults={"header": header.strip(), "target": target, "created_by": actor}
    )
    audit_record(
        actor=actor,
        action="excel.column_mapping",
        target=mapping,
        changes={"header": header.strip(), "mapped_as": target},
    )
    return mapping


@transaction.atomic
def name_alias_remove(*, actor, alias):
    """Forget an alias: the written name is read afresh (and, unknown, kept as pending) by the next import."""
    _require_office(actor)
    changes = {"kind": alias.kind, "written": alias.written}
    alias.delete()
    audit_record(actor=actor, action="name.alias_remove", target=None, changes=changes)


@transaction.atomic
def column_mapping_remove(*, actor, mapping):
    """Forget a column mapping: the header is unrecognised again at the next import."""
    _require_office(actor)
    changes = {"header": mapping.header, "mapped_as": mapping.target}
    mapping.delete()
    audit_record(actor=actor, action="excel.column_mapping_remove", target=None, changes=changes)


# --- keeping unknown names at import ----------------------------------------------------------------


def _pending_unit(actor, name):
    if Unit.objects.filter(name=name).exists():
        raise ValidationError(
            _("单位“%(name)s”已停用，不能作为待开通单位导入；请先在单位管理中启用或改写台账。") % {"name": name}
        )
    unit = unit_create(
        actor=actor,
        name=name,
        level=Unit.Level.DEPARTMENT,
        kind=Unit.Kind.GOVERNMENT,
        sort_order=Unit.objects.count() + 1,
    )
    Unit.objects.filter(pk=unit.pk).update(is_pending=True)
    unit.is_pending = True
    audit_record(actor=actor, action="pending.create", target=unit, changes={"kind": "unit", "written": name})
    return unit


def _pending_leader(actor, name, title):
    # A name only: inactive, no usable password, no role, so nobody can sign in as it.
    person = user_create(
        actor=actor,
        username=f"pending-{secrets.token_hex(8)}",
        full_name=name[:50],
        password_hash=make_password(None),
        title=title[:60],
    )
    User.objects.filter(pk=person.pk).update(is_pending=True, is_active=False)
    person.is_pending, person.is_active = True, False
    audit_record(actor=actor, action="pending.create", target=person, changes={"kind": "leader", "written": name})
    return person


def pending_resolve(*, actor, plan):
    """Create the pending units and leaders the plan names and put them in its drafts' values.

    Runs inside ``ledger_import``'s transaction: if the import fails, none of them is kept."""
    _require_office(actor)
    made: dict[PendingName, object] = {}

    def real(value):
        if not isinstance(value, PendingName):
            return value
        if value not in made:
            made[value] = (
                _pending_unit(actor, value.name)
                if value.kind == "unit"
                else _pending_leader(actor, value.name, value.title)
            )
        return made[value]

    for draft in [*plan.problems, *plan.measures]:
        for name in _SINGLE:
            if name in draft.values:
                draft.values[name] = real(draft.values[name])
        for name in _MANY:
            if name in draft.values:
                draft.values[name] = [real(value) for value in draft.values[name]]
    return list(made.values())


# --- the list for the system administrator ----------------------------------------------------------


def pending_send_to_admins(*, actor):
    """Tell the system administrators which leaders and units wait to be opened or bound."""
    _require_office(actor)
    units = list(Unit.objects.filter(is_pending=True, is_active=True).order_by("pk"))
    leaders = list(User.objects.filter(is_pending=True).order_by("pk"))
    if not units and not leaders:
        raise ValidationError(_("目前没有待开通的领导和单位。"))
    admins = list(access.system_administrators())
    if not admins:
        raise ValidationError(_("系统中没有在用的系统管理员账号，无法发送。"))
    names = "、".join([*(u.name for u in units), *(p.full_name for p in leaders)])
    text = _("整改办请开通或绑定%(n)s个待开通的领导和单位：%(names)s") % {
        "n": len(units) + len(leaders),
        "names": names,
    }
    key = "pending:" + ",".join([*(f"u{u.pk}" for u in units), *(f"p{p.pk}" for p in leaders)])
    sent = notify_each(
        recipients=admins,
        kind=Notification.Kind.PENDING_ACCOUNTS,
        text=text,
        link=reverse("rectification:pending_bind"),
        dedup_key=key[:120],
    )
    audit_record(
        actor=actor,
        action="pending.send",
        target=None,
        changes={"units": len(units), "leaders": len(leaders), "recipients": len(admins)},
    )
    return sent


# --- binding -----------------------------------------------------------------------------------------


def _alias_to(kind, written, **target):
    NameAlias.objects.update_or_create(kind=kind, key=normalised(written), defaults={"written": written, **target})


def _unit_retire(pending):
    """Remove a bound pending unit; one that history still names (a weekly cycle's dispatch sheet,
    say) is kept, disabled, under its written name instead."""
    group = pending.group
    try:
        with transaction.atomic():
            pending.delete()
            group.delete()
    except ProtectedError:
        Unit.objects.filter(pk=pending.pk).update(is_active=False)


def _leader_retire(pending):
    """Remove a bound pending leader; one that history still names stays, unable to sign in."""
    try:
        with transaction.atomic():
            pending.delete()
    except ProtectedError:
        User.objects.filter(pk=pending.pk).update(is_pending=False, is_active=False)


@transaction.atomic
def pending_unit_bind(*, actor, pending, target):
    """The pending unit is ``target``: everything assigned to it moves there, its name becomes an
    alias of ``target``, and the pending unit is removed; access follows in the same commit."""
    _require_binder(actor)
    pending = Unit.objects.select_for_update().filter(pk=pending.pk, is_pending=True).first()
    if pending is None:
        raise ValidationError(_("该单位已不是待开通单位。"))
    if target.pk == pending.pk or target.is_pending or not target.is_active:
        raise ValidationError(_("只能绑定到已开通的单位。"))
    through = Problem.responsible_units.through
    problem_ids = set(Problem.objects.filter(lead_unit=pending).values_list("pk", flat=True))
    problem_ids |= set(through.objects.filter(unit=pending).values_list("problem_id", flat=True))
    measure_ids = list(Measure.objects.filter(owner_unit=pending).values_list("pk", flat=True))
    problem_ids |= set(Measure.objects.filter(pk__in=measure_ids).values_list("problem_id", flat=True))
    Problem.objects.filter(lead_unit=pending).update(lead_unit=target)
    through.objects.filter(unit=pending, problem__responsible_units=target).delete()
    through.objects.filter(unit=pending).update(unit=target)
    Measure.objects.filter(pk__in=measure_ids).update(owner_unit=target)
    NameAlias.objects.filter(unit=pending).update(unit=target)
    _alias_to(NameAlias.Kind.UNIT, pending.name, unit=target, person=None, created_by=actor)
    permissions_sync_for_problems(list(Problem.objects.filter(pk__in=problem_ids)))
    notify_new_assignments(Measure.objects.filter(pk__in=measure_ids))
    name = pending.name
    _unit_retire(pending)
    audit_record(
        actor=actor,
        action="pending.unit_bind",
        target=target,
        changes={"written": name, "unit": target.name, "problems": len(problem_ids), "measures": len(measure_ids)},
    )
    return target


@transaction.atomic
def pending_unit_open(*, actor, pending):
    """The pending unit is a unit of its own: it stays, marked open; its staff, once the system
    administrator adds them, see its findings through its group like any unit's."""
    _require_binder(actor)
    updated = Unit.objects.filter(pk=pending.pk, is_pending=True).update(is_pending=False)
    if not updated:
        raise ValidationError(_("该单位已不是待开通单位。"))
    pending.refresh_from_db()
    audit_record(actor=actor, action="pending.unit_open", target=pending, changes={"written": pending.name})
    return pending


@transaction.atomic
def pending_leader_bind(*, actor, pending, target):
    """The pending leader is the leader ``target``: as ``pending_unit_bind``, for a person."""
    _require_binder(actor)
    pending = User.objects.select_for_update().filter(pk=pending.pk, is_pending=True).first()
    if pending is None:
        raise ValidationError(_("该领导已不是待开通状态。"))
    if target.pk == pending.pk or target.is_pending or not access.leader_accounts().filter(pk=target.pk).exists():
        raise ValidationError(_("只能绑定到已开通的区领导账号。"))
    through = Problem.responsible_leaders.through
    problem_ids = set(Problem.objects.filter(lead_official=pending).values_list("pk", flat=True))
    problem_ids |= set(through.objects.filter(user=pending).values_list("problem_id", flat=True))
    Problem.objects.filter(lead_official=pending).update(lead_official=target)
    through.objects.filter(user=pending, problem__responsible_leaders=target).delete()
    through.objects.filter(user=pending).update(user=target)
    NameAlias.objects.filter(person=pending).update(person=target)
    _alias_to(NameAlias.Kind.LEADER, pending.full_name, unit=None, person=target, created_by=actor)
    permissions_sync_for_problems(list(Problem.objects.filter(pk__in=problem_ids)))
    name = pending.full_name
    _leader_retire(pending)
    audit_record(
        actor=actor,
        action="pending.leader_bind",
        target=target,
        changes={"written": name, "user": str(target), "problems": len(problem_ids)},
    )
    return target
