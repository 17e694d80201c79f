"""The outbox: each notice on its way to one person by one outside channel (e-mail, SMS, 企业微信),
or a short message on its way to a group robot (a unit's or the office's 企业微信 or 钉钉 group).

Rows are written in the transaction that writes the notice, so a rolled-back request sends nothing
and a committed one loses nothing; a worker sends them after commit (``services.outbox``).

How each channel is reached is set up by the system administrator in the browser (``ChannelSetup``,
``GroupRobot``); secrets are sealed at rest (``accounts.crypto``, SM4-GCM) and never shown back.
"""

import hashlib

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Channel, Unit

from .work import Notification

# What a platform's answer to the office may say; longer answers are cut.
ERROR_LENGTH = 300


class GroupRobot(models.Model):
    """A group's robot (群机器人): a unit's work group, or the office's (no unit). It is told what the
    whole group should know: the week's dispatch sheet and supervision notices of the unit, the
    week's summary for the office; never a finding's text. Its webhook address holds the platform's
    key (企业微信 ``key``, 钉钉 ``access_token``) and is sealed like the 钉钉 signing secret."""

    class Platform(models.TextChoices):
        WECOM = "wecom_robot", _("企业微信群机器人")
        DINGTALK = "dingtalk_robot", _("钉钉群机器人")

    name = models.CharField(_("群名称"), max_length=60)
    platform = models.CharField(_("平台"), max_length=20, choices=Platform.choices)
    unit = models.ForeignKey(
        Unit,
        verbose_name=_("所属单位"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="group_robots",
        help_text=_("不选单位即为整改办工作群。"),
    )
    webhook_sealed = models.TextField(_("Webhook 地址（加密保存）"))
    secret_sealed = models.TextField(_("加签密钥（加密保存）"), blank=True)
    enabled = models.BooleanField(_("启用"), default=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("群机器人")
        verbose_name_plural = _("群机器人")
        ordering = ["unit__sort_order", "unit_id", "name", "id"]

    def __str__(self):
        return self.name


# The fields of each channel's setup: (name, label, the environment setting it overrides, secret?).
# Settings still decide which channels a deployment has (``NOTIFY_CHANNELS``); a field left empty in
# the browser falls back to its environment setting.
CHANNEL_FIELDS = {
    Channel.EMAIL: (),
    Channel.SMS: (
        ("url", _("短信网关地址"), "SMS_GATEWAY_URL", False),
        ("app_key", _("应用标识（app_key）"), "SMS_GATEWAY_APP_KEY", False),
        ("secret", _("签名密钥"), "SMS_GATEWAY_SECRET", True),
        ("sign_name", _("短信签名"), "SMS_GATEWAY_SIGN_NAME", False),
        ("template_id", _("短信模板编号"), "SMS_GATEWAY_TEMPLATE_ID", False),
    ),
    Channel.WECOM: (
        ("api_base", _("接口地址（政务微信私有部署时修改）"), "WECOM_API_BASE", False),
        ("corp_id", _("企业ID（corpid）"), "WECOM_CORP_ID", False),
        ("agent_id", _("应用AgentId"), "WECOM_AGENT_ID", False),
        ("corp_secret", _("应用Secret"), "WECOM_CORP_SECRET", True),
    ),
    Channel.DINGTALK: (
        ("api_base", _("接口地址（浙政钉等私有部署时修改）"), "DINGTALK_API_BASE", False),
        ("app_key", _("AppKey"), "DINGTALK_APP_KEY", False),
        ("agent_id", _("AgentId"), "DINGTALK_AGENT_ID", False),
        ("app_secret", _("AppSecret"), "DINGTALK_APP_SECRET", True),
    ),
}


class ChannelSetup(models.Model):
    """One outside channel as the system administrator set it up: on or off, its parameters, and its
    secrets sealed (``sealed`` maps a field to ``accounts.crypto.seal`` text, for the context
    ``channel:<kind>:<field>``). No row: the environment settings alone."""

    kind = models.CharField(_("渠道"), max_length=10, choices=Channel.choices, unique=True)
    enabled = models.BooleanField(_("启用"), default=True)
    params = models.JSONField(_("参数"), default=dict, blank=True)
    sealed = models.JSONField(_("密钥（加密保存）"), default=dict, blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("设置人"), null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        verbose_name = _("通知渠道设置")
        verbose_name_plural = _("通知渠道设置")

    def __str__(self):
        return self.get_kind_display()


# What an outbox row's ``channel`` may be: a person's channel, or a group robot's platform.
OUTBOX_CHANNELS = [*Channel.choices, *GroupRobot.Platform.choices]


class OutboxMessage(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", _("待发送")
        SENDING = "sending", _("发送中")
        SENT = "sent", _("已发送")
        FAILED = "failed", _("发送失败")

    # A person's notice, or (``robot``) a group's message: exactly one of the two.
    notification = models.ForeignKey(
        Notification, verbose_name=_("通知"), null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    robot = models.ForeignKey(
        GroupRobot, verbose_name=_("群机器人"), null=True, blank=True, on_delete=models.CASCADE, related_name="messages"
    )
    # What a group robot says (counts, codes and a link, never a finding's text).
    robot_text = models.CharField(_("群消息内容"), max_length=1000, blank=True)
    robot_link = models.CharField(_("群消息链接"), max_length=200, blank=True)
    channel = models.CharField(_("渠道"), max_length=20, choices=OUTBOX_CHANNELS)
    # The idempotency key: one message per notice and channel, whatever retries or races happen.
    # It is also sent to platforms that accept one, so they drop a duplicate themselves.
    key = models.CharField(_("幂等键"), max_length=60, unique=True)
    state = models.CharField(_("状态"), max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(_("发送次数"), default=0)
    next_attempt_at = models.DateTimeField(_("下次发送时间"), default=timezone.now)
    claimed_at = models.DateTimeField(_("开始发送时间"), null=True, blank=True)
    sent_at = models.DateTimeField(_("发送成功时间"), null=True, blank=True)
    last_error = models.CharField(_("最近一次错误"), max_length=ERROR_LENGTH, blank=True)
    # A daily digest (``services.outbox.digests_write``): what it says (how many unread routine notices
    # of each kind), sent instead of them; its ``notification`` is the latest of those. Empty otherwise.
    digest_text = models.CharField(_("每日汇总内容"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("生成时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("待发消息")
        verbose_name_plural = _("待发消息")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"]),
            models.Index(fields=["notification", "channel"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(notification__isnull=True) ^ models.Q(robot__isnull=True),
                name="outbox_person_or_group",
            )
        ]

    def __str__(self):
        return self.key

    @staticmethod
    def key_for(notification_id, channel):
        return f"n{notification_id}:{channel}"

    @staticmethod
    def day_key_for(notification, channel, day):
        """The key that caps nags: one message a day per person, channel, kind and subject.

        The subject is the notice's link (what it is about), or its text when it has none. Two notices
        with the same key on the same local day (``TIME_ZONE``) make one outside message; the bell keeps
        both. 60 characters at most: the subject goes in as a hash.
        """
        subject = notification.link or notification.text
        digest = hashlib.sha256(f"{notification.kind}|{subject}".encode()).hexdigest()[:16]
        return f"d{notification.recipient_id}:{day:%Y%m%d}:{channel}:{digest}"
