"""Working days in mainland China: public holidays and make-up working days (调休).

The calendar comes from the ``chinesecalendar`` package, which is updated each year when the
State Council publishes the holiday arrangement. Outside the years it knows, we fall back to
Monday-Friday rather than fail, because a deadline must always be computable.
"""

import datetime

import chinese_calendar


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
    dates = []
    for index in range(1, count + 1):
        day = previous_workday(start + datetime.timedelta(days=round(span * index / count)))
        if day < start:
            day = start
        if dates and day < dates[-1]:
            day = dates[-1]
        dates.append(day)
    return list(zip(titles, dates))
