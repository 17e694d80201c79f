"""In-app notices (the bell) and their e-mail copies."""

from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.roles import Role

from ..models import Notification



def notify(*, recipient, kind, text, link="", dedup_key):
    """Put a notice in the recipient's bell (once per ``dedup_key``) and e-mail it after commit."""
    notification, created = Notification.objects.get_or_create(
        recipient=recipient, dedup_key=dedup_key, defaults={"kind": kind, "text": text[:300], "link": link}
    )
    if created and recipient.email:
        transaction.on_commit(
            lambda: send_mail(
                subject=f"【巡视整改督办台账】{Notification.Kind(kind).label}",
                message=f"{text}\n\n{link}",
                from_email=None,
                recipient_list=[recipient.email],
                fail_silently=True,
            )
        )
    return notification


def notify_each(*, recipients, kind, text, link="", dedup_key):
    """``notify`` for several people at once, in two queries whatever their number.

    The same notice (same ``dedup_key``) for each recipient who does not have it yet; only those
    new ones are e-mailed. Used where a whole unit's staff is told the same thing: the weekly
    cycle (hundreds of units in one run) and new assignments (hundreds in one ledger import).
    Should two writers race on one key, the unique constraint skips the second row instead of
    failing (and that person may get the e-mail twice).
    """
    recipients = list(recipients)
    having = set(
        Notification.objects.filter(recipient__in=recipients, dedup_key=dedup_key).values_list("recipient_id", flat=True)
    )
    new = [person for person in recipients if person.pk not in having]
    Notification.objects.bulk_create(
        [Notification(recipient=person, kind=kind, text=text[:300], link=link, dedup_key=dedup_key) for person in new],
        ignore_conflicts=True,
    )
    addresses = [person.email for person in new if person.email]
    for address in addresses:
        transaction.on_commit(
            lambda address=address: send_mail(
                subject=f"【巡视整改督办台账】{Notification.Kind(kind).label}",
                message=f"{text}\n\n{link}",
                from_email=None,
                recipient_list=[address],
                fail_silently=True,
            )
        )
    return len(new)


def unit_staff(unit, *roles):
    # EXISTS rather than a join plus DISTINCT: in a city the role groups hold thousands of
    # people, and the DISTINCT sorted every matching membership on all the user's columns.
    holds_role = User.groups.through.objects.filter(user_id=OuterRef("pk"), group__name__in=[Role(r).value for r in roles])
    return unit.members.filter(Exists(holds_role), is_active=True)


def notifications_mark_read(*, actor, ids=None):
    unread = Notification.objects.filter(recipient=actor, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=timezone.now())


def notify_new_assignment(measure):
    notify_each(
        recipients=unit_staff(measure.owner_unit, Role.LIAISON, Role.UNIT_HEAD),
        kind=Notification.Kind.NEW_ASSIGNMENT,
        text=_("新分配给本单位的整改措施 %(code)s：%(text)s") % {"code": measure.code, "text": measure.text[:60]},
        link=measure.get_absolute_url(),
        dedup_key=f"assign:{measure.pk}:{measure.owner_unit_id}",
    )
