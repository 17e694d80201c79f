import datetime

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import PasswordChangeForm
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

from . import audit_catalogue, services
from .models import AuditEvent, Unit, User
from .roles import Role

# Dates an audit row can have. The search turns a date into a moment of the local day (and the
# day after); at the ends of what ``datetime`` holds that arithmetic overflows.
AUDIT_DATE_RANGE = [
    MinValueValidator(datetime.date(2000, 1, 1), message=_("日期不能早于 2000-01-01。")),
    MaxValueValidator(datetime.date(2099, 12, 31), message=_("日期不能晚于 2099-12-31。")),
]


def _action_choices():
    return [("", _("全部")), *audit_catalogue.action_choices()]


class AuditSearchForm(forms.Form):
    q = forms.CharField(label=_("关键词"), required=False, max_length=100)
    actor = forms.CharField(label=_("操作人用户名"), required=False, max_length=150)
    action = forms.ChoiceField(
        label=_("操作"),
        required=False,
        choices=_action_choices,
        error_messages={"invalid_choice": _("请从列表中选择操作。")},
    )
    outcome = forms.ChoiceField(label=_("结果"), required=False, choices=[("", _("全部")), *AuditEvent.Outcome.choices])
    # The column is an address (``inet`` on PostgreSQL): a partial one cannot be compared with it.
    ip = forms.GenericIPAddressField(
        label=_("来源地址"), required=False, error_messages={"invalid": _("请输入完整的 IPv4 或 IPv6 地址。")}
    )
    date_from = forms.DateField(
        label=_("起始日期"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=AUDIT_DATE_RANGE,
    )
    date_to = forms.DateField(
        label=_("截止日期"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=AUDIT_DATE_RANGE,
    )

    def clean(self):
        super().clean()
        data = self.cleaned_data
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise forms.ValidationError(_("起始日期不能晚于截止日期。"))
        return data


class TotpCodeForm(forms.Form):
    code = forms.CharField(
        label=_("动态口令"),
        max_length=10,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "autofocus": True}),
    )


class OwnPasswordChangeForm(PasswordChangeForm):
    """Changing one's own password: the current password is checked as a login checks it, so a
    wrong one counts towards the lockout and a locked account cannot change it either (otherwise a
    stolen session could go on guessing here after login has locked)."""

    def __init__(self, user, *args, request=None, **kwargs):
        self.request = request
        super().__init__(user, *args, **kwargs)

    def clean_old_password(self):
        old_password = self.cleaned_data["old_password"]
        outcome = services.password_reconfirm(
            user=self.user, password=old_password, request=self.request, reason="password_change"
        )
        if outcome == "locked":
            raise forms.ValidationError(
                _("连续输错密码次数过多，账号在本地址已被锁定，请稍后再试或联系安全管理员解锁。"), code="locked"
            )
        if outcome == "wrong":
            raise forms.ValidationError(self.error_messages["password_incorrect"], code="password_incorrect")
        return old_password


class SelfUnlockForm(forms.Form):
    username = forms.CharField(label=_("用户名"), max_length=150)
    password = forms.CharField(label=_("密码"), strip=False, widget=forms.PasswordInput)
    code = forms.CharField(
        label=_("动态口令"),
        max_length=10,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )


class UnlockForm(forms.Form):
    username = forms.CharField(label=_("用户名"), max_length=255)


class ApprovalDecisionForm(forms.Form):
    """Another administrator's answer to a request (双人审批), with an optional reason."""

    decision = forms.ChoiceField(
        label=_("审批结果"),
        choices=[("approve", _("批准")), ("reject", _("驳回"))],
        error_messages={"required": _("请选择批准或驳回。"), "invalid_choice": _("请选择批准或驳回。")},
    )
    reason = forms.CharField(
        label=_("审批意见（选填）"),
        max_length=200,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class RolesForm(forms.Form):
    roles = forms.MultipleChoiceField(
        label=_("角色"), required=False, choices=Role.choices, widget=forms.CheckboxSelectMultiple
    )


class PasswordResetByAdminForm(forms.Form):
    """The system administrator sets a one-time password; the person must change it when signing in."""

    new_password1 = forms.CharField(label=_("临时密码"), strip=False, widget=forms.PasswordInput)
    new_password2 = forms.CharField(label=_("再次输入临时密码"), strip=False, widget=forms.PasswordInput)

    def __init__(self, user, *args, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_new_password2(self):
        first = self.cleaned_data.get("new_password1")
        # Only called once the field itself is clean, so the value is there.
        second = self.cleaned_data["new_password2"]
        if first and second and first != second:
            raise forms.ValidationError(_("两次输入的密码不一致。"))
        password_validation.validate_password(second, self.user)
        return second


class UserCreateForm(PasswordResetByAdminForm):
    """A new account: who, where, and a temporary password to change at the first login."""

    username = forms.RegexField(
        label=_("用户名"),
        max_length=150,
        regex=r"^[A-Za-z0-9_.-]+$",
        error_messages={"invalid": _("用户名只能包含字母、数字、下划线、点和连字符。")},
    )
    full_name = forms.CharField(label=_("姓名"), max_length=50)
    unit = forms.ModelChoiceField(label=_("所在单位"), queryset=Unit.objects.filter(is_active=True), required=False)
    title = forms.CharField(label=_("职务"), max_length=60, required=False)
    phone = forms.CharField(label=_("联系电话"), max_length=30, required=False)

    field_order = ["username", "full_name", "unit", "title", "phone", "new_password1", "new_password2"]

    def __init__(self, *args, **kwargs):
        super().__init__(User(), *args, **kwargs)


class UserMoveForm(forms.Form):
    unit = forms.ModelChoiceField(label=_("调至单位"), queryset=Unit.objects.filter(is_active=True))


class ChannelsForm(forms.Form):
    channels = forms.MultipleChoiceField(
        label=_("通过以下渠道接收通知"), required=False, widget=forms.CheckboxSelectMultiple
    )

    quiet_from = forms.TimeField(
        label=_("免打扰开始时间"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        error_messages={"invalid": _("请按“时:分”填写时间，如 22:00。")},
    )
    quiet_until = forms.TimeField(
        label=_("免打扰结束时间"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text=_(
            "免打扰时段内，一般通知留到时段结束时再发往电子邮件、企业微信和钉钉；紧急通知随时发送。两项都留空为不设免打扰。"
        ),
        error_messages={"invalid": _("请按“时:分”填写时间，如 07:30。")},
    )

    def __init__(self, *args, enabled, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["channels"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = [(channel.value, channel.label) for channel in enabled]

    def clean(self):
        data = super().clean() or {}
        start, end = data.get("quiet_from"), data.get("quiet_until")
        if self.errors:
            return data
        if (start is None) != (end is None):
            raise forms.ValidationError(_("免打扰的开始和结束时间请都填写，或都留空。"))
        if start is not None and start == end:
            raise forms.ValidationError(_("免打扰的开始和结束时间不能相同。"))
        return data


class ContactForm(forms.Form):
    mobile = forms.RegexField(
        label=_("手机号码"),
        regex=r"^1\d{10}$",
        required=False,
        error_messages={"invalid": _("请填写11位手机号码（以1开头），或留空。")},
    )
    wecom_userid = forms.RegexField(
        label=_("企业微信账号"),
        regex=r"^[A-Za-z0-9_.@-]{1,64}$",
        required=False,
        help_text=_("企业微信通讯录中的“账号”（userid），不是姓名或手机号。"),
        error_messages={"invalid": _("企业微信账号只能由字母、数字和 _ . @ - 组成，最长64位。")},
    )
    dingtalk_userid = forms.RegexField(
        label=_("钉钉账号"),
        regex=r"^[A-Za-z0-9_.@-]{1,64}$",
        required=False,
        help_text=_("钉钉通讯录中的 userid（员工 UserID），不是姓名或手机号。"),
        error_messages={"invalid": _("钉钉账号只能由字母、数字和 _ . @ - 组成，最长64位。")},
    )


class UnitCreateForm(forms.Form):
    name = forms.CharField(label=_("单位名称"), max_length=100)
    short_name = forms.CharField(label=_("简称"), max_length=30, required=False)
    level = forms.ChoiceField(label=_("层级"), choices=Unit.Level.choices)
    kind = forms.ChoiceField(label=_("类别"), choices=Unit.Kind.choices)
    parent = forms.ModelChoiceField(label=_("上级单位"), queryset=Unit.objects.filter(is_active=True), required=False)
