"""The office's holiday arrangement for a year the ``chinesecalendar`` package does not know.

The entries are read afresh by every request and task (see ``workdays``): nothing here has to
tell other processes about a change.
"""

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from .. import access
from ..models import CalendarDay, CalendarYear
from ..workdays import package_knows
from .audit import audit_record

# The longest holiday the State Council has given is 8 days; a longer range is a typing slip.
LONGEST_RANGE_DAYS = 31


def _require_office(actor):
    if not access.may_manage_calendar(actor):
        raise PermissionDenied(_("只有整改办可以维护节假日安排。"))


def _refuse_outside_year(year, *days):
    for day in days:
        if day.year != year:
            raise ValidationError(
                _("%(day)s 不在 %(year)s 年内。") % {"day": day.strftime("%Y年%-m月%-d日"), "year": year}
            )


def _create(entries, days):
    """Insert the entries; a date someone else entered meanwhile is refused like any other duplicate."""
    try:
        with transaction.atomic():
            return CalendarDay.objects.bulk_create(entries)
    except IntegrityError:
        _refuse_entered(days)
        raise


def _refuse_entered(days):
    taken = CalendarDay.objects.filter(date__in=days).order_by("date").first()
    if taken is not None:
        raise ValidationError(
            _("%(day)s 已录入为「%(name)s」%(kind)s，请先删除该条再录入。")
            % {"day": taken.date.strftime("%Y年%-m月%-d日"), "name": taken.name, "kind": taken.get_kind_display()}
        )


@transaction.atomic
def calendar_holidays_add(*, actor, year, start, end, name):
    """Every day from ``start`` to ``end`` (inclusive) a holiday named ``name`` (e.g. 春节)."""
    _require_office(actor)
    if end < start:
        raise ValidationError(_("结束日期不能早于开始日期。"))
    _refuse_outside_year(year, start, end)
    span = (end - start).days + 1
    if span > LONGEST_RANGE_DAYS:
        raise ValidationError(
            _("一次最多录入 %(most)s 天的假期，所选范围有 %(span)s 天。") % {"most": LONGEST_RANGE_DAYS, "span": span}
        )
    days = [start + datetime.timedelta(days=offset) for offset in range(span)]
    _refuse_entered(days)
    entries = _create(
        [CalendarDay(date=day, kind=CalendarDay.Kind.HOLIDAY, name=name, entered_by=actor) for day in days], days
    )
    audit_record(
        actor=actor,
        action="calendar.holidays_add",
        target_type="rectification.calendarday",
        target_repr=_("%(year)s年节假日安排") % {"year": year},
        changes={"date": start.isoformat(), "end_date": end.isoformat(), "holiday": name, "rows": len(entries)},
    )
    return entries


@transaction.atomic
def calendar_workday_add(*, actor, year, day, name):
    """A make-up working day (调休上班) on ``day``, usually a weekend around holiday ``name``."""
    _require_office(actor)
    _refuse_outside_year(year, day)
    _refuse_entered([day])
    [entry] = _create([CalendarDay(date=day, kind=CalendarDay.Kind.WORKDAY, name=name, entered_by=actor)], [day])
    audit_record(
        actor=actor,
        action="calendar.workday_add",
        target=entry,
        changes={"date": day.isoformat(), "holiday": name},
    )
    return entry


@transaction.atomic
def calendar_day_delete(*, actor, entry):
    _require_office(actor)
    audit_record(
        actor=actor,
        action="calendar.day_delete",
        target=entry,
        changes={"date": entry.date.isoformat(), "kind": entry.kind, "holiday": entry.name},
    )
    entry.delete()


@transaction.atomic
def calendar_year_confirm(*, actor, year):
    """The office's word that ``year``'s arrangement is entered in full: its pages stop warning."""
    _require_office(actor)
    if package_knows(year):
        raise ValidationError(_("%(year)s 年的节假日安排系统已内置，无需确认。") % {"year": year})
    if CalendarYear.objects.filter(year=year).exists():
        raise ValidationError(_("%(year)s 年的节假日安排已确认。") % {"year": year})
    if not CalendarDay.objects.filter(date__year=year, kind=CalendarDay.Kind.HOLIDAY).exists():
        raise ValidationError(_("请先录入 %(year)s 年的放假安排，再确认。") % {"year": year})
    confirmed = CalendarYear.objects.create(year=year, confirmed_by=actor)
    audit_record(
        actor=actor,
        action="calendar.year_confirm",
        target=confirmed,
        changes={"year": year, "rows": CalendarDay.objects.filter(date__year=year).count()},
    )
    return confirmed
