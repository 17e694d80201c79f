"""What the pages of both apps do alike: show a list a page at a time, give a refusal's reasons as
one message.

It lives in ``accounts`` because ``rectification`` may import ``accounts`` and not the other way
round; it knows nothing of people or units.
"""

from django.core.paginator import Paginator


def paginate(request, items, per_page):
    """The page of ``items`` the request asks for (``?page=``): the first for a missing or wrong
    number, the last for one past the end. Shown with ``{% include "_pager.html" %}``."""
    return Paginator(items, per_page).get_page(request.GET.get("page"))


def error_text(error):
    """The reasons of a refusal as one message: every message of a ValidationError (a list, or a
    dict by field) joined by spaces, or the text of any other exception (PermissionDenied)."""
    messages = getattr(error, "messages", None)
    return " ".join(str(message) for message in messages) if messages is not None else str(error)
