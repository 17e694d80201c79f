"""The rectification ledger: rounds, tracks, aspects, problems, measures and milestones.

Each lifecycle has exactly one status field with explicit choices; transitions happen in
``services.py``. Object permissions use guardian's direct foreign-key tables (at the end of
this module), which guardian's documentation recommends for large tables.
"""

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

    round = models.ForeignKey(InspectionRound, verbose_name=_("轮次"), on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(_("专项整治名称"), max_length=120)
    lead_unit = models.ForeignKey("accounts.Unit", verbose_name=_("牵头单位"), on_delete=models.PROTECT, related_name="+")
    description = models.TextField(_("说明"), blank=True)

    class Meta:
        verbose_name = _("专项整治")
        verbose_name_plural = _("专项整治")
        constraints = [models.UniqueConstraint(fields=["round", "name"], name="campaign_unique_name_per_round")]

    def __str__(self):
        return self.name


class Problem(models.Model):
    """反馈问题: one item of the inspection team's feedback, with its four responsibility fields."""

    class ProblemType(models.TextChoices):
        COMMON = "common", _("共性问题")
        SPECIFIC = "specific", _("个性问题")

    round = models.ForeignKey(InspectionRound, verbose_name=_("轮次"), on_delete=models.PROTECT, related_name="problems")
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

    problem = models.ForeignKey(Problem, verbose_name=_("问题"), on_delete=models.CASCADE, related_name="manifestations")
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


class Milestone(models.Model):
    """倒排时间节点: a dated step of a measure. Done once ``done_on`` is set."""

    measure = models.ForeignKey(Measure, verbose_name=_("措施"), on_delete=models.CASCADE, related_name="milestones")
    seq = models.PositiveSmallIntegerField(_("序号"))
    title = models.CharField(_("节点"), max_length=120)
    due_date = models.DateField(_("计划完成日期"))
    done_on = models.DateField(_("实际完成日期"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("标记人"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("时间节点")
        verbose_name_plural = _("时间节点")
        ordering = ["measure", "seq"]
        constraints = [models.UniqueConstraint(fields=["measure", "seq"], name="milestone_unique_seq")]
        indexes = [models.Index(fields=["due_date", "done_on"])]

    def __str__(self):
        return self.title


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
        settings.AUTH_USER_MODEL, verbose_name=_("填报人"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("确认人"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
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
            models.CheckConstraint(
                condition=Q(iso_week__gte=1) & Q(iso_week__lte=53), name="report_iso_week_in_range"
            ),
            models.CheckConstraint(
                condition=Q(version=1) | ~Q(correction_reason=""),
                name="report_correction_needs_reason",
                violation_error_message=_("更正已确认的周报必须说明原因。"),
            ),
        ]
        indexes = [models.Index(fields=["iso_year", "iso_week", "state"])]

    def __str__(self):
        return f"{self.measure.code} {self.iso_year}年第{self.iso_week}周"


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
        settings.AUTH_USER_MODEL, verbose_name=_("协调人"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
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

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("接收人"), on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(_("类别"), max_length=30, choices=Kind.choices)
    text = models.CharField(_("内容"), max_length=300)
    link = models.CharField(_("链接"), max_length=200, blank=True)
    dedup_key = models.CharField(max_length=120)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["recipient", "dedup_key"], name="notification_unique_key")]
        indexes = [models.Index(fields=["recipient", "read_at"])]

    def __str__(self):
        return self.text


class AccountabilityRecord(models.Model):
    """人要处理: one person or unit held to account for a problem."""

    class Kind(models.TextChoices):
        PARTY_WARNING = "party_warning", _("党纪处分：警告")
        PARTY_SERIOUS_WARNING = "party_serious_warning", _("党纪处分：严重警告")
        PARTY_REMOVAL = "party_removal", _("党纪处分：撤销党内职务")
        PARTY_PROBATION = "party_probation", _("党纪处分：留党察看")
        PARTY_EXPULSION = "party_expulsion", _("党纪处分：开除党籍")
        GOV_WARNING = "gov_warning", _("政务处分：警告")
        GOV_DEMERIT = "gov_demerit", _("政务处分：记过")
        GOV_MAJOR_DEMERIT = "gov_major_demerit", _("政务处分：记大过")
        GOV_DEMOTION = "gov_demotion", _("政务处分：降级")
        GOV_DISMISSAL = "gov_dismissal", _("政务处分：撤职")
        GOV_EXPULSION = "gov_expulsion", _("政务处分：开除")
        ORGANISATIONAL = "organisational", _("组织处理")
        ADMONITION = "admonition", _("诫勉")
        FIRST_FORM_TALK = "first_form_talk", _("第一种形态：谈话提醒")
        FIRST_FORM_CRITICISM = "first_form_criticism", _("第一种形态：批评教育")
        FIRST_FORM_SELF_CHECK = "first_form_self_check", _("第一种形态：责令检查")

    class Target(models.TextChoices):
        PERSON = "person", _("个人")
        UNIT = "unit", _("单位")

    round = models.ForeignKey(InspectionRound, verbose_name=_("轮次"), on_delete=models.PROTECT, related_name="+")
    problem = models.ForeignKey(
        Problem, verbose_name=_("相关问题"), null=True, blank=True, on_delete=models.PROTECT, related_name="accountability"
    )
    target = models.CharField(_("问责对象"), max_length=10, choices=Target.choices, default=Target.PERSON)
    person_name = models.CharField(_("姓名或单位名称"), max_length=100)
    person_unit = models.CharField(_("所在单位"), max_length=100, blank=True)
    post = models.CharField(_("职务"), max_length=100, blank=True)
    kind = models.CharField(_("处理方式"), max_length=30, choices=Kind.choices)
    case_filed = models.BooleanField(_("已立案"), default=False)
    is_accountability = models.BooleanField(_("属于问责"), default=False)
    decision_document = models.CharField(_("处理决定文号"), max_length=100, blank=True)
    decided_on = models.DateField(_("决定日期"))
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("录入人"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("录入时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("追责问责记录")
        verbose_name_plural = _("追责问责记录")
        ordering = ["-decided_on", "-id"]
        indexes = [models.Index(fields=["round", "kind"])]

    def __str__(self):
        return f"{self.person_name} {self.get_kind_display()}"


class RuleRecord(models.Model):
    """长效机制要建立: a rule or institution issued, revised or abolished."""

    class Change(models.TextChoices):
        NEW = "new", _("新建")
        REVISED = "revised", _("修订")
        ABOLISHED = "abolished", _("废止")

    round = models.ForeignKey(InspectionRound, verbose_name=_("轮次"), on_delete=models.PROTECT, related_name="+")
    problems = models.ManyToManyField(Problem, verbose_name=_("相关问题"), blank=True, related_name="rules")
    title = models.CharField(_("制度名称"), max_length=200)
    doc_number = models.CharField(_("文号"), max_length=100)
    issued_on = models.DateField(_("印发日期"))
    change = models.CharField(_("类型"), max_length=20, choices=Change.choices, default=Change.NEW)
    issuing_unit = models.ForeignKey(
        "accounts.Unit", verbose_name=_("制发单位"), on_delete=models.PROTECT, related_name="+"
    )
    evidence = models.ForeignKey(
        Evidence, verbose_name=_("制度文件"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("录入人"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("录入时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("建章立制记录")
        verbose_name_plural = _("建章立制记录")
        ordering = ["-issued_on", "-id"]

    def __str__(self):
        return f"{self.title}（{self.doc_number}）"


class Recovery(models.Model):
    """挽回经济损失、追缴/清退资金, in 万元."""

    class Kind(models.TextChoices):
        LOSS_RECOVERED = "loss_recovered", _("挽回经济损失")
        FUNDS_RECOVERED = "funds_recovered", _("追缴资金")
        FUNDS_RETURNED = "funds_returned", _("清退资金")

    round = models.ForeignKey(InspectionRound, verbose_name=_("轮次"), on_delete=models.PROTECT, related_name="+")
    problem = models.ForeignKey(
        Problem, verbose_name=_("相关问题"), null=True, blank=True, on_delete=models.PROTECT, related_name="recoveries"
    )
    kind = models.CharField(_("类别"), max_length=20, choices=Kind.choices)
    amount_wan = models.DecimalField(_("金额（万元）"), max_digits=12, decimal_places=2)
    description = models.CharField(_("说明"), max_length=300, blank=True)
    recorded_on = models.DateField(_("日期"))
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("录入人"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("录入时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("资金追缴记录")
        verbose_name_plural = _("资金追缴记录")
        ordering = ["-recorded_on", "-id"]
        constraints = [models.CheckConstraint(condition=Q(amount_wan__gt=0), name="recovery_amount_positive")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.amount_wan}万元"


class PetitionClue(models.Model):
    """信访件 or 问题线索 handed over by the inspection team, received and closed."""

    class Kind(models.TextChoices):
        PETITION = "petition", _("信访件")
        CLUE = "clue", _("问题线索")

    round = models.ForeignKey(InspectionRound, verbose_name=_("轮次"), on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("类别"), max_length=20, choices=Kind.choices)
    code = models.CharField(_("编号"), max_length=50)
    summary = models.CharField(_("摘要"), max_length=300)
    handling_unit = models.ForeignKey(
        "accounts.Unit", verbose_name=_("承办单位"), on_delete=models.PROTECT, related_name="+"
    )
    received_on = models.DateField(_("接收日期"))
    closed_on = models.DateField(_("办结日期"), null=True, blank=True)
    case_filed = models.BooleanField(_("已立案"), default=False)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("录入人"), on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("信访件和问题线索")
        verbose_name_plural = _("信访件和问题线索")
        ordering = ["received_on", "id"]
        constraints = [models.UniqueConstraint(fields=["round", "kind", "code"], name="petition_unique_code")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.code}"


class WorkActivity(models.Model):
    """Meetings, dispatch meetings, supervision rounds and special campaigns held, for the final report."""

    class Kind(models.TextChoices):
        MEETING = "meeting", _("专题会议")
        DISPATCH_MEETING = "dispatch_meeting", _("调度会")
        SUPERVISION = "supervision", _("督导检查")

    round = models.ForeignKey(InspectionRound, verbose_name=_("轮次"), on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("类别"), max_length=20, choices=Kind.choices)
    title = models.CharField(_("名称"), max_length=200)
    held_on = models.DateField(_("日期"))
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("录入人"), on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("工作开展记录")
        verbose_name_plural = _("工作开展记录")
        ordering = ["-held_on", "-id"]

    def __str__(self):
        return self.title


class CloseOutRequest(models.Model):
    """销号申请: one application to close a measure (or a whole problem) and its review chain.

    The item's own ``closeout_state`` mirrors this request's state and changes only through
    the close-out services. A request that was returned is resubmitted as the same request;
    an item reopened after a look-back starts a new cycle with a new request.
    """

    class Kind(models.TextChoices):
        FULL = "full", _("销号")
        STAGED = "staged", _("阶段性完成")

    class State(models.TextChoices):
        PENDING_LEAD_UNIT = "pending_lead_unit", _("待牵头单位审核")
        PENDING_LEADER = "pending_leader", _("待领导审核")
        PENDING_OFFICE = "pending_office", _("待整改办审核")
        CLOSED = "closed", _("已通过")
        RETURNED = "returned", _("已退回")

    OPEN_STATES = (State.PENDING_LEAD_UNIT, State.PENDING_LEADER, State.PENDING_OFFICE, State.RETURNED)

    problem = models.ForeignKey(Problem, verbose_name=_("问题"), on_delete=models.PROTECT, related_name="closeouts")
    measure = models.ForeignKey(
        Measure, verbose_name=_("措施"), null=True, blank=True, on_delete=models.PROTECT, related_name="closeouts"
    )
    cycle = models.PositiveSmallIntegerField(_("轮次"), default=1)
    kind = models.CharField(_("申请类型"), max_length=10, choices=Kind.choices, default=Kind.FULL)
    state = models.CharField(_("状态"), max_length=20, choices=State.choices, default=State.PENDING_LEAD_UNIT)
    statement = models.TextField(_("完成情况说明"))
    applicant_unit = models.ForeignKey(
        "accounts.Unit", verbose_name=_("申请单位"), on_delete=models.PROTECT, related_name="+"
    )
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("申请人（单位负责人）"), on_delete=models.PROTECT, related_name="+"
    )
    pledged_at = models.DateTimeField(_("承诺时间"))
    no_accountability_reason = models.TextField(_("无需追责问责的理由"), blank=True)
    no_rules_reason = models.TextField(_("无需建章立制的理由"), blank=True)
    created_at = models.DateTimeField(_("申请时间"), auto_now_add=True)
    decided_at = models.DateTimeField(_("办结时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("销号申请")
        verbose_name_plural = _("销号申请")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["measure"],
                condition=Q(measure__isnull=False)
                & Q(state__in=["pending_lead_unit", "pending_leader", "pending_office", "returned"]),
                name="closeout_one_open_request_per_measure",
            ),
            models.UniqueConstraint(
                fields=["problem"],
                condition=Q(measure__isnull=True)
                & Q(state__in=["pending_lead_unit", "pending_leader", "pending_office", "returned"]),
                name="closeout_one_open_request_per_problem",
            ),
        ]
        indexes = [models.Index(fields=["state", "problem"])]

    def __str__(self):
        target = self.measure.code if self.measure_id else self.problem.code
        return f"{target} {self.get_kind_display()}申请（第{self.cycle}轮）"

    def get_absolute_url(self):
        return reverse("rectification:closeout_detail", args=[self.pk])

    @property
    def target(self):
        return self.measure if self.measure_id else self.problem


class CriterionCheck(models.Model):
    """One acceptance criterion ticked in an application, with the evidence that proves it."""

    request = models.ForeignKey(CloseOutRequest, on_delete=models.CASCADE, related_name="checks")
    criterion = models.ForeignKey(AcceptanceCriterion, verbose_name=_("验收标准"), on_delete=models.PROTECT, related_name="+")
    evidence = models.ManyToManyField(Evidence, verbose_name=_("佐证材料"), related_name="+")
    note = models.CharField(_("说明"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("验收标准核验")
        verbose_name_plural = _("验收标准核验")
        constraints = [models.UniqueConstraint(fields=["request", "criterion"], name="check_unique_criterion")]

    def __str__(self):
        return self.criterion.text


class SignOffStep(models.Model):
    """An append-only row of the close-out chain: who did what, at which step, when and why."""

    class Step(models.TextChoices):
        APPLY = "apply", _("责任单位申请")
        LEAD_UNIT = "lead_unit", _("牵头单位审核")
        LEADER = "leader", _("领导审核")
        OFFICE = "office", _("整改办审核")
        REOPEN = "reopen", _("回头看重启")

    class Decision(models.TextChoices):
        SUBMITTED = "submitted", _("提交")
        APPROVED = "approved", _("通过")
        RETURNED = "returned", _("退回")
        SKIPPED = "skipped", _("免审（申请单位即牵头单位）")
        REOPENED = "reopened", _("重启")

    request = models.ForeignKey(CloseOutRequest, on_delete=models.PROTECT, related_name="steps")
    step = models.CharField(_("环节"), max_length=20, choices=Step.choices)
    decision = models.CharField(_("结果"), max_length=20, choices=Decision.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("办理人"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    comment = models.TextField(_("意见"), blank=True)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("销号签批记录")
        verbose_name_plural = _("销号签批记录")
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.get_step_display()} {self.get_decision_display()}"
