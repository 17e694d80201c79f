from accounts.roles import Role

from .selectors import pending_closeout_count, unread_notification_count


def _once(compute):
    """A callable for templates that runs its query only if, and the first time, a page uses it."""
    cache = {}

    def value():
        if "v" not in cache:
            cache["v"] = compute()
        return cache["v"]

    return value


def bell(request):
    """The unread count for the bell and the count of close-outs waiting for this person."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    reviews = user.has_role(Role.LIAISON, Role.UNIT_HEAD, Role.LEADER, Role.OFFICE, Role.TRACK_OFFICE)
    return {
        "unread_count": _once(lambda: unread_notification_count(user=user)),
        "shows_pending": reviews,
        "pending_count": _once(lambda: pending_closeout_count(user=user)),
        "shows_dashboard": user.has_role(Role.OFFICE, Role.TRACK_OFFICE, Role.SUPERVISION, Role.PROVINCIAL),
        "is_leader": user.has_role(Role.LEADER),
    }
