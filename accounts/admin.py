from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

from . import access
from .models import Unit, User


class OfficeOnlyAdmin(admin.ModelAdmin):
    """Findings are never deleted (history is not rewritten) and only the office edits them here.

    Access is by role, not by Django's model permissions (which no everyday account holds), so
    the module permission must follow the role too, or the admin index would show nothing.
    """

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
    # Unit membership moves access rights, so it is changed through the service, not here.
    readonly_fields = ["unit", "last_login", "date_joined"]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        (_("个人信息"), {"fields": ["full_name", "unit", "title", "phone", "email"]}),
        (_("状态"), {"fields": ["is_active", "last_login", "date_joined"]}),
    ]

    def has_add_permission(self, request):
        return False

    def user_change_password(self, request, id, form_url=""):
        # 三员分立: the office must not be able to take over another account (an administrator's
        # above all) by setting its password. People change their own password on their own page.
        raise PermissionDenied


# The audit log is read by the audit administrator on their own page (accounts/views.py), not here.
# django-axes' lockout tables are managed by the security administrator, also not here
# (AXES_ENABLE_ADMIN is off).
