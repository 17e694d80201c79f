"""The generations behind the cached navigation badges and dashboard figures (see ``rectification.counters``)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Generation(models.Model):
    """One scope's generation: a random number replaced after every committed write that changes
    what the scope's badges or figures show. A cached value is kept under the generations it was
    computed at, so once a write is committed no process finds the old value under the new number."""

    scope = models.CharField(_("范围"), max_length=80, primary_key=True)
    value = models.BigIntegerField(_("代数"))

    class Meta:
        verbose_name = _("计数缓存代数")
        verbose_name_plural = _("计数缓存代数")

    def __str__(self):
        return f"{self.scope}: {self.value}"
