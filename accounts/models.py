from functools import cached_property
from itertools import pairwise

from django.conf import settings
from django.contrib.auth.models import AbstractUser, Group
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .audit import row_hash
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
    # Passwords expire (settings.PASSWORD_EXPIRY_DAYS) counting from here; set whenever one is saved.
    # Empty after the system administrator set a temporary password: it must be changed at once.
    password_changed_at = models.DateTimeField(_("密码修改时间"), null=True, blank=True, default=timezone.now)
    # The second factor (TOTP). The secret is set only once the person has proved, with a first
    # code, that their authenticator app holds it; the last accepted time step refuses a replay.
    # Stored sealed with SM4-GCM (accounts.totp.secret_seal), never in clear.
    totp_secret = models.CharField(_("动态口令密钥"), max_length=128, blank=True, editable=False)
    totp_confirmed_at = models.DateTimeField(_("动态口令启用时间"), null=True, blank=True, editable=False)
    totp_last_step = models.BigIntegerField(_("最近使用的动态口令时间片"), default=0, editable=False)

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

    @property
    def has_totp(self):
        return bool(self.totp_secret) and self.totp_confirmed_at is not None


class PasswordHistory(models.Model):
    """The hashes of a person's recent passwords, so that none of the last few is chosen again."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="password_history"
    )
    password = models.CharField(_("密码摘要"), max_length=128)
    created_at = models.DateTimeField(_("设置时间"), default=timezone.now)

    class Meta:
        verbose_name = _("历史密码")
        verbose_name_plural = _("历史密码")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"])]

    def __str__(self):
        return f"{self.user} {self.created_at:%Y-%m-%d}"


class AuditLogAppendOnly(Exception):
    """Raised by any attempt to change or remove an audit row from the application."""


class AuditEventQuerySet(models.QuerySet):
    """Bulk changes would bypass ``AuditEvent.save``/``delete``: they are refused as well."""

    def update(self, **kwargs):
        raise AuditLogAppendOnly(_("审计记录只能追加，不能修改。"))

    def delete(self):
        raise AuditLogAppendOnly(_("审计记录只能追加，不能删除。"))

    def bulk_update(self, objs, fields, batch_size=None):
        raise AuditLogAppendOnly(_("审计记录只能追加，不能修改。"))

    def bulk_create(self, objs, *args, **kwargs):
        # Every row must be chained under the chain lock; see ``accounts.audit``.
        raise AuditLogAppendOnly(_("审计记录只能通过 audit_record 或 audit_record_many 写入。"))

    def _chained_insert(self, events):
        """The one bulk insert allowed: rows ``audit_record_many`` chained, in order, under the chain lock.

        Refuses rows that do not follow each other or whose hash does not match their content, so a
        mistake here cannot write a broken chain. (The first row's link to the chain head is the
        caller's, made under the lock; ``prev_hash`` being unique refuses a fork.)
        """
        for before, after in pairwise(events):
            if after.prev_hash != before.row_hash:
                raise AuditLogAppendOnly(_("审计记录必须逐条接在前一条之后。"))
        for event in events:
            if not event._state.adding or event.row_hash != row_hash(event.prev_hash, event):
                raise AuditLogAppendOnly(_("审计记录只能通过 audit_record 或 audit_record_many 写入。"))
        return super().bulk_create(events)


class AuditEvent(models.Model):
    """An append-only record of who did what, from where, and whether it worked.

    Rows are only ever inserted, through ``accounts.services.audit_record``. Each row carries the
    hash of the row before it and its own hash over that and its content (see ``accounts.audit``),
    so a row changed or removed outside the application breaks the chain at that row. On
    PostgreSQL a trigger also refuses UPDATE and DELETE on the table (migration 0004).
    """

    class Outcome(models.TextChoices):
        SUCCESS = "success", _("成功")
        FAILURE = "failure", _("失败")

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("操作人"), null=True, blank=True, on_delete=models.PROTECT
    )
    action = models.CharField(_("操作"), max_length=60)
    target_type = models.CharField(_("对象类型"), max_length=60)
    target_id = models.CharField(_("对象编号"), max_length=40, blank=True)
    target_repr = models.CharField(_("对象"), max_length=200, blank=True)
    changes = models.JSONField(_("变更内容"), default=dict, blank=True)
    outcome = models.CharField(_("结果"), max_length=10, choices=Outcome.choices, default=Outcome.SUCCESS)
    ip = models.GenericIPAddressField(_("来源地址"), null=True, blank=True)
    created_at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)
    # The hash chain: unique, so two writers can never both append after the same row.
    prev_hash = models.CharField(_("前一条摘要"), max_length=64, unique=True, editable=False)
    row_hash = models.CharField(_("本条摘要"), max_length=64, editable=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计记录")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["target_type", "target_id"]),
            models.Index(fields=["action", "-created_at"]),
        ]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.target_repr}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AuditLogAppendOnly(_("审计记录只能追加，不能修改。"))
        if not self.row_hash:
            raise AuditLogAppendOnly(_("审计记录只能通过 audit_record 写入。"))
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditLogAppendOnly(_("审计记录只能追加，不能删除。"))
