from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import NameAlias, Unit

from .evidence import accept_attribute
from .excel.imports import column_targets
from .excel.reading import MAX_UPLOAD_BYTES, ImportRefused, xlsx_check
from .models import (
    CHANNEL_FIELDS,
    MEETING_KINDS,
    VISIT_KINDS,
    AccountabilityRecord,
    CloseOutRequest,
    DeadlineCategory,
    DocumentProfile,
    Evidence,
    GroupRobot,
    InspectionRound,
    Measure,
    Penalty,
    PetitionClue,
    Problem,
    ProgressReport,
    ProgressState,
    Recovery,
    RoundMember,
    RuleRecord,
    SecretaryEvent,
    Track,
    WorkActivity,
    doc_number_check,
)
from .services import REPORT_FIELDS

# Evidence inputs: the types the upload check allows, so a phone offers its camera and its files.
_EVIDENCE = {"accept": accept_attribute()}

_AREA = {"rows": 2}
# type="date" inputs need the ISO format whatever the language.
_DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


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
    evidence_file = forms.FileField(
        label=_("佐证材料"), required=False, allow_empty_file=True, widget=forms.ClearableFileInput(attrs=_EVIDENCE)
    )
    evidence_kind = forms.ChoiceField(label=_("材料类别"), choices=Evidence.Kind.choices, initial=Evidence.Kind.OTHER)

    @staticmethod
    def initial_for(report, measure=None):
        """What a row starts from: ``report``, or, for a new report, the measure's current standing."""
        if report is None:
            if measure is None:
                return {}
            started = measure.progress_state != ProgressState.NOT_STARTED
            return {
                "percent": measure.percent,
                "cumulative_state": measure.progress_state if started else ProgressState.IN_PROGRESS,
            }
        initial = {field: getattr(report, field) for field in REPORT_FIELDS}
        initial["lock_version"] = report.lock_version
        return initial

    @classmethod
    def for_report(cls, report, prefix, measure=None):
        """An unbound row showing ``report``, or, for a new report, the measure's current standing."""
        return cls(prefix=prefix, initial=cls.initial_for(report, measure))

    @classmethod
    def values_for(cls, report, measure=None):
        """What the inputs of an unposted row show, as ``input_values`` gives them, without a form.

        The report page writes its inputs in plain HTML: a busy unit has hundreds of rows, and
        building and rendering a form per row took most of the page's time.
        """
        values = {name: field.initial for name, field in cls.base_fields.items()}
        values.update(cls.initial_for(report, measure))
        return {name: _input_text(value) for name, value in values.items()}

    def input_values(self):
        """What each input of this row shows: the posted text if bound, else the initial value.

        Text as Django's widgets format it; None where an input shows nothing.
        """
        return {name: _input_text(self[name].value()) for name in self.fields}


def _input_text(value):
    return None if value is None or value == "" else str(value)


class ReturnForm(forms.Form):
    reason = forms.CharField(label=_("退回原因"), max_length=300, widget=forms.Textarea(attrs={"rows": 2}))


class CorrectionForm(ReportRowForm):
    correction_reason = forms.CharField(label=_("更正原因"), max_length=300)


class EvidenceForm(forms.Form):
    file = forms.FileField(label=_("文件"), allow_empty_file=True, widget=forms.ClearableFileInput(attrs=_EVIDENCE))
    kind = forms.ChoiceField(label=_("材料类别"), choices=Evidence.Kind.choices)


class MilestoneDoneForm(forms.Form):
    done_on = forms.DateField(label=_("完成日期"), widget=_DATE)
    file = forms.FileField(
        label=_("佐证材料"), required=False, allow_empty_file=True, widget=forms.ClearableFileInput(attrs=_EVIDENCE)
    )
    kind = forms.ChoiceField(label=_("材料类别"), choices=Evidence.Kind.choices, initial=Evidence.Kind.OTHER)


_HOLIDAY_NAME = {"placeholder": _("如：春节")}


class HolidayRangeForm(forms.Form):
    start = forms.DateField(label=_("放假开始日期"), widget=_DATE)
    end = forms.DateField(label=_("放假结束日期"), widget=_DATE)
    name = forms.CharField(label=_("节日"), max_length=20, widget=forms.TextInput(attrs=_HOLIDAY_NAME))


class MakeUpDayForm(forms.Form):
    day = forms.DateField(label=_("调休上班日期"), widget=_DATE)
    name = forms.CharField(label=_("对应节日"), max_length=20, widget=forms.TextInput(attrs=_HOLIDAY_NAME))


class ResolveForm(forms.Form):
    resolution = forms.CharField(label=_("协调结果"), widget=forms.Textarea(attrs={"rows": 2}))


REPORT_STATE_EDITABLE = {None, ProgressReport.State.DRAFT, ProgressReport.State.RETURNED}


class CloseOutApplyForm(forms.Form):
    """An application: statement, pledge, and for each criterion the evidence that proves it."""

    statement = forms.CharField(
        label=_("完成情况说明"),
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": _("写明整改了什么、怎么整改的、达到了什么效果")}),
    )
    kind = forms.ChoiceField(
        label=_("申请类型"), choices=CloseOutRequest.Kind.choices, initial=CloseOutRequest.Kind.FULL
    )
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
            self.fields[f"note_{criterion.pk}"] = forms.CharField(
                label=_("说明"),
                required=False,
                max_length=300,
                widget=forms.TextInput(attrs={"placeholder": _("同一份材料用于多条标准时，说明它如何证明本条")}),
            )
        if not allow_staged:
            self.fields["kind"].choices = [(CloseOutRequest.Kind.FULL, CloseOutRequest.Kind.FULL.label)]

    def criterion_fields(self):
        """Each criterion's evidence choices and note, in order: ``(choices, note)`` pairs."""
        return [(self[f"criterion_{c.pk}"], self[f"note_{c.pk}"]) for c in self.criteria]

    def checks(self):
        return {c.pk: self.cleaned_data.get(f"criterion_{c.pk}", []) for c in self.criteria}

    def notes(self):
        return {c.pk: self.cleaned_data.get(f"note_{c.pk}", "") for c in self.criteria}


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
            "target",
            "person_name",
            "person_unit",
            "post",
            "kind",
            "case_filed",
            "is_accountability",
            "decision_document",
            "decided_on",
        ]
        widgets = {"decided_on": _DATE}


class RuleForm(forms.ModelForm):
    class Meta:
        model = RuleRecord
        fields = ["title", "doc_number", "issued_on", "change", "issuing_unit"]
        widgets = {"issued_on": _DATE}


class RecoveryForm(forms.ModelForm):
    class Meta:
        model = Recovery
        fields = ["kind", "amount_wan", "description", "recorded_on"]
        widgets = {"recorded_on": _DATE}


# --- setting up a round ----------------------------------------------------------------------------


def _units():
    from accounts.models import Unit

    return Unit.objects.filter(is_active=True).order_by("sort_order", "id")


def _leaders():
    from .access import leader_accounts

    return leader_accounts().order_by("username")


class _UnitChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.name


class _UnitChoices(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return obj.name


class _LeaderChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.full_name}（{obj.title}）" if obj.title else obj.full_name


class _LeaderChoices(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.full_name}（{obj.title}）" if obj.title else obj.full_name


_SEARCH = {"data-search": "1"}


def split_lines(text):
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class RoundForm(forms.Form):
    title = forms.CharField(label=_("轮次名称"), max_length=120)
    kind = forms.ChoiceField(label=_("类别"), choices=InspectionRound.Kind.choices)
    inspection_team = forms.CharField(label=_("巡视组"), max_length=120)
    period_start = forms.DateField(label=_("巡视开始日期"), required=False, widget=_DATE)
    period_end = forms.DateField(label=_("巡视结束日期"), required=False, widget=_DATE)
    feedback_date = forms.DateField(label=_("反馈日期"), widget=_DATE)
    report_deadline = forms.DateField(label=_("整改报告报送期限"), widget=_DATE)
    rectification_end = forms.DateField(label=_("集中整改结束日期"), required=False, widget=_DATE)
    previous_round = forms.ModelChoiceField(label=_("上一轮"), queryset=InspectionRound.objects.all(), required=False)
    general_office = _UnitChoice(label=_("综合：整改办所在单位"), queryset=None, widget=forms.Select(attrs=_SEARCH))
    inspection_office = _UnitChoice(
        label=_("巡察工作专项：牵头办公室"), queryset=None, required=False, widget=forms.Select(attrs=_SEARCH)
    )
    cadre_office = _UnitChoice(
        label=_("选人用人专项：牵头办公室"), queryset=None, required=False, widget=forms.Select(attrs=_SEARCH)
    )
    ideology_office = _UnitChoice(
        label=_("意识形态专项：牵头办公室"), queryset=None, required=False, widget=forms.Select(attrs=_SEARCH)
    )
    track_offices_review = forms.BooleanField(label=_("各专项办审核本专项的销号"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("general_office", "inspection_office", "cadre_office", "ideology_office"):
            self.fields[name].queryset = _units()

    def clean(self):
        data = super().clean()
        if (
            data.get("feedback_date")
            and data.get("report_deadline")
            and data["report_deadline"] < data["feedback_date"]
        ):
            self.add_error("report_deadline", _("整改报告报送期限不能早于反馈日期。"))
        return data

    def track_offices(self):
        data = self.cleaned_data
        offices = {Track.Kind.GENERAL: data["general_office"]}
        for kind, name in (
            (Track.Kind.INSPECTION, "inspection_office"),
            (Track.Kind.CADRE, "cadre_office"),
            (Track.Kind.IDEOLOGY, "ideology_office"),
        ):
            if data.get(name):
                offices[kind] = data[name]
        return offices


class AfterDeadlineForm(forms.Form):
    """What the office sets for the weeks after the report deadline (报送期限后的调度)."""

    after_deadline_cadence = forms.ChoiceField(label=_("报送期限后的调度频次"), choices=InspectionRound.Cadence.choices)
    look_back_date = forms.DateField(
        label=_("回头看日期"), required=False, widget=_DATE, help_text=_("设置后，期限已过的倒计时改为距回头看的天数。")
    )


class AspectForm(forms.Form):
    title = forms.CharField(label=_("新增问题方面"), max_length=200)


class ProblemForm(forms.Form):
    code = forms.CharField(label=_("问题编号"), max_length=30, help_text=_("如 1.3"))
    aspect = forms.ModelChoiceField(label=_("所属方面"), queryset=None)
    track = forms.ModelChoiceField(label=_("专项"), queryset=None)
    title = forms.CharField(label=_("问题概述"), max_length=200)
    text = forms.CharField(label=_("反馈原文"), widget=forms.Textarea(attrs={"rows": 3}))
    manifestations = forms.CharField(
        label=_("具体表现（每行一条）"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    problem_type = forms.ChoiceField(label=_("问题类型"), choices=Problem.ProblemType.choices)
    deadline_category = forms.ChoiceField(label=_("整改时限类别"), choices=DeadlineCategory.choices)
    due_date = forms.DateField(label=_("整改时限"), required=False, widget=_DATE)
    goal = forms.CharField(label=_("整改目标"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    criteria = forms.CharField(label=_("验收标准（每行一条）"), widget=forms.Textarea(attrs={"rows": 3}))
    lead_official = _LeaderChoice(label=_("牵头领导"), queryset=None, widget=forms.Select(attrs=_SEARCH))
    responsible_leaders = _LeaderChoices(
        label=_("责任领导"), queryset=None, required=False, widget=forms.SelectMultiple(attrs={**_SEARCH, "size": 6})
    )
    lead_unit = _UnitChoice(label=_("牵头单位"), queryset=None, widget=forms.Select(attrs=_SEARCH))
    responsible_units = _UnitChoices(
        label=_("责任单位"), queryset=None, required=False, widget=forms.SelectMultiple(attrs={**_SEARCH, "size": 8})
    )
    is_secretary_led = forms.BooleanField(label=_("书记领办"), required=False)

    def __init__(self, *args, inspection_round, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["aspect"].queryset = inspection_round.aspects.all()
        self.fields["track"].queryset = inspection_round.tracks.all()
        self.fields["lead_official"].queryset = _leaders()
        self.fields["responsible_leaders"].queryset = _leaders()
        self.fields["lead_unit"].queryset = _units()
        self.fields["responsible_units"].queryset = _units()

    def clean(self):
        data = super().clean()
        if data.get("deadline_category") == DeadlineCategory.BY_DATE and not data.get("due_date"):
            self.add_error("due_date", _("限期整改的问题必须填写整改时限。"))
        return data

    def service_kwargs(self):
        data = dict(self.cleaned_data)
        data["manifestations"] = split_lines(data["manifestations"])
        data["criteria"] = split_lines(data["criteria"])
        return data


class MeasureForm(forms.Form):
    text = forms.CharField(label=_("整改措施"), widget=forms.Textarea(attrs={"rows": 2}))
    kind = forms.ChoiceField(label=_("措施类别"), choices=Measure.Kind.choices)
    owner_unit = _UnitChoice(label=_("责任单位"), queryset=None, widget=forms.Select(attrs=_SEARCH))
    handler_name = forms.CharField(label=_("经办人"), max_length=50, required=False)
    handler_phone = forms.CharField(label=_("经办人电话"), max_length=30, required=False)
    start_date = forms.DateField(label=_("开始日期"), widget=_DATE)
    due_date = forms.DateField(label=_("完成时限"), widget=_DATE)
    expected_deliverable = forms.CharField(label=_("预期成果"), max_length=200, required=False)
    criteria = forms.CharField(
        label=_("验收标准（每行一条，可不填，默认沿用问题的验收标准）"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    generate_milestones = forms.BooleanField(label=_("按完成时限倒排时间节点"), required=False, initial=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner_unit"].queryset = _units()

    def clean(self):
        data = super().clean()
        if data.get("start_date") and data.get("due_date") and data["due_date"] < data["start_date"]:
            self.add_error("due_date", _("完成时限不能早于开始日期。"))
        return data


class ClaimForm(forms.Form):
    handler_name = forms.CharField(label=_("经办人"), max_length=50)
    handler_phone = forms.CharField(label=_("联系电话"), max_length=30)


class ObjectionForm(forms.Form):
    reason = forms.CharField(label=_("异议理由"), max_length=300, widget=forms.Textarea(attrs={"rows": 2}))


class ChangeRequestForm(forms.Form):
    text = forms.CharField(label=_("整改措施"), widget=forms.Textarea(attrs={"rows": 2}))
    due_date = forms.DateField(label=_("完成时限"), widget=_DATE)
    expected_deliverable = forms.CharField(label=_("预期成果"), max_length=200, required=False)
    reason = forms.CharField(label=_("变更理由"), max_length=300)


class MilestoneEditForm(forms.Form):
    title = forms.CharField(label=_("节点"), max_length=120)
    due_date = forms.DateField(label=_("计划完成日期"), widget=_DATE)


class MemberForm(forms.Form):
    user = forms.ModelChoiceField(label=_("人员"), queryset=None, widget=forms.Select(attrs=_SEARCH))
    role = forms.ChoiceField(label=_("职责"), choices=RoundMember.Role.choices)

    def __init__(self, *args, **kwargs):
        from accounts.models import User

        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = User.objects.filter(is_active=True).order_by("username")
        self.fields["user"].label_from_instance = lambda u: f"{u.full_name}（{u.title or u.username}）"


class ReassignForm(forms.Form):
    owner_unit = _UnitChoice(label=_("改派给"), queryset=None, widget=forms.Select(attrs=_SEARCH))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner_unit"].queryset = _units()


class ImportUploadForm(forms.Form):
    inspection_round = forms.ModelChoiceField(label=_("导入到轮次"), queryset=None, empty_label=None)
    file = forms.FileField(
        label=_("台账文件"),
        help_text=_("Excel 工作簿（.xlsx），不超过 %(mb)s MB") % {"mb": MAX_UPLOAD_BYTES // (1024 * 1024)},
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx"}),
    )

    def __init__(self, *args, rounds, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["inspection_round"].queryset = rounds

    def clean_file(self):
        uploaded = self.cleaned_data["file"]
        try:
            xlsx_check(uploaded, size=uploaded.size)
        except ImportRefused as refused:
            raise ValidationError(str(refused)) from None
        return uploaded


class ImportConfirmForm(forms.Form):
    token = forms.CharField(widget=forms.HiddenInput, max_length=4000)


class ImportRemapForm(forms.Form):
    """From the preview: read an unrecognised column as a field, and plan the same file again."""

    token = forms.CharField(widget=forms.HiddenInput, max_length=4000)
    header = forms.CharField(widget=forms.HiddenInput, max_length=100)
    target = forms.ChoiceField(label=_("对应为"), choices=())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"].choices = column_targets()


class ImportAliasForm(forms.Form):
    """From the preview: a written name is this unit or leader (stored as an alias)."""

    token = forms.CharField(widget=forms.HiddenInput, max_length=4000)
    kind = forms.ChoiceField(choices=NameAlias.Kind.choices, widget=forms.HiddenInput)
    written = forms.CharField(widget=forms.HiddenInput, max_length=100)
    target = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class PendingBindForm(forms.Form):
    """The system administrator binds a pending unit or leader to an existing one."""

    target = forms.ModelChoiceField(label=_("绑定到"), queryset=Unit.objects.none(), empty_label=_("请选择"))

    def __init__(self, *args, targets, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"].queryset = targets


# --- records behind the figures, penalties --------------------------------------------------------


class _MultipleFiles(forms.ClearableFileInput):
    allow_multiple_selected = True

    def __init__(self, attrs=None):
        super().__init__({**_EVIDENCE, **(attrs or {})})


class MultipleFileField(forms.FileField):
    """Several files in one input; each is checked by the service like the measures' evidence."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", _MultipleFiles())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else [data] if data else []
        return [super(MultipleFileField, self).clean(item, initial) for item in files]


class _ProblemChoices(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.code} {obj.title}"


class _ProblemChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.code} {obj.title}"


class PetitionClueForm(forms.ModelForm):
    problem = _ProblemChoice(label=_("相关问题"), queryset=Problem.objects.none(), required=False)
    # Left empty: none transferred, and none handled unless the batch is closed (then all of it).
    handled = forms.IntegerField(
        label=_("已办结件数"), min_value=0, required=False, help_text=_("不填时，已填办结日期的按全部办结计")
    )
    transferred = forms.IntegerField(label=_("移交纪检监察机关件数"), min_value=0, required=False)
    field_order = [
        "kind",
        "code",
        "source",
        "quantity",
        "handled",
        "transferred",
        "summary",
        "handling_unit",
        "problem",
        "received_on",
        "closed_on",
        "case_filed",
    ]

    class Meta:
        model = PetitionClue
        fields = [
            "kind",
            "code",
            "source",
            "quantity",
            "summary",
            "handling_unit",
            "problem",
            "received_on",
            "closed_on",
            "case_filed",
        ]
        widgets = {"received_on": _DATE, "closed_on": _DATE}
        help_texts = {"source": _("如：省委巡视组移交、群众来信、12345热线")}

    def __init__(self, *args, inspection_round=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["handling_unit"] = _UnitChoice(label=_("承办单位"), queryset=_units())
        self.order_fields(self.field_order)
        if inspection_round is not None:
            self.fields["problem"].queryset = Problem.objects.filter(round=inspection_round).order_by("seq", "id")


class _ActivityForm(forms.ModelForm):
    problems = _ProblemChoices(label=_("相关问题"), queryset=Problem.objects.none(), required=False)
    KINDS: tuple = ()

    def __init__(self, *args, inspection_round=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(kind.value, kind.label) for kind in self.KINDS]
        if inspection_round is not None:
            self.fields["problems"].queryset = Problem.objects.filter(round=inspection_round).order_by("seq", "id")


class MeetingForm(_ActivityForm):
    KINDS = MEETING_KINDS

    class Meta:
        model = WorkActivity
        fields = ["kind", "title", "held_on", "chair", "decisions", "problems"]
        widgets = {"held_on": _DATE, "decisions": forms.Textarea(attrs={"rows": 3})}
        labels = {"title": _("会议名称")}


class VisitForm(_ActivityForm):
    KINDS = VISIT_KINDS

    class Meta:
        model = WorkActivity
        fields = ["kind", "title", "held_on", "participants", "place", "findings", "problems"]
        widgets = {"held_on": _DATE, "findings": forms.Textarea(attrs={"rows": 3})}
        labels = {"title": _("督导督查事项"), "participants": _("督导督查人员")}


class SecretaryEventForm(forms.ModelForm):
    files = MultipleFileField(label=_("现场照片或材料"), required=False, allow_empty_file=True)

    class Meta:
        model = SecretaryEvent
        fields = ["kind", "held_on", "place", "notes"]
        widgets = {"held_on": _DATE, "notes": forms.Textarea(attrs={"rows": 3})}


class PenaltyForm(forms.ModelForm):
    files = MultipleFileField(label=_("依据材料"), required=False, allow_empty_file=True)

    class Meta:
        model = Penalty
        fields = ["target", "unit", "cadre_name", "cadre_post", "kind", "points", "assessment_year", "reason"]
        widgets = {"reason": forms.Textarea(attrs={"rows": 3})}
        help_texts = {"cadre_name": _("对领导干部处理时填写"), "points": _("仅年末实绩考评扣分填写")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"] = _UnitChoice(label=_("单位"), queryset=_units())
        self.fields["assessment_year"].required = True
        self.fields["points"].required = False


def _http_url(value):
    if value and not value.startswith(("https://", "http://")):
        raise ValidationError(_("地址须以 https:// 或 http:// 开头。"))


class ChannelSetupForm(forms.Form):
    """One channel's setup: on or off and its fields (``CHANNEL_FIELDS``). A secret field is never
    filled in on the page: left empty, the stored secret stays."""

    enabled = forms.BooleanField(label=_("启用"), required=False)

    def __init__(self, *args, kind, secrets_set=(), allowed=True, **kwargs):
        super().__init__(*args, prefix=kind, **kwargs)
        self.kind = kind
        if not allowed:
            # Shown unticked and greyed: the deployment decides first, the page cannot turn it on.
            self.fields["enabled"].disabled = True
            self.fields["enabled"].initial = False
            self.fields["enabled"].help_text = _("部署设置 NOTIFY_CHANNELS 未允许此渠道，无法启用。")
        for name, label, setting, secret in CHANNEL_FIELDS[kind]:
            if secret:
                field = forms.CharField(
                    label=label,
                    required=False,
                    max_length=500,
                    strip=True,
                    widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
                    help_text=_("已设置；填写新值即替换，留空则不变。")
                    if name in secrets_set
                    else _("未设置（使用部署设置 %(setting)s）。") % {"setting": setting},
                )
            else:
                field = forms.CharField(
                    label=label,
                    required=False,
                    max_length=300,
                    help_text=_("留空则使用部署设置 %(setting)s。") % {"setting": setting},
                )
            self.fields[name] = field
        self.secret_names = [name for name, _label, _setting, secret in CHANNEL_FIELDS[kind] if secret]

    def clean(self):
        data = super().clean()
        for name in ("url", "api_base"):
            if name in self.fields:
                try:
                    _http_url(data.get(name, ""))
                except ValidationError as error:
                    self.add_error(name, error)
        agent = data.get("agent_id", "")
        if agent and not (str(agent).isascii() and str(agent).isdecimal()):
            self.add_error("agent_id", _("AgentId 须为数字。"))
        return data

    def params(self):
        return {
            name: (int(value) if name == "agent_id" and value else value)
            for name, value in self.cleaned_data.items()
            if name != "enabled" and name not in self.secret_names
        }

    def secrets(self):
        return {name: self.cleaned_data.get(name, "") for name in self.secret_names}


class ChannelTestForm(forms.Form):
    address = forms.CharField(label=_("接收地址"), max_length=200, help_text=_("手机号码、平台账号或电子邮箱"))


class GroupRobotForm(forms.Form):
    name = forms.CharField(label=_("群名称"), max_length=60)
    platform = forms.ChoiceField(label=_("平台"), choices=GroupRobot.Platform.choices)
    unit = _UnitChoice(
        label=_("所属单位"),
        queryset=None,
        required=False,
        empty_label=_("（整改办工作群）"),
    )
    enabled = forms.BooleanField(label=_("启用"), required=False, initial=True)
    webhook = forms.CharField(
        label=_("Webhook 地址"),
        required=False,
        max_length=500,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        validators=[_http_url],
    )
    secret = forms.CharField(
        label=_("加签密钥（钉钉，SEC开头）"),
        required=False,
        max_length=200,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, robot=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.robot = robot
        self.fields["unit"].queryset = _units()
        self.fields["webhook"].help_text = (
            _("已设置；填写新地址即替换，留空则不变。") if robot else _("从群机器人的设置页面复制完整地址。")
        )
        self.fields["secret"].help_text = (
            _("已设置；填写新值即替换，留空则不变。") if robot and robot.secret_sealed else _("未启用加签时留空。")
        )

    def clean(self):
        data = super().clean()
        if self.robot is None and not data.get("webhook"):
            self.add_error("webhook", _("请填写群机器人的 Webhook 地址。"))
        if data.get("secret") and data.get("platform") != GroupRobot.Platform.DINGTALK:
            self.add_error("secret", _("只有钉钉群机器人使用加签密钥。"))
        return data


# --- the office maintaining its ledger ------------------------------------------------------------


class ProblemEditForm(ProblemForm):
    """Everything the office changes on a problem after it is created; its code stays (it is how
    the province, the exports and the audit log name it)."""

    campaign = forms.ModelChoiceField(label=_("专项整治"), queryset=None, required=False)

    def __init__(self, *args, inspection_round, **kwargs):
        super().__init__(*args, inspection_round=inspection_round, **kwargs)
        del self.fields["code"]
        self.fields["campaign"].queryset = inspection_round.campaigns.order_by("name")
        self.fields["campaign"].help_text = _("只有共性问题才能纳入专项整治。")
        self.fields["criteria"].required = False

    @classmethod
    def initial_for(cls, problem):
        return {
            "aspect": problem.aspect_id,
            "track": problem.track_id,
            "title": problem.title,
            "text": problem.text,
            "manifestations": "\n".join(m.text for m in problem.manifestations.order_by("seq")),
            "problem_type": problem.problem_type,
            "deadline_category": problem.deadline_category,
            "due_date": problem.due_date,
            "goal": problem.goal,
            "criteria": "\n".join(c.text for c in problem.criteria.filter(measure__isnull=True).order_by("seq", "id")),
            "lead_official": problem.lead_official_id,
            "responsible_leaders": [u.pk for u in problem.responsible_leaders.all()],
            "lead_unit": problem.lead_unit_id,
            "responsible_units": [u.pk for u in problem.responsible_units.all()],
            "is_secretary_led": problem.is_secretary_led,
            "campaign": problem.campaign_id,
        }

    def clean(self):
        data = super().clean()
        if data.get("campaign") and data.get("problem_type") != Problem.ProblemType.COMMON:
            self.add_error("campaign", _("只有共性问题才能纳入专项整治。"))
        return data

    def service_kwargs(self):
        data = super().service_kwargs()
        data["responsible_leaders"] = list(data["responsible_leaders"])
        data["responsible_units"] = list(data["responsible_units"])
        return data


class CampaignForm(forms.Form):
    name = forms.CharField(label=_("专项整治名称"), max_length=120)
    lead_unit = _UnitChoice(label=_("牵头单位"), queryset=None, widget=forms.Select(attrs=_SEARCH))
    deadline = forms.DateField(label=_("完成时限"), required=False, widget=_DATE)
    description = forms.CharField(label=_("说明"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lead_unit"].queryset = _units()


class LeaderHandoverForm(forms.Form):
    """领导调整: whose items go to whom, in which round."""

    inspection_round = forms.ModelChoiceField(label=_("巡视轮次"), queryset=None, empty_label=None)
    old_leader = _LeaderChoice(label=_("原领导（移交人）"), queryset=None, widget=forms.Select(attrs=_SEARCH))
    new_leader = _LeaderChoice(label=_("新领导（接任人）"), queryset=None, widget=forms.Select(attrs=_SEARCH))

    def __init__(self, *args, **kwargs):
        from accounts.models import User

        super().__init__(*args, **kwargs)
        self.fields["inspection_round"].queryset = InspectionRound.objects.order_by("-feedback_date", "-id")
        # A leader who has left may have lost the role or been deactivated: anyone who still holds items.
        self.fields["old_leader"].queryset = User.objects.filter(
            models.Q(pk__in=Problem.objects.values("lead_official_id"))
            | models.Q(pk__in=Problem.responsible_leaders.through.objects.values("user_id"))
        ).order_by("username")
        self.fields["new_leader"].queryset = _leaders().filter(is_active=True)

    def clean(self):
        data = super().clean()
        if data.get("old_leader") and data.get("old_leader") == data.get("new_leader"):
            self.add_error("new_leader", _("原领导和新领导不能是同一人。"))
        return data


# --- documents ------------------------------------------------------------------------------------


class DocumentProfileForm(forms.ModelForm):
    """公文格式: what the office may adjust to its province's rules."""

    class Meta:
        model = DocumentProfile
        fields = [
            "name",
            "issuer",
            "doc_number_prefix",
            "page_width_mm",
            "page_height_mm",
            "margin_top_mm",
            "margin_binding_mm",
            "text_width_mm",
            "text_height_mm",
            "lines_per_page",
            "chars_per_line",
            "title_font",
            "title_fallbacks",
            "title_size_pt",
            "body_font",
            "body_fallbacks",
            "body_size_pt",
            "heading1_font",
            "heading2_font",
            "heading3_font",
            "heading4_font",
            "heading_fallbacks",
            "page_number_size_pt",
        ]


class FinalReportForm(forms.Form):
    doc_number = forms.CharField(
        label=_("发文字号"), max_length=40, validators=[doc_number_check], help_text=_("例如：区整改办〔2026〕5号")
    )
    day = forms.DateField(label=_("成文日期"), widget=_DATE)


class BriefingUploadForm(forms.Form):
    file = forms.FileField(label=_("简报定稿（Word 文档 .docx）"))


class FinalReportUploadForm(forms.Form):
    file = forms.FileField(label=_("整改情况报告定稿（Word 文档 .docx）"))


class ReleaseConfirmForm(forms.Form):
    """Releasing to the provincial team cannot be undone: the office says so in a box it ticks."""

    confirmed = forms.BooleanField(
        label=_("我已核对定稿，确认报送省巡视组（报送后不能撤回）"),
        error_messages={"required": _("请勾选“确认报送”后再报送：报送后省巡视组即可下载，不能撤回。")},
    )
