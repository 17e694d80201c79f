from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RectificationConfig(AppConfig):
    name = "rectification"
    verbose_name = _("巡视整改")

    def ready(self):
        from . import audit_labels

        audit_labels.register()
