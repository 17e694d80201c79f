"""Signing in (password, lockout, second factor), one's own password, and the pages of the three
administrators (三员): system, security and audit. Each administrator page answers 403 to everyone
who does not hold its role, and anonymous visitors are sent to the login page."""

import time
from functools import wraps

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, password_validation
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import access, anchoring, audit, audit_display, exports, selectors, services, totp
from .forms import (
    ApprovalDecisionForm,
    AuditSearchForm,
    ChannelsForm,
    ContactForm,
    OwnPasswordChangeForm,
    PasswordResetByAdminForm,
    RolesForm,
    SelfUnlockForm,
    TotpCodeForm,
    UnitCreateForm,
    UnlockForm,
    UserCreateForm,
    UserMoveForm,
)
from .middleware import client_ip
from .models import User
from .ui import error_text, paginate, search_param

PAGE_SIZE = 50
# A password accepted at the first step waits this long for its second factor.
PENDING_TOTP_SECONDS = 300
PENDING_TOTP_KEY = "_security_pending_totp"
TOTP_SETUP_KEY = "_security_totp_setup_secret"


# --- signing in -----------------------------------------------------------------------------


class LoginView(auth_views.LoginView):
    """The password step. A person with a second factor continues at ``login_totp`` before any
    session is signed in; everyone else is signed in here (and gets a new session id)."""

    template_name = "accounts/login.html"

    def post(self, request, *args, **kwargs):
        username = str(request.POST.get("username", ""))[:150]
        credentials = {"username": username}
        # A lock says more than a delay: for how long, and how to lift it.
        if AxesProxyHandler.is_locked(request, credentials):
            return lockout_response(request, None, credentials)
        wait = selectors.login_delay_seconds(username=username, ip_address=client_ip(request))
        if wait:
            # Refused before the password is looked at and not counted as a failure: the delay slows
            # guessing from many addresses without adding to anyone's lockout.
            message = _("账号“%(username)s”近期登录失败次数较多，请 %(seconds)d 秒后再试。") % {
                "username": username,
                "seconds": wait,
            }
            form = AuthenticationForm(request, initial={"username": username})
            return render(request, self.template_name, {"form": form, "lockout_message": message}, status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        username = str(self.request.POST.get("username", ""))[:150]
        failures = selectors.login_failures_at(username=username, ip_address=client_ip(self.request))
        warning = ""
        if failures and settings.AXES_FAILURE_LIMIT - failures == 1:
            warning = _("再输错 1 次，账号“%(username)s”在本地址将被锁定 %(minutes)d 分钟。") % {
                "username": username,
                "minutes": _cooloff_minutes(),
            }
        return self.render_to_response(self.get_context_data(form=form, last_attempt_warning=warning))

    def form_valid(self, form):
        user = form.get_user()
        if not user.has_totp:
            return super().form_valid(form)
        self.request.session[PENDING_TOTP_KEY] = {
            "user_id": user.pk,
            "backend": user.backend,
            "next": self.get_success_url(),
            "at": time.time(),
        }
        return redirect("accounts:login_totp")


def _pending_totp(request):
    pending = request.session.get(PENDING_TOTP_KEY)
    if not pending or time.time() - pending["at"] > PENDING_TOTP_SECONDS:
        return None, None
    user = User.objects.filter(pk=pending["user_id"], is_active=True).first()
    return (pending, user) if user is not None and user.has_totp else (None, None)


@require_http_methods(["GET", "POST"])
def login_totp(request):
    pending, user = _pending_totp(request)
    if user is None:
        request.session.pop(PENDING_TOTP_KEY, None)
        messages.warning(request, _("请重新输入用户名和密码。"))
        return redirect("accounts:login")
    form = TotpCodeForm(request.POST or None)
    credentials = {"username": user.username}
    if request.method == "POST" and form.is_valid():
        if AxesProxyHandler.is_locked(request, credentials):
            return lockout_response(request, None, credentials)
        if services.totp_check(user=user, code=form.cleaned_data["code"]):
            del request.session[PENDING_TOTP_KEY]
            request.second_factor_used = True
            login(request, user, backend=pending["backend"])
            return redirect(pending["next"])
        # Counted by django-axes like a wrong password, so guessing codes locks the account too.
        request.login_failure_reason = "totp"
        user_login_failed.send(sender=__name__, credentials=credentials, request=request)
        if getattr(request, "axes_locked_out", False):
            return lockout_response(request, None, credentials)
        form.add_error("code", _("动态口令不正确或已使用过，请输入手机上显示的最新6位数字。"))
    return render(request, "accounts/login_totp.html", {"form": form, "pending_user": user})


@require_http_methods(["GET", "POST"])
def login_unlock(request):
    """A person locked out at this address, with a second factor, unlocks with password and code."""
    form = SelfUnlockForm(request.POST or None, initial={"username": request.GET.get("username", "")[:150]})
    if request.method == "POST" and form.is_valid():
        username = form.cleaned_data["username"]
        wait = selectors.login_delay_seconds(username=username, ip_address=client_ip(request))
        if wait:
            form.add_error(None, _("近期失败次数较多，请 %(seconds)d 秒后再试。") % {"seconds": wait})
        elif services.account_self_unlock(
            username=username,
            password=form.cleaned_data["password"],
            code=form.cleaned_data["code"],
            request=request,
        ):
            messages.success(request, _("已解除锁定，请重新登录。"))
            return redirect("accounts:login")
        else:
            form.add_error(None, _("用户名、密码或动态口令不正确，或该账号未启用动态口令。"))
    return render(request, "accounts/login_unlock.html", {"form": form})


def lockout_response(request, original_response=None, credentials=None):
    """What a locked-out login sees (``AXES_LOCKOUT_CALLABLE``): the login page, saying so in Chinese."""
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    message = _(
        "账号“%(username)s”在本地址因连续 %(limit)d 次登录失败已被锁定，请 %(minutes)d 分钟后再试，"
        "或联系安全管理员解锁。"
    ) % {
        "username": username,
        "limit": settings.AXES_FAILURE_LIMIT,
        "minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
    }
    return render(
        request,
        "accounts/login.html",
        {"form": AuthenticationForm(request), "lockout_message": message, "locked_username": username},
        status=429,
    )


def csrf_failure(request, reason=""):
    """A form sent without a valid CSRF token (``CSRF_FAILURE_VIEW``), most often one left open
    past the session's timeout: the Chinese page in every mode, never Django's English one."""
    return render(request, "403_csrf.html", status=403)


# --- one's own password and second factor ----------------------------------------------------


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy(settings.LOGIN_REDIRECT_URL)
    form_class = OwnPasswordChangeForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            password_rules=password_validation.password_validators_help_texts(),
            password_expiry_days=settings.PASSWORD_EXPIRY_DAYS,
            **kwargs,
        )

    def form_valid(self, form):
        response = super().form_valid(form)
        services.audit_record(actor=self.request.user, action="auth.password_change", target=self.request.user)
        messages.success(self.request, _("密码已修改。"))
        return response

    def form_invalid(self, form):
        services.audit_record(
            actor=self.request.user,
            action="auth.password_change_failed",
            target=self.request.user,
            changes={"errors": sorted(form.errors)},
        )
        return super().form_invalid(form)


@login_required
@require_http_methods(["GET", "POST"])
def totp_setup(request):
    user = request.user
    if user.has_totp:
        return render(request, "accounts/totp_setup.html", {"enabled": True})
    secret = totp.pending_open(user, request.session.get(TOTP_SETUP_KEY))
    if secret is None:
        secret = totp.secret_new()
        request.session[TOTP_SETUP_KEY] = totp.pending_seal(user, secret)
    form = TotpCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.totp_enrol(actor=user, secret=secret, code=form.cleaned_data["code"])
        except ValidationError as error:
            form.add_error("code", error)
        else:
            del request.session[TOTP_SETUP_KEY]
            messages.success(request, _("动态口令已启用，今后登录时需要输入手机上的6位数字。"))
            return redirect(settings.LOGIN_REDIRECT_URL)
    return render(
        request,
        "accounts/totp_setup.html",
        {
            "enabled": False,
            "form": form,
            "secret": totp.secret_grouped(secret),
            "uri": totp.provisioning_uri(user, secret),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def channels(request):
    """The person's own page: which channels reach them, their quiet hours, and (in full) the contact
    details they go to."""
    user = request.user
    if not access.may_set_own_channels(user):
        raise PermissionDenied
    enabled = access.channels_enabled()
    initial = [channel.value for channel in enabled if channel.value not in user.channels_off]
    form = ChannelsForm(
        request.POST or None,
        enabled=enabled,
        initial={"channels": initial, "quiet_from": user.quiet_from, "quiet_until": user.quiet_until},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if services.user_channels_set(
            actor=user, channels_on=data["channels"], quiet=(data["quiet_from"], data["quiet_until"])
        ):
            messages.success(request, _("通知渠道已保存。"))
        return redirect("accounts:channels")
    return render(
        request,
        "accounts/channels.html",
        {"form": form, "enabled": enabled, "contact": access.contact_shown(user, user)},
    )


# --- the three administrators -----------------------------------------------------------------


def admin_page(page):
    """The pages of one administrator (``access.ADMIN_PAGES``): other signed-in people get 403,
    anonymous ones the login page."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(request, *args, **kwargs):
            access.require_admin_page(request.user, page)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def _search_events(request):
    """The search form, its filters and the events they find; no events for a search that is not
    valid (the form says why), rather than every event as if nothing had been asked."""
    form = AuditSearchForm(request.GET or None)
    filters = {}
    if form.is_bound and form.is_valid():
        filters = {key: value for key, value in form.cleaned_data.items() if value}
    events = selectors.audit_events_search(user=request.user, **filters)
    if form.errors:
        events = events.none()
    return form, filters, events


def _form_errors_text(form):
    """A form's errors as one line, each after its field's label: ``来源地址：请输入……``."""
    parts = []
    for name, errors in form.errors.items():
        text = "".join(errors)
        parts.append(text if name == "__all__" else f"{form.fields[name].label}：{text}")
    return "；".join(parts)


def _printable(filters):
    return {key: str(value) for key, value in filters.items()}


@admin_page("audit")
@require_GET
def audit_log(request):
    form, filters, events = _search_events(request)
    page = paginate(request, events, PAGE_SIZE)
    # Read before this search's own row is written, so the page shows what was counted.
    rows = [audit_display.audit_row(event) for event in page]
    # The auditor's reading is itself audited (who looked for what).
    services.audit_record(
        actor=request.user,
        action="audit.search",
        target=None,
        target_type="accounts.auditevent",
        target_repr=_("审计日志查询"),
        changes={"filters": _printable(filters), "page": page.number},
    )
    return render(
        request,
        "accounts/audit_log.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "filtered": bool(filters) or (form.is_bound and bool(form.errors)),
            "audit_retention_days": settings.AUDIT_RETENTION_DAYS,
        },
        status=400 if form.errors else 200,
    )


@admin_page("audit")
@require_GET
def audit_export(request):
    """The rows the page finds with the same filters, as Excel (the default) or CSV."""
    export_format = request.GET.get("format", "xlsx")
    if export_format not in {"csv", "xlsx"}:
        raise PermissionDenied
    form, filters, events = _search_events(request)
    if form.errors:
        return HttpResponseBadRequest(
            _("查询条件有误，未导出：%(errors)s") % {"errors": _form_errors_text(form)},
            content_type="text/plain; charset=utf-8",
        )
    recorded = services.audit_record(
        actor=request.user,
        action="audit.export",
        target=None,
        target_type="accounts.auditevent",
        target_repr=_("审计日志导出"),
        changes={"filters": _printable(filters), "format": export_format, "rows": events.count()},
    )
    # The file holds the rows counted above: not this export's own row, written since.
    events = events.filter(id__lt=recorded.id)
    if export_format == "csv":
        return exports.audit_csv(events)
    # The workbook also carries the chain head as it is now, for the auditor to keep.
    return exports.audit_xlsx(events, anchor=selectors.chain_anchor())


@admin_page("audit")
@require_POST
def audit_verify(request):
    try:
        (broken, checked), anchors = anchoring.chain_verify_anchored()
    except audit.AnchorError as exc:
        broken, checked, anchors = None, 0, 0
        untrusted = str(exc)
    else:
        untrusted = ""
    services.audit_record(
        actor=request.user,
        action="audit.verify",
        target=None,
        target_type="accounts.auditevent",
        target_repr=_("审计日志完整性校验"),
        changes={
            "checked": checked,
            "anchors": anchors,
            "broken_at": broken.event_id if broken else None,
            "broken_position": broken.position if broken else None,
            "anchor_file_untrusted": bool(untrusted),
        },
        outcome="failure" if broken or untrusted else "success",
    )
    if untrusted:
        messages.error(
            request, _("锚点文件不可信，未校验：%(reason)s。请用保存的锚点副本在服务器上校验。") % {"reason": untrusted}
        )
    elif broken:
        messages.error(
            request,
            _("完整性校验未通过：哈希链在%(where)s。此前 %(checked)d 条完整。") % {"where": broken, "checked": checked},
        )
    elif anchors:
        messages.success(
            request,
            _("完整性校验通过：%(checked)d 条审计记录的哈希链完整，与 %(anchors)d 个每日锚点相符。")
            % {"checked": checked, "anchors": anchors},
        )
    else:
        messages.success(
            request,
            _("完整性校验通过：%(checked)d 条审计记录的哈希链完整（尚无每日锚点）。") % {"checked": checked},
        )
    return redirect("accounts:audit_log")


@admin_page("audit")
@require_GET
def audit_anchor(request):
    """The chain head now, as a one-line file the 审计管理员 keeps outside the system."""
    anchor = selectors.chain_anchor()
    services.audit_record(
        actor=request.user,
        action="audit.anchor_download",
        target=None,
        target_type="accounts.auditevent",
        target_repr=_("审计日志链头锚点"),
        changes={"rows": anchor.rows, "last_id": anchor.last_id},
    )
    response = HttpResponse(anchor.line() + "\n", content_type="application/x-ndjson; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="audit-anchor-{stamp}.jsonl"'
    return response


@admin_page("security")
@require_GET
def security_lockouts(request):
    return render(
        request,
        "accounts/security_lockouts.html",
        {
            "locked": selectors.locked_accounts(),
            "cooloff_minutes": _cooloff_minutes(),
            "axes_failure_limit": settings.AXES_FAILURE_LIMIT,
        },
    )


def _cooloff_minutes():
    return int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)


@admin_page("security")
@require_POST
def security_unlock(request):
    form = UnlockForm(request.POST)
    if form.is_valid():
        username = form.cleaned_data["username"]
        services.account_unlock(actor=request.user, username=username)
        messages.success(request, _("已解除账号“%(username)s”的锁定。") % {"username": username})
    return redirect("accounts:security_lockouts")


@admin_page("security")
@require_GET
def security_users(request):
    q = search_param(request)
    page = paginate(request, selectors.users_for_admin(user=request.user, page="security", q=q), PAGE_SIZE)
    rows = [(user, access.role_labels(user)) for user in page]
    return render(
        request,
        "accounts/security_users.html",
        {"page": page, "rows": rows, "q": q},
    )


@admin_page("security")
@require_http_methods(["GET", "POST"])
def security_user_roles(request, pk):
    person = access.user_for_user(request.user, pk, "security")
    held = access.roles_held(person)
    # Unchecking every box posts no field at all: still a submitted form (no roles), not a fresh page.
    form = RolesForm(request.POST if request.method == "POST" else None, initial={"roles": held})
    if request.method == "POST" and form.is_valid():
        try:
            approval = services.user_roles_set(actor=request.user, user=person, roles=form.cleaned_data["roles"])
        except ValidationError as error:
            form.add_error(None, error)
        else:
            if approval is not None:
                _requested(request, approval)
            else:
                messages.success(request, _("已更新“%(name)s”的角色。") % {"name": person})
            return redirect("accounts:security_users")
    return render(
        request,
        "accounts/security_user_roles.html",
        {
            "person": person,
            "form": form,
            "admin_roles": access.administrator_role_labels(),
            "pending": selectors.approvals_pending_for_person(user=request.user, person=person),
        },
    )


@admin_page("security")
@require_POST
def security_totp_reset(request, pk):
    person = access.user_for_user(request.user, pk, "security")
    services.totp_reset(actor=request.user, user=person)
    messages.success(request, _("已清除“%(name)s”的动态口令，其下次登录后可重新绑定。") % {"name": person})
    return redirect("accounts:security_user_roles", pk=person.pk)


@admin_page("accounts")
@require_GET
def system_users(request):
    q = search_param(request)
    page = paginate(request, selectors.users_for_admin(user=request.user, page="accounts", q=q), PAGE_SIZE)
    rows = [(user, access.role_labels(user)) for user in page]
    return render(
        request,
        "accounts/system_users.html",
        {"page": page, "rows": rows, "q": q},
    )


@admin_page("accounts")
@require_GET
def system_units(request):
    return render(
        request,
        "accounts/system_units.html",
        {"page": paginate(request, selectors.units_for_admin(user=request.user), PAGE_SIZE)},
    )


@admin_page("accounts")
@require_POST
def system_user_active(request, pk):
    person = access.user_for_user(request.user, pk, "accounts")
    active = request.POST.get("active") == "1"
    try:
        approval = services.user_set_active(actor=request.user, user=person, active=active)
    except ValidationError as error:
        messages.error(request, error_text(error))
    else:
        if approval is not None:
            _requested(request, approval)
        elif active:
            messages.success(request, _("已启用账号“%(name)s”。") % {"name": person})
        else:
            messages.success(request, _("已停用账号“%(name)s”，其登录会话随即失效。") % {"name": person})
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = ""
    return redirect(back or "accounts:system_users")


@admin_page("accounts")
@require_http_methods(["GET", "POST"])
def system_user_password(request, pk):
    person = access.user_for_user(request.user, pk, "accounts")
    form = PasswordResetByAdminForm(person, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            approval = services.user_password_reset(
                actor=request.user, user=person, password=form.cleaned_data["new_password2"]
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            _requested(request, approval)
            return redirect("accounts:system_users")
    return render(request, "accounts/system_user_password.html", {"person": person, "form": form})


@admin_page("accounts")
@require_http_methods(["GET", "POST"])
def system_user_create(request):
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            person = services.user_create_by_admin(
                actor=request.user,
                username=data["username"],
                full_name=data["full_name"],
                password=data["new_password2"],
                unit=data["unit"],
                title=data["title"],
                phone=data["phone"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request, _("已创建账号“%(name)s”。请由安全管理员分配角色；首次登录须修改密码。") % {"name": person}
            )
            if data["unit"] is not None:
                messages.info(
                    request,
                    _("加入“%(unit)s”须经安全管理员审批；批准前，该账号看不到该单位的任何整改事项。")
                    % {"unit": data["unit"]},
                )
            return redirect("accounts:system_users")
    return render(request, "accounts/system_user_form.html", {"form": form})


@admin_page("accounts")
@require_http_methods(["GET", "POST"])
def system_user_move(request, pk):
    person = access.user_for_user(request.user, pk, "accounts")
    form = UserMoveForm(request.POST or None, initial={"unit": person.unit_id})
    if request.method == "POST" and form.is_valid():
        try:
            approval = services.user_move_by_admin(actor=request.user, user=person, unit=form.cleaned_data["unit"])
        except ValidationError as error:
            form.add_error(None, error)
        else:
            if approval is not None:
                messages.success(
                    request,
                    _("“%(name)s”已退出原单位，不再能查看原单位的事项；调至%(unit)s须经安全管理员审批后生效。")
                    % {"name": person, "unit": form.cleaned_data["unit"]},
                )
            else:
                messages.info(request, _("“%(name)s”已在该单位，未作调整。") % {"name": person})
            return redirect("accounts:system_users")
    return render(request, "accounts/system_user_move.html", {"person": person, "form": form})


@admin_page("accounts")
@require_http_methods(["GET", "POST"])
def system_user_contact(request, pk):
    person = access.user_for_user(request.user, pk, "accounts")
    form = ContactForm(
        request.POST or None,
        initial={
            "mobile": person.mobile,
            "wecom_userid": person.wecom_userid,
            "dingtalk_userid": person.dingtalk_userid,
        },
    )
    if request.method == "POST" and form.is_valid():
        if services.user_contact_set(actor=request.user, user=person, **form.cleaned_data):
            messages.success(request, _("已保存“%(name)s”的通知联系方式。") % {"name": person})
        return redirect("accounts:system_users")
    return render(request, "accounts/system_user_contact.html", {"person": person, "form": form})


@admin_page("accounts")
@require_http_methods(["GET", "POST"])
def system_unit_create(request):
    form = UnitCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            unit = services.unit_create_by_admin(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("已新增单位“%(name)s”。") % {"name": unit})
            return redirect("accounts:system_units")
    return render(request, "accounts/system_unit_form.html", {"form": form})


# --- two-person approval (双人审批) -------------------------------------------------------------


def _requested(request, approval):
    """What the administrator who asked is told: it waits, and for whom."""
    messages.success(
        request,
        _("已提交申请：%(what)s（%(summary)s），须由%(approver)s审批后生效。可在“我的申请”中查看进度或撤回。")
        % {"what": approval, "summary": approval.summary, "approver": approval.get_approver_display()},
    )


@admin_page("approvals")
@require_GET
def approvals(request):
    """待我审批: what waits for this administrator's decision."""
    page = paginate(request, selectors.approvals_waiting(user=request.user), PAGE_SIZE)
    return render(request, "accounts/approvals.html", {"page": page, "mine": False})


@admin_page("approvals")
@require_GET
def approvals_mine(request):
    """我的申请: what this administrator asked for, and what became of it."""
    page = paginate(request, selectors.approvals_requested(user=request.user), PAGE_SIZE)
    return render(request, "accounts/approvals.html", {"page": page, "mine": True})


@admin_page("approvals")
@require_GET
def approval_detail(request, pk):
    approval = access.approval_for_user(request.user, pk)
    return _approval_page(request, approval, ApprovalDecisionForm())


def _approval_page(request, approval, form, status=200):
    target = approval.target
    return render(
        request,
        "accounts/approval_detail.html",
        {
            "approval": approval,
            "target_roles": access.role_labels(target),
            "form": form,
            "refusal": access.approval_refusal(request.user, approval),
            "may_withdraw": access.may_withdraw_approval(request.user, approval),
        },
        status=status,
    )


@admin_page("approvals")
@require_POST
def approval_decide(request, pk):
    approval = access.approval_for_user(request.user, pk)
    form = ApprovalDecisionForm(request.POST)
    if not form.is_valid():
        return _approval_page(request, approval, form, status=400)
    decision, reason = form.cleaned_data["decision"], form.cleaned_data["reason"]
    try:
        if decision == "approve":
            services.approval_approve(actor=request.user, approval=approval, reason=reason)
        else:
            services.approval_reject(actor=request.user, approval=approval, reason=reason)
    except ValidationError as error:
        messages.error(request, error_text(error))
        return redirect("accounts:approval_detail", pk=approval.pk)
    if decision == "approve":
        messages.success(request, _("已批准：%(what)s，已生效。") % {"what": approval})
    else:
        messages.success(request, _("已驳回：%(what)s。") % {"what": approval})
    return redirect("accounts:approvals")


@admin_page("approvals")
@require_POST
def approval_withdraw(request, pk):
    approval = access.approval_for_user(request.user, pk)
    try:
        services.approval_withdraw(actor=request.user, approval=approval)
    except ValidationError as error:
        messages.error(request, error_text(error))
        return redirect("accounts:approval_detail", pk=approval.pk)
    messages.success(request, _("已撤回：%(what)s。") % {"what": approval})
    return redirect("accounts:approvals_mine")
