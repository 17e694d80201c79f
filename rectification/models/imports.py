"""What the office taught the ledger import: which column of its ledgers means what."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ImportColumnMapping(models.Model):
    """A header the import did not know, mapped by the office from the preview's drop-down.

    Every later import reads a column under this header (compared as ``imports.header_key`` does:
    spaces, asterisks and character widths aside) as ``target``: ``problem:<field>``,
    ``measure:<field>``, or ``ignore`` for a column the office says is not to be imported.
    """

    header = models.CharField(_("表头"), max_length=100)
    key = models.CharField(_("比对用表头"), max_length=100, unique=True)
    target = models.CharField(_("对应项"), max_length=60)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("设置人"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("设置时间"), default=timezone.now)

    class Meta:
        verbose_name = _("导入列对应关系")
        verbose_name_plural = _("导入列对应关系")
        ordering = ["key"]

    def __str__(self):
        return f"{self.header} → {self.target}"
