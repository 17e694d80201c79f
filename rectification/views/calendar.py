"""节假日安排: the office enters a year's holidays and make-up working days the package does not know."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.db.models.functions import ExtractYear
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.ui import error_text

from .. import access, services
from ..forms import HolidayRangeForm, MakeUpDayForm
from ..models import CalendarDay, CalendarYear
from ..workdays import WEEK_YEARS, package_knows


def _require_office(user, year=None):
    """404 for anyone but the office, and for a year this system does not serve."""
    if not access.may_manage_calendar(user) or (year is not None and year not in WEEK_YEARS):
        raise Http404


def _year_state(year, confirmed, entered):
    if package_knows(year):
        return "builtin", _("系统内置（国务院已公布）")
    if year in confirmed:
        return "confirmed", _("整改办已录入并确认")
    if entered:
        return "entered", _("已录入，尚未确认")
    return "unknown", _("未录入：按周一至周五计算工作日")


@login_required
@require_GET
def calendar_years(request):
    _require_office(request.user)
    this_year = timezone.localdate().year
    entered = dict(
        CalendarDay.objects.annotate(year=ExtractYear("date"))
        .values("year")
        .annotate(n=Count("id"))
        .values_list("year", "n")
    )
    confirmed = dict(CalendarYear.objects.select_related("confirmed_by").values_list("year", "confirmed_by__full_name"))
    years = sorted({this_year - 1, this_year, this_year + 1} | set(entered) | set(confirmed))
    rows = []
    for year in years:
        state, label = _year_state(year, confirmed, entered.get(year, 0))
        rows.append(
            {"year": year, "state": state, "label": label, "entries": entered.get(year, 0), "by": confirmed.get(year)}
        )
    return render(request, "rectification/calendar_years.html", {"rows": rows})


def _year_page(request, year, *, holiday_form=None, makeup_form=None, status=200):
    entries = CalendarDay.objects.filter(date__year=year).select_related("entered_by")
    confirmed = CalendarYear.objects.filter(year=year).select_related("confirmed_by").first()
    state, label = _year_state(year, {year} if confirmed else set(), len(entries))
    return render(
        request,
        "rectification/calendar_year.html",
        {
            "year": year,
            "state": state,
            "state_label": label,
            "entries": entries,
            "confirmed": confirmed,
            "holiday_form": holiday_form or HolidayRangeForm(),
            "makeup_form": makeup_form or MakeUpDayForm(),
        },
        status=status,
    )


@login_required
@require_GET
def calendar_year(request, year):
    _require_office(request.user, year)
    return _year_page(request, year)


@login_required
@require_POST
def calendar_holidays_add(request, year):
    _require_office(request.user, year)
    form = HolidayRangeForm(request.POST)
    if form.is_valid():
        try:
            entries = services.calendar_holidays_add(actor=request.user, year=year, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error_text(error))
        else:
            messages.success(
                request, _("已录入%(name)s放假 %(n)s 天。") % {"name": form.cleaned_data["name"], "n": len(entries)}
            )
            return redirect("rectification:calendar_year", year=year)
    return _year_page(request, year, holiday_form=form, status=400)


@login_required
@require_POST
def calendar_workday_add(request, year):
    _require_office(request.user, year)
    form = MakeUpDayForm(request.POST)
    if form.is_valid():
        try:
            services.calendar_workday_add(actor=request.user, year=year, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error_text(error))
        else:
            messages.success(request, _("已录入调休上班日。"))
            return redirect("rectification:calendar_year", year=year)
    return _year_page(request, year, makeup_form=form, status=400)


@login_required
@require_POST
def calendar_day_delete(request, pk):
    _require_office(request.user)
    entry = CalendarDay.objects.filter(pk=pk).first()
    if entry is None:
        raise Http404
    services.calendar_day_delete(actor=request.user, entry=entry)
    messages.success(request, _("已删除 %(day)s 的安排。") % {"day": entry.date.strftime("%Y年%-m月%-d日")})
    return redirect("rectification:calendar_year", year=entry.date.year)


@login_required
@require_POST
def calendar_year_confirm(request, year):
    _require_office(request.user, year)
    try:
        services.calendar_year_confirm(actor=request.user, year=year)
    except ValidationError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, _("已确认 %(year)s 年节假日安排。") % {"year": year})
    return redirect("rectification:calendar_year", year=year)
