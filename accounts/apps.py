from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    default = True
    name = "accounts"
    verbose_name = _("人员与单位")

    def ready(self):
        from . import checks, signals  # noqa: F401  (registers the receivers and system checks)


class OfficeAdminConfig(admin_apps.AdminConfig):
    """Django's admin, served by a site that only the rectification office may enter."""

    default = False
    default_site = "accounts.admin_site.OfficeAdminSite"
