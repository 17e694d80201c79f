"""Close-out (销号): the application, its criteria checks and the append-only sign-off chain."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from .ledger import AcceptanceCriterion, Measure, Problem
from .work import Evidence


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
        target = self.measure.code if self.measure is not None else self.problem.code
        return f"{target} {self.get_kind_display()}申请（第{self.cycle}次）"

    def get_absolute_url(self):
        return reverse("rectification:closeout_detail", args=[self.pk])

    @property
    def target(self):
        return self.measure if self.measure_id else self.problem


class CriterionCheck(models.Model):
    """One acceptance criterion ticked in an application, with the evidence that proves it."""

    request = models.ForeignKey(CloseOutRequest, on_delete=models.CASCADE, related_name="checks")
    criterion = models.ForeignKey(
        AcceptanceCriterion, verbose_name=_("验收标准"), on_delete=models.PROTECT, related_name="+"
    )
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
        settings.AUTH_USER_MODEL,
        verbose_name=_("办理人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    comment = models.TextField(_("意见"), blank=True)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("销号签批记录")
        verbose_name_plural = _("销号签批记录")
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.get_step_display()} {self.get_decision_display()}"
