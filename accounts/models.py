from functools import cached_property

from django.conf import settings
from django.contrib.auth.models import AbstractUser, Group
from django.db import models
from django.utils.translation import gettext_lazy as _

from .roles import Role


class Unit(models.Model):
    """A department, office, township or village: the owner of rectification work."""

    class Level(models.TextChoices):
        ORGAN = "organ", _("区级机关")
        DEPARTMENT = "department", _("区直部门")
        TOWNSHIP = "township", _("镇街")
        VILLAGE = "village", _("村（社区）")

    class Kind(models.TextChoices):
        PARTY = "party", _("党委部门")
        GOVERNMENT = "government", _("政府部门")
        MASS = "mass", _("群团及其他")
        TOWNSHIP = "township", _("镇街")
        VILLAGE = "village", _("村（社区）")

    name = models.CharField(_("单位名称"), max_length=100, unique=True)
    short_name = models.CharField(_("简称"), max_length=30, blank=True)
    parent = models.ForeignKey(
        "self", verbose_name=_("上级单位"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    level = models.CharField(_("层级"), max_length=20, choices=Level.choices)
    kind = models.CharField(_("类别"), max_length=20, choices=Kind.choices)
    # Object permissions on findings are granted to this group; membership follows ``User.unit``.
    group = models.OneToOneField(Group, verbose_name=_("权限组"), on_delete=models.PROTECT, editable=False)
    sort_order = models.PositiveIntegerField(_("排序"), default=0)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("单位")
        verbose_name_plural = _("单位")
        ordering = ["sort_order", "id"]
        indexes = [models.Index(fields=["level", "sort_order"])]

    def __str__(self):
        return self.name

    @property
    def display_name(self):
        return self.short_name or self.name


class User(AbstractUser):
    full_name = models.CharField(_("姓名"), max_length=50)
    unit = models.ForeignKey(
        Unit, verbose_name=_("所在单位"), null=True, blank=True, on_delete=models.PROTECT, related_name="members"
    )
    title = models.CharField(_("职务"), max_length=60, blank=True)
    phone = models.CharField(_("联系电话"), max_length=30, blank=True)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self):
        return self.full_name or self.username

    @cached_property
    def role_set(self):
        """The roles this person holds, read once per request."""
        names = {g.name for g in self.groups.all()} if self.pk else set()
        return frozenset(Role(n) for n in names if n in Role.values)

    def has_role(self, *roles):
        return any(role in self.role_set for role in roles)


class AuditEvent(models.Model):
    """An append-only record of who changed what. Rows are only ever inserted."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("操作人"), null=True, blank=True, on_delete=models.PROTECT
    )
    action = models.CharField(_("操作"), max_length=60)
    target_type = models.CharField(_("对象类型"), max_length=60)
    target_id = models.CharField(_("对象编号"), max_length=40, blank=True)
    target_repr = models.CharField(_("对象"), max_length=200, blank=True)
    changes = models.JSONField(_("变更内容"), default=dict, blank=True)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计记录")
        ordering = ["-id"]
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.target_repr}"
