from . import access


def roles(request):
    """Expose what the signed-in person's menus show to templates, e.g. ``{% if is_office %}``."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return access.navigation(user)
