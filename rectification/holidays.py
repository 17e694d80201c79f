"""The holiday arrangement the office enters for a year the ``chinesecalendar`` package does not know.

The package knows the years the State Council has published when it was released. For a later
year the office types in the published arrangement: its holidays (放假) and make-up working days
(调休上班). An entry overrides the package for its date. A year counts as known when the package
knows it or when the office has confirmed that year's entries (``CalendarYear``); until then
every page that computes a date in it says the date may be wrong.

These models live under ``workdays``, which reads them, rather than in ``models``, which imports
``workdays``; ``models`` re-exports them.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class CalendarDay(models.Model):
    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("放假")
        WORKDAY = "workday", _("调休上班")

    date = models.DateField(_("日期"), unique=True)
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices)
    name = models.CharField(_("节日"), max_length=20)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("录入人"), on_delete=models.PROTECT, related_name="+"
    )
    entered_at = models.DateTimeField(_("录入时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("节假日安排")
        verbose_name_plural = _("节假日安排")
        ordering = ["date"]

    def __str__(self):
        return f"{self.date.isoformat()} {self.get_kind_display()}"

    @property
    def is_workday(self):
        return self.kind == self.Kind.WORKDAY


class CalendarYear(models.Model):
    """The office's word that a year's arrangement is entered in full."""

    year = models.PositiveSmallIntegerField(_("年份"), unique=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("确认人"), on_delete=models.PROTECT, related_name="+"
    )
    confirmed_at = models.DateTimeField(_("确认时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("已确认的年度节假日安排")
        verbose_name_plural = _("已确认的年度节假日安排")
        ordering = ["year"]

    def __str__(self):
        return f"{self.year}年节假日安排"
