"""Dates as people write them in a ledger, understood or clearly refused.

Accepted: real Excel date cells; 2026-10-31, 2026/10/31, 2026.10.31, 20261031, 2026年10月31日
(full-width digits too, and a trailing 前 or 之前); 10月31日 and 10月底 / 10月末 without a year,
which mean that day of the round's year (the year of its report deadline); and the words
长期坚持 and 立行立改, which are deadline categories rather than dates. Anything else, including
a bare number (an Excel serial number typed into a text cell), is refused with a message that
says what to write instead.
"""

import calendar
import datetime
import re
import unicodedata

from django.utils.translation import gettext as _

from rectification.models import DeadlineCategory

# Words that stand in a date column for a deadline category instead of a date.
CATEGORY_WORDS = {
    "长期坚持": DeadlineCategory.LONG_TERM,
    "长期": DeadlineCategory.LONG_TERM,
    "立行立改": DeadlineCategory.IMMEDIATE,
}

_FULL = re.compile(r"^(\d{4})([-/.])(\d{1,2})\2(\d{1,2})$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_CHINESE = re.compile(r"^(?:(\d{4})年)?(\d{1,2})月(\d{1,2})[日号]$")
_CHINESE_YEAR_NO_DAY_MARK = re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})$")
_MONTH_END = re.compile(r"^(?:(\d{4})年)?(\d{1,2})月(?:底|末|份底)$")
_BEFORE = re.compile(r"(?:之前|以前|前)$")


def _hint():
    return _("请写成2026-10-31、2026/10/31、2026.10.31、2026年10月31日、10月底或“长期坚持”")


class DateRefused(ValueError):
    """The text is not a date we understand; ``str()`` is the Chinese reason."""


def _normalised(text):
    # NFKC turns full-width digits and punctuation (２０２６／１０／３１) into their ASCII forms.
    text = unicodedata.normalize("NFKC", text)
    return re.sub(r"\s+", "", text)


def _day(year, month, day, original):
    try:
        return datetime.date(int(year), int(month), int(day))
    except ValueError:
        raise DateRefused(_("日期“%(text)s”不存在") % {"text": original}) from None


def parse_deadline(value, *, year):
    """A date, a ``DeadlineCategory`` (for 长期坚持 / 立行立改), or None for an empty cell.

    ``year`` is used where the text gives none (10月底). Raises DateRefused otherwise.
    """
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, bool):
        raise DateRefused(_("“%(text)s”不是日期，%(hint)s") % {"text": value, "hint": _hint()})
    if isinstance(value, (int, float)):
        shown = int(value) if float(value).is_integer() else value
        raise DateRefused(
            _("“%(text)s”是数字而不是日期，%(hint)s，或把单元格设为日期格式") % {"text": shown, "hint": _hint()}
        )
    original = str(value).strip()
    if not original:
        return None
    text = _normalised(original)
    if text in CATEGORY_WORDS:
        return CATEGORY_WORDS[text]
    text = _BEFORE.sub("", text)
    if match := _FULL.match(text):
        return _day(match[1], match[3], match[4], original)
    if match := _COMPACT.match(text):
        return _day(match[1], match[2], match[3], original)
    if match := _CHINESE.match(text) or _CHINESE_YEAR_NO_DAY_MARK.match(text):
        return _day(match[1] or year, match[2], match[3], original)
    if match := _MONTH_END.match(text):
        month_year = int(match[1] or year)
        month = int(match[2])
        if not 1 <= month <= 12:
            raise DateRefused(_("日期“%(text)s”不存在") % {"text": original})
        return datetime.date(month_year, month, calendar.monthrange(month_year, month)[1])
    raise DateRefused(_("无法识别的日期“%(text)s”，%(hint)s") % {"text": original, "hint": _hint()})


def parse_date(value, *, year):
    """Like ``parse_deadline`` but only a real date (or None) is accepted."""
    result = parse_deadline(value, year=year)
    if isinstance(result, str):
        raise DateRefused(_("此处需要具体日期，不能填写“%(text)s”") % {"text": str(value).strip()})
    return result
