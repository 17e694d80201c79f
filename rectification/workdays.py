"""Working days in mainland China: public holidays and make-up working days (调休).

The calendar comes from the ``chinesecalendar`` package, which is updated each year when the
State Council publishes the holiday arrangement, and from what the office enters in the browser
(``CalendarDay``) for a year the package does not know yet: an entry wins over the package for
its date. Outside the known years we fall back to Monday-Friday rather than fail, because a
deadline must always be computable; ``unknown_years`` tells the pages when they must say so.

A year is known when the package knows it or the office has confirmed that year (``CalendarYear``).

The office's entries are read once per request and once per Celery task (``entries_expire`` runs
on ``request_started`` and ``task_prerun``), lazily on the first question about a day: a change
made in one process is seen by every web and worker process at its next request or task, without
a restart, and the weekly cycle's thousands of questions cost two queries.
"""

import datetime
import functools
import re
import threading

import chinese_calendar
from django.utils.translation import gettext as _


# The package checks its date range on every call and the weekly cycle asks about the same few
# weeks thousands of times (a countdown per unit); what it says never changes within a release.
@functools.lru_cache(maxsize=4096)
def _package_is_workday(day):
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return None


@functools.lru_cache(maxsize=256)
def package_knows(year):
    """Whether the installed ``chinesecalendar`` has the State Council's arrangement for ``year``."""
    return (
        _package_is_workday(datetime.date(year, 1, 1)) is not None
        and _package_is_workday(datetime.date(year, 12, 31)) is not None
    )


class _Entries:
    """The office's entries as last read: {date: is a working day} and the confirmed years."""

    def __init__(self, days, confirmed):
        self.days = days
        self.confirmed = confirmed


_loaded = threading.local()


def entries_expire(**_kwargs):
    """Read the office's entries again at the next question (a new request, a new task)."""
    _loaded.entries = None


def _entries():
    entries = getattr(_loaded, "entries", None)
    if entries is None:
        from .holidays import CalendarDay, CalendarYear

        days = {day: kind == CalendarDay.Kind.WORKDAY for day, kind in CalendarDay.objects.values_list("date", "kind")}
        confirmed = frozenset(CalendarYear.objects.values_list("year", flat=True))
        entries = _loaded.entries = _Entries(days, confirmed)
    return entries


def is_workday(day):
    entered = _entries().days.get(day)
    if entered is not None:
        return entered
    known = _package_is_workday(day)
    if known is not None:
        return known
    return day.weekday() < 5


def year_is_known(year):
    return package_knows(year) or year in _entries().confirmed


def unknown_years(dates):
    """The years among ``dates`` (dates, datetimes or None) whose working days are guessed.

    Every page that shows a deadline, a cut-off or a milestone asks this and says, for each
    year returned, that its dates may be wrong (``rectification/_calendar_warning.html``).
    """
    from django.utils import timezone

    years = set()
    for value in dates:
        if value is None:
            continue
        if isinstance(value, datetime.datetime):
            value = timezone.localtime(value) if timezone.is_aware(value) else value
        years.add(value.year)
    return sorted(year for year in years if not year_is_known(year))


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


def week_in_cadence(inspection_round, iso_year, iso_week):
    """Whether the round's weekly cycle runs in a week.

    Every week up to and including the week of the report deadline; after it, on the cadence the
    office set for the round: 每周 every week, 每两周 the second, fourth, ... week after the
    deadline's week, 每月 the first week of each month (the week whose Monday falls on the 1st-7th).
    """
    monday = week_monday(iso_year, iso_week)
    deadline_monday = week_monday(*iso_week_of(inspection_round.report_deadline))
    if monday <= deadline_monday:
        return True
    cadence = inspection_round.after_deadline_cadence
    if cadence == inspection_round.Cadence.FORTNIGHTLY:
        return (monday - deadline_monday).days // 7 % 2 == 0
    if cadence == inspection_round.Cadence.MONTHLY:
        return monday.day <= 7
    return True


def round_countdown(inspection_round, today):
    """The countdown every page and dispatch shows, as JSON-ready values and one sentence.

    Up to the report deadline: days (and working days) left. After it: days past the deadline and,
    while a look-back (回头看) date is set and not yet reached, the days left until it.
    ``days`` stays the signed day count (negative after the deadline) for older readers.
    """
    deadline = inspection_round.report_deadline
    days = (deadline - today).days
    countdown = {
        "deadline": deadline.isoformat(),
        "days": days,
        "workdays": workdays_between(today, deadline),
        "days_past": max(0, -days),
        "look_back": None,
        "look_back_days": None,
        "look_back_workdays": None,
    }
    look_back = inspection_round.look_back_date
    if days >= 0:
        countdown["text"] = _("距整改报告报送还有%(days)s天（%(workdays)s个工作日）") % countdown
        return countdown
    countdown["text"] = _("已超过报送期限%(days)s天") % {"days": -days}
    if look_back is not None and look_back >= today:
        countdown.update(
            look_back=look_back.isoformat(),
            look_back_days=(look_back - today).days,
            look_back_workdays=workdays_between(today, look_back),
        )
        countdown["text"] += _("，距回头看还有%(days)s天（%(workdays)s个工作日）") % {
            "days": countdown["look_back_days"],
            "workdays": countdown["look_back_workdays"],
        }
    return countdown
