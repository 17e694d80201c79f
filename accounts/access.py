"""Who someone is, and what the administrators' pages allow: the only place in ``accounts`` that
reads a role.

``rectification.access`` builds the policy for the findings on the predicates here (``is_office``,
``is_unit_staff``, ...), so a role means the same thing on every page. A test walks the code and
fails on a role check anywhere but the two access modules.

The three administrators (三员分立) each have their own pages and nothing else: the system
administrator manages accounts and units, the security administrator roles and lockouts, the
audit administrator reads the audit log. None of them reads a finding.
"""

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q
from django.http import Http404
from django.utils.translation import gettext as _

from .models import AdminApproval, AuditEvent, Channel, Unit, User
from .roles import ADMIN_ROLES, READ_ALL_ROLES, UNIT_STAFF_ROLES, Role
from .ui import masked

# --- who someone is ----------------------------------------------------------------------------------


def active(user):
    return user is not None and user.is_authenticated and user.is_active


def _has_any_role(user, *roles):
    """The one read of a person's roles in the project: every predicate below asks it."""
    return user.has_role(*roles)


def _holds(user, *roles):
    """An active, signed-in person holding any of ``roles``."""
    return active(user) and _has_any_role(user, *roles)


def reads_all(user):
    """The office, supervision and the provincial team read every finding of every round."""
    return _holds(user, *READ_ALL_ROLES)


def is_provincial(user):
    return _holds(user, Role.PROVINCIAL)


def is_office(user):
    return _holds(user, Role.OFFICE)


def is_supervision(user):
    return _holds(user, Role.SUPERVISION)


def is_leader(user):
    return _holds(user, Role.LEADER)


def is_unit_staff(user):
    """A liaison or unit head who belongs to a unit: the people who do a unit's weekly work."""
    return _holds(user, *UNIT_STAFF_ROLES) and user.unit_id is not None


def is_unit_head(user):
    return is_unit_staff(user) and _has_any_role(user, Role.UNIT_HEAD)


def is_liaison(user):
    return is_unit_staff(user) and _has_any_role(user, Role.LIAISON)


def track_office_unit(user):
    """The unit whose track(s) this person's track office runs, or None."""
    if _holds(user, Role.TRACK_OFFICE) and user.unit_id:
        return user.unit_id
    return None


def manual_chapter(user):
    """The chapter of the user manual (docs/manual/) written for this person's main role."""
    if is_active_administrator(user):
        return "08-administrators"
    if is_office(user) or track_office_unit(user):
        return "05-office"
    if is_leader(user):
        return "04-leader"
    if is_supervision(user):
        return "06-supervision"
    if is_unit_head(user):
        return "02-unit-head"
    if is_unit_staff(user):
        return "01-liaison"
    if reads_all(user):
        return "07-provincial"
    return ""


def is_administrator(user):
    """One of the three administrators (三员), or a superuser: accounts that others may not touch
    (active or not: a deactivated administrator's account is not anybody else's to change)."""
    return user.is_superuser or _has_any_role(user, *ADMIN_ROLES)


def is_active_administrator(user):
    """An active, signed-in holder of one of the three administrator roles."""
    return _holds(user, *ADMIN_ROLES)


def roles_held(user):
    """The role values a person holds (unit groups aside), as the role form shows them."""
    return [role.value for role in Role if role in user.role_set]


def administrator_role_labels():
    return [str(Role(r).label) for r in ADMIN_ROLES]


def roles_given(roles):
    """三员分立: an administrator's account holds that one role only, so no person both runs the
    system and works on findings, and no person holds two of the three administrator roles.
    Returns the roles as ``Role`` members, or refuses."""
    from django.core.exceptions import ValidationError

    roles = {Role(r) for r in roles}
    if roles & ADMIN_ROLES and len(roles) > 1:
        raise ValidationError(
            _("系统管理员、安全管理员、审计管理员（三员）必须由不同的专用账号担任，不能与其他角色同时授予。")
        )
    return roles


def role_labels(user):
    """The names of the roles a person holds, in the order of ``Role``."""
    held = user.role_set
    return [str(role.label) for role in Role if role in held]


class RolePrincipal:
    """A whole role rather than one of its accounts, for work the system does on that role's behalf
    (the weekly package is built for the provincial team as a whole). It holds that role only,
    belongs to no unit, holds no object permission and cannot sign in."""

    pk = None
    unit_id = None
    is_active = True
    is_authenticated = True
    is_superuser = False

    def __init__(self, role, label):
        self.role_set = frozenset({role})
        self.username = "system"
        self.label = label

    def has_role(self, *roles):
        return any(role in self.role_set for role in roles)

    def has_perm(self, perm, obj=None):
        return False

    def __str__(self):
        return self.label


PROVINCIAL_TEAM = RolePrincipal(Role.PROVINCIAL, "系统（省巡视组报送包）")


# --- who is told -------------------------------------------------------------------------------------


def _holding(*roles):
    return User.groups.through.objects.filter(user_id=OuterRef("pk"), group__name__in=[Role(r).value for r in roles])


def _people(*roles):
    # EXISTS rather than a join plus DISTINCT: in a city the role groups hold thousands of
    # people, and the DISTINCT sorted every matching membership on all the user's columns.
    return User.objects.filter(Exists(_holding(*roles)), is_active=True)


def units_staff(unit_ids):
    """The liaisons and heads of these units, in one query."""
    return _people(*UNIT_STAFF_ROLES).filter(unit_id__in=unit_ids)


def unit_heads(unit):
    return _people(Role.UNIT_HEAD).filter(unit_id=unit.pk)


def unit_liaisons(unit):
    return _people(Role.LIAISON).filter(unit_id=unit.pk)


def track_office_staff(unit):
    return _people(Role.TRACK_OFFICE).filter(unit_id=unit.pk)


def office_staff():
    """The 整改办's active people."""
    return _people(Role.OFFICE)


def leader_accounts():
    """District leaders: who may be named lead official or responsible leader."""
    return _people(Role.LEADER)


def system_administrators():
    """Who opens accounts and units, and binds the pending ones a ledger import named."""
    return _people(Role.SYSTEM_ADMIN)


# --- sign-in -------------------------------------------------------------------------------------------


def must_use_totp(user):
    """Whether the deployment requires this person to sign in with a second factor."""
    return _has_any_role(user, *settings.TOTP_REQUIRED_ROLES)


def may_enter_data_maintenance(user):
    """Django's admin ("数据维护"): the office, on accounts marked as staff."""
    return is_office(user) and user.is_staff


# --- the administrators' pages ------------------------------------------------------------------------


def may_manage_accounts(user):
    """Accounts and units: the system administrator."""
    return _holds(user, Role.SYSTEM_ADMIN)


def may_set_up_channels(user):
    """The outside channels and group robots (addresses, secrets, on or off): the system
    administrator, who runs the system and reads no finding."""
    return _holds(user, Role.SYSTEM_ADMIN)


def may_manage_security(user):
    """Roles, lockouts: the security administrator."""
    return _holds(user, Role.SECURITY_ADMIN)


def may_read_audit_log(user):
    """The audit log, its search, export and chain check: the audit administrator."""
    return _holds(user, Role.AUDIT_ADMIN)


ADMIN_PAGES = {
    "accounts": (may_manage_accounts, Role.SYSTEM_ADMIN),
    "security": (may_manage_security, Role.SECURITY_ADMIN),
    "audit": (may_read_audit_log, Role.AUDIT_ADMIN),
    # The two-person approvals (双人审批): each of the three administrators asks or decides there.
    "approvals": (is_active_administrator, None),
}


def require_admin_page(user, page):
    """403, naming who may, unless ``user`` may open the administrators' pages of ``page``."""
    rule, role = ADMIN_PAGES[page]
    if not rule(user):
        who = Role(role).label if role is not None else "、".join(administrator_role_labels())
        raise PermissionDenied(_("该操作仅限%(role)s。") % {"role": who})


def users_visible_to(user, page):
    """The accounts an administrator works on in ``page``: every account, for its administrator."""
    require_admin_page(user, page)
    return User.objects.all()


def user_for_user(user, pk, page):
    """One account for an administrator's page: 403 for anyone else, 404 for one that does not exist."""
    found = users_visible_to(user, page).filter(pk=pk).first() if str(pk).isdecimal() else None
    if found is None:
        raise Http404
    return found


# --- how a person is reached (mobile number, platform account, channels) ---------------------------


def channels_enabled():
    """The outside channels this deployment has (``settings.NOTIFY_CHANNELS``), in a fixed order."""
    wanted = set(getattr(settings, "NOTIFY_CHANNELS", ()))
    return [channel for channel in Channel if channel.value in wanted]


def may_set_own_channels(user):
    """Everyone signed in chooses which of the enabled channels reach them."""
    return active(user)


def may_see_contact(viewer, person):
    """A mobile number or platform account in full: the person's own, and the system administrator's."""
    return active(viewer) and (viewer.pk == person.pk or may_manage_accounts(viewer))


def contact_shown(viewer, person):
    """``person``'s mobile number and platform accounts as ``viewer`` may see them: masked for anyone else."""
    if may_see_contact(viewer, person):
        return {"mobile": person.mobile, "wecom_userid": person.wecom_userid, "dingtalk_userid": person.dingtalk_userid}
    return {
        "mobile": masked(person.mobile),
        "wecom_userid": masked(person.wecom_userid, keep_start=2, keep_end=0),
        "dingtalk_userid": masked(person.dingtalk_userid, keep_start=2, keep_end=0),
    }


def units_visible_to(user):
    require_admin_page(user, "accounts")
    return Unit.objects.all()


def unit_for_user(user, pk):
    found = units_visible_to(user).filter(pk=pk).first() if str(pk).isdecimal() else None
    if found is None:
        raise Http404
    return found


def audit_events_visible_to(user):
    require_admin_page(user, "audit")
    return AuditEvent.objects.all()


def navigation(user):
    """What the menus show this person, for ``context_processors.roles``."""
    held = user.role_set
    return {
        "user_roles": role_labels(user),
        "is_office": is_office(user),
        # The three administrators hold no other role and see no findings: no links to them.
        "sees_findings": bool(held - ADMIN_ROLES),
        "is_unit_staff": is_unit_staff(user),
        "is_system_admin": may_manage_accounts(user),
        "is_security_admin": may_manage_security(user),
        "is_audit_admin": may_read_audit_log(user),
        "takes_part_in_approvals": is_active_administrator(user),
    }


# --- two-person approval (双人审批) -------------------------------------------------------------------
#
# What gives a person access to findings, or takes an administrator out of the way, is asked by one
# administrator and approved by another, never the one who asked nor the person it is about:
#
# | asked by        | what                                           | approved by                      |
# | 系统管理员      | a unit for a new account, or a move into a unit | 安全管理员                       |
# | 系统管理员      | a temporary password (any account)              | 安全管理员                       |
# | 系统管理员      | deactivating an administrator                   | another administrator (any of 三员) |
# | 系统管理员      | reactivating an account                         | 安全管理员; for an administrator, another administrator |
# | 安全管理员      | roles, when a role is added                     | 系统管理员                       |
# | 安全管理员      | roles, when an administrator role is removed    | another administrator            |
#
# Everything that only takes access away (leaving a unit, losing a role that is not an
# administrator's, deactivating someone who is not an administrator) takes effect at once.

UNIT_APPROVER = AdminApproval.Approver.SECURITY_ADMIN
PASSWORD_APPROVER = AdminApproval.Approver.SECURITY_ADMIN


def roles_change_approver(old, new):
    """Who must approve a change of roles from ``old`` to ``new`` (sets of ``Role``), or None when it
    takes effect at once.

    Every role but the administrators' reads or acts on findings, and an administrator role opens
    the administrators' pages: adding any role widens what the person may do, so the system
    administrator approves what the security administrator asks. Removing an administrator's role
    puts that administrator out of office, like deactivating them: another administrator approves.
    Any other removal only narrows access.
    """
    if set(new) - set(old):
        return AdminApproval.Approver.SYSTEM_ADMIN
    if (set(old) - set(new)) & ADMIN_ROLES:
        return AdminApproval.Approver.ANY_ADMIN
    return None


def deactivation_approver(target):
    """Deactivating an administrator needs another administrator; anyone else leaves at once (None)."""
    return AdminApproval.Approver.ANY_ADMIN if is_administrator(target) else None


def activation_approver(target):
    """Reactivating an account gives back whatever it held (a unit, roles that read findings), so it
    always waits: for the security administrator, or for an administrator's, another administrator."""
    return AdminApproval.Approver.ANY_ADMIN if is_administrator(target) else AdminApproval.Approver.SECURITY_ADMIN


def _approver_values(user):
    """The ``AdminApproval.approver`` values this person answers to."""
    values = []
    if _holds(user, Role.SYSTEM_ADMIN):
        values.append(AdminApproval.Approver.SYSTEM_ADMIN)
    if _holds(user, Role.SECURITY_ADMIN):
        values.append(AdminApproval.Approver.SECURITY_ADMIN)
    if is_active_administrator(user):
        values.append(AdminApproval.Approver.ANY_ADMIN)
    return values


def approval_refusal(user, approval):
    """Why ``user`` may not approve or reject ``approval``, in Chinese; None if they may."""
    if not approval.is_pending:
        return _("该申请已处理（%(status)s），不能再审批。") % {"status": approval.get_status_display()}
    if approval.requested_by_id == user.pk:
        return _("不能审批自己提出的申请，须由另一名管理员审批。")
    if approval.target_id == user.pk:
        return _("不能审批与自己账号有关的申请，须由另一名管理员审批。")
    if approval.approver not in _approver_values(user):
        return _("该申请须由%(approver)s审批。") % {"approver": approval.get_approver_display()}
    return None


def may_decide_approval(user, approval):
    return approval_refusal(user, approval) is None


def may_withdraw_approval(user, approval):
    """Only the person who asked withdraws a request, while it waits."""
    return approval.is_pending and approval.requested_by_id == user.pk


def approvals_waiting_condition(user):
    """The queryset condition of ``may_decide_approval``: what waits for this person's decision."""
    return (
        Q(status=AdminApproval.Status.PENDING, approver__in=_approver_values(user))
        & ~Q(requested_by_id=user.pk)
        & ~Q(target_id=user.pk)
    )


def approvals_visible_to(user):
    """The requests an administrator asked for, and those addressed to one of their roles."""
    require_admin_page(user, "approvals")
    return AdminApproval.objects.filter(Q(requested_by_id=user.pk) | Q(approver__in=_approver_values(user)))


def approvals_waiting_for(user):
    return approvals_visible_to(user).filter(approvals_waiting_condition(user))


def approval_for_user(user, pk):
    """One request for the approvals' pages: 403 for anyone but an administrator, 404 for one that
    does not exist or is neither theirs nor addressed to them."""
    found = approvals_visible_to(user).filter(pk=pk).first() if str(pk).isdecimal() else None
    if found is None:
        raise Http404
    return found
