"""The system administrator sets up the outside channels and the group robots in the browser.

Secrets (the SMS gateway's signing key, the platforms' application secrets, a robot's webhook
address and signing secret) are sealed at rest with ``accounts.crypto`` (SM4-GCM, keyed by
``FIELD_ENCRYPTION_KEY``), each for its own row and field, and never shown back: a page says only
whether one is set. The audit row names which secrets changed, never their values.
"""

import urllib.parse

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import crypto
from accounts.models import Channel

from .. import access
from ..models import CHANNEL_FIELDS, ChannelSetup, GroupRobot
from .audit import audit_record
from .channels import (
    ADAPTERS,
    ROBOTS,
    SETUP_CACHE_KEY,
    ChannelDown,
    ChannelRefused,
    Outgoing,
    channel_on,
    robot_context,
    robot_secrets,
    secret_context,
)


def _secret_fields(kind):
    return [name for name, _label, _setting, secret in CHANNEL_FIELDS[kind] if secret]


@transaction.atomic
def channel_setup_save(*, actor, kind, enabled, params, secrets):
    """Save one channel's setup. ``params`` holds its plain fields; ``secrets`` the secret fields
    typed in (an empty value keeps the stored one). Returns the setup."""
    access.require_channel_setup(actor)
    kind = Channel(kind)
    setup, _created = ChannelSetup.objects.select_for_update().get_or_create(kind=kind)
    before = {"enabled": setup.enabled, **setup.params}
    plain = {name for name, _label, _setting, secret in CHANNEL_FIELDS[kind] if not secret}
    setup.params = {name: value for name, value in params.items() if name in plain and value not in ("", None)}
    changed_secrets = []
    sealed = dict(setup.sealed)
    for name in _secret_fields(kind):
        value = secrets.get(name, "")
        if value:
            sealed[name] = crypto.seal(value, context=secret_context(kind, name))
            changed_secrets.append(name)
    setup.sealed = sealed
    setup.enabled = enabled
    setup.updated_by = actor
    setup.save()
    after = {"enabled": setup.enabled, **setup.params}
    changes = {
        name: [before.get(name, ""), after.get(name, "")]
        for name in sorted(set(before) | set(after))
        if before.get(name, "") != after.get(name, "")
    }
    if changed_secrets:
        # Which secrets were replaced, never what they are.
        changes["secrets_replaced"] = changed_secrets
    audit_record(actor=actor, action="channel.setup", target=setup, changes=changes)
    # Another process reading the setups before this commits may cache the old ones: for a minute
    # at most (the cache's lifetime).
    cache.delete(SETUP_CACHE_KEY)
    return setup


def channel_secrets_set(kind):
    """Which of a channel's secrets are set in the browser (names only)."""
    setup = ChannelSetup.objects.filter(kind=kind).first()
    return set(setup.sealed) if setup else set()


def _check_webhook(url):
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(_("Webhook 地址须以 https:// 或 http:// 开头，请从群机器人的设置页面复制完整地址。"))


@transaction.atomic
def group_robot_save(*, actor, robot=None, name, platform, unit, enabled, webhook="", secret=""):
    """Add a group robot, or change one (an empty ``webhook`` or ``secret`` keeps the stored one)."""
    access.require_channel_setup(actor)
    creating = robot is None
    if creating and not webhook:
        raise ValueError(_("请填写群机器人的 Webhook 地址。"))
    if webhook:
        _check_webhook(webhook)
    robot = robot or GroupRobot(webhook_sealed="")
    before = {"name": robot.name, "platform": robot.platform, "unit": str(robot.unit or ""), "enabled": robot.enabled}
    robot.name, robot.platform, robot.unit, robot.enabled = name, GroupRobot.Platform(platform), unit, enabled
    robot.save()
    replaced = []
    # Sealed for this robot's own row, so its id is known first.
    if webhook:
        robot.webhook_sealed = crypto.seal(webhook, context=robot_context(robot.pk, "webhook"))
        replaced.append("webhook")
    if secret:
        robot.secret_sealed = crypto.seal(secret, context=robot_context(robot.pk, "secret"))
        replaced.append("secret")
    if replaced:
        robot.save(update_fields=["webhook_sealed", "secret_sealed"])
    after = {"name": robot.name, "platform": robot.platform, "unit": str(robot.unit or ""), "enabled": robot.enabled}
    changes = after if creating else {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if replaced:
        changes["secrets_replaced"] = replaced
    audit_record(
        actor=actor,
        action="channel.robot_create" if creating else "channel.robot_update",
        target=robot,
        changes=changes,
    )
    return robot


@transaction.atomic
def group_robot_delete(*, actor, robot):
    access.require_channel_setup(actor)
    audit_record(actor=actor, action="channel.robot_delete", target=robot, changes={"name": robot.name})
    robot.delete()


def _test_message(address):
    now = timezone.localtime()
    return Outgoing(
        key=f"test:{now:%Y%m%d%H%M%S%f}",
        address=address,
        title=_("【巡视整改督办台账】测试消息"),
        text=_("这是系统管理员于%(time)s发送的测试消息，收到即说明渠道设置正确。") % {"time": f"{now:%Y-%m-%d %H:%M}"},
        link=settings.SITE_URL,
        urgent=True,
    )


def channel_test_send(*, actor, kind, address):
    """Send a test message by one channel to ``address`` (a mobile number, a platform account, an
    e-mail address) at once, outside the outbox; returns a Chinese sentence saying what happened."""
    access.require_channel_setup(actor)
    kind = Channel(kind)
    if not channel_on(kind):
        raise ValueError(_("该渠道未启用：部署设置 NOTIFY_CHANNELS 中没有它，或已在本页停用。"))
    if not address:
        raise ValueError(_("请填写接收测试消息的地址（手机号码、平台账号或电子邮箱）。"))
    return _tried(actor, kind.label, lambda: ADAPTERS[kind].send(_test_message(address)), target_repr=kind.label)


def robot_test_send(*, actor, robot):
    """Post a test message to the robot's group at once, outside the outbox."""
    access.require_channel_setup(actor)
    if not channel_on(robot.platform):
        raise ValueError(
            _("部署设置 NOTIFY_CHANNELS 中没有%(platform)s。") % {"platform": robot.get_platform_display()}
        )

    def send():
        webhook, secret = robot_secrets(robot)
        ROBOTS[robot.platform].send(_test_message(webhook), secret=secret)

    return _tried(actor, robot.name, send, target=robot)


def _tried(actor, label, send, *, target=None, target_repr=""):
    try:
        send()
    except (ChannelDown, ChannelRefused) as error:
        outcome, result = "failure", _("测试消息发送失败：%(error)s") % {"error": error}
    else:
        outcome, result = "success", _("测试消息已发送至%(label)s，请到接收端查看。") % {"label": label}
    audit_record(
        actor=actor,
        action="channel.test",
        target=target,
        target_type="" if target else "rectification.channelsetup",
        target_repr=target_repr,
        changes={"channel": str(label)},
        outcome=outcome,
    )
    return outcome == "success", result
