"""In-app notices (the bell) and their copies by the outside channels (through the outbox)."""

import datetime

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User

from .. import access, counters
from ..models import Notification
from ..models.work import URGENT_KINDS
from .outbox import outbox_step_up, outbox_wanted, outbox_write


def notify(*, recipient, kind, text, link="", dedup_key):
    """Put a notice in the recipient's bell (once per ``dedup_key``) and in the outbox for the
    channels that reach them, sent after commit."""
    with counters.per_user():
        notification, created = Notification.objects.get_or_create(
            recipient=recipient, dedup_key=dedup_key, defaults={"kind": kind, "text": text[:300], "link": link}
        )
    if created:
        counters.touch([counters.user_scope(recipient.pk)])
        outbox_write([notification])
    return notification


def notify_each(*, recipients, kind, text, link="", dedup_key):
    """``notify`` for several people at once, in two queries whatever their number.

    The same notice (same ``dedup_key``) for each recipient who does not have it yet; only those
    new ones go to the outbox. Used where a whole unit's staff is told the same thing: the weekly
    cycle (hundreds of units in one run).
    """
    return notices_write(
        Notification(recipient=person, kind=kind, text=text, link=link, dedup_key=dedup_key) for person in recipients
    )


def notices_write(notices):
    """Write unsaved notices, skipping each one its recipient already has (same ``dedup_key``).

    Two queries whatever their number, and two more when some go by another channel (their ids, the
    outbox); only the new ones go to the outbox. Should two writers race on one key, the unique constraint
    skips the second row instead of failing, and the outbox's unique key keeps the person from
    getting it twice. Returns how many were new.
    """
    notices = list(notices)
    if not notices:
        return 0
    having = set(
        Notification.objects.filter(
            recipient__in={n.recipient_id for n in notices}, dedup_key__in={n.dedup_key for n in notices}
        ).values_list("recipient_id", "dedup_key")
    )
    new = [n for n in notices if (n.recipient_id, n.dedup_key) not in having]
    if not new:
        return 0
    for notice in new:
        notice.text = notice.text[:300]
    with counters.per_user():
        Notification.objects.bulk_create(new, ignore_conflicts=True)
    counters.touch(counters.user_scope(n.recipient_id) for n in new)
    # Inserting while skipping conflicts gives no ids back: read them (keeping the loaded
    # recipients) for the notices that leave by another channel, if any does.
    recipients = {(n.recipient_id, n.dedup_key): n.recipient for n in new if outbox_wanted(n)}
    if not recipients:
        return len(new)
    saved = [
        n
        for n in Notification.objects.filter(
            recipient__in={n.recipient_id for n in new}, dedup_key__in={n.dedup_key for n in new}
        )
        if (n.recipient_id, n.dedup_key) in recipients and (n.recipient_id, n.dedup_key) not in having
    ]
    for n in saved:
        n.recipient = recipients[(n.recipient_id, n.dedup_key)]
    outbox_write(saved)
    return len(new)


# Urgent notices older than this are not escalated any more (the sweep was off, or the feature new).
ESCALATION_WINDOW = datetime.timedelta(days=1)


def notices_escalate(*, now=None):
    """Escalate each urgent notice left unread ``NOTIFY_ESCALATE_AFTER_MINUTES``, in two steps.

    First it goes out again by the person's next channel (the step-up channels held back at first,
    SMS after 企业微信: ``outbox.outbox_step_up``). Still unread the same time later, or at once when
    the person has no next channel, it is passed on to the recipient's unit heads (not the
    recipient), once: a notice of the same kind, so it reaches the heads' phones too. Its text names
    who has not read what kind of notice, never the notice's own text. Returns how many notices were
    stepped up or passed on."""
    minutes = settings.NOTIFY_ESCALATE_AFTER_MINUTES
    if minutes <= 0:
        return 0
    now = now or timezone.now()
    due = now - datetime.timedelta(minutes=minutes)
    unread = Notification.objects.filter(
        kind__in=URGENT_KINDS, read_at__isnull=True, escalated_at__isnull=True, recipient__unit__isnull=False
    ).select_related("recipient__unit")
    escalated = 0
    for notice in unread.filter(
        stepped_up_at__isnull=True, created_at__lte=due, created_at__gt=due - ESCALATION_WINDOW
    ):
        # Claimed first: two sweeps at once step a notice up only once.
        if not Notification.objects.filter(pk=notice.pk, stepped_up_at__isnull=True).update(stepped_up_at=now):
            continue
        escalated += 1
        if not outbox_step_up(notice, now=now):
            _tell_unit_heads(notice, now=now)
    for notice in unread.filter(stepped_up_at__lte=due, stepped_up_at__gt=due - ESCALATION_WINDOW):
        escalated += _tell_unit_heads(notice, now=now)
    return escalated


def _tell_unit_heads(notice, *, now):
    # Claimed first: two sweeps at once escalate a notice only once.
    if not Notification.objects.filter(pk=notice.pk, escalated_at__isnull=True).update(escalated_at=now):
        return 0
    person = notice.recipient
    heads = [head for head in access.unit_heads(person.unit) if head.pk != person.pk]
    text = _("%(name)s已超过%(hours)s小时未阅读紧急通知（%(kind)s），请督促办理。") % {
        "name": person,
        "hours": f"{(now - notice.created_at).total_seconds() / 3600:.0f}",
        "kind": notice.get_kind_display(),
    }
    notify_each(recipients=heads, kind=notice.kind, text=text, link=notice.link, dedup_key=f"escalate:{notice.pk}")
    return 1


def notifications_mark_read(*, actor, ids=None):
    unread = Notification.objects.filter(recipient=actor, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    with counters.per_user():
        marked = unread.update(read_at=timezone.now())
    if marked:
        counters.touch([counters.user_scope(actor.pk)])
    return marked


def notify_new_assignment(measure):
    notify_new_assignments([measure])


def notify_new_assignments(measures):
    """Tell the liaisons and heads of each measure's owner unit about it: three queries for any number."""
    measures = list(measures)
    staff: dict[int, list[User]] = {}
    for person in access.units_staff({m.owner_unit_id for m in measures}):
        staff.setdefault(person.unit_id, []).append(person)
    notices = []
    for m in measures:
        text = _("新分配给本单位的整改措施 %(code)s：%(text)s") % {"code": m.code, "text": m.text[:60]}
        link, key = m.get_absolute_url(), f"assign:{m.pk}:{m.owner_unit_id}"
        notices += [
            Notification(recipient=person, kind=Notification.Kind.NEW_ASSIGNMENT, text=text, link=link, dedup_key=key)
            for person in staff.get(m.owner_unit_id, ())
        ]
    notices_write(notices)
