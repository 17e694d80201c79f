from accounts.ui import computed_once as _once

from . import access
from .selectors import pending_closeout_count, unread_notification_count


def bell(request):
    """The unread count for the bell and the count of close-outs waiting for this person."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "unread_count": _once(lambda: unread_notification_count(user=user)),
        "shows_pending": access.reviews_anything(user),
        "pending_count": _once(lambda: pending_closeout_count(user=user)),
        "shows_dashboard": access.may_view_dashboard(user),
        "is_leader": access.may_view_leader_page(user),
        "shows_calendar": access.may_manage_calendar(user),
        "shows_records": access.may_read_round_records(user),
        "shows_releases": access.may_view_releases(user),
        "shows_secretary_events": not access.reads_released_only(user),
    }
