from django import forms
from django.utils.translation import gettext_lazy as _

from .models import AccountabilityRecord, CloseOutRequest, Evidence, ProgressReport, ProgressState, Recovery, RuleRecord
from .services import REPORT_FIELDS

_AREA = {"rows": 2}


class ReportRowForm(forms.Form):
    """One measure's row of the weekly report. Required content is checked on submit, not on draft."""

    progress_this_week = forms.CharField(label=_("本周进展"), required=False, widget=forms.Textarea(attrs=_AREA))
    cumulative_state = forms.ChoiceField(
        label=_("累计进展状态"), choices=ProgressState.choices, initial=ProgressState.IN_PROGRESS
    )
    percent = forms.IntegerField(label=_("完成百分比"), min_value=0, max_value=100, initial=0)
    next_week_plan = forms.CharField(label=_("下周计划"), required=False, widget=forms.Textarea(attrs=_AREA))
    difficulties = forms.CharField(
        label=_("需协调解决的困难"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": _("没有可不填；填写后将提交牵头领导调度会协调")}),
    )
    lock_version = forms.IntegerField(required=False, widget=forms.HiddenInput)
    evidence_file = forms.FileField(label=_("佐证材料"), required=False, allow_empty_file=True)
    evidence_kind = forms.ChoiceField(label=_("材料类别"), choices=Evidence.Kind.choices, initial=Evidence.Kind.OTHER)

    @classmethod
    def for_report(cls, report, prefix, measure=None):
        """An unbound row showing ``report``, or, for a new report, the measure's current standing."""
        if report is None:
            initial = {}
            if measure is not None:
                started = measure.progress_state != ProgressState.NOT_STARTED
                initial = {
                    "percent": measure.percent,
                    "cumulative_state": measure.progress_state if started else ProgressState.IN_PROGRESS,
                }
            return cls(prefix=prefix, initial=initial)
        initial = {field: getattr(report, field) for field in REPORT_FIELDS}
        initial["lock_version"] = report.lock_version
        return cls(prefix=prefix, initial=initial)


class ReturnForm(forms.Form):
    reason = forms.CharField(label=_("退回原因"), max_length=300, widget=forms.Textarea(attrs={"rows": 2}))


class CorrectionForm(ReportRowForm):
    correction_reason = forms.CharField(label=_("更正原因"), max_length=300)


class EvidenceForm(forms.Form):
    file = forms.FileField(label=_("文件"), allow_empty_file=True)
    kind = forms.ChoiceField(label=_("材料类别"), choices=Evidence.Kind.choices)


class MilestoneDoneForm(forms.Form):
    done_on = forms.DateField(label=_("完成日期"), widget=forms.DateInput(attrs={"type": "date"}))
    file = forms.FileField(label=_("佐证材料"), required=False, allow_empty_file=True)
    kind = forms.ChoiceField(label=_("材料类别"), choices=Evidence.Kind.choices, initial=Evidence.Kind.OTHER)


class ResolveForm(forms.Form):
    resolution = forms.CharField(label=_("协调结果"), widget=forms.Textarea(attrs={"rows": 2}))


REPORT_STATE_EDITABLE = {None, ProgressReport.State.DRAFT, ProgressReport.State.RETURNED}


class CloseOutApplyForm(forms.Form):
    """An application: statement, pledge, and for each criterion the evidence that proves it."""

    statement = forms.CharField(
        label=_("完成情况说明"), widget=forms.Textarea(attrs={"rows": 4, "placeholder": _("写明整改了什么、怎么整改的、达到了什么效果")})
    )
    kind = forms.ChoiceField(label=_("申请类型"), choices=CloseOutRequest.Kind.choices, initial=CloseOutRequest.Kind.FULL)
    pledged = forms.BooleanField(
        label=_("本人作为单位负责人承诺：以上情况和佐证材料真实、准确、完整，如有不实愿承担相应责任。"), required=False
    )

    def __init__(self, *args, criteria, evidence, allow_staged, **kwargs):
        super().__init__(*args, **kwargs)
        self.criteria = criteria
        choices = [(e.pk, f"{e.original_name}（{e.get_kind_display()}）") for e in evidence]
        for criterion in criteria:
            self.fields[f"criterion_{criterion.pk}"] = forms.TypedMultipleChoiceField(
                label=criterion.text, choices=choices, coerce=int, required=False, widget=forms.CheckboxSelectMultiple
            )
        if not allow_staged:
            self.fields["kind"].choices = [(CloseOutRequest.Kind.FULL, CloseOutRequest.Kind.FULL.label)]

    def criterion_fields(self):
        return [self[f"criterion_{c.pk}"] for c in self.criteria]

    def checks(self):
        return {c.pk: self.cleaned_data.get(f"criterion_{c.pk}", []) for c in self.criteria}


class CloseOutDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", _("通过")), ("return", _("退回"))], widget=forms.HiddenInput)
    comment = forms.CharField(label=_("审核意见"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    no_accountability_reason = forms.CharField(
        label=_("无需追责问责的理由（无问责记录时必填）"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    no_rules_reason = forms.CharField(
        label=_("无需建章立制的理由（无制度记录时必填）"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    password = forms.CharField(label=_("请再次输入您的登录密码以签批"), required=False, widget=forms.PasswordInput)


class ReopenForm(forms.Form):
    reason = forms.CharField(label=_("重启理由"), widget=forms.Textarea(attrs={"rows": 2}))


class AccountabilityForm(forms.ModelForm):
    class Meta:
        model = AccountabilityRecord
        fields = [
            "target", "person_name", "person_unit", "post", "kind", "case_filed", "is_accountability",
            "decision_document", "decided_on",
        ]
        widgets = {"decided_on": forms.DateInput(attrs={"type": "date"})}


class RuleForm(forms.ModelForm):
    class Meta:
        model = RuleRecord
        fields = ["title", "doc_number", "issued_on", "change", "issuing_unit"]
        widgets = {"issued_on": forms.DateInput(attrs={"type": "date"})}


class RecoveryForm(forms.ModelForm):
    class Meta:
        model = Recovery
        fields = ["kind", "amount_wan", "description", "recorded_on"]
        widgets = {"recorded_on": forms.DateInput(attrs={"type": "date"})}
