"""The outbox: notices leave by e-mail, SMS and 企业微信 exactly once per person and channel.

Nags are capped: the row's key is the day's key (``OutboxMessage.day_key_for``: person, channel,
kind, what the notice is about, local date), so no one gets the same reminder twice in a day by an
outside channel; the bell still shows every notice. Routine (not urgent) notices do not leave one by
one: a daily digest per person and channel counts them (``digests_write``, at ``NOTIFY_DIGEST_HOUR``).
With the digest off (``NOTIFY_DIGEST_HOUR`` -1), a routine notice written in the person's quiet
hours (``User.quiet_from`` to ``quiet_until``) waits in the outbox until they end; an urgent one goes
at once.

``outbox_write`` runs in the transaction that writes the notices and adds one row per recipient and
channel (its unique key makes a second row impossible). After commit a task sends them
(``outbox_send``); each row is claimed by a compare-and-set, so two workers never send one row. A
channel that is down leaves the row pending and tries again after 1, 2, 4 ... minutes (at most an
hour apart), from the per-minute sweep; after ``NOTIFY_MAX_ATTEMPTS`` the office sees it as failed
and may resend it. Should a worker die between the platform's answer and recording it, the row is
sent again after ``STALE_SENDING``: the one case where a message may arrive twice (企业微信's
duplicate check and the SMS ``request_id`` let the platforms drop it).
"""

import datetime
import logging
from collections import Counter

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import counters
from ..models import GroupRobot, Notification, OutboxMessage
from ..models.outbox import ERROR_LENGTH
from ..models.work import URGENT_KINDS
from .audit import audit_record
from .channels import (
    ADAPTERS,
    ROBOTS,
    ChannelDown,
    ChannelRefused,
    Outgoing,
    adapters_enabled,
    channel_on,
    robot_secrets,
)
from .queue import task_after_commit

logger = logging.getLogger(__name__)
SEND_TASK = "rectification.tasks.outbox_send"
# A row claimed this long ago whose worker never recorded the outcome is sent again.
STALE_SENDING = datetime.timedelta(minutes=10)
BACKOFF_CAP = datetime.timedelta(hours=1)
# How many rows one run of the sweep sends; the next minute's run takes the rest.
BATCH = 500
# A digest counts the notices since the previous one.
DIGEST_PERIOD = datetime.timedelta(days=1)


def digest_on():
    """Whether routine notices reach the outside channels in a daily digest (``NOTIFY_DIGEST_HOUR``)."""
    return 0 <= settings.NOTIFY_DIGEST_HOUR <= 23


# The platforms' own apps, on the person's phone: an urgent notice goes by them first.
PHONE_CHANNELS = frozenset({"wecom", "dingtalk"})


def _step_up_channels():
    """The channels an urgent notice is held back for, to step up to when it stays unread
    (``NOTIFY_STEP_UP_CHANNELS``, SMS by default)."""
    return set(getattr(settings, "NOTIFY_STEP_UP_CHANNELS", ("sms",)))


def _reaching(person, notification):
    for adapter in adapters_enabled():
        if adapter.channel.value in person.channels_off or not adapter.address(person):
            continue
        if adapter.urgent_only and not notification.is_urgent:
            continue
        yield adapter.channel


def _channels_for(person, notification, *, digest=False, step_up=False):
    """The channels a notice goes by at once (or, with ``step_up``, once it stayed unread).

    A routine notice waits for the day's digest instead of leaving by itself. An urgent one goes at
    once by every channel that reaches the person except the step-up channels (SMS), which are kept
    for when it stays unread (``notices_escalate``), provided 企业微信 or 钉钉 reaches them; a person
    reached by neither gets every channel at once, SMS being the strongest they have."""
    if not digest and digest_on() and not notification.is_urgent:
        return []
    reaching = list(_reaching(person, notification))
    if not notification.is_urgent or digest:
        return [] if step_up else reaching
    held = [channel for channel in reaching if channel in _step_up_channels()]
    first = [channel for channel in reaching if channel not in held]
    # Held back only behind a channel that reaches the phone (企业微信, 钉钉): e-mail alone is
    # no first try for an urgent notice.
    if not PHONE_CHANNELS & set(first):
        first, held = reaching, []
    return held if step_up else first


def outbox_step_up(notification, *, now=None):
    """An urgent notice left unread goes out by the person's next channels (held back at first).
    Returns how many rows were written (0: there is no next channel)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    rows = [
        OutboxMessage(
            notification=notification,
            channel=channel,
            key=OutboxMessage.day_key_for(notification, channel, today),
            next_attempt_at=now,
        )
        for channel in _channels_for(notification.recipient, notification, step_up=True)
    ]
    if not rows:
        return 0
    OutboxMessage.objects.bulk_create(rows, ignore_conflicts=True)
    task_after_commit(SEND_TASK, [notification.pk])
    return len(rows)


def outbox_wanted(notification):
    """Whether any enabled channel besides the bell reaches the notice's recipient."""
    return any(_channels_for(notification.recipient, notification))


def _not_before(notification, now):
    """When a notice may leave: at once if urgent or outside the person's quiet hours, else when
    they end (the per-minute sweep sends it then)."""
    if notification.is_urgent:
        return now
    return notification.recipient.quiet_end(now) or now


def outbox_write(notifications):
    """Add the outside deliveries of saved ``notifications`` (their recipients loaded): one row per
    person and channel that reaches them, and a task to send them once the transaction commits."""
    now = timezone.now()
    today = timezone.localdate(now)
    # The day's key caps nags: a second notice of the same kind about the same thing on the same
    # day stays in the bell only (the unique key drops its row, even from a racing writer).
    rows = [
        OutboxMessage(
            notification=n,
            channel=channel,
            key=OutboxMessage.day_key_for(n, channel, today),
            next_attempt_at=_not_before(n, now),
        )
        for n in notifications
        for channel in _channels_for(n.recipient, n)
    ]
    if not rows:
        return 0
    OutboxMessage.objects.bulk_create(rows, ignore_conflicts=True)
    task_after_commit(SEND_TASK, sorted({pk for row in rows if (pk := row.notification_id) is not None}))
    return len(rows)


def digests_write(*, now=None):
    """Once a day from ``NOTIFY_DIGEST_HOUR``: for each person, one message per outside channel that
    counts their routine notices still unread from the previous digest hour to this one, by kind,
    with one link to the bell. Urgent notices are never in it (they left at once). Run by the
    per-minute sweep; the unique key (person, day, channel) writes each digest once, however many
    sweeps run. Returns how many rows were written."""
    if not digest_on():
        return 0
    now = now or timezone.now()
    local = timezone.localtime(now)
    if local.hour < settings.NOTIFY_DIGEST_HOUR:
        return 0
    day = local.date()
    done = f"notify:digest:{day:%Y%m%d}"
    if cache.get(done):
        return 0
    end = datetime.datetime.combine(day, datetime.time(settings.NOTIFY_DIGEST_HOUR), tzinfo=local.tzinfo)
    notices = (
        Notification.objects.filter(created_at__gte=end - DIGEST_PERIOD, created_at__lt=end, read_at__isnull=True)
        .exclude(kind__in=URGENT_KINDS)
        .select_related("recipient")
        .order_by("recipient_id", "created_at", "id")
    )
    latest: dict[int, Notification] = {}
    counts: dict[int, Counter] = {}
    for notice in notices:
        latest[notice.recipient_id] = notice
        counts.setdefault(notice.recipient_id, Counter())[notice.kind] += 1
    labels = dict(Notification.Kind.choices)
    rows = []
    for person_id, notice in latest.items():
        person = notice.recipient
        kinds = counts[person_id]
        text = _("您有%(total)s条未读的一般通知：%(kinds)s。") % {
            "total": sum(kinds.values()),
            "kinds": "，".join(f"{labels[kind]}{number}条" for kind, number in sorted(kinds.items())),
        }
        rows += [
            OutboxMessage(
                notification=notice,
                channel=channel,
                key=f"g{person_id}:{day:%Y%m%d}:{channel}",
                digest_text=text[:300],
                next_attempt_at=person.quiet_end(now) or now,
            )
            for channel in _channels_for(person, notice, digest=True)
        ]
    OutboxMessage.objects.bulk_create(rows, ignore_conflicts=True)
    cache.set(done, True, 2 * 24 * 3600)
    return len(rows)


def _backoff(attempts):
    return min(datetime.timedelta(minutes=2 ** (attempts - 1)), BACKOFF_CAP)


def _outgoing(message):
    if message.robot_id:
        webhook, _secret = robot_secrets(message.robot)
        return Outgoing(
            key=message.key,
            address=webhook,
            title=_("【巡视整改督办台账】%(group)s") % {"group": message.robot.name},
            text=message.robot_text,
            link=f"{settings.SITE_URL}{message.robot_link}",
            urgent=False,
        )
    notice = message.notification
    person = notice.recipient
    if message.digest_text:
        # Counts by kind only, whatever NOTIFY_EXTERNAL_DETAIL says: no notice's own text.
        return Outgoing(
            key=message.key,
            address=ADAPTERS[message.channel].address(person),
            title=_("【巡视整改督办台账】每日通知汇总"),
            text=message.digest_text,
            link=f"{settings.SITE_URL}{reverse('rectification:notifications')}",
            urgent=False,
        )
    title = _("【巡视整改督办台账】%(kind)s") % {"kind": notice.get_kind_display()}
    if message.channel == "email":
        # E-mail stays on the district's own mail server: it carries the bell's text.
        text = notice.text
    elif getattr(settings, "NOTIFY_EXTERNAL_DETAIL", "title") == "text":
        text = notice.text[:60]
    else:
        text = _("您有一条新的通知，请点击查看。")
    return Outgoing(
        key=message.key,
        address=ADAPTERS[message.channel].address(person),
        title=title,
        text=text,
        link=f"{settings.SITE_URL}{notice.get_absolute_url()}",
        urgent=notice.is_urgent,
    )


def outbox_deliver(message_id, *, now=None):
    """Send one row if it is still waiting; returns its new state, or None if another worker has it."""
    now = now or timezone.now()
    claimed = OutboxMessage.objects.filter(
        pk=message_id, state=OutboxMessage.State.PENDING, next_attempt_at__lte=now
    ).update(state=OutboxMessage.State.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    if not claimed:
        return None
    message = OutboxMessage.objects.select_related("notification__recipient", "robot").get(pk=message_id)
    try:
        if message.robot_id:
            _robot_send(message)
        else:
            adapter = ADAPTERS[message.channel]
            if adapter not in adapters_enabled():
                raise ChannelRefused(_("该渠道已停用（NOTIFY_CHANNELS 或系统管理员的渠道设置）"))
            adapter.send(_outgoing(message))
    except ChannelRefused as error:
        return _settle(message, OutboxMessage.State.FAILED, error=str(error))
    except ChannelDown as error:
        return _retry_later(message, now, str(error))
    except Exception as error:
        logger.exception("outbox message %s: the %s adapter failed", message.pk, message.channel)
        return _retry_later(message, now, f"{type(error).__name__}: {error}")
    return _settle(message, OutboxMessage.State.SENT, sent_at=timezone.now())


def _robot_send(message):
    robot = message.robot
    if not (channel_on(robot.platform) and robot.enabled):
        raise ChannelRefused(_("该群机器人或其渠道已停用"))
    _webhook, secret = robot_secrets(robot)
    ROBOTS[robot.platform].send(_outgoing(message), secret=secret)


def robots_post(*, unit, key, text, link):
    """Tell the enabled group robots of ``unit`` (None: the office's groups) ``text`` with a link,
    once per robot and ``key``, by the outbox. The text carries counts and codes only (the callers
    never pass a finding's text). Returns how many rows were written."""
    platforms = [platform for platform in GroupRobot.Platform.values if channel_on(platform)]
    if not platforms:
        return 0
    robots = list(GroupRobot.objects.filter(unit=unit, enabled=True, platform__in=platforms))
    rows = [
        OutboxMessage(
            robot=robot,
            channel=robot.platform,
            key=f"r{robot.pk}:{key}"[:60],
            robot_text=text[:1000],
            robot_link=link[:200],
        )
        for robot in robots
    ]
    if not rows:
        return 0
    OutboxMessage.objects.bulk_create(rows, ignore_conflicts=True)
    task_after_commit(SEND_TASK)
    return len(rows)


def _retry_later(message, now, error):
    if message.attempts >= settings.NOTIFY_MAX_ATTEMPTS:
        return _settle(message, OutboxMessage.State.FAILED, error=error)
    return _settle(message, OutboxMessage.State.PENDING, error=error, next_attempt_at=now + _backoff(message.attempts))


def _settle(message, state, *, error="", **fields):
    OutboxMessage.objects.filter(pk=message.pk, state=OutboxMessage.State.SENDING).update(
        state=state, last_error=error[:ERROR_LENGTH], **fields
    )
    return state


def outbox_send(notification_ids=None, *, now=None):
    """Send the rows that are due (of these notices, or all): what the task after commit and the
    per-minute sweep run. Returns how many were sent."""
    now = now or timezone.now()
    # Rows a dead worker left claimed go back in the queue.
    OutboxMessage.objects.filter(state=OutboxMessage.State.SENDING, claimed_at__lt=now - STALE_SENDING).update(
        state=OutboxMessage.State.PENDING
    )
    due = OutboxMessage.objects.filter(state=OutboxMessage.State.PENDING, next_attempt_at__lte=now)
    if notification_ids is not None:
        due = due.filter(notification_id__in=notification_ids)
    ids = list(due.order_by("next_attempt_at", "id").values_list("pk", flat=True)[:BATCH])
    return sum(outbox_deliver(pk, now=now) == OutboxMessage.State.SENT for pk in ids)


@transaction.atomic
def outbox_resend(*, actor, message):
    """The office sends a failed message again, from its first attempt."""
    if message.state != OutboxMessage.State.FAILED:
        raise ValueError(_("只有发送失败的消息可以重新发送。"))
    OutboxMessage.objects.filter(pk=message.pk, state=OutboxMessage.State.FAILED).update(
        state=OutboxMessage.State.PENDING, attempts=0, next_attempt_at=timezone.now(), last_error=""
    )
    audit_record(
        actor=actor,
        action="notification.resend",
        target=message,
        changes={
            "channel": message.channel,
            "recipient": str(message.notification.recipient if message.notification_id else message.robot),
        },
    )
    task_after_commit(SEND_TASK, [message.notification_id])
    return message


def notification_open(*, actor, notification):
    """The person opened a notice (from the bell, an e-mail, an SMS or 企业微信): it counts as read."""
    if notification.read_at is None:
        with counters.per_user():
            marked = Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
                read_at=timezone.now()
            )
        if marked:
            counters.touch([counters.user_scope(notification.recipient_id)])
    return notification.link
