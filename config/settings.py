"""One settings module for every environment, driven by environment variables.

Without any variable set, the project runs on an embedded default: a SQLite file and a
Celery broker on the local filesystem, so a newcomer needs no server at all. Setting
``DATABASE_URL`` and ``CELERY_BROKER_URL`` switches to PostgreSQL and Redis. Setting
``DJANGO_PRODUCTION=1`` turns on the production mode, which refuses to start without a
real secret key and allowed hosts, and passes ``manage.py check --deploy``.
"""

import os
from pathlib import Path
from typing import Any

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

# openpyxl reads workbooks with lxml whenever lxml is installed (python-docx brings it), and lxml
# lets a DOCTYPE with entity declarations through where defusedxml refuses the file. Uploaded
# ledgers stay on the standard library's parser with defusedxml, as before python-docx came
# (tests/test_excel_imports.py, TestFileChecks). openpyxl reads this when it is first imported,
# which is after the settings.
os.environ.setdefault("OPENPYXL_LXML", "False")

BASE_DIR = Path(__file__).resolve().parent.parent
# Runtime files of the embedded default (SQLite database, filesystem broker, uploads).
VAR_DIR = Path(os.environ.get("DJANGO_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name, default=None, *, required=False):
    value = os.environ.get(name)
    if value is None or value == "":
        if required:
            raise ImproperlyConfigured(f"Environment variable {name} must be set.")
        return default
    return value


def env_bool(name, default):
    value = os.environ.get(name)
    if value is None:
        return default
    if value.strip().lower() in _TRUE:
        return True
    if value.strip().lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"Environment variable {name}={value!r} is not a boolean (use 1 or 0).")


def env_int(name, default):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"Environment variable {name}={value!r} is not an integer.") from exc


def env_list(name, default):
    value = os.environ.get(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


PRODUCTION = env_bool("DJANGO_PRODUCTION", False)
DEBUG = env_bool("DJANGO_DEBUG", not PRODUCTION)
# With DEBUG on, a wrong address still gets the Chinese 404 page (the demo is shown to users);
# a developer who wants Django's debug page with the list of URLs sets DJANGO_DEBUG_TECHNICAL_404=1.
DEBUG_TECHNICAL_404 = DEBUG and env_bool("DJANGO_DEBUG_TECHNICAL_404", False)
# Likewise a failing page shows the Chinese 500 page (the traceback goes to the log); 1 shows
# Django's debug page with the source code instead.
DEBUG_TECHNICAL_500 = DEBUG and env_bool("DJANGO_DEBUG_TECHNICAL_500", False)

if PRODUCTION:
    SECRET_KEY = env_str("DJANGO_SECRET_KEY", required=True)
    if len(SECRET_KEY) < 50:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be at least 50 characters in production.")
    ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", [])
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must be set in production.")
else:
    # Only ever used on a developer's machine or in tests; production refuses to start without its own.
    SECRET_KEY = env_str("DJANGO_SECRET_KEY", "dev-only-insecure-key-7c1f0d2e9b8a4c6e5f3a2b1c0d9e8f7a6b5c4d3e2f1")
    ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])

INSTALLED_APPS = [
    "accounts.apps.OfficeAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "guardian",
    # Before "accounts": its login-failure receiver runs first, so ours sees whether it locked the account.
    "axes",
    "accounts",
    "rectification",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "accounts.middleware.RequestContextMiddleware",
    "accounts.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.NoStoreMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "accounts.middleware.SessionTimeoutMiddleware",
    "accounts.middleware.AccountGateMiddleware",
    # After the gates above (a provincial account with an expired password is sent to change it
    # first): the provincial team opens only the pages of what was released to it.
    "rectification.middleware.ReleasedOnlyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Inside the session, messages and CSRF middleware: the 404 page it renders shows the
    # signed-in menu with a working logout button.
    "accounts.middleware.NotFoundPageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes requires: turns a lockout into our Chinese lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.roles",
                "rectification.context_processors.bell",
                "config.context_processors.version",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, for the test database: the Celery integration test starts a real
    # worker process that must see the same data. One file per test run, so that two runs on
    # one machine never share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-db-{os.getpid()}.sqlite3")}
# Two database roles on PostgreSQL: the application connects as DATABASE_URL's role, which owns no
# table and may not change or empty the audit log; ``manage.py migrate`` connects as
# DATABASE_OWNER_URL's role, which owns the tables, and then grants the application role what it
# may do (accounts.database). Without DATABASE_OWNER_URL both are the one role (the embedded default).
_owner_url = env_str("DATABASE_OWNER_URL", "")
DATABASE_OWNER = dj_database_url.parse(_owner_url) if _owner_url else None
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out username before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
# Guardian's anonymous user would be a findings-less account in every unit's query; we never need it.
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False
GUARDIAN_RENDER_403 = False

# No MinimumLengthValidator: its message has no Chinese translation in Django 5.2, and the
# ComplexityValidator added below already refuses a password shorter than PASSWORD_MIN_LENGTH.
AUTH_PASSWORD_VALIDATORS: list[dict[str, object]] = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "rectification:home"
LOGOUT_REDIRECT_URL = "accounts:login"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文"))]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT", str(VAR_DIR / "staticfiles")))
# Uploaded evidence lives outside the web root and is only ever served through a view that checks access.
PRIVATE_MEDIA_ROOT = Path(env_str("DJANGO_PRIVATE_MEDIA_ROOT", str(VAR_DIR / "private-media")))

# The weekly report is due on this ISO weekday (4 = Thursday) at this local time; a cut-off that
# lands on a public holiday moves to the previous working day.
REPORT_CUTOFF_WEEKDAY = env_int("REPORT_CUTOFF_WEEKDAY", 4)
REPORT_CUTOFF_TIME = env_str("REPORT_CUTOFF_TIME", "17:00")
# Evidence uploads: largest accepted file. Types are checked by content, see rectification/evidence.py.
EVIDENCE_MAX_BYTES = env_int("EVIDENCE_MAX_BYTES", 20 * 1024 * 1024)
# A ledger or weekly export of more measures than this is built in the background.
EXPORT_BACKGROUND_MEASURES = env_int("EXPORT_BACKGROUND_MEASURES", 2000)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

EMAIL_BACKEND = env_str("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("DJANGO_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("DJANGO_EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("DJANGO_EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("DJANGO_EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("DJANGO_EMAIL_USE_TLS", False)
# --- notices beyond the bell (docs/DEPLOYMENT.md, "通知渠道") ---
# The outside channels this deployment has: any of email, sms, wecom, dingtalk, and the group robots
# wecom_robot, dingtalk_robot. The bell always works. The system administrator sets these up (and may
# switch them off) in the browser; a channel not listed here cannot be switched on there.
NOTIFY_CHANNELS = env_list("NOTIFY_CHANNELS", ["email"])
# An urgent notice to someone reached by 企业微信 or 钉钉 goes at once by every channel but these,
# which are kept for when it stays unread NOTIFY_ESCALATE_AFTER_MINUTES; anyone else gets all at once.
NOTIFY_STEP_UP_CHANNELS = env_list("NOTIFY_STEP_UP_CHANNELS", ["sms"])
# The address people open from a text message or 企业微信: links in outside messages start with it.
SITE_URL = env_str("DJANGO_SITE_URL", "http://localhost:8000").rstrip("/")
# How much of a notice leaves the intranet by SMS or 企业微信: "title" (its kind and a link) or
# "text" (also the bell's first 60 characters). Never a finding's full text.
NOTIFY_EXTERNAL_DETAIL = env_str("NOTIFY_EXTERNAL_DETAIL", "title")
# A channel that fails is tried again after 1, 2, 4 ... minutes (at most an hour apart), this many
# times, before the message is shown to the office as failed.
NOTIFY_MAX_ATTEMPTS = env_int("NOTIFY_MAX_ATTEMPTS", 12)
# An urgent notice still unread this many minutes later goes out by the person's step-up channels
# (NOTIFY_STEP_UP_CHANNELS), and still unread as long again, to the person's unit head (once, by
# every channel that reaches the head); with no step-up channel, to the head at once. 0 turns it off.
NOTIFY_ESCALATE_AFTER_MINUTES = env_int("NOTIFY_ESCALATE_AFTER_MINUTES", 120)
# Routine (not urgent) notices reach the outside channels in one daily digest per person, sent at
# this hour (local time, 0-23); any other value (e.g. -1) sends each one by itself instead.
NOTIFY_DIGEST_HOUR = env_int("NOTIFY_DIGEST_HOUR", 8)
# The SMS gateway (docs/DEPLOYMENT.md describes the request it is sent).
SMS_GATEWAY_URL = env_str("SMS_GATEWAY_URL", "")
SMS_GATEWAY_APP_KEY = env_str("SMS_GATEWAY_APP_KEY", "")
SMS_GATEWAY_SECRET = env_str("SMS_GATEWAY_SECRET", "")
SMS_GATEWAY_SIGN_NAME = env_str("SMS_GATEWAY_SIGN_NAME", "")
SMS_GATEWAY_TEMPLATE_ID = env_str("SMS_GATEWAY_TEMPLATE_ID", "")
# 企业微信 application messages; the API base changes for a private (政务微信) deployment.
WECOM_API_BASE = env_str("WECOM_API_BASE", "https://qyapi.weixin.qq.com").rstrip("/")
WECOM_CORP_ID = env_str("WECOM_CORP_ID", "")
WECOM_CORP_SECRET = env_str("WECOM_CORP_SECRET", "")
WECOM_AGENT_ID = env_int("WECOM_AGENT_ID", 0)
# 钉钉 work notifications (工作通知); the API base changes for a private (浙政钉-style) deployment.
DINGTALK_API_BASE = env_str("DINGTALK_API_BASE", "https://oapi.dingtalk.com").rstrip("/")
DINGTALK_APP_KEY = env_str("DINGTALK_APP_KEY", "")
DINGTALK_APP_SECRET = env_str("DINGTALK_APP_SECRET", "")
DINGTALK_AGENT_ID = env_int("DINGTALK_AGENT_ID", 0)
# Seconds an outside platform may take to answer before the message is tried again later.
NOTIFY_HTTP_TIMEOUT = env_int("NOTIFY_HTTP_TIMEOUT", 10)
# When set, /healthz answers only requests carrying "Authorization: Bearer <token>".
HEALTH_TOKEN = env_str("DJANGO_HEALTH_TOKEN", "")
DEFAULT_FROM_EMAIL = env_str("DJANGO_DEFAULT_FROM_EMAIL", "zhenggai@localhost")

# Each person's pages kept under the generations (rectification.counters.page) are shared by the
# web server's processes through Redis when DJANGO_PAGE_CACHE_URL is set (a page is then written
# once, not once per process); without it each process keeps its own. A Redis that does not answer
# within the timeout costs a page its sharing, never the page.
PAGE_CACHE_URL = env_str("DJANGO_PAGE_CACHE_URL", "")
CACHES: dict[str, dict[str, Any]] = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if PAGE_CACHE_URL:
    CACHES["pages"] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": PAGE_CACHE_URL,
        "KEY_PREFIX": "zhenggai-pages",
        "TIMEOUT": 600,
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }

# Celery: Redis when CELERY_BROKER_URL is set, otherwise the filesystem transport, which needs no
# server and still lets a real worker and beat run on a developer's machine.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
# A broker that accepts connections but never answers must not hold a request past gunicorn's
# timeout: each connect and each command to Redis (a publish included) gives up after these many
# seconds, a failed publish is tried once more, and whatever was not sent is run by the
# quarter-hourly sweep. Redis answers in milliseconds on the intranet. The worker's long polls
# (BRPOP) wait on its event loop, not on the socket timeout.
CELERY_BROKER_CONNECTION_TIMEOUT = env_int("CELERY_BROKER_CONNECT_TIMEOUT", 1)
REDIS_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600),
    "socket_connect_timeout": CELERY_BROKER_CONNECTION_TIMEOUT,
    "socket_timeout": env_int("CELERY_BROKER_SOCKET_TIMEOUT", 1),
}
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": env_int("CELERY_TASK_PUBLISH_MAX_RETRIES", 1),
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_BROKER_DIR = VAR_DIR / "celery-broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    for _folder in ("queue", "processed", "control"):
        (CELERY_BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        # Without it kombu keeps its exchange table in ./control, wherever the worker was started.
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = dict(REDIS_TRANSPORT_OPTIONS)
# Redis Sentinel (docs/DEPLOYMENT.md): CELERY_BROKER_URL lists the sentinels, this names the master.
if env_str("CELERY_BROKER_SENTINEL_MASTER"):
    CELERY_BROKER_TRANSPORT_OPTIONS["master_name"] = env_str("CELERY_BROKER_SENTINEL_MASTER")
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", None)
CELERY_TASK_IGNORE_RESULT = CELERY_RESULT_BACKEND is None
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Beat only ticks; the tick decides which steps of which week are due (holiday-aware) and is
# idempotent. A tick not picked up within its period expires instead of piling up.
CELERY_BEAT_SCHEDULE = {
    "audit-chain-anchor": {
        "task": "accounts.tasks.anchor_audit_chain",
        "schedule": crontab(hour=0, minute=20),
        "options": {"expires": 6 * 60 * 60},
    },
    "outbox-sweep": {
        "task": "rectification.tasks.outbox_sweep",
        "schedule": 60,
        "options": {"expires": 55},
    },
    "weekly-cycle-tick": {
        "task": "rectification.tasks.weekly_cycle_tick",
        "schedule": 15 * 60,
        "options": {"expires": 14 * 60},
    },
}
CELERY_WORKER_PREFETCH_MULTIPLIER = 1

SESSION_COOKIE_AGE = env_int("DJANGO_SESSION_COOKIE_AGE", 12 * 60 * 60)
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", True)
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("DJANGO_LOG_LEVEL", "INFO")},
}

# --- security baseline (accounts) ---
# 等保三级-style rules for signing in, sessions, passwords, the audit log and response headers.
# Every number can be changed through the environment; the defaults are the required baseline.
# Imported here, not at the top, to keep this block self-contained.
from datetime import timedelta  # noqa: E402

# Passwords: at least PASSWORD_MIN_LENGTH characters from PASSWORD_MIN_CLASSES of the four classes
# (lowercase, uppercase, digits, symbols); none of the last PASSWORD_HISTORY_COUNT again; expiry
# after PASSWORD_EXPIRY_DAYS (0 turns expiry off), enforced by accounts.middleware.AccountGateMiddleware.
PASSWORD_MIN_LENGTH = env_int("DJANGO_PASSWORD_MIN_LENGTH", 8)
PASSWORD_MIN_CLASSES = env_int("DJANGO_PASSWORD_MIN_CLASSES", 3)
PASSWORD_HISTORY_COUNT = env_int("DJANGO_PASSWORD_HISTORY_COUNT", 5)
PASSWORD_EXPIRY_DAYS = env_int("DJANGO_PASSWORD_EXPIRY_DAYS", 90)
AUTH_PASSWORD_VALIDATORS = [
    *AUTH_PASSWORD_VALIDATORS,
    {
        "NAME": "accounts.passwords.ComplexityValidator",
        "OPTIONS": {"min_length": PASSWORD_MIN_LENGTH, "min_classes": PASSWORD_MIN_CLASSES},
    },
    {"NAME": "accounts.passwords.HistoryValidator", "OPTIONS": {"count": PASSWORD_HISTORY_COUNT}},
]

# Lockout (django-axes): AXES_FAILURE_LIMIT failures lock the pair (username, address) for
# AXES_COOLOFF_TIME. Neither the username alone (anyone anywhere could keep any account locked by
# sending five wrong passwords every 30 minutes) nor the address alone (a whole office reaches us
# through one address, and one person's typing errors must not lock out colleagues). Guessing one
# username from many addresses is slowed instead by a short delay that grows with that username's
# failures from every address (LOGIN_DELAY_*, accounts.selectors.login_delay_seconds). The security
# administrator unlocks early on /accounts/security/; a person with a second factor unlocks
# themselves on the lockout page.
AXES_FAILURE_LIMIT = env_int("DJANGO_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("DJANGO_LOGIN_LOCKOUT_MINUTES", 30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# From this many failures of one username (any address, within AXES_COOLOFF_TIME) each further
# attempt waits 1, 2, 4 ... seconds after the last failure, never more than LOGIN_DELAY_MAX_SECONDS.
# Short and capped, so that it cannot become a lockout of its own; an address the person has signed
# in from before waits only after its own failures, so an attacker elsewhere cannot delay it.
LOGIN_DELAY_AFTER_FAILURES = env_int("DJANGO_LOGIN_DELAY_AFTER_FAILURES", 5)
LOGIN_DELAY_MAX_SECONDS = env_int("DJANGO_LOGIN_DELAY_MAX_SECONDS", 30)
# The lock lasts its 30 minutes from the failure that set it; attempts during it do not extend it.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.views.lockout_response"
AXES_CLIENT_IP_CALLABLE = "accounts.middleware.client_ip"
# Our own audit log records every login and logout; axes' access log would be a second copy.
AXES_DISABLE_ACCESS_LOG = True
# Never store a typed password or one-time code in the lockout records.
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "code"]
AXES_ENABLE_ADMIN = False
AXES_VERBOSE = False
# Lockouts are worth a line in the server log; every successful login is not (the audit log has it).
LOGGING.setdefault("loggers", {})["axes"] = {"level": "WARNING"}
# Number of reverse proxies in front of Django that append to X-Forwarded-For (0: none). Used for
# the audit log's address and the lockout records; never trust the header without a proxy.
TRUSTED_PROXY_COUNT = env_int("DJANGO_TRUSTED_PROXY_COUNT", 1 if PRODUCTION else 0)

# Sessions: signed out after SESSION_IDLE_TIMEOUT seconds without a request and
# SESSION_ABSOLUTE_TIMEOUT after signing in (accounts.middleware.SessionTimeoutMiddleware); the
# cookie dies with the browser. Django gives a new session id at every login.
SESSION_IDLE_TIMEOUT = env_int("DJANGO_SESSION_IDLE_TIMEOUT", 30 * 60)
SESSION_ABSOLUTE_TIMEOUT = env_int("DJANGO_SESSION_ABSOLUTE_TIMEOUT", 12 * 60 * 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# Our Chinese page in every mode, rendered with the request so that it shows the signed-in menu.
CSRF_FAILURE_VIEW = "accounts.views.csrf_failure"
if PRODUCTION:
    # The "__Host-" prefix makes the browser refuse the cookie unless it is Secure, host-only
    # and for the whole site, so no sibling subdomain can plant or read it.
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"

# Secrets at rest (the TOTP secrets; accounts.crypto) are sealed with SM4-GCM under this 128-bit key,
# given as base64 of 16 bytes, e.g. from: python3 -c "import base64, os; print(base64.b64encode(os.urandom(16)).decode())"
# Kept outside the database (a stolen dump holds no usable secret) and never changed without
# re-sealing (docs/OPERATIONS.md). Outside production it is derived from SECRET_KEY.
import base64  # noqa: E402
import binascii  # noqa: E402
import hashlib  # noqa: E402


def env_key(name, *, size, exact, purpose):
    """A key given in the environment as base64 (required in production, ``size`` bytes, or at
    least ``size`` when not ``exact``); outside production, derived from SECRET_KEY for ``purpose``."""
    text = env_str(name, required=PRODUCTION)
    if not text:
        return hashlib.sha256(f"{purpose}:".encode() + SECRET_KEY.encode()).digest()[:size]
    try:
        key = base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise ImproperlyConfigured(f"{name} is not base64.") from exc
    if len(key) < size or (exact and len(key) != size):
        raise ImproperlyConfigured(f"{name} must be base64 of {'exactly' if exact else 'at least'} {size} bytes.")
    return key


FIELD_ENCRYPTION_KEY = env_key("DJANGO_FIELD_ENCRYPTION_KEY", size=16, exact=True, purpose="field-encryption-key")

# Password hashing: Django's PBKDF2-SHA256 unless DJANGO_PASSWORD_HASHER=sm3, which makes
# PBKDF2-SM3 (accounts.hashers, 国密) the hasher of new passwords. Both stay in the list either way,
# so a stored hash of the other kind still verifies and is re-hashed at the next login.
PASSWORD_HASHER = env_str("DJANGO_PASSWORD_HASHER", "default")
_SM3_HASHER = "accounts.hashers.PBKDF2SM3PasswordHasher"
_DJANGO_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
if PASSWORD_HASHER == "sm3":
    if "sm3" not in hashlib.algorithms_available:
        raise ImproperlyConfigured("DJANGO_PASSWORD_HASHER=sm3, but this Python's OpenSSL has no SM3.")
    PASSWORD_HASHERS = [_SM3_HASHER, *_DJANGO_HASHERS]
elif PASSWORD_HASHER == "default":
    PASSWORD_HASHERS = [*_DJANGO_HASHERS, _SM3_HASHER]
else:
    raise ImproperlyConfigured(f"DJANGO_PASSWORD_HASHER={PASSWORD_HASHER!r} is neither 'default' nor 'sm3'.")

# Second factor (TOTP). Anyone may turn it on for their own account (修改密码 → 动态口令); when
# required, the holders of TOTP_REQUIRED_ROLES (the office, the leaders and the three
# administrators: the accounts that read every finding, sign close-outs or run the system) must set
# it up before anything else. Required by default in production; DJANGO_TOTP_REQUIRED=0 turns it
# off there, =1 turns it on in the embedded (demo, development, test) default.
TOTP_REQUIRED = env_bool("DJANGO_TOTP_REQUIRED", PRODUCTION)
TOTP_REQUIRED_ROLES = ["role:office", "role:leader", "role:system_admin", "role:security_admin", "role:audit_admin"]
TOTP_ISSUER = env_str("DJANGO_TOTP_ISSUER", "巡视整改督办台账")

# Audit log (accounts.AuditEvent): append-only and hash-chained, so nothing is ever deleted. Kept
# at least this many days (等保: six months); the operations guide (docs/OPERATIONS.md) keeps
# database backups at least as long. ``manage.py verify_audit_chain`` checks the chain.
AUDIT_RETENTION_DAYS = env_int("DJANGO_AUDIT_RETENTION_DAYS", 180)
# The chain is keyed: each row's hash is an HMAC-SHA256 under this key (base64 of at least 32
# random bytes), kept outside the database, so whoever can write the table but does not hold the key
# cannot recompute a chain that verifies. Outside production it is derived from SECRET_KEY.
AUDIT_CHAIN_KEY = env_key("DJANGO_AUDIT_CHAIN_KEY", size=32, exact=False, purpose="audit-chain-key")
# The chain head (row count, last row, its MAC) is appended to this file every day by the worker
# (``manage.py anchor_audit_chain``), outside the database; ``manage.py verify_audit_chain`` checks
# the rows against every anchor in it, so a deleted tail or an emptied table is found too. The
# 审计管理员 keeps a copy (docs/OPERATIONS.md).
AUDIT_ANCHOR_FILE = Path(env_str("DJANGO_AUDIT_ANCHOR_FILE", str(VAR_DIR / "audit-anchors.jsonl")))

# Content security policy (Django 5.2 has none built in; accounts.middleware sets it): our pages
# use our own stylesheet only, and no template carries an inline script, style or event handler.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'self'"
)
