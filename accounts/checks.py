"""System checks that keep the security baseline from being switched off by accident."""

from django.conf import settings
from django.core.checks import Error, register

REQUIRED_MIDDLEWARE = [
    "accounts.middleware.RequestContextMiddleware",
    "accounts.middleware.ContentSecurityPolicyMiddleware",
    "accounts.middleware.NoStoreMiddleware",
    "accounts.middleware.SessionTimeoutMiddleware",
    "accounts.middleware.AccountGateMiddleware",
    "axes.middleware.AxesMiddleware",
]
# 等保三级 asks for audit records to be kept at least six months.
MIN_AUDIT_RETENTION_DAYS = 180


@register()
def security_baseline_check(app_configs, **kwargs):
    errors = []
    missing = [name for name in REQUIRED_MIDDLEWARE if name not in settings.MIDDLEWARE]
    if missing:
        errors.append(Error(f"Security middleware missing from MIDDLEWARE: {', '.join(missing)}.", id="accounts.E001"))
    if "axes.backends.AxesStandaloneBackend" not in settings.AUTHENTICATION_BACKENDS[:1]:
        errors.append(
            Error("axes.backends.AxesStandaloneBackend must be the first authentication backend.", id="accounts.E002")
        )
    if getattr(settings, "AUDIT_RETENTION_DAYS", 0) < MIN_AUDIT_RETENTION_DAYS:
        errors.append(Error(f"AUDIT_RETENTION_DAYS must be at least {MIN_AUDIT_RETENTION_DAYS}.", id="accounts.E003"))
    return errors
