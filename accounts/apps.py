from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    default = True
    name = "accounts"
    verbose_name = _("人员与单位")

    def ready(self):
        from django.contrib import admin

        from . import audit_catalogue, checks, signals  # noqa: F401  (registers the receivers and system checks)
        from .admin import OfficeOnlyAdmin

        # The admin app comes first in INSTALLED_APPS: every app's admin module is loaded by now.
        audit_catalogue.register_admin_models(
            model for model, model_admin in admin.site._registry.items() if isinstance(model_admin, OfficeOnlyAdmin)
        )


class OfficeAdminConfig(admin_apps.AdminConfig):
    """Django's admin, served by a site that only the rectification office may enter."""

    default = False
    default_site = "accounts.admin_site.OfficeAdminSite"
