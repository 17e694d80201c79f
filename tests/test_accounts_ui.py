"""What the pages of both apps do alike (accounts/ui.py)."""

from django.core.exceptions import PermissionDenied, ValidationError

from accounts.ui import error_text


class TestErrorText:
    def test_it_joins_every_reason_of_a_refusal(self):
        assert error_text(ValidationError(["措施1.1：编号重复。", "措施1.2：缺少完成时限。"])) == (
            "措施1.1：编号重复。 措施1.2：缺少完成时限。"
        )

    def test_it_joins_the_reasons_given_by_field(self):
        refused = ValidationError({"due_date": ["完成时限不能晚于问题的时限。"], "text": ["请填写措施内容。"]})
        assert error_text(refused) == "完成时限不能晚于问题的时限。 请填写措施内容。"

    def test_it_gives_the_text_of_any_other_refusal(self):
        assert error_text(PermissionDenied("只有整改办可以导入台账。")) == "只有整改办可以导入台账。"
