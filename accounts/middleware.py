"""Request-wide security behaviour: the client's address for the audit log, session timeouts,
the gates a signed-in person must pass (expired password, required second factor) and the
content security policy.

None of these reads the database on an ordinary request: the session timestamps live in the
session itself, and the gates look only at the already loaded user.
"""

import ipaddress
import logging
import time
from contextvars import ContextVar

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.http import Http404
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.defaults import bad_request, page_not_found, server_error

from . import access, passwords

_client_ip = ContextVar("client_ip", default=None)

# Session keys: when this login happened and when the person was last seen (seconds since the epoch).
SESSION_LOGIN_AT = "_security_login_at"
SESSION_SEEN_AT = "_security_seen_at"
# "Last seen" is written back at most this often, so that ordinary pages do not save the session
# (one UPDATE) on every request. The idle timeout is therefore exact to within this many seconds.
SEEN_WRITE_INTERVAL = 60


def client_ip(request):
    """The address of the person's machine.

    Behind ``settings.TRUSTED_PROXY_COUNT`` reverse proxies, each appending to X-Forwarded-For,
    the client is that many entries from the right; anything further left was sent by the client
    and cannot be trusted. Also used by django-axes (``AXES_CLIENT_IP_CALLABLE``).
    """
    candidate = request.META.get("REMOTE_ADDR", "")
    proxies = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if proxies:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            candidate = forwarded[-proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None


def current_client_ip():
    """The address of the request being served in this context, or None (commands, tasks, tests)."""
    return _client_ip.get()


class RequestContextMiddleware:
    """Makes the client's address available to ``audit_record`` without passing the request around."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _client_ip.set(client_ip(request))
        try:
            return self.get_response(request)
        finally:
            _client_ip.reset(token)


def session_start(session, now=None):
    now = time.time() if now is None else now
    session[SESSION_LOGIN_AT] = now
    session[SESSION_SEEN_AT] = now


def session_expiry_reason(session, now):
    """ "idle", "absolute" or None for a signed-in session at ``now``."""
    login_at = session.get(SESSION_LOGIN_AT)
    seen_at = session.get(SESSION_SEEN_AT)
    if login_at is None or seen_at is None:
        return None
    if now - login_at >= settings.SESSION_ABSOLUTE_TIMEOUT:
        return "absolute"
    if now - seen_at >= settings.SESSION_IDLE_TIMEOUT:
        return "idle"
    return None


class SessionTimeoutMiddleware:
    """Signs a person out after SESSION_IDLE_TIMEOUT without a request, and SESSION_ABSOLUTE_TIMEOUT
    after signing in, whatever they do in between. Place after the auth and message middleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = time.time()
            session = request.session
            reason = session_expiry_reason(session, now)
            if reason is not None:
                request.logout_reason = reason
                logout(request)
                if reason == "idle":
                    text = _("您已超过 %(minutes)d 分钟未操作，为保护账号安全已自动退出，请重新登录。") % {
                        "minutes": settings.SESSION_IDLE_TIMEOUT // 60
                    }
                else:
                    text = _("本次登录已超过 %(hours)d 小时，为保护账号安全已自动退出，请重新登录。") % {
                        "hours": settings.SESSION_ABSOLUTE_TIMEOUT // 3600
                    }
                messages.warning(request, text)
                return redirect_to_login(request.get_full_path())
            if session.get(SESSION_LOGIN_AT) is None:
                # A session from before these timeouts existed: its clock starts now.
                session_start(session, now)
            elif now - session[SESSION_SEEN_AT] >= SEEN_WRITE_INTERVAL:
                session[SESSION_SEEN_AT] = now
        return self.get_response(request)


# Pages a person can always reach, so that they can pass the gates (or leave).
GATE_EXEMPT_VIEWS = {
    "accounts:login",
    "accounts:login_totp",
    "accounts:logout",
    "accounts:password_change",
    "accounts:totp_setup",
}


class AccountGateMiddleware:
    """Sends a signed-in person whose password has expired to the password page, and one who must
    use a second factor but has not set it up yet to the set-up page, before anything else."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = request.user
        if not user.is_authenticated:
            return None
        match = request.resolver_match
        if match is not None and match.view_name in GATE_EXEMPT_VIEWS:
            return None
        if passwords.password_expired(user):
            if user.password_changed_at is None:
                text = _("您正在使用管理员设置的临时密码，请先修改密码再继续使用。")
            else:
                text = _("您的密码已超过 %(days)d 天未修改，请先修改密码再继续使用。") % {
                    "days": settings.PASSWORD_EXPIRY_DAYS
                }
            messages.warning(request, text)
            return redirect("accounts:password_change")
        # Checked second and only when required: ``totp_required_for`` reads the person's roles.
        if settings.TOTP_REQUIRED and not user.has_totp and totp_required_for(user):
            messages.warning(request, _("按照系统安全要求，您需要先绑定动态口令（双因素认证）。"))
            return redirect("accounts:totp_setup")
        return None


def totp_required_for(user):
    return access.must_use_totp(user)


class ContentSecurityPolicyMiddleware:
    """Sets ``settings.CONTENT_SECURITY_POLICY`` on every response that does not carry its own
    (evidence downloads set a stricter one). Our pages load only our own stylesheet and no script
    of their own, and no template uses an inline script, style or event handler."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = settings.CONTENT_SECURITY_POLICY
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        return response


class NoStoreMiddleware:
    """Tells browsers and proxies to keep no copy of a page shown to a signed-in person or of a
    file download (``Cache-Control: no-store``, and ``Pragma: no-cache`` for HTTP/1.0 proxies):
    a shared office computer's cache, or a proxy's, must not hand findings to the next person.
    A response that chose its own caching keeps it. Place after the auth middleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.has_header("Cache-Control"):
            return response
        user = getattr(request, "user", None)
        signed_in = user is not None and user.is_authenticated
        download = response.streaming or response.has_header("Content-Disposition")
        if signed_in or download:
            response["Cache-Control"] = "no-store"
            if not response.has_header("Pragma"):
                response["Pragma"] = "no-cache"
        return response


class NotFoundPageMiddleware:
    """With DEBUG on (the demo, a developer's machine) Django answers a wrong address, a failing
    page and a malformed request with its English debug pages, which list every URL of the system
    or show the source code. Show the project's own Chinese pages instead, as production does: a
    demo is shown to users. A developer who wants the debug pages sets DJANGO_DEBUG_TECHNICAL_404=1
    or DJANGO_DEBUG_TECHNICAL_500=1. With DEBUG off Django already uses templates/404.html,
    400.html and 500.html (403 and the CSRF failure use our templates in both modes)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code == 404
            and settings.DEBUG
            and not settings.DEBUG_TECHNICAL_404
            and response.get("Content-Type", "").startswith("text/html")
        ):
            return page_not_found(request, Http404())
        return response

    def process_exception(self, request, exception):
        if not settings.DEBUG or settings.DEBUG_TECHNICAL_500:
            return None
        # Django turns these into the 404 and 403 pages itself (the 404 is made Chinese above).
        if isinstance(exception, Http404 | PermissionDenied):
            return None
        if isinstance(exception, SuspiciousOperation | BadRequest | MultiPartParserError):
            logging.getLogger(f"django.security.{exception.__class__.__name__}").error(str(exception))
            return bad_request(request, exception)
        # Logged as Django logs an unhandled exception, so the demo's log still has the traceback.
        logging.getLogger("django.request").error(
            "Internal Server Error: %s", request.path, exc_info=(type(exception), exception, exception.__traceback__)
        )
        return server_error(request)
