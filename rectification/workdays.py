"""Working days in mainland China: public holidays and make-up working days (调休).

The calendar comes from the ``chinesecalendar`` package, which is updated each year when the
State Council publishes the holiday arrangement. Outside the years it knows, we fall back to
Monday-Friday rather than fail, because a deadline must always be computable.
"""

import datetime
import functools
import re

import chinese_calendar
from django.utils.translation import gettext as _


# The calendar is fixed for the life of the process, and the weekly cycle asks about the same
# few weeks thousands of times (a countdown per unit): the package checks its date range on
# every call, so the answers are kept.
@functools.lru_cache(maxsize=4096)
def is_workday(day):
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return day.weekday() < 5


def previous_workday(day):
    """``day`` itself if it is a working day, else the closest working day before it."""
    while not is_workday(day):
        day -= datetime.timedelta(days=1)
    return day


def workdays_between(start, end):
    """Working days after ``start`` up to and including ``end`` (0 if ``end`` is not later)."""
    count = 0
    day = start
    while day < end:
        day += datetime.timedelta(days=1)
        if is_workday(day):
            count += 1
    return count


def milestones_backwards(*, start, due, titles):
    """Spread milestones evenly from ``start`` to ``due``, the last one on the due date.

    This is 倒排时间节点: the plan is worked backwards from the due date. Each date moves to the
    previous working day (so a due date on a holiday ends the plan the working day before),
    and dates never go backwards or before ``start``.
    """
    span = (due - start).days
    count = len(titles)
    dates: list[datetime.date] = []
    for index in range(1, count + 1):
        day = previous_workday(start + datetime.timedelta(days=round(span * index / count)))
        if day < start:
            day = start
        if dates and day < dates[-1]:
            day = dates[-1]
        dates.append(day)
    return list(zip(titles, dates, strict=True))


def iso_week_of(day):
    """(ISO year, ISO week) of a date."""
    year, week, _weekday = day.isocalendar()
    return year, week


def week_monday(iso_year, iso_week):
    return datetime.date.fromisocalendar(iso_year, iso_week, 1)


# ASCII digits only: ``\d`` alone also matches other scripts' digits ("٢٠٢٦").
_WEEK_KEY = re.compile(r"^(\d{4})-W(\d{1,2})$", re.ASCII)
# The years a week can be asked for. Pages step a week either side and count working days
# around it, which near year 1 or 9999 leaves what ``datetime`` can hold.
WEEK_YEARS = range(2000, 2100)


def week_key(iso_year, iso_week):
    """``2026-W48``: a week as URLs, file names, audit rows and the command line write it."""
    return f"{iso_year}-W{iso_week:02d}"


def week_from_key(text):
    """(ISO year, ISO week) of a ``2026-W48`` (surrounding spaces ignored).

    ValueError for any other text, for a week its year does not have (2026-W53) and for a year
    outside ``WEEK_YEARS``.
    """
    match = _WEEK_KEY.match(text.strip())
    if match is None:
        raise ValueError(f"not an ISO week: {text!r}")
    iso_year, iso_week = int(match[1]), int(match[2])
    if iso_year not in WEEK_YEARS:
        raise ValueError(f"not a week of the years this system serves: {text!r}")
    datetime.date.fromisocalendar(iso_year, iso_week, 1)
    return iso_year, iso_week


def week_label(iso_year, iso_week):
    """``2026年第48周``: a week as people read it."""
    return _("%(year)s年第%(week)s周") % {"year": iso_year, "week": iso_week}


def week_short_label(iso_week):
    """``第48周``: a week as people read it where the year goes without saying."""
    return _("第%(week)s周") % {"week": iso_week}


def add_workdays(day, count):
    """The working day ``count`` working days after ``day``."""
    while count > 0:
        day += datetime.timedelta(days=1)
        if is_workday(day):
            count -= 1
    return day


def next_workday(day):
    """``day`` itself if it is a working day, else the closest working day after it."""
    while not is_workday(day):
        day += datetime.timedelta(days=1)
    return day


def round_cutoff(inspection_round, iso_year, iso_week):
    """The report cut-off of a week under the round's own settings."""
    return report_cutoff(iso_year, iso_week, weekday=inspection_round.report_weekday, at=inspection_round.report_time)


def report_cutoff(iso_year, iso_week, *, weekday=None, at=None):
    """The moment a week's reports are due: by default Thursday 17:00 (Asia/Shanghai).

    A cut-off that falls on a public holiday moves to the previous working day, so in the
    National Day week it lands before the holiday begins.
    """
    from django.conf import settings
    from django.utils import timezone

    weekday = weekday or settings.REPORT_CUTOFF_WEEKDAY
    at = at or datetime.time.fromisoformat(settings.REPORT_CUTOFF_TIME)
    day = previous_workday(datetime.date.fromisocalendar(iso_year, iso_week, weekday))
    return timezone.make_aware(datetime.datetime.combine(day, at))
