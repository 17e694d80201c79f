"""Background exports: a large workbook is built by a worker and listed for download."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .ledger import InspectionRound


class ExportJob(models.Model):
    class Kind(models.TextChoices):
        LEDGER = "ledger", _("整改台账")
        WEEKLY = "weekly", _("整改进展周报表")

    class State(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("生成中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("申请人"), on_delete=models.PROTECT, related_name="export_jobs"
    )
    round = models.ForeignKey(InspectionRound, verbose_name=_("轮次"), on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("报表"), max_length=10, choices=Kind.choices)
    params = models.JSONField(_("参数"), default=dict, blank=True)
    state = models.CharField(_("状态"), max_length=10, choices=State.choices, default=State.QUEUED)
    progress = models.PositiveSmallIntegerField(_("进度"), default=0)
    file_name = models.CharField(_("文件名"), max_length=200, blank=True)
    stored_name = models.CharField(max_length=80, blank=True)
    error = models.CharField(_("错误"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("申请时间"), auto_now_add=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("后台导出")
        verbose_name_plural = _("后台导出")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["requested_by", "-created_at"]), models.Index(fields=["state", "created_at"])]

    def __str__(self):
        return f"{self.get_kind_display()}（{self.requested_by}）"
