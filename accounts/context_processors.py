from .roles import ADMIN_ROLES, Role


def roles(request):
    """Expose the signed-in person's roles to templates, e.g. ``{% if is_office %}``."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    held = user.role_set
    return {
        "user_roles": [Role(r).label for r in Role if r in held],
        "is_office": Role.OFFICE in held,
        # The three administrators hold no other role and see no findings: no links to them.
        "sees_findings": bool(held - ADMIN_ROLES),
        "is_unit_staff": bool(held & {Role.LIAISON, Role.UNIT_HEAD}) and user.unit_id is not None,
        # The three administrators' own pages (accounts/views.py).
        "is_system_admin": Role.SYSTEM_ADMIN in held,
        "is_security_admin": Role.SECURITY_ADMIN in held,
        "is_audit_admin": Role.AUDIT_ADMIN in held,
    }
