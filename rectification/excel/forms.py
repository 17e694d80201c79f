from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .reading import MAX_UPLOAD_BYTES, ImportRefused, xlsx_check


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
