"""Dates as people write them in a ledger, understood or clearly refused.

Accepted: real Excel date cells; 2026-10-31, 2026/10/31, 2026.10.31, 20261031, 2026年10月31日
(full-width digits too, and a trailing 前 or 之前); 10月31日, 10月底 / 10月末 and 年底 without a
year, which mean the first such day on or after the round's feedback date (a ledger drafted in
September that says 3月底 means next March); and the words 长期坚持 and 立行立改, which are
deadline categories rather than dates. Anything else, including a bare number (an Excel serial
number typed into a text cell), is refused with a message that says what to write instead.

A measure's deadline is written more freely (``parse_measure_deadline``): 立行立改 with or without
a date, 限期整改 with a date, 长期坚持, and a date or 立行立改 followed by 并长期坚持 (done by then,
kept up afterwards).
"""

import calendar
import datetime
import re
import unicodedata
from dataclasses import dataclass

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
_YEAR_END = re.compile(r"^(?:(\d{4})年)?年?(?:底|末)$")
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


def _in_year(month, day, year, after):
    """The day ``month``/``day`` (0: the month's last) in ``year``, or, when ``after`` is given, the
    first such day on or after it (None if there is none, such as 2月30日)."""
    for candidate in [year] if after is None else [after.year, after.year + 1]:
        try:
            result = datetime.date(candidate, month, day or calendar.monthrange(candidate, month)[1])
        except ValueError:
            continue
        if after is None or result >= after:
            return result
    return None


def parse_deadline(value, *, year=None, after=None):
    """A date, a ``DeadlineCategory`` (for 长期坚持 / 立行立改), or None for an empty cell.

    Where the text gives no year (10月底), the date is the first such day on or after ``after``
    (the round's feedback date), or in ``year`` if no ``after`` is given. Raises DateRefused
    otherwise.
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
        if match[1]:
            return _day(match[1], match[2], match[3], original)
        return _yearless(int(match[2]), int(match[3]), year, after, original)
    if match := _MONTH_END.match(text):
        month = int(match[2])
        if not 1 <= month <= 12:
            raise DateRefused(_("日期“%(text)s”不存在") % {"text": original})
        if match[1]:
            month_year = int(match[1])
            return datetime.date(month_year, month, calendar.monthrange(month_year, month)[1])
        return _yearless(month, 0, year, after, original)
    if match := _YEAR_END.match(text):
        if match[1]:
            return datetime.date(int(match[1]), 12, 31)
        return _yearless(12, 31, year, after, original)
    raise DateRefused(_("无法识别的日期“%(text)s”，%(hint)s") % {"text": original, "hint": _hint()})


def _yearless(month, day, year, after, original):
    if not 1 <= month <= 12 or day > 31 or (year is None and after is None):
        raise DateRefused(_("日期“%(text)s”不存在") % {"text": original})
    result = _in_year(month, day, year or after.year, after)
    if result is None:
        raise DateRefused(_("日期“%(text)s”不存在") % {"text": original})
    return result


def parse_date(value, *, year=None, after=None):
    """Like ``parse_deadline`` but only a real date (or None) is accepted."""
    result = parse_deadline(value, year=year, after=after)
    if isinstance(result, str):
        raise DateRefused(_("此处需要具体日期，不能填写“%(text)s”") % {"text": str(value).strip()})
    return result


@dataclass(frozen=True)
class MeasureDeadline:
    """A measure's deadline as written: a category, its date (None if not written), and whether it
    is kept up after that date (……并长期坚持)."""

    category: str
    due: datetime.date | None
    ongoing: bool = False


# "……并长期坚持", "……，长期坚持", "……后长期坚持": the tail that makes a deadline ongoing.
_ONGOING_TAIL = re.compile(r"(?:[,，;；、]?(?:并且|并|后|以后|之后|此后)?|[,，;；、])长期坚持$")
# What may wrap a date after 立行立改 or 限期整改: brackets, separators, 于, 前完成.
_CATEGORY_HEAD = re.compile(r"^(立行立改|限期整改|限期)[,，:：;；]?[(（]?(.*?)[)）]?$")
_DONE = re.compile(r"(?:前|之前|以前)?(?:完成|办结|整改到位|整改完成)?$")


def parse_measure_deadline(value, *, year=None, after=None):
    """A measure's ``MeasureDeadline``, or None for an empty cell; raises DateRefused.

    Examples: 2026-10-31; 10月底前完成; 立行立改; 立行立改（9月30日前）; 限期整改，2026年12月底;
    长期坚持; 立行立改并长期坚持; 年底前完成并长期坚持.
    """
    if value is None or isinstance(value, (datetime.date, int, float, bool)):
        due = parse_deadline(value, year=year, after=after)
        return None if due is None else MeasureDeadline(DeadlineCategory.BY_DATE, due)
    original = str(value).strip()
    if not original:
        return None
    text = _normalised(original)
    ongoing = False
    if text != "长期坚持" and _ONGOING_TAIL.search(text):
        text, ongoing = _ONGOING_TAIL.sub("", text), True
    if text in ("长期坚持", "长期"):
        return MeasureDeadline(DeadlineCategory.LONG_TERM, None)
    category = DeadlineCategory.BY_DATE
    if match := _CATEGORY_HEAD.match(text):
        category = DeadlineCategory.IMMEDIATE if match[1] == "立行立改" else DeadlineCategory.BY_DATE
        text = match[2]
        if not text:
            if category == DeadlineCategory.IMMEDIATE:
                return MeasureDeadline(category, None, ongoing)
            raise DateRefused(_("“%(text)s”缺少日期，请写成“限期整改（2026年10月31日）”") % {"text": original})
    text = _DONE.sub("", text) if len(text) > 2 else text
    text = text.removeprefix("于")
    try:
        due = parse_deadline(text, year=year, after=after)
    except DateRefused:
        raise DateRefused(
            _("无法识别的完成时限“%(text)s”，%(hint)s，或“立行立改”“立行立改并长期坚持”“年底前完成并长期坚持”")
            % {"text": original, "hint": _hint()}
        ) from None
    if not isinstance(due, datetime.date):
        raise DateRefused(_("无法识别的完成时限“%(text)s”，%(hint)s") % {"text": original, "hint": _hint()})
    return MeasureDeadline(category, due, ongoing)
