from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

from . import access
from .models import Unit, User
from .services import audit_record


class OfficeOnlyAdmin(admin.ModelAdmin):
    """Findings are never deleted (history is not rewritten) and only the office edits them here.

    Access is by role, not by Django's model permissions (which no everyday account holds), so
    the module permission must follow the role too, or the admin index would show nothing.

    Every change saved here appends a row to the hash-chained audit log, like the services do:
    Django's own admin history (LogEntry) can be edited by whoever owns the database, the chain
    cannot be without being noticed. Values are recorded for the fields listed in
    ``audited_values``; for the others (the findings' texts) only the field names, so the audit
    administrator sees what was changed, not the findings themselves.
    """

    audited_values: tuple[str, ...] = ()

    def audit_label(self, obj):
        """How the audit row names what was changed (an app whose objects' names are sensitive
        overrides this)."""
        return str(obj)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        obj = form.instance
        fields = list(form.changed_data) + [formset.prefix for formset in formsets if formset.has_changed()]
        # ``form.initial`` holds the values the page was opened with (a related object as its id).
        values = {
            name: [str(form.initial.get(name, "")), str(obj._meta.get_field(name).value_from_object(obj))]
            for name in self.audited_values
            if name in fields
        }
        audit_record(
            actor=request.user,
            action=f"admin.{obj._meta.model_name}.{'change' if change else 'add'}",
            target=obj,
            target_repr=self.audit_label(obj),
            changes={"fields": fields, **({"values": values} if values else {})},
        )

    def has_module_permission(self, request):
        return access.is_office(request.user)

    def has_view_permission(self, request, obj=None):
        return access.is_office(request.user)

    def has_change_permission(self, request, obj=None):
        return access.is_office(request.user)

    def has_add_permission(self, request):
        return access.is_office(request.user)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Unit)
class UnitAdmin(OfficeOnlyAdmin):
    audited_values = ("name", "short_name", "level", "kind", "parent", "is_active")
    list_display = ["name", "short_name", "level", "kind", "parent", "is_active"]
    list_filter = ["level", "kind", "is_active"]
    search_fields = ["name", "short_name"]
    readonly_fields = ["group"]

    def has_add_permission(self, request):
        # A unit needs its permission group, which only the service creates.
        return False


@admin.register(User)
class UserAdmin(OfficeOnlyAdmin, BaseUserAdmin):
    list_display = ["username", "full_name", "unit", "title", "is_active"]
    list_filter = ["is_active", "unit__level", "groups"]
    search_fields = ["username", "full_name", "phone"]
    ordering = ["username"]
    # Unit membership moves access rights, so it is changed through the service, not here; and
    # (de)activation is the system administrator's, reactivation with a second administrator's
    # approval (双人审批), so the office cannot bring an account back here alone either.
    readonly_fields = ["unit", "is_active", "last_login", "date_joined"]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        (_("个人信息"), {"fields": ["full_name", "unit", "title", "phone", "email"]}),
        (_("状态"), {"fields": ["is_active", "last_login", "date_joined"]}),
    ]

    def has_add_permission(self, request):
        return False

    audited_values = ("full_name", "title", "phone", "email")

    def has_change_permission(self, request, obj=None):
        # 三员分立: the office cannot deactivate, rename or re-mail an administrator (or a superuser).
        if obj is not None and access.is_administrator(obj):
            return False
        return super().has_change_permission(request, obj)

    def user_change_password(self, request, id, form_url=""):
        # 三员分立: the office must not be able to take over another account (an administrator's
        # above all) by setting its password. People change their own password on their own page.
        raise PermissionDenied


# The audit log is read by the audit administrator on their own page (accounts/views.py), not here.
# django-axes' lockout tables are managed by the security administrator, also not here
# (AXES_ENABLE_ADMIN is off).
