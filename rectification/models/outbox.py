"""The outbox: each notice on its way to one person by one outside channel (e-mail, SMS, 企业微信).

Rows are written in the transaction that writes the notice, so a rolled-back request sends nothing
and a committed one loses nothing; a worker sends them after commit (``services.outbox``).
"""

import hashlib

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Channel

from .work import Notification

# What a platform's answer to the office may say; longer answers are cut.
ERROR_LENGTH = 300


class OutboxMessage(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", _("待发送")
        SENDING = "sending", _("发送中")
        SENT = "sent", _("已发送")
        FAILED = "failed", _("发送失败")

    notification = models.ForeignKey(
        Notification, verbose_name=_("通知"), on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.CharField(_("渠道"), max_length=10, choices=Channel.choices)
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
