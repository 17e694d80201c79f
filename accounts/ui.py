"""What the pages of both apps do alike: show a list a page at a time, give a refusal's reasons as
one message, read the query string's common parameters without trusting them.

It lives in ``accounts`` because ``rectification`` may import ``accounts`` and not the other way
round; it knows nothing of people or units.
"""

from django.core.paginator import Paginator


def paginate(request, items, per_page, *, count=None):
    """The page of ``items`` the request asks for (``?page=``): the first for a missing or wrong
    number, the last for one past the end. Shown with ``{% include "_pager.html" %}``. ``count``,
    when the page has already counted ``items`` (for its tabs), saves counting them again."""
    paginator = Paginator(items, per_page)
    if count is not None:
        # Paginator.count is a cached property: setting it is what a first read would have stored.
        paginator.__dict__["count"] = count
    return paginator.get_page(request.GET.get("page"))


# Ids are PostgreSQL integers (``serial``): a larger number names nothing and must not reach a query.
MAX_ID = 2**31 - 1
SEARCH_LENGTH = 50


def id_param(request, name):
    """The id given as ``?name=``, or None for anything but a plain decimal number in range.

    ``str.isdigit`` is not enough: it accepts "²" and "٣", which ``int`` then refuses or reads."""
    raw = request.GET.get(name, "").strip()
    if not (raw.isascii() and raw.isdecimal()):
        return None
    value = int(raw)
    return value if 0 < value <= MAX_ID else None


def search_param(request, name="q"):
    """The search text given as ``?name=``: stripped, without NUL (PostgreSQL cannot hold it in a
    text and psycopg refuses to send it) and cut to what a search box takes."""
    return request.GET.get(name, "").replace("\x00", "").strip()[:SEARCH_LENGTH]


def error_text(error):
    """The reasons of a refusal as one message: every message of a ValidationError (a list, or a
    dict by field) joined by spaces, or the text of any other exception (PermissionDenied)."""
    messages = getattr(error, "messages", None)
    return " ".join(str(message) for message in messages) if messages is not None else str(error)


def masked(value, *, keep_start=3, keep_end=4):
    """A private value as others see it: ``138****5678``; a short one keeps only its first character."""
    if not value:
        return ""
    if len(value) <= keep_start + keep_end:
        return value[:1] + "*" * (len(value) - 1)
    end = value[len(value) - keep_end :]
    return value[:keep_start] + "*" * (len(value) - keep_start - keep_end) + end


def computed_once(compute):
    """A callable for templates that runs its query only if, and the first time, a page uses it
    (the menu's counts: most pages never show them)."""
    cache = {}

    def value():
        if "v" not in cache:
            cache["v"] = compute()
        return cache["v"]

    return value
