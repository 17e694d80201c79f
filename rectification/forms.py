from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Evidence, ProgressReport, ProgressState
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
