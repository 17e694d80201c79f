"""The unit's weekly work: progress reports, evidence, coordination items and notifications."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ..workdays import week_label
from .ledger import Measure, Milestone, ProgressState


class ProgressReport(models.Model):
    """周报: one measure's weekly report. One row per (measure, ISO week, version).

    A confirmed report is never edited; a correction is a new version carrying its reason.
    """

    class State(models.TextChoices):
        DRAFT = "draft", _("草稿")
        SUBMITTED = "submitted", _("已提交待确认")
        CONFIRMED = "confirmed", _("已确认")
        RETURNED = "returned", _("已退回")

    measure = models.ForeignKey(Measure, verbose_name=_("措施"), on_delete=models.PROTECT, related_name="reports")
    iso_year = models.PositiveSmallIntegerField(_("年度"))
    iso_week = models.PositiveSmallIntegerField(_("周次"))
    version = models.PositiveSmallIntegerField(_("版本"), default=1)
    state = models.CharField(_("状态"), max_length=20, choices=State.choices, default=State.DRAFT)
    progress_this_week = models.TextField(_("本周进展"), blank=True)
    cumulative_state = models.CharField(
        _("累计进展状态"), max_length=20, choices=ProgressState.choices, default=ProgressState.IN_PROGRESS
    )
    percent = models.PositiveSmallIntegerField(_("完成百分比"), default=0)
    next_week_plan = models.TextField(_("下周计划"), blank=True)
    difficulties = models.TextField(_("需协调解决的困难"), blank=True)
    correction_reason = models.CharField(_("更正原因"), max_length=300, blank=True)
    return_reason = models.CharField(_("退回原因"), max_length=300, blank=True)
    is_late = models.BooleanField(_("逾期报送"), default=False)
    # Optimistic locking: every save bumps it; a save carrying an older number is refused.
    lock_version = models.PositiveIntegerField(default=0)
    filled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("填报人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("确认人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    confirmed_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("周进展报告")
        verbose_name_plural = _("周进展报告")
        ordering = ["measure", "-iso_year", "-iso_week", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["measure", "iso_year", "iso_week", "version"], name="report_unique_per_measure_week_version"
            ),
            models.CheckConstraint(condition=Q(percent__lte=100), name="report_percent_at_most_100"),
            models.CheckConstraint(condition=Q(iso_week__gte=1) & Q(iso_week__lte=53), name="report_iso_week_in_range"),
            models.CheckConstraint(
                condition=Q(version=1) | ~Q(correction_reason=""),
                name="report_correction_needs_reason",
                violation_error_message=_("更正已确认的周报必须说明原因。"),
            ),
        ]
        indexes = [
            models.Index(fields=["iso_year", "iso_week", "state"]),
            # The few reports ever returned, by measure: the dashboard counts them per unit on
            # every load, which otherwise reads every report of the round's measures.
            models.Index(fields=["measure"], condition=~Q(return_reason=""), name="report_returned_by_measure"),
        ]

    def __str__(self):
        return f"{self.measure.code} {week_label(self.iso_year, self.iso_week)}"

    def get_absolute_url(self):
        # A report is read on its measure's page, with the measure's other weeks.
        return self.measure.get_absolute_url()


class Evidence(models.Model):
    """佐证材料: an uploaded file, stored outside the web root and served only through access checks."""

    class Kind(models.TextChoices):
        RULE_DOCUMENT = "rule_document", _("制度文件")
        MINUTES = "minutes", _("会议纪要")
        DISCIPLINARY = "disciplinary", _("处分决定")
        RECEIPT = "receipt", _("退款凭证")
        PHOTO = "photo", _("整改前后照片")
        REPORT = "report", _("报告")
        WORK_PLAN = "work_plan", _("工作方案")
        CIRCULAR = "circular", _("通报")
        SIGN_IN = "sign_in", _("培训签到表")
        SURVEY = "survey", _("满意度调查")
        ACCEPTANCE = "acceptance", _("第三方验收报告")
        SCREENSHOT = "screenshot", _("截图")
        OTHER = "other", _("其他")

    measure = models.ForeignKey(Measure, verbose_name=_("措施"), on_delete=models.PROTECT, related_name="evidence")
    report = models.ForeignKey(
        ProgressReport, verbose_name=_("周报"), null=True, blank=True, on_delete=models.PROTECT, related_name="evidence"
    )
    milestone = models.ForeignKey(
        Milestone, verbose_name=_("时间节点"), null=True, blank=True, on_delete=models.PROTECT, related_name="evidence"
    )
    kind = models.CharField(_("材料类别"), max_length=20, choices=Kind.choices)
    original_name = models.CharField(_("文件名"), max_length=200)
    stored_name = models.CharField(max_length=80, unique=True, editable=False)
    content_type = models.CharField(_("文件类型"), max_length=100)
    size = models.PositiveIntegerField(_("大小（字节）"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("上传人"), on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("佐证材料")
        verbose_name_plural = _("佐证材料")
        ordering = ["-uploaded_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(size__gt=0), name="evidence_not_empty")]

    def __str__(self):
        return self.original_name

    def get_absolute_url(self):
        return reverse("rectification:evidence_download", args=[self.pk])


class CoordinationItem(models.Model):
    """需协调解决的困难: raised in a weekly report, answered at the lead official's dispatch meeting."""

    class State(models.TextChoices):
        OPEN = "open", _("待协调")
        RESOLVED = "resolved", _("已协调")

    measure = models.ForeignKey(Measure, verbose_name=_("措施"), on_delete=models.PROTECT, related_name="coordination")
    report = models.OneToOneField(
        ProgressReport, verbose_name=_("周报"), on_delete=models.PROTECT, related_name="coordination"
    )
    text = models.TextField(_("困难和问题"))
    state = models.CharField(_("状态"), max_length=20, choices=State.choices, default=State.OPEN)
    resolution = models.TextField(_("协调结果"), blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("协调人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("提出时间"), auto_now_add=True)
    resolved_at = models.DateTimeField(_("协调时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("协调事项")
        verbose_name_plural = _("协调事项")
        ordering = ["state", "-created_at"]

    def __str__(self):
        return self.text[:40]


class Notification(models.Model):
    """An in-app message (the bell). ``dedup_key`` makes sending the same notice twice impossible."""

    class Kind(models.TextChoices):
        REPORT_RETURNED = "report_returned", _("周报被退回")
        REPORT_CONFIRMED = "report_confirmed", _("周报已确认")
        REPORT_SUBMITTED = "report_submitted", _("周报待确认")
        NEW_ASSIGNMENT = "new_assignment", _("新分配的任务")
        COORDINATION = "coordination", _("协调事项")
        CLOSEOUT = "closeout", _("销号审核")
        DISPATCH = "dispatch", _("调度与督办")
        PENDING_ACCOUNTS = "pending_accounts", _("待开通的领导和单位")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("接收人"), on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(_("类别"), max_length=30, choices=Kind.choices)
    text = models.CharField(_("内容"), max_length=300)
    link = models.CharField(_("链接"), max_length=200, blank=True)
    dedup_key = models.CharField(max_length=120)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)
    # When an urgent notice left unread was passed on to the recipient's unit head (once).
    escalated_at = models.DateTimeField(_("提醒单位负责人时间"), null=True, blank=True)
    # When an urgent notice left unread went out again by the person's next channel (e.g. SMS after
    # 企业微信), before its unit head is told.
    stepped_up_at = models.DateTimeField(_("转其他渠道提醒时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["recipient", "dedup_key"], name="notification_unique_key")]
        indexes = [models.Index(fields=["recipient", "read_at"])]

    def __str__(self):
        return self.text

    def get_absolute_url(self):
        # Through the notice itself: opening it marks it read, then leads on to what it is about.
        return reverse("rectification:notification_open", args=[self.pk])

    @property
    def is_urgent(self):
        """Urgent notices (a returned report, a supervision or dispatch notice) also go by SMS."""
        return self.kind in URGENT_KINDS


URGENT_KINDS = frozenset({Notification.Kind.REPORT_RETURNED, Notification.Kind.DISPATCH})
