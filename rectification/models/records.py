"""The records behind the final report: accountability, rules, money recovered, petitions, activities."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .ledger import InspectionRound, Problem
from .work import Evidence


class FinalReportRecord(models.Model):
    """What every record behind the final report has: the round it counts towards and who entered it."""

    round = models.ForeignKey(InspectionRound, verbose_name=_("轮次"), on_delete=models.PROTECT, related_name="+")
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("录入人"), on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        abstract = True


class AccountabilityRecord(FinalReportRecord):
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

    problem = models.ForeignKey(
        Problem,
        verbose_name=_("相关问题"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="accountability",
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
    created_at = models.DateTimeField(_("录入时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("追责问责记录")
        verbose_name_plural = _("追责问责记录")
        ordering = ["-decided_on", "-id"]
        indexes = [models.Index(fields=["round", "kind"])]

    def __str__(self):
        return f"{self.person_name} {self.get_kind_display()}"


class RuleRecord(FinalReportRecord):
    """长效机制要建立: a rule or institution issued, revised or abolished."""

    class Change(models.TextChoices):
        NEW = "new", _("新建")
        REVISED = "revised", _("修订")
        ABOLISHED = "abolished", _("废止")

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
    created_at = models.DateTimeField(_("录入时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("建章立制记录")
        verbose_name_plural = _("建章立制记录")
        ordering = ["-issued_on", "-id"]

    def __str__(self):
        return f"{self.title}（{self.doc_number}）"


class Recovery(FinalReportRecord):
    """挽回经济损失、追缴/清退资金, in 万元."""

    class Kind(models.TextChoices):
        LOSS_RECOVERED = "loss_recovered", _("挽回经济损失")
        FUNDS_RECOVERED = "funds_recovered", _("追缴资金")
        FUNDS_RETURNED = "funds_returned", _("清退资金")

    problem = models.ForeignKey(
        Problem, verbose_name=_("相关问题"), null=True, blank=True, on_delete=models.PROTECT, related_name="recoveries"
    )
    kind = models.CharField(_("类别"), max_length=20, choices=Kind.choices)
    amount_wan = models.DecimalField(_("金额（万元）"), max_digits=12, decimal_places=2)
    description = models.CharField(_("说明"), max_length=300, blank=True)
    recorded_on = models.DateField(_("日期"))
    created_at = models.DateTimeField(_("录入时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("资金追缴记录")
        verbose_name_plural = _("资金追缴记录")
        ordering = ["-recorded_on", "-id"]
        constraints = [models.CheckConstraint(condition=Q(amount_wan__gt=0), name="recovery_amount_positive")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.amount_wan}万元"


class PetitionClue(FinalReportRecord):
    """信访件 or 问题线索 received (from the inspection team or another source) and handled.

    One row is one batch from one source: ``quantity`` items, of which ``handled`` are closed and
    ``transferred`` were handed to the discipline inspection and supervision organs (移交纪检监察机关).
    """

    class Kind(models.TextChoices):
        PETITION = "petition", _("信访件")
        CLUE = "clue", _("问题线索")

    kind = models.CharField(_("类别"), max_length=20, choices=Kind.choices)
    code = models.CharField(_("编号"), max_length=50)
    source = models.CharField(_("来源"), max_length=100, blank=True)
    quantity = models.PositiveIntegerField(_("件数"), default=1)
    handled = models.PositiveIntegerField(_("已办结件数"), default=0)
    transferred = models.PositiveIntegerField(_("移交纪检监察机关件数"), default=0)
    summary = models.CharField(_("摘要"), max_length=300)
    handling_unit = models.ForeignKey(
        "accounts.Unit", verbose_name=_("承办单位"), on_delete=models.PROTECT, related_name="+"
    )
    problem = models.ForeignKey(
        Problem, verbose_name=_("相关问题"), null=True, blank=True, on_delete=models.PROTECT, related_name="petitions"
    )
    received_on = models.DateField(_("接收日期"))
    closed_on = models.DateField(_("办结日期"), null=True, blank=True)
    case_filed = models.BooleanField(_("已立案"), default=False)

    class Meta:
        verbose_name = _("信访件和问题线索")
        verbose_name_plural = _("信访件和问题线索")
        ordering = ["received_on", "id"]
        constraints = [
            models.UniqueConstraint(fields=["round", "kind", "code"], name="petition_unique_code"),
            models.CheckConstraint(
                condition=Q(quantity__gt=0),
                name="petition_quantity_positive",
                violation_error_message=_("件数至少为 1。"),
            ),
            models.CheckConstraint(
                condition=Q(handled__lte=models.F("quantity")),
                name="petition_handled_le_quantity",
                violation_error_message=_("已办结件数不能超过件数。"),
            ),
            models.CheckConstraint(
                condition=Q(transferred__lte=models.F("quantity")),
                name="petition_transferred_le_quantity",
                violation_error_message=_("移交纪检监察机关件数不能超过件数。"),
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.code}"

    def clean(self):
        from django.core.exceptions import ValidationError

        errors = {}
        if self.quantity is not None and self.handled is not None and self.handled > self.quantity:
            errors["handled"] = _("已办结件数不能超过件数。")
        if self.quantity is not None and self.transferred is not None and self.transferred > self.quantity:
            errors["transferred"] = _("移交纪检监察机关件数不能超过件数。")
        if self.closed_on and self.received_on and self.closed_on < self.received_on:
            errors["closed_on"] = _("办结日期不能早于接收日期。")
        if errors:
            raise ValidationError(errors)


class WorkActivity(FinalReportRecord):
    """Meetings held (常委会、领导小组会议、调度会、推进会) and on-site supervision and inspection
    visits made (督导、督查), for the statistics and the final report.

    A meeting has a chair and its decisions; a visit has who went, where, and what was found.
    """

    class Kind(models.TextChoices):
        STANDING_COMMITTEE = "standing_committee", _("区委常委会会议")
        LEADING_GROUP = "leading_group", _("领导小组会议")
        DISPATCH_MEETING = "dispatch_meeting", _("调度会")
        PROGRESS_MEETING = "progress_meeting", _("推进会")
        MEETING = "meeting", _("专题会议")
        SUPERVISION = "supervision", _("督导")
        INSPECTION = "inspection", _("督查")

    kind = models.CharField(_("类别"), max_length=20, choices=Kind.choices)
    title = models.CharField(_("名称"), max_length=200)
    held_on = models.DateField(_("日期"))
    chair = models.CharField(_("主持人"), max_length=100, blank=True)
    decisions = models.TextField(_("议定事项"), blank=True)
    participants = models.CharField(_("参加人员"), max_length=300, blank=True)
    place = models.CharField(_("地点或被督导单位"), max_length=200, blank=True)
    findings = models.TextField(_("发现的问题"), blank=True)
    problems = models.ManyToManyField(Problem, verbose_name=_("相关问题"), blank=True, related_name="activities")

    class Meta:
        verbose_name = _("会议和督导记录")
        verbose_name_plural = _("会议和督导记录")
        ordering = ["-held_on", "-id"]
        indexes = [models.Index(fields=["round", "kind"])]

    def __str__(self):
        return self.title


# Which kinds of activity are meetings (chair, decisions) and which are visits (who, where, findings).
MEETING_KINDS = (
    WorkActivity.Kind.STANDING_COMMITTEE,
    WorkActivity.Kind.LEADING_GROUP,
    WorkActivity.Kind.DISPATCH_MEETING,
    WorkActivity.Kind.PROGRESS_MEETING,
    WorkActivity.Kind.MEETING,
)
VISIT_KINDS = (WorkActivity.Kind.SUPERVISION, WorkActivity.Kind.INSPECTION)


class SecretaryEvent(FinalReportRecord):
    """书记领办: the secretary's on-site deployment, dispatch or supervision of one problem."""

    class Kind(models.TextChoices):
        DEPLOY = "deploy", _("现场部署")
        DISPATCH = "dispatch", _("现场调度")
        SUPERVISE = "supervise", _("现场督办")

    problem = models.ForeignKey(
        Problem, verbose_name=_("领办问题"), on_delete=models.PROTECT, related_name="secretary_events"
    )
    kind = models.CharField(_("类别"), max_length=20, choices=Kind.choices)
    held_on = models.DateField(_("日期"))
    place = models.CharField(_("地点"), max_length=200, blank=True)
    notes = models.TextField(_("情况记录"))
    created_at = models.DateTimeField(_("录入时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("书记领办活动")
        verbose_name_plural = _("书记领办活动")
        ordering = ["-held_on", "-id"]

    def __str__(self):
        return f"{self.get_kind_display()} {self.held_on:%Y-%m-%d}"


class RecordFile(models.Model):
    """A photo or document behind a record that hangs off no measure (a 书记领办 event's photos, a
    penalty's evidence): checked, stored and served exactly like the measures' evidence."""

    secretary_event = models.ForeignKey(
        SecretaryEvent, null=True, blank=True, on_delete=models.PROTECT, related_name="files"
    )
    penalty = models.ForeignKey("Penalty", null=True, blank=True, on_delete=models.PROTECT, related_name="files")
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
        verbose_name = _("记录附件")
        verbose_name_plural = _("记录附件")
        ordering = ["uploaded_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(size__gt=0), name="record_file_not_empty"),
            models.CheckConstraint(
                condition=Q(secretary_event__isnull=False, penalty__isnull=True)
                | Q(secretary_event__isnull=True, penalty__isnull=False),
                name="record_file_one_owner",
            ),
        ]

    def __str__(self):
        return self.original_name
