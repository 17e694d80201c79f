"""System checks that keep the security baseline from being switched off by accident."""

from urllib.parse import urlsplit

from cryptography.exceptions import UnsupportedAlgorithm
from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.db import connections

from . import crypto, database

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


@register(Tags.database, deploy=True)
def application_role_check(app_configs, databases=None, **kwargs):
    """In production the application must not connect as the owner of its tables: the owner can
    switch the audit log's triggers off (``manage.py check --deploy --database default``)."""
    if not settings.PRODUCTION or not databases:
        return []
    errors = []
    for alias in databases:
        owned = database.tables_owned_by_current_user(connections[alias])
        if owned:
            errors.append(
                Error(
                    f"The application connects to database {alias!r} as the owner of {len(owned)} tables "
                    f"(e.g. {owned[0]}), so it could switch the audit log's triggers off.",
                    hint="Connect as a role that owns no table (DATABASE_URL) and migrate as the owner "
                    "(DATABASE_OWNER_URL); see docs/DEPLOYMENT.md.",
                    id="accounts.E005",
                )
            )
    return errors


@register(Tags.security, deploy=True)
def site_url_check(app_configs, **kwargs):
    """Links in SMS, 企业微信, 钉钉 and e-mail messages start with SITE_URL: in production it must be
    the address people open, over HTTPS, not the development default."""
    if not settings.PRODUCTION:
        return []
    address = urlsplit(settings.SITE_URL)
    if address.scheme == "https" and address.hostname not in (None, "localhost", "127.0.0.1"):
        return []
    return [
        Warning(
            f"DJANGO_SITE_URL is {settings.SITE_URL!r}: links in messages sent outside the system would not open.",
            hint="Set DJANGO_SITE_URL to the https address users open (docs/DEPLOYMENT.md).",
            id="accounts.W006",
        )
    ]
