from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RectificationConfig(AppConfig):
    name = "rectification"
    verbose_name = _("巡视整改")

    def ready(self):
        from . import audit_labels, counters

        audit_labels.register()
        # Every connection reports its writes, which bump the cached badges' generations.
        counters.connect()

        from celery.signals import task_prerun
        from django.core.signals import request_started

        from .workdays import entries_expire

        # The office's holiday entries are read afresh in every request and every task, so a
        # change is seen by every web and worker process without a restart.
        request_started.connect(entries_expire, dispatch_uid="rectification.workdays.request")
        task_prerun.connect(entries_expire, dispatch_uid="rectification.workdays.task", weak=False)
