"""Dates as people write them in a ledger: understood, or refused with a clear reason."""

import datetime

import pytest

from rectification.excel.dates import DateRefused, parse_date, parse_deadline
from rectification.models import DeadlineCategory

YEAR = 2026


class TestParseDeadline:
    @pytest.mark.parametrize(
        "text",
        [
            "2026-10-31",
            "2026/10/31",
            "2026.10.31",
            "2026年10月31日",
            "2026-10-31前",
            "２０２６／１０／３１",
            "20261031",
            " 2026-10-31 ",
            "10月31日",
            "10月底",
            "10月末",
        ],
    )
    def test_it_understands_the_ways_people_write_a_date(self, text):
        assert parse_deadline(text, year=YEAR) == datetime.date(2026, 10, 31)

    def test_it_takes_real_excel_date_cells(self):
        assert parse_deadline(datetime.datetime(2026, 10, 31, 0, 0), year=YEAR) == datetime.date(2026, 10, 31)
        assert parse_deadline(datetime.date(2026, 10, 31), year=YEAR) == datetime.date(2026, 10, 31)

    def test_it_reads_month_end_in_the_year_it_is_given(self):
        assert parse_deadline("2月底", year=2028) == datetime.date(2028, 2, 29)
        assert parse_deadline("2025年12月底", year=2026) == datetime.date(2025, 12, 31)

    def test_it_reads_the_category_words(self):
        assert parse_deadline("长期坚持", year=YEAR) == DeadlineCategory.LONG_TERM
        assert parse_deadline("立行立改", year=YEAR) == DeadlineCategory.IMMEDIATE

    def test_it_returns_none_for_an_empty_cell(self):
        assert parse_deadline(None, year=YEAR) is None
        assert parse_deadline("  ", year=YEAR) is None

    @pytest.mark.parametrize(
        "value, reason",
        [
            ("2026-02-30", "日期“2026-02-30”不存在"),
            ("13月底", "日期“13月底”不存在"),
            (
                "下个月",
                "无法识别的日期“下个月”，请写成2026-10-31、2026/10/31、2026.10.31、2026年10月31日、10月底或“长期坚持”",
            ),
            ("2026-10-31-1", "无法识别的日期"),
            (46326, "“46326”是数字而不是日期"),
            (True, "不是日期"),
        ],
    )
    def test_it_refuses_what_it_does_not_understand(self, value, reason):
        with pytest.raises(DateRefused) as refused:
            parse_deadline(value, year=YEAR)
        assert reason in str(refused.value)


class TestParseDate:
    def test_it_refuses_a_category_word_where_a_date_is_needed(self):
        with pytest.raises(DateRefused) as refused:
            parse_date("长期坚持", year=YEAR)
        assert "需要具体日期" in str(refused.value)

    def test_it_passes_dates_through(self):
        assert parse_date("2026.9.1", year=YEAR) == datetime.date(2026, 9, 1)
