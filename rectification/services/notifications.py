"""In-app notices (the bell) and their e-mail copies."""

from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

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


def unit_staff(unit, *roles):
    return unit.members.filter(is_active=True, groups__name__in=[Role(r).value for r in roles]).distinct()


def notifications_mark_read(*, actor, ids=None):
    unread = Notification.objects.filter(recipient=actor, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=timezone.now())


def notify_new_assignment(measure):
    for person in unit_staff(measure.owner_unit, Role.LIAISON, Role.UNIT_HEAD):
        notify(
            recipient=person,
            kind=Notification.Kind.NEW_ASSIGNMENT,
            text=_("新分配给本单位的整改措施 %(code)s：%(text)s") % {"code": measure.code, "text": measure.text[:60]},
            link=measure.get_absolute_url(),
            dedup_key=f"assign:{measure.pk}:{measure.owner_unit_id}",
        )
