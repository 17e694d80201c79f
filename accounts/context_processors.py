from . import access, selectors


def _once(compute):
    """A callable for templates that runs its query only if, and the first time, a page uses it."""
    cache = {}

    def value():
        if "v" not in cache:
            cache["v"] = compute()
        return cache["v"]

    return value


def roles(request):
    """Expose what the signed-in person's menus show to templates, e.g. ``{% if is_office %}``, and
    for an administrator the number of requests waiting for their approval (asked only by a page
    that shows it)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    shown = access.navigation(user)
    if shown["takes_part_in_approvals"]:
        shown["approvals_waiting"] = _once(lambda: selectors.approvals_waiting_count(user=user))
    return shown
