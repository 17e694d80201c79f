"""Audit rows for signing in and out, from Django's auth signals (connected in ``apps.py``).

Connected after django-axes' own receivers (``axes`` comes before ``accounts`` in INSTALLED_APPS),
so a failed login already knows whether it locked the account.
"""

from django.contrib.auth.signals import (
    user_logged_in,
    user_logged_out,
    user_login_failed,
)
from django.dispatch import receiver

from .middleware import session_start
from .models import User
from .services import audit_record


@receiver(user_logged_in, dispatch_uid="accounts.login_audit")
def login_recorded(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        session_start(request.session)
    audit_record(
        actor=user,
        action="auth.login",
        target=user,
        changes={"second_factor": bool(getattr(request, "second_factor_used", False))},
    )


@receiver(user_login_failed, dispatch_uid="accounts.login_failed_audit")
def login_failure_recorded(sender, credentials, request=None, **kwargs):
    # Django has already replaced the password in ``credentials`` with asterisks.
    username = str(credentials.get("username") or "")[:150]
    user = User.objects.filter(username=username).first() if username else None
    audit_record(
        actor=None,
        action="auth.login_failed",
        target=user,
        target_type="accounts.user",
        target_repr=username,
        changes={
            "username": username,
            "reason": getattr(request, "login_failure_reason", "password"),
            "locked": bool(getattr(request, "axes_locked_out", False)),
        },
    )


@receiver(user_logged_out, dispatch_uid="accounts.logout_audit")
def logout_recorded(sender, request, user, **kwargs):
    if user is None:
        return
    audit_record(
        actor=user,
        action="auth.logout",
        target=user,
        changes={"reason": getattr(request, "logout_reason", "user")},
    )
