"""The weekly cycle: one row per round and ISO week, and what each step produced.

Every step is idempotent: a step is claimed with a compare-and-set update on its state
field, and everything it sends or records has its own unique key, so a beat that fires
twice, two workers, or a re-run after a crash sends nothing twice and loses nothing.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ..workdays import week_label
from .ledger import InspectionRound, Measure


class StepState(models.TextChoices):
    PENDING = "pending", _("未运行")
    RUNNING = "running", _("运行中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("失败")


class WeeklyCycle(models.Model):
    class Step(models.TextChoices):
        DISPATCH = "dispatch", _("调度（周一）")
        REMIND_EVE = "remind_eve", _("截止前一天催报")
        REMIND_DAY = "remind_day", _("截止当天催报")
        COLLECT = "collect", _("截止时登记未报")
        SUMMARY = "summary", _("周小结")

    round = models.ForeignKey(InspectionRound, verbose_name=_("轮次"), on_delete=models.PROTECT, related_name="cycles")
    iso_year = models.PositiveSmallIntegerField(_("年度"))
    iso_week = models.PositiveSmallIntegerField(_("周次"))
    dispatch_state = models.CharField(max_length=10, choices=StepState.choices, default=StepState.PENDING)
    remind_eve_state = models.CharField(max_length=10, choices=StepState.choices, default=StepState.PENDING)
    remind_day_state = models.CharField(max_length=10, choices=StepState.choices, default=StepState.PENDING)
    collect_state = models.CharField(max_length=10, choices=StepState.choices, default=StepState.PENDING)
    summary_state = models.CharField(max_length=10, choices=StepState.choices, default=StepState.PENDING)
    # Per step: when it was claimed and finished, how many it reached, and the last error.
    log = models.JSONField(_("运行记录"), default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("周工作循环")
        verbose_name_plural = _("周工作循环")
        ordering = ["-iso_year", "-iso_week", "round"]
        constraints = [
            models.UniqueConstraint(fields=["round", "iso_year", "iso_week"], name="cycle_unique_round_week")
        ]

    def __str__(self):
        return f"{self.round} {week_label(self.iso_year, self.iso_week)}"

    def state_of(self, step):
        return getattr(self, f"{step}_state")


class DispatchSheet(models.Model):
    """调度单: what one unit must do this week, frozen when dispatched."""

    cycle = models.ForeignKey(WeeklyCycle, on_delete=models.PROTECT, related_name="dispatch_sheets")
    unit = models.ForeignKey("accounts.Unit", verbose_name=_("单位"), on_delete=models.PROTECT, related_name="+")
    content = models.JSONField(_("调度内容"))
    created_at = models.DateTimeField(_("调度时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("调度单")
        verbose_name_plural = _("调度单")
        ordering = ["-created_at", "unit"]
        constraints = [models.UniqueConstraint(fields=["cycle", "unit"], name="dispatch_once_per_unit_week")]

    def __str__(self):
        return f"{self.unit} {self.cycle}"


class MissedReport(models.Model):
    """未报: a measure whose weekly report was not submitted by the cut-off."""

    cycle = models.ForeignKey(WeeklyCycle, on_delete=models.PROTECT, related_name="missed_reports")
    unit = models.ForeignKey("accounts.Unit", verbose_name=_("单位"), on_delete=models.PROTECT, related_name="+")
    measure = models.ForeignKey(
        Measure, verbose_name=_("措施"), on_delete=models.PROTECT, related_name="missed_reports"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("未报记录")
        verbose_name_plural = _("未报记录")
        constraints = [models.UniqueConstraint(fields=["cycle", "measure"], name="missed_once_per_measure_week")]
        indexes = [models.Index(fields=["unit", "cycle"])]

    def __str__(self):
        return f"{self.measure.code} 未报"


class SupervisionNotice(models.Model):
    """督办单: issued for an overdue measure; the unit must answer by ``reply_due``."""

    class State(models.TextChoices):
        OPEN = "open", _("待答复")
        ANSWERED = "answered", _("已答复")

    cycle = models.ForeignKey(WeeklyCycle, on_delete=models.PROTECT, related_name="notices")
    unit = models.ForeignKey("accounts.Unit", verbose_name=_("单位"), on_delete=models.PROTECT, related_name="+")
    measure = models.ForeignKey(Measure, verbose_name=_("措施"), on_delete=models.PROTECT, related_name="notices")
    text = models.TextField(_("督办内容"))
    reply_due = models.DateField(_("答复期限"))
    state = models.CharField(_("状态"), max_length=10, choices=State.choices, default=State.OPEN)
    reply = models.TextField(_("答复"), blank=True)
    replied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("答复人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    replied_at = models.DateTimeField(_("答复时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("签发时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("督办单")
        verbose_name_plural = _("督办单")
        ordering = ["state", "reply_due", "id"]
        constraints = [
            models.UniqueConstraint(fields=["measure"], condition=Q(state="open"), name="notice_one_open_per_measure")
        ]

    def __str__(self):
        return f"督办单 {self.measure.code}"


class WeeklySnapshot(models.Model):
    """The week's figures, frozen at the summary. Never updated afterwards.

    The few numbers the dashboard shows for every week (its trend and the list of weekly
    packages) are also kept as columns, taken from ``figures`` when the snapshot is written: a
    city's figures are a JSON document of ~150 KB, and a year of them is slow to read back.
    """

    cycle = models.OneToOneField(WeeklyCycle, on_delete=models.PROTECT, related_name="snapshot")
    figures = models.JSONField(_("统计数据"))
    measures_total = models.PositiveIntegerField(_("措施总数"), default=0)
    measures_closed = models.PositiveIntegerField(_("已销号措施"), default=0)
    overdue_count = models.PositiveIntegerField(_("逾期措施"), default=0)
    missed_unit_count = models.PositiveIntegerField(_("未报单位"), default=0)
    package_name = models.CharField(_("周报表文件"), max_length=120, blank=True)
    created_at = models.DateTimeField(_("生成时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("周小结快照")
        verbose_name_plural = _("周小结快照")
        ordering = ["-cycle__iso_year", "-cycle__iso_week"]

    def __str__(self):
        return f"{self.cycle} 小结"

    def save(self, *args, **kwargs):
        for name, value in self.headline(self.figures).items():
            setattr(self, name, value)
        super().save(*args, **kwargs)

    @staticmethod
    def headline(figures):
        """The column values for ``figures``: what ``save`` sets, and what bulk writers pass."""
        measures = figures.get("measures", {})
        return {
            "measures_total": measures.get("total", 0),
            "measures_closed": measures.get("closed", 0),
            "overdue_count": len(figures.get("overdue", ())),
            "missed_unit_count": len(figures.get("missed_units", ())),
        }


class Penalty(models.Model):
    """A sanction on a unit or on one of its leading cadres: circular, point deduction in the
    year-end assessment (年末实绩考评), or loss of eligibility for awards (取消评优评先).

    The weekly cycle drafts them for units by its rules (``cycle`` and ``rule`` set, state draft);
    the office confirms or dismisses each draft, or enters one by hand (``rule`` "manual",
    confirmed at once, with the reason and evidence files).
    """

    MANUAL = "manual"

    class Kind(models.TextChoices):
        CIRCULAR = "circular", _("通报批评")
        DEDUCTION = "deduction", _("年末实绩考评扣分")
        INELIGIBLE = "ineligible", _("取消评优评先资格")

    class State(models.TextChoices):
        DRAFT = "draft", _("待确认")
        CONFIRMED = "confirmed", _("已确认")
        DISMISSED = "dismissed", _("已撤销")

    class Target(models.TextChoices):
        UNIT = "unit", _("单位")
        CADRE = "cadre", _("领导干部")

    round = models.ForeignKey(
        InspectionRound, verbose_name=_("轮次"), on_delete=models.PROTECT, related_name="penalties"
    )
    cycle = models.ForeignKey(
        WeeklyCycle,
        verbose_name=_("生成周次"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="penalties",
    )
    unit = models.ForeignKey("accounts.Unit", verbose_name=_("单位"), on_delete=models.PROTECT, related_name="+")
    target = models.CharField(_("对象"), max_length=10, choices=Target.choices, default=Target.UNIT)
    cadre_name = models.CharField(_("干部姓名"), max_length=50, blank=True)
    cadre_post = models.CharField(_("干部职务"), max_length=100, blank=True)
    kind = models.CharField(_("类别"), max_length=20, choices=Kind.choices)
    rule = models.CharField(_("触发规则"), max_length=40)
    reason = models.TextField(_("事由"))
    points = models.DecimalField(_("扣分"), max_digits=4, decimal_places=1, default=0)
    assessment_year = models.PositiveSmallIntegerField(_("考评年度"), null=True, blank=True)
    state = models.CharField(_("状态"), max_length=10, choices=State.choices, default=State.DRAFT)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("录入人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("确认人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("生成时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("通报与扣分")
        verbose_name_plural = _("通报与扣分")
        ordering = ["state", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["cycle", "unit", "kind", "rule"], name="penalty_once_per_rule_week"),
            models.CheckConstraint(
                condition=Q(target="unit") | ~Q(cadre_name=""),
                name="penalty_cadre_named",
                violation_error_message=_("对领导干部的处理须填写干部姓名。"),
            ),
            models.CheckConstraint(
                condition=Q(points__gte=0),
                name="penalty_points_not_negative",
                violation_error_message=_("扣分不能为负数。"),
            ),
        ]

    def __str__(self):
        # Named in the audit log by this: the unit and kind, never a cadre's name.
        cadre = "（领导干部）" if self.target == self.Target.CADRE else ""
        return f"{self.unit}{cadre} {self.get_kind_display()}"

    @property
    def target_label(self):
        """Who is penalised, as the lists and the export name them: the unit, or the cadre and unit."""
        if self.target == self.Target.CADRE:
            post = f"（{self.cadre_post}）" if self.cadre_post else ""
            return f"{self.unit} {self.cadre_name}{post}"
        return str(self.unit)


class Release(models.Model):
    """What the office has released to the provincial inspection team (向省巡视组报送).

    The provincial account reads nothing else: a week's package (its frozen snapshot, figures and
    Excel files) once released, and the final report (整改情况报告) once released. A final-report
    release names no snapshot but the uploaded final it sends (``final_report``), once a round.
    """

    class Kind(models.TextChoices):
        WEEKLY_PACKAGE = "weekly_package", _("周报送材料")
        FINAL_REPORT = "final_report", _("整改情况报告")

    round = models.ForeignKey(InspectionRound, verbose_name=_("轮次"), on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("类别"), max_length=20, choices=Kind.choices)
    snapshot = models.OneToOneField(
        WeeklySnapshot,
        verbose_name=_("周小结快照"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="release",
    )
    # The uploaded final (整改情况报告定稿) a final-report release sends; none for a weekly package.
    final_report = models.OneToOneField(
        "FinalReportFinal",
        verbose_name=_("整改情况报告定稿"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="release",
    )
    note = models.CharField(_("说明"), max_length=200, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("报送人"), on_delete=models.PROTECT, related_name="+"
    )
    released_at = models.DateTimeField(_("报送时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("向省巡视组报送")
        verbose_name_plural = _("向省巡视组报送")
        ordering = ["-released_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="final_report") | Q(snapshot__isnull=False), name="release_weekly_has_snapshot"
            ),
            models.CheckConstraint(
                condition=Q(kind="weekly_package") | Q(final_report__isnull=False), name="release_final_has_file"
            ),
            # The final report goes to the province once a round: released, it cannot be taken back.
            models.UniqueConstraint(
                fields=["round"], condition=Q(kind="final_report"), name="release_final_report_once"
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.released_at:%Y-%m-%d}"
