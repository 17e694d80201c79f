"""The ledger: rounds, tracks, aspects, campaigns, problems, measures, milestones and their permissions.

Each lifecycle has exactly one status field with explicit choices; transitions happen in the
services. Object permissions use guardian's direct foreign-key tables (at the end of this
module), which guardian's documentation recommends for large tables.
"""

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase


class ProgressState(models.TextChoices):
    NOT_STARTED = "not_started", _("未启动")
    IN_PROGRESS = "in_progress", _("推进中")
    COMPLETED = "completed", _("已完成")
    STAGED = "staged", _("阶段性完成")
    ONGOING = "ongoing", _("长期坚持")


class CloseOutState(models.TextChoices):
    NOT_APPLIED = "not_applied", _("未申请")
    PENDING_LEAD_UNIT = "pending_lead_unit", _("待牵头单位审核")
    PENDING_LEADER = "pending_leader", _("待领导审核")
    PENDING_OFFICE = "pending_office", _("待整改办审核")
    CLOSED = "closed", _("已销号")
    RETURNED = "returned", _("已退回")
    REOPENED = "reopened", _("已重启")


class DeadlineCategory(models.TextChoices):
    IMMEDIATE = "immediate", _("立行立改")
    BY_DATE = "by_date", _("限期整改")
    LONG_TERM = "long_term", _("长期坚持")


class InspectionRound(models.Model):
    class Kind(models.TextChoices):
        PROVINCIAL = "provincial", _("省委巡视")
        DISTRICT = "district", _("区委巡察")
        LOOK_BACK = "look_back", _("巡视“回头看”")

    class Cadence(models.TextChoices):
        """How often the cycle runs once the report deadline's week is over (see ``week_in_cadence``)."""

        WEEKLY = "weekly", _("每周")
        FORTNIGHTLY = "fortnightly", _("每两周")
        MONTHLY = "monthly", _("每月")

    title = models.CharField(_("轮次名称"), max_length=120)
    kind = models.CharField(_("类别"), max_length=20, choices=Kind.choices, default=Kind.PROVINCIAL)
    inspection_team = models.CharField(_("巡视组"), max_length=120)
    period_start = models.DateField(_("巡视开始日期"), null=True, blank=True)
    period_end = models.DateField(_("巡视结束日期"), null=True, blank=True)
    feedback_date = models.DateField(_("反馈日期"))
    report_deadline = models.DateField(_("整改报告报送期限"))
    rectification_end = models.DateField(_("集中整改结束日期"), null=True, blank=True)
    previous_round = models.ForeignKey(
        "self", verbose_name=_("上一轮"), null=True, blank=True, on_delete=models.PROTECT, related_name="next_rounds"
    )
    # When set, each special track's office checks close-outs of its track instead of the general office.
    track_offices_review = models.BooleanField(_("专项办审核本专项销号"), default=False)
    # The weekly cycle (一周一调度、一周一汇报、一周一小结), configurable per round.
    report_weekday = models.PositiveSmallIntegerField(_("周报截止星期（1=周一）"), default=4)
    report_time = models.TimeField(_("周报截止时间"), default=datetime.time(17, 0))
    summary_weekday = models.PositiveSmallIntegerField(_("周小结星期（1=周一）"), default=5)
    summary_time = models.TimeField(_("周小结时间"), default=datetime.time(18, 0))
    notice_days = models.PositiveSmallIntegerField(_("剩余天数提醒经办人"), default=20)
    leader_days = models.PositiveSmallIntegerField(_("剩余天数提醒牵头领导"), default=10)
    notice_reply_workdays = models.PositiveSmallIntegerField(_("督办单答复期限（工作日）"), default=3)
    penalty_missed_streak = models.PositiveSmallIntegerField(_("连续未报几次生成通报（0为不启用）"), default=2)
    penalty_unanswered_notice = models.BooleanField(_("督办单逾期未答复生成通报"), default=True)
    penalty_points = models.DecimalField(_("每次扣分（年末实绩考评）"), max_digits=4, decimal_places=1, default=0.5)
    # After the report deadline the open items (长期坚持 and unfinished) go on being dispatched and
    # reported on this cadence; the countdown then counts towards the look-back (回头看) if set.
    after_deadline_cadence = models.CharField(
        _("报送期限后的调度频次"), max_length=20, choices=Cadence.choices, default=Cadence.WEEKLY
    )
    look_back_date = models.DateField(_("回头看日期"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("巡视轮次")
        verbose_name_plural = _("巡视轮次")
        ordering = ["-feedback_date", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(report_deadline__gte=models.F("feedback_date")),
                name="round_deadline_after_feedback",
                violation_error_message=_("整改报告报送期限不能早于反馈日期。"),
            ),
            models.CheckConstraint(
                condition=Q(
                    report_weekday__gte=1, report_weekday__lte=7, summary_weekday__gte=1, summary_weekday__lte=7
                ),
                name="round_cycle_weekdays_valid",
            ),
            models.CheckConstraint(
                condition=Q(look_back_date__isnull=True) | Q(look_back_date__gt=models.F("report_deadline")),
                name="round_look_back_after_deadline",
                violation_error_message=_("回头看日期须晚于整改报告报送期限。"),
            ),
        ]

    def __str__(self):
        return self.title


class Track(models.Model):
    """综合 or one of the three special tracks, each run by its own office unit."""

    class Kind(models.TextChoices):
        GENERAL = "general", _("综合")
        INSPECTION = "inspection", _("巡察工作")
        CADRE = "cadre", _("选人用人")
        IDEOLOGY = "ideology", _("意识形态")

    round = models.ForeignKey(InspectionRound, verbose_name=_("轮次"), on_delete=models.CASCADE, related_name="tracks")
    kind = models.CharField(_("类别"), max_length=20, choices=Kind.choices)
    office_unit = models.ForeignKey(
        "accounts.Unit", verbose_name=_("牵头办公室"), on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("整改专项")
        verbose_name_plural = _("整改专项")
        ordering = ["round", "kind"]
        constraints = [models.UniqueConstraint(fields=["round", "kind"], name="track_unique_kind_per_round")]

    def __str__(self):
        return self.get_kind_display()


class Aspect(models.Model):
    round = models.ForeignKey(InspectionRound, verbose_name=_("轮次"), on_delete=models.CASCADE, related_name="aspects")
    seq = models.PositiveSmallIntegerField(_("序号"))
    title = models.CharField(_("方面"), max_length=200)

    class Meta:
        verbose_name = _("问题方面")
        verbose_name_plural = _("问题方面")
        ordering = ["round", "seq"]
        constraints = [models.UniqueConstraint(fields=["round", "seq"], name="aspect_unique_seq_per_round")]

    def __str__(self):
        return self.title


class Campaign(models.Model):
    """专项整治: one campaign handles several common problems together."""

    round = models.ForeignKey(
        InspectionRound, verbose_name=_("轮次"), on_delete=models.CASCADE, related_name="campaigns"
    )
    name = models.CharField(_("专项整治名称"), max_length=120)
    lead_unit = models.ForeignKey(
        "accounts.Unit", verbose_name=_("牵头单位"), on_delete=models.PROTECT, related_name="+"
    )
    deadline = models.DateField(_("完成时限"), null=True, blank=True)
    description = models.TextField(_("说明"), blank=True)

    class Meta:
        verbose_name = _("专项整治")
        verbose_name_plural = _("专项整治")
        constraints = [models.UniqueConstraint(fields=["round", "name"], name="campaign_unique_name_per_round")]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("rectification:campaign_detail", args=[self.pk])


class Problem(models.Model):
    """反馈问题: one item of the inspection team's feedback, with its four responsibility fields."""

    class ProblemType(models.TextChoices):
        COMMON = "common", _("共性问题")
        SPECIFIC = "specific", _("个性问题")

    round = models.ForeignKey(
        InspectionRound, verbose_name=_("轮次"), on_delete=models.PROTECT, related_name="problems"
    )
    aspect = models.ForeignKey(Aspect, verbose_name=_("方面"), on_delete=models.PROTECT, related_name="problems")
    track = models.ForeignKey(Track, verbose_name=_("专项"), on_delete=models.PROTECT, related_name="problems")
    code = models.CharField(_("问题编号"), max_length=30)
    seq = models.PositiveIntegerField(_("排序"), default=0)
    title = models.CharField(_("问题概述"), max_length=200)
    text = models.TextField(_("反馈原文"))
    problem_type = models.CharField(_("问题类型"), max_length=20, choices=ProblemType.choices)
    deadline_category = models.CharField(_("整改时限类别"), max_length=20, choices=DeadlineCategory.choices)
    due_date = models.DateField(_("整改时限"), null=True, blank=True)
    goal = models.TextField(_("整改目标"), blank=True)
    lead_official = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("牵头领导"), on_delete=models.PROTECT, related_name="led_problems"
    )
    responsible_leaders = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("责任领导"), blank=True, related_name="responsible_problems"
    )
    lead_unit = models.ForeignKey(
        "accounts.Unit", verbose_name=_("牵头单位"), on_delete=models.PROTECT, related_name="led_problems"
    )
    responsible_units = models.ManyToManyField(
        "accounts.Unit", verbose_name=_("责任单位"), blank=True, related_name="responsible_problems"
    )
    previous_problem = models.ForeignKey(
        "self",
        verbose_name=_("上轮未整改到位问题"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="repeated_in",
    )
    is_secretary_led = models.BooleanField(_("书记领办"), default=False)
    campaign = models.ForeignKey(
        Campaign, verbose_name=_("专项整治"), null=True, blank=True, on_delete=models.PROTECT, related_name="problems"
    )
    progress_state = models.CharField(
        _("进展状态"), max_length=20, choices=ProgressState.choices, default=ProgressState.NOT_STARTED
    )
    closeout_state = models.CharField(
        _("销号状态"), max_length=20, choices=CloseOutState.choices, default=CloseOutState.NOT_APPLIED
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("反馈问题")
        verbose_name_plural = _("反馈问题")
        ordering = ["round", "seq", "id"]
        permissions = [
            ("decompose_problem", _("分解整改措施（牵头单位）")),
            ("sign_off_problem", _("签批问题销号（领导）")),
        ]
        constraints = [
            models.UniqueConstraint(fields=["round", "code"], name="problem_unique_code_per_round"),
            models.CheckConstraint(
                condition=~Q(deadline_category=DeadlineCategory.BY_DATE) | Q(due_date__isnull=False),
                name="problem_by_date_needs_due_date",
                violation_error_message=_("限期整改的问题必须填写整改时限。"),
            ),
            models.CheckConstraint(
                condition=Q(problem_type="common") | Q(campaign__isnull=True),
                name="problem_campaign_only_for_common",
                violation_error_message=_("只有共性问题才能纳入专项整治。"),
            ),
        ]
        indexes = [
            models.Index(fields=["round", "track", "seq"]),
            models.Index(fields=["round", "closeout_state"]),
            models.Index(fields=["lead_unit", "round"]),
        ]

    def __str__(self):
        return f"{self.code} {self.title}"

    def get_absolute_url(self):
        return reverse("rectification:problem_detail", args=[self.pk])


class Manifestation(models.Model):
    """具体表现: the concrete facts behind a problem."""

    problem = models.ForeignKey(
        Problem, verbose_name=_("问题"), on_delete=models.CASCADE, related_name="manifestations"
    )
    seq = models.PositiveSmallIntegerField(_("序号"))
    text = models.TextField(_("具体表现"))

    class Meta:
        verbose_name = _("具体表现")
        verbose_name_plural = _("具体表现")
        ordering = ["problem", "seq"]
        constraints = [models.UniqueConstraint(fields=["problem", "seq"], name="manifestation_unique_seq")]

    def __str__(self):
        return self.text[:40]


class Measure(models.Model):
    """整改措施: one task of a problem, owned by one responsible unit."""

    class ClaimState(models.TextChoices):
        PENDING = "pending", _("待认领")
        CLAIMED = "claimed", _("已认领")
        OBJECTED = "objected", _("有异议")

    class Kind(models.TextChoices):
        IMMEDIATE = "immediate", _("立行立改")
        CAMPAIGN = "campaign", _("专项整治")
        RULES = "rules", _("建章立制")
        ACCOUNTABILITY = "accountability", _("追责问责")
        RECOVERY = "recovery", _("追缴资金")
        EDUCATION = "education", _("教育警示")

    problem = models.ForeignKey(Problem, verbose_name=_("问题"), on_delete=models.PROTECT, related_name="measures")
    code = models.CharField(_("措施编号"), max_length=30)
    seq = models.PositiveSmallIntegerField(_("排序"), default=0)
    text = models.TextField(_("整改措施"))
    kind = models.CharField(_("措施类别"), max_length=20, choices=Kind.choices)
    owner_unit = models.ForeignKey(
        "accounts.Unit", verbose_name=_("责任单位"), on_delete=models.PROTECT, related_name="owned_measures"
    )
    handler_name = models.CharField(_("经办人"), max_length=50, blank=True)
    handler_phone = models.CharField(_("经办人电话"), max_length=30, blank=True)
    start_date = models.DateField(_("开始日期"))
    due_date = models.DateField(_("完成时限"))
    # "立行立改并长期坚持", "年底前完成并长期坚持", or just "长期坚持": done by the due date (closed
    # then as any other measure), and kept up afterwards. A label the look-back (回头看) reads;
    # lights, overdue and reminders go by the due date alone.
    ongoing_after_due = models.BooleanField(_("完成后长期坚持"), default=False)
    expected_deliverable = models.CharField(_("预期成果"), max_length=200, blank=True)
    progress_state = models.CharField(
        _("进展状态"), max_length=20, choices=ProgressState.choices, default=ProgressState.NOT_STARTED
    )
    percent = models.PositiveSmallIntegerField(_("完成百分比"), default=0)
    latest_progress = models.TextField(_("最新进展"), blank=True)
    last_reported_at = models.DateTimeField(_("最近更新时间"), null=True, blank=True)
    closeout_state = models.CharField(
        _("销号状态"), max_length=20, choices=CloseOutState.choices, default=CloseOutState.NOT_APPLIED
    )
    # 百分之百全面认领: the owner unit claims its task (or objects, for the office to re-assign).
    claim_state = models.CharField(_("认领状态"), max_length=10, choices=ClaimState.choices, default=ClaimState.PENDING)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("认领人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    claimed_at = models.DateTimeField(_("认领时间"), null=True, blank=True)
    objection_reason = models.CharField(_("异议理由"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("整改措施")
        verbose_name_plural = _("整改措施")
        ordering = ["problem", "seq", "id"]
        permissions = [
            ("report_measure", _("填报整改进展（责任单位）")),
            ("review_measure", _("审核整改措施（牵头单位）")),
            ("sign_off_measure", _("签批措施销号（领导）")),
        ]
        constraints = [
            models.UniqueConstraint(fields=["problem", "code"], name="measure_unique_code_per_problem"),
            models.CheckConstraint(condition=Q(percent__lte=100), name="measure_percent_at_most_100"),
            models.CheckConstraint(
                condition=Q(due_date__gte=models.F("start_date")),
                name="measure_due_after_start",
                violation_error_message=_("完成时限不能早于开始日期。"),
            ),
        ]
        indexes = [
            models.Index(fields=["owner_unit", "closeout_state", "due_date"]),
            models.Index(fields=["due_date"]),
        ]

    def __str__(self):
        return f"{self.code} {self.text[:30]}"

    def get_absolute_url(self):
        return reverse("rectification:measure_detail", args=[self.pk])

    @property
    def deadline_text(self):
        """The due date as the ledger writes it: "2026-10-31", or "2026-10-31并长期坚持" (which the
        import reads back as the same date, ongoing)."""
        return deadline_text(self.due_date, self.ongoing_after_due)


ONGOING_SUFFIX = "并长期坚持"


def deadline_text(due_date, ongoing):
    """A measure's due date written out, with 并长期坚持 when it is kept up after that date."""
    if due_date is None:
        return ""
    return f"{due_date:%Y-%m-%d}{ONGOING_SUFFIX if ongoing else ''}"


def measure_due_refusal(*, due_date, problem_due_date, problem_code=""):
    """Why a measure due on ``due_date`` cannot belong to a problem due on ``problem_due_date``.

    The rule, written only here: a measure is due no later than its problem. A problem without a
    date (长期坚持, or not yet decided) sets no limit. Returns "" when the dates agree; the message
    names the problem when ``problem_code`` is given (an import file lists many problems).
    """
    if due_date is None or problem_due_date is None or due_date <= problem_due_date:
        return ""
    values = {"due": due_date.isoformat(), "limit": problem_due_date.isoformat(), "problem": problem_code}
    if problem_code:
        return str(_("措施完成时限（%(due)s）不能晚于问题“%(problem)s”的整改时限（%(limit)s）。") % values)
    return str(_("措施完成时限（%(due)s）不能晚于问题的整改时限（%(limit)s）。") % values)


class AcceptanceCriterion(models.Model):
    """验收标准: one checkable criterion of a problem, or of one of its measures."""

    problem = models.ForeignKey(Problem, verbose_name=_("问题"), on_delete=models.CASCADE, related_name="criteria")
    measure = models.ForeignKey(
        Measure, verbose_name=_("措施"), null=True, blank=True, on_delete=models.CASCADE, related_name="criteria"
    )
    seq = models.PositiveSmallIntegerField(_("序号"))
    text = models.CharField(_("验收标准"), max_length=300)

    class Meta:
        verbose_name = _("验收标准")
        verbose_name_plural = _("验收标准")
        ordering = ["problem", "measure", "seq"]

    def __str__(self):
        return self.text


class MilestoneQuerySet(models.QuerySet):
    def open(self):
        """Milestones still to do: neither done nor waived. The one definition every light, list,
        dispatch and close-out check uses."""
        return self.filter(done_on__isnull=True, waived_at__isnull=True)


class Milestone(models.Model):
    """倒排时间节点: a dated step of a measure. Done once ``done_on`` is set; or waived (免除),
    with a recorded reason, when the step turned out unnecessary. Either way it is no longer open."""

    measure = models.ForeignKey(Measure, verbose_name=_("措施"), on_delete=models.CASCADE, related_name="milestones")
    seq = models.PositiveSmallIntegerField(_("序号"))
    title = models.CharField(_("节点"), max_length=120)
    due_date = models.DateField(_("计划完成日期"))
    done_on = models.DateField(_("实际完成日期"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("标记人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    waived_at = models.DateTimeField(_("免除时间"), null=True, blank=True)
    waived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("免除人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    waived_reason = models.CharField(_("免除理由"), max_length=300, blank=True)

    objects = MilestoneQuerySet.as_manager()

    class Meta:
        verbose_name = _("时间节点")
        verbose_name_plural = _("时间节点")
        ordering = ["measure", "seq"]
        constraints = [models.UniqueConstraint(fields=["measure", "seq"], name="milestone_unique_seq")]
        indexes = [models.Index(fields=["due_date", "done_on"])]

    def __str__(self):
        return self.title

    @property
    def is_open(self):
        return self.done_on is None and self.waived_at is None

    def is_late(self, today):
        return self.is_open and self.due_date < today


# Direct foreign-key permission tables: the guardian subqueries join on an indexed integer
# column instead of casting a text ``object_pk``, which matters at city scale.
class ProblemUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Problem, on_delete=models.CASCADE)


class ProblemGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Problem, on_delete=models.CASCADE)


class MeasureUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Measure, on_delete=models.CASCADE)


class MeasureGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Measure, on_delete=models.CASCADE)
