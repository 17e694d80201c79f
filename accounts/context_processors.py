from . import access, selectors
from .ui import computed_once as _once


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
