"""Roles are auth groups with fixed names; a person may hold several.

Units are groups too (one per unit, see ``Unit.group``), but those carry object
permissions on findings, while role groups say what kind of work a person does.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    OFFICE = "role:office", _("整改办")
    TRACK_OFFICE = "role:track_office", _("专项整改办")
    LEADER = "role:leader", _("区领导（牵头/责任领导）")
    LIAISON = "role:liaison", _("单位联络员")
    UNIT_HEAD = "role:unit_head", _("单位负责人")
    SUPERVISION = "role:supervision", _("监督（纪委监委/组织部）")
    PROVINCIAL = "role:provincial", _("省巡视组（只读）")
    SYSTEM_ADMIN = "role:system_admin", _("系统管理员")
    SECURITY_ADMIN = "role:security_admin", _("安全管理员")
    AUDIT_ADMIN = "role:audit_admin", _("审计管理员")


# Roles that read every finding of every round. The provincial team reads but never writes.
READ_ALL_ROLES = frozenset({Role.OFFICE, Role.SUPERVISION, Role.PROVINCIAL})
# The three administrators (三员) run the system but, by default, see no findings at all.
ADMIN_ROLES = frozenset({Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN})
UNIT_STAFF_ROLES = frozenset({Role.LIAISON, Role.UNIT_HEAD})
