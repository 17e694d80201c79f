import datetime
from functools import cached_property
from itertools import pairwise

from django.conf import settings
from django.contrib.auth.models import AbstractUser, Group
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .audit import row_hash
from .roles import Role

# How a unit or leader kept under the name a ledger wrote, not yet bound to an account, is shown.
PENDING_MARK = "（待开通）"


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
    # 待开通: a unit a ledger import named that the system did not know yet. It holds the findings
    # under its written name, has no staff (so nobody but the office sees them), and is bound by the
    # system administrator to a real unit, or opened as one (``rectification.services.pending``).
    is_pending = models.BooleanField(_("待开通"), default=False)

    class Meta:
        verbose_name = _("单位")
        verbose_name_plural = _("单位")
        ordering = ["sort_order", "id"]
        indexes = [models.Index(fields=["level", "sort_order"])]

    def __str__(self):
        return f"{self.name}{PENDING_MARK}" if self.is_pending else self.name

    @property
    def display_name(self):
        name = self.short_name or self.name
        return f"{name}{PENDING_MARK}" if self.is_pending else name


class Channel(models.TextChoices):
    """The ways a notice reaches a person besides the bell (which always does). A deployment
    enables the ones it has in ``settings.NOTIFY_CHANNELS``; each person may switch any of those off."""

    EMAIL = "email", _("电子邮件")
    SMS = "sms", _("短信")
    WECOM = "wecom", _("企业微信")
    DINGTALK = "dingtalk", _("钉钉")


class User(AbstractUser):
    full_name = models.CharField(_("姓名"), max_length=50)
    unit = models.ForeignKey(
        Unit, verbose_name=_("所在单位"), null=True, blank=True, on_delete=models.PROTECT, related_name="members"
    )
    title = models.CharField(_("职务"), max_length=60, blank=True)
    phone = models.CharField(_("联系电话"), max_length=30, blank=True)
    # Where the outside channels reach the person: private, shown in full only to the person and
    # the system administrator (``access.contact_shown``), who alone sets them.
    mobile = models.CharField(_("手机号码"), max_length=20, blank=True)
    wecom_userid = models.CharField(_("企业微信账号"), max_length=64, blank=True)
    dingtalk_userid = models.CharField(_("钉钉账号"), max_length=64, blank=True)
    # The channels (``Channel`` values) the person has switched off; every other enabled one that
    # reaches them is used.
    channels_off = models.JSONField(_("已关闭的通知渠道"), default=list, blank=True)
    # Quiet hours (local time) for the outside channels: a routine notice falling in them waits until
    # they end; an urgent one goes at once. Both empty: no quiet hours. ``quiet_from`` later than
    # ``quiet_until`` spans midnight (the default, 22:00 to 07:30).
    quiet_from = models.TimeField(_("免打扰开始时间"), null=True, blank=True, default=datetime.time(22, 0))
    quiet_until = models.TimeField(_("免打扰结束时间"), null=True, blank=True, default=datetime.time(7, 30))
    # The first-week guides (one per role's chapter of the manual, e.g. "01-liaison") the person has
    # put away; a guide shows on the landing page until then.
    guides_dismissed = models.JSONField(_("已关闭的入门指引"), default=list, blank=True)
    # Passwords expire (settings.PASSWORD_EXPIRY_DAYS) counting from here; set whenever one is saved.
    # Empty after the system administrator set a temporary password: it must be changed at once.
    password_changed_at = models.DateTimeField(_("密码修改时间"), null=True, blank=True, default=timezone.now)
    # The second factor (TOTP). The secret is set only once the person has proved, with a first
    # code, that their authenticator app holds it; the last accepted time step refuses a replay.
    # Stored sealed with SM4-GCM (accounts.totp.secret_seal), never in clear.
    totp_secret = models.CharField(_("动态口令密钥"), max_length=128, blank=True, editable=False)
    totp_confirmed_at = models.DateTimeField(_("动态口令启用时间"), null=True, blank=True, editable=False)
    totp_last_step = models.BigIntegerField(_("最近使用的动态口令时间片"), default=0, editable=False)
    # 待开通: a leader a ledger import named who has no account yet. The row holds the name only (it
    # cannot sign in: inactive, no usable password, no role) until the system administrator binds it
    # to the leader's real account (``rectification.services.pending``).
    is_pending = models.BooleanField(_("待开通"), default=False)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self):
        name = self.full_name or self.username
        return f"{name}{PENDING_MARK}" if self.is_pending else name

    def quiet_end(self, moment):
        """When the quiet hours around ``moment`` end, or None if ``moment`` is outside them."""
        start, end = self.quiet_from, self.quiet_until
        if start is None or end is None or start == end:
            return None
        local = timezone.localtime(moment)
        now = local.time()
        if start < end:
            if not start <= now < end:
                return None
            day = local.date()
        elif now >= start:
            day = local.date() + datetime.timedelta(days=1)
        elif now < end:
            day = local.date()
        else:
            return None
        return datetime.datetime.combine(day, end, tzinfo=local.tzinfo)

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


class NameAlias(models.Model):
    """Another way a ledger writes a unit's or a leader's name ("区卫健局" = 区卫生健康局).

    Confirmed by the office from an import preview, or left when the system administrator binds a
    pending unit or leader; every later import reads the written name as that unit or person.
    ``key`` is the name as the import compares names (``rectification.excel.matching.normalised``).
    """

    class Kind(models.TextChoices):
        UNIT = "unit", _("单位")
        LEADER = "leader", _("领导")

    kind = models.CharField(_("类别"), max_length=10, choices=Kind.choices)
    written = models.CharField(_("台账中的写法"), max_length=100)
    key = models.CharField(_("比对用写法"), max_length=100)
    unit = models.ForeignKey(
        Unit, verbose_name=_("单位"), null=True, blank=True, on_delete=models.CASCADE, related_name="aliases"
    )
    person = models.ForeignKey(
        "User", verbose_name=_("领导"), null=True, blank=True, on_delete=models.CASCADE, related_name="aliases"
    )
    created_by = models.ForeignKey(
        "User", verbose_name=_("确认人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("确认时间"), default=timezone.now)

    class Meta:
        verbose_name = _("名称别名")
        verbose_name_plural = _("名称别名")
        ordering = ["kind", "key"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "key"], name="name_alias_unique_key"),
            models.CheckConstraint(
                condition=(models.Q(kind="unit", unit__isnull=False, person__isnull=True))
                | (models.Q(kind="leader", unit__isnull=True, person__isnull=False)),
                name="name_alias_one_target",
            ),
        ]

    def __str__(self):
        return f"{self.written} = {self.unit or self.person}"


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


class AdminApproval(models.Model):
    """A change one administrator asks for and another must approve (双人审批).

    Whatever gives a person access to findings, or takes an administrator out of the way, is not
    done by one administrator alone: unit membership asked by the system administrator waits for
    the security administrator, roles added by the security administrator wait for the system
    administrator, a password reset waits for the security administrator, and deactivating an
    administrator waits for another administrator. The rules live in ``accounts.access``; the
    transitions (request, approve, reject, withdraw) in ``accounts.services``.

    ``payload`` holds what is asked and what the target looked like when it was asked (``before``),
    so that a request overtaken by a later change is refused at approval. A temporary password
    waits here as its hash only (``make_password``), and is removed once the request is decided.
    """

    class Kind(models.TextChoices):
        UNIT = "unit", _("单位授权")
        ROLES = "roles", _("角色授权")
        PASSWORD = "password", _("重置密码")
        DEACTIVATE = "deactivate", _("停用管理员账号")
        ACTIVATE = "activate", _("启用账号")

    class Status(models.TextChoices):
        PENDING = "pending", _("待审批")
        APPROVED = "approved", _("已批准")
        REJECTED = "rejected", _("已驳回")
        WITHDRAWN = "withdrawn", _("已撤回")

    class Approver(models.TextChoices):
        SYSTEM_ADMIN = Role.SYSTEM_ADMIN.value, _("系统管理员")
        SECURITY_ADMIN = Role.SECURITY_ADMIN.value, _("安全管理员")
        ANY_ADMIN = "any_admin", _("另一名管理员")

    kind = models.CharField(_("申请类型"), max_length=20, choices=Kind.choices)
    target = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("对象账号"), on_delete=models.PROTECT, related_name="approvals"
    )
    payload = models.JSONField(_("申请内容"), default=dict, blank=True)
    approver = models.CharField(_("审批人"), max_length=30, choices=Approver.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("申请人"),
        on_delete=models.PROTECT,
        related_name="approvals_requested",
    )
    requested_at = models.DateTimeField(_("申请时间"), default=timezone.now)
    status = models.CharField(_("状态"), max_length=20, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("处理人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="approvals_decided",
    )
    decided_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    reason = models.CharField(_("审批意见"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("管理员双人审批")
        verbose_name_plural = _("管理员双人审批")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["target", "kind"],
                condition=models.Q(status="pending"),
                name="one_pending_approval_per_target_and_kind",
            )
        ]
        indexes = [models.Index(fields=["status", "approver"])]

    def __str__(self):
        return f"{self.get_kind_display()}：{self.target}"

    @property
    def is_pending(self):
        return self.status == self.Status.PENDING

    @property
    def summary(self):
        """What is asked, in one line of Chinese (never the temporary password or its hash)."""
        payload = self.payload
        if self.kind == self.Kind.UNIT:
            return _("加入单位“%(unit)s”") % {"unit": payload.get("unit", "")}
        if self.kind == self.Kind.ROLES:
            old = "、".join(_role_label(r) for r in payload.get("old", [])) or _("无")
            new = "、".join(_role_label(r) for r in payload.get("new", [])) or _("无")
            return _("角色由“%(old)s”改为“%(new)s”") % {"old": old, "new": new}
        if self.kind == self.Kind.PASSWORD:
            return _("设置申请人提交的临时密码，对方登录后必须立即修改")
        if self.kind == self.Kind.DEACTIVATE:
            return _("停用账号，其登录会话随即失效")
        return _("重新启用账号")


def _role_label(value):
    return str(Role(value).label) if value in Role.values else value
