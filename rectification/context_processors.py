from .selectors import unread_notification_count


def bell(request):
    """The unread count for the bell in the page header, computed only if a page shows it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    cache = {}

    def count():
        if "n" not in cache:
            cache["n"] = unread_notification_count(user=user)
        return cache["n"]

    return {"unread_count": count}
