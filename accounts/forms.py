from django import forms
from django.contrib.auth import password_validation
from django.utils.translation import gettext_lazy as _

from .models import AuditEvent
from .roles import Role


class AuditSearchForm(forms.Form):
    q = forms.CharField(label=_("关键词"), required=False, max_length=100)
    actor = forms.CharField(label=_("操作人用户名"), required=False, max_length=150)
    action = forms.CharField(label=_("操作"), required=False, max_length=60)
    outcome = forms.ChoiceField(
        label=_("结果"), required=False, choices=[("", _("全部"))] + list(AuditEvent.Outcome.choices)
    )
    ip = forms.CharField(label=_("来源地址"), required=False, max_length=45)
    date_from = forms.DateField(label=_("起始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("截止日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise forms.ValidationError(_("起始日期不能晚于截止日期。"))
        return data


class TotpCodeForm(forms.Form):
    code = forms.CharField(
        label=_("动态口令"),
        max_length=10,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "autofocus": True}),
    )


class UnlockForm(forms.Form):
    username = forms.CharField(label=_("用户名"), max_length=255)


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
        second = self.cleaned_data.get("new_password2")
        if first and second and first != second:
            raise forms.ValidationError(_("两次输入的密码不一致。"))
        password_validation.validate_password(second, self.user)
        return second
