"""System checks that keep the security baseline from being switched off by accident."""

from cryptography.exceptions import UnsupportedAlgorithm
from django.conf import settings
from django.core.checks import Error, register

from . import crypto

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
    # Found at start-up, not at the first person's TOTP enrolment: a cryptography build whose
    # OpenSSL lacks SM4 (e.g. a FIPS-only one) cannot seal the secrets.
    try:
        crypto.unseal(crypto.seal("check", context="check"), context="check")
    except (UnsupportedAlgorithm, crypto.SealError) as exc:
        errors.append(Error(f"Secrets at rest cannot be sealed with SM4-GCM: {exc}", id="accounts.E004"))
    return errors
