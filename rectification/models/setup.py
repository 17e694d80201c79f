"""Setting up a round: its leading group and office, and changes to claimed measures."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .ledger import InspectionRound, Measure


class RoundMember(models.Model):
    """A member of the round's leading group (整改落实工作领导小组) or of its office (整改办)."""

    class Role(models.TextChoices):
        GROUP_LEADER = "group_leader", _("领导小组组长")
        GROUP_DEPUTY = "group_deputy", _("领导小组副组长")
        GROUP_MEMBER = "group_member", _("领导小组成员")
        OFFICE_DIRECTOR = "office_director", _("整改办主任")
        OFFICE_MEMBER = "office_member", _("整改办成员")

    round = models.ForeignKey(InspectionRound, verbose_name=_("轮次"), on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("人员"), on_delete=models.PROTECT, related_name="+"
    )
    role = models.CharField(_("职责"), max_length=20, choices=Role.choices)

    class Meta:
        verbose_name = _("领导小组和整改办成员")
        verbose_name_plural = _("领导小组和整改办成员")
        ordering = ["round", "role", "id"]
        constraints = [models.UniqueConstraint(fields=["round", "user", "role"], name="round_member_unique")]

    def __str__(self):
        return f"{self.user} {self.get_role_display()}"


class MeasureChangeRequest(models.Model):
    """A lead unit's change to a measure its owner already claimed; the office approves or rejects."""

    class State(models.TextChoices):
        PENDING = "pending", _("待审批")
        APPROVED = "approved", _("已批准")
        REJECTED = "rejected", _("已驳回")

    measure = models.ForeignKey(
        Measure, verbose_name=_("措施"), on_delete=models.PROTECT, related_name="change_requests"
    )
    changes = models.JSONField(_("申请变更"))
    reason = models.CharField(_("变更理由"), max_length=300)
    state = models.CharField(_("状态"), max_length=10, choices=State.choices, default=State.PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("申请人"), on_delete=models.PROTECT, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("审批人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("申请时间"), auto_now_add=True)
    decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("措施变更申请")
        verbose_name_plural = _("措施变更申请")
        ordering = ["state", "-created_at"]

    def __str__(self):
        return f"{self.measure.code} 变更申请"
