"""Working days know Chinese public holidays and make-up working days (调休)."""

import datetime

import pytest

from rectification.workdays import (
    is_workday,
    milestones_backwards,
    previous_workday,
    week_from_key,
    week_key,
    week_label,
    week_short_label,
    workdays_between,
)

D = datetime.date

# The office's holiday entries are read from the database, so every question may touch it.
pytestmark = pytest.mark.django_db


class TestWorkdays:
    def test_it_knows_national_day_and_its_make_up_days(self):
        assert not is_workday(D(2026, 10, 1))  # 国庆节
        assert not is_workday(D(2026, 10, 7))
        assert is_workday(D(2026, 10, 10))  # a Saturday made a working day (调休)
        assert not is_workday(D(2026, 11, 28))  # an ordinary Saturday

    def test_it_moves_a_holiday_back_to_the_last_working_day(self):
        assert previous_workday(D(2026, 10, 5)) == D(2026, 9, 30)
        assert previous_workday(D(2026, 11, 26)) == D(2026, 11, 26)

    def test_it_counts_working_days_across_a_holiday(self):
        # After 9/30 the National Day holiday runs 10/1-10/7; 10/8 and 10/9 are working days.
        assert workdays_between(D(2026, 9, 30), D(2026, 10, 9)) == 2
        assert workdays_between(D(2026, 11, 23), D(2026, 11, 23)) == 0

    def test_it_falls_back_to_weekdays_outside_the_known_years(self):
        assert is_workday(D(2100, 3, 1))  # a Monday
        assert not is_workday(D(2100, 3, 6))  # a Saturday


class TestMilestonesBackwards:
    def test_it_spreads_ordered_working_days_ending_at_the_due_date(self):
        plan = milestones_backwards(start=D(2026, 9, 1), due=D(2026, 11, 30), titles=["方案", "推进", "材料", "销号"])
        dates = [day for _, day in plan]
        assert [t for t, _ in plan] == ["方案", "推进", "材料", "销号"]
        assert dates == sorted(dates)
        assert all(is_workday(day) for day in dates)
        assert dates[-1] == D(2026, 11, 30)
        assert dates[0] > D(2026, 9, 1)

    def test_it_never_lands_on_national_day(self):
        plan = milestones_backwards(start=D(2026, 9, 20), due=D(2026, 10, 20), titles=["一", "二", "三"])
        for _, day in plan:
            assert is_workday(day)
            assert not D(2026, 10, 1) <= day <= D(2026, 10, 7)

    def test_it_keeps_a_short_plan_within_its_dates(self):
        plan = milestones_backwards(start=D(2026, 11, 23), due=D(2026, 11, 24), titles=["一", "二", "三", "四"])
        dates = [day for _, day in plan]
        assert dates == sorted(dates)
        assert all(D(2026, 11, 23) <= day <= D(2026, 11, 24) for day in dates)


class TestWeekKey:
    def test_it_writes_and_reads_back_the_same_week(self):
        assert week_key(2026, 8) == "2026-W08"
        assert week_from_key(week_key(2026, 8)) == (2026, 8)
        assert week_from_key(" 2026-W48 ") == (2026, 48)

    @pytest.mark.parametrize(
        "text",
        ["", "2026-48", "2026-W048", "2026W48", "2026-W", "2025-W53", "2026-W00", "9999-W52", "0001-W01", "٢٠٢٦-W48"],
    )
    def test_it_refuses_what_is_not_a_week(self, text):
        with pytest.raises(ValueError, match="week"):
            week_from_key(text)

    def test_it_labels_a_week_for_people(self):
        assert week_label(2026, 8) == "2026年第8周"
        assert week_short_label(8) == "第8周"
