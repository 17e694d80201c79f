"""Measure deadlines as ledgers write them: categories, combinations, dates without a year, and
dates outside the round, each read into the plan field by field."""

import datetime

import pytest
from django.urls import reverse

from rectification.excel.dates import DateRefused, MeasureDeadline, parse_deadline, parse_measure_deadline
from rectification.models import DeadlineCategory, Measure
from rectification.services.ledger_import import ledger_import

from .test_excel_imports import (
    MEASURE_HEADERS,
    PROBLEM_HEADERS,
    ledger_file,
    measure_row,
    messages,
    plan_for,
    problem_row,
    xlsx,
)

FEEDBACK = datetime.date(2026, 9, 1)
BY_DATE, IMMEDIATE, LONG_TERM = DeadlineCategory.BY_DATE, DeadlineCategory.IMMEDIATE, DeadlineCategory.LONG_TERM


class TestDatesWithoutAYear:
    @pytest.mark.parametrize(
        "text, expected",
        [
            ("9月30日", datetime.date(2026, 9, 30)),
            ("9月1日", datetime.date(2026, 9, 1)),
            ("8月31日", datetime.date(2027, 8, 31)),
            ("12月底", datetime.date(2026, 12, 31)),
            ("3月底", datetime.date(2027, 3, 31)),
            ("2月末", datetime.date(2027, 2, 28)),
            ("年底", datetime.date(2026, 12, 31)),
            ("2026年3月底", datetime.date(2026, 3, 31)),
        ],
    )
    def test_it_takes_the_first_such_day_on_or_after_the_feedback_date(self, text, expected):
        assert parse_deadline(text, after=FEEDBACK) == expected

    def test_it_refuses_a_day_that_does_not_come(self):
        with pytest.raises(DateRefused, match="不存在"):
            parse_deadline("2月29日", after=FEEDBACK)


class TestMeasureDeadline:
    @pytest.mark.parametrize(
        "text, expected",
        [
            ("2026-10-31", MeasureDeadline(BY_DATE, datetime.date(2026, 10, 31))),
            ("10月底前完成", MeasureDeadline(BY_DATE, datetime.date(2026, 10, 31))),
            ("立行立改", MeasureDeadline(IMMEDIATE, None)),
            ("立行立改（9月30日前）", MeasureDeadline(IMMEDIATE, datetime.date(2026, 9, 30))),
            ("立行立改，2026年9月20日", MeasureDeadline(IMMEDIATE, datetime.date(2026, 9, 20))),
            ("限期整改（2026年12月底）", MeasureDeadline(BY_DATE, datetime.date(2026, 12, 31))),
            ("长期坚持", MeasureDeadline(LONG_TERM, None)),
            ("立行立改并长期坚持", MeasureDeadline(IMMEDIATE, None, ongoing=True)),
            ("年底前完成并长期坚持", MeasureDeadline(BY_DATE, datetime.date(2026, 12, 31), ongoing=True)),
            ("10月31日前完成，长期坚持", MeasureDeadline(BY_DATE, datetime.date(2026, 10, 31), ongoing=True)),
            (datetime.datetime(2026, 11, 30), MeasureDeadline(BY_DATE, datetime.date(2026, 11, 30))),
        ],
    )
    def test_it_reads_the_ways_ledgers_write_a_measures_deadline(self, text, expected):
        assert parse_measure_deadline(text, after=FEEDBACK) == expected

    @pytest.mark.parametrize(
        "text, reason",
        [
            ("限期整改", "“限期整改”缺少日期"),
            ("尽快", "无法识别的完成时限“尽快”"),
            ("立行立改（下月）", "无法识别的完成时限“立行立改（下月）”"),
        ],
    )
    def test_it_refuses_what_it_cannot_read(self, text, reason):
        with pytest.raises(DateRefused, match=reason):
            parse_measure_deadline(text, after=FEEDBACK)


def warnings(plan):
    return [str(issue) for issue in plan.warnings]


@pytest.mark.django_db
class TestMeasureDeadlinesInTheImport:
    """The world's round was fed back on 2026-09-01 and reports by 2026-12-31."""

    # (code, as written, category, due date, kept up after it: 完成后长期坚持)
    ROWS = [
        ("2.1.1", "2026-10-31", BY_DATE, datetime.date(2026, 10, 31), False),
        ("2.1.2", "立行立改（9月30日前）", IMMEDIATE, datetime.date(2026, 9, 30), False),
        ("2.1.3", "立行立改", IMMEDIATE, datetime.date(2026, 11, 30), False),
        ("2.1.4", "长期坚持", LONG_TERM, datetime.date(2026, 11, 30), True),
        ("2.1.5", "立行立改并长期坚持", IMMEDIATE, datetime.date(2026, 11, 30), True),
        ("2.1.6", "11月底前完成并长期坚持", BY_DATE, datetime.date(2026, 11, 30), True),
        ("2.1.7", "9月30日", BY_DATE, datetime.date(2026, 9, 30), False),
    ]

    def plan(self, world, tmp_path):
        measures = [
            measure_row(措施编号=code, 整改措施=f"措施{code}", 完成时限=text) for code, text, _c, _d, _o in self.ROWS
        ]
        return plan_for(world, ledger_file(tmp_path, [problem_row()], measures))

    def test_it_reads_each_measures_deadline_field_by_field(self, world, tmp_path):
        plan = self.plan(world, tmp_path)
        assert messages(plan) == []
        drafts = {draft.code: draft for draft in plan.measures}
        for code, _text, _category, due, ongoing in self.ROWS:
            assert (drafts[code].values["due_date"], drafts[code].values["ongoing_after_due"]) == (due, ongoing), code
        shown = warnings(plan)
        # Without a date, 立行立改 and 长期坚持 run to the problem's due date (earlier than the report's).
        assert (
            "工作表“任务清单”第5行G列（完成时限）：“立行立改”未写日期：按2026-11-30（整改报告报送期限与问题整改时限中较早者）作为阶段性完成时限。"
            in shown
        )
        assert (
            "工作表“任务清单”第6行G列（完成时限）：“长期坚持”未写日期：按2026-11-30（整改报告报送期限与问题整改时限中较早者）作为阶段性完成时限。"
            in shown
        )
        assert (
            "工作表“任务清单”第8行G列（完成时限）：“11月底前完成并长期坚持”：完成时限为2026-11-30，完成后长期坚持（进展状态可报“长期坚持”）。"
            in shown
        )
        assert (
            "工作表“任务清单”：未写年份的完成时限按本轮反馈日期（2026-09-01）当天或之后最近的该日期导入，"
            "例如工作表“任务清单”第4行G列（完成时限）的“立行立改（9月30日前）”为2026-09-30。"
        ) in shown

    def test_it_saves_the_resolved_dates(self, world, tmp_path):
        ledger_import(actor=world.office, plan=self.plan(world, tmp_path))
        saved = {
            code: (due, ongoing)
            for code, due, ongoing in Measure.objects.filter(problem__code="2.1").values_list(
                "code", "due_date", "ongoing_after_due"
            )
        }
        assert saved == {code: (due, ongoing) for code, _text, _category, due, ongoing in self.ROWS}

    def test_it_takes_the_kind_from_the_deadline_when_the_ledger_has_no_kind_column(self, world, tmp_path):
        headers = [h for h in MEASURE_HEADERS if h != "措施类别"]
        path = xlsx(
            tmp_path / "no-kind.xlsx",
            {
                "问题清单": (PROBLEM_HEADERS, [problem_row()]),
                "任务清单": (
                    headers,
                    [
                        measure_row(措施编号="2.1.1", 整改措施="建立公务用车管理制度", 完成时限="立行立改并长期坚持"),
                        measure_row(措施编号="2.1.2", 整改措施="建立公务用车管理制度", 完成时限="2026-11-30"),
                    ],
                ),
            },
        )
        plan = plan_for(world, path)
        assert messages(plan) == []
        kinds = {draft.code: draft.values["kind"] for draft in plan.measures}
        assert kinds == {"2.1.1": Measure.Kind.IMMEDIATE, "2.1.2": Measure.Kind.RULES}

    def test_it_warns_of_a_date_after_the_report_deadline(self, world, tmp_path):
        plan = plan_for(
            world,
            ledger_file(
                tmp_path,
                [problem_row(整改时限="2027-03-31")],
                [measure_row(完成时限="3月底")],
            ),
        )
        assert messages(plan) == []
        assert plan.measures[0].values["due_date"] == datetime.date(2027, 3, 31)
        assert (
            "工作表“任务清单”第3行G列（完成时限）：完成时限2027-03-31晚于整改报告报送期限2026-12-31，已按所填日期导入，请确认。"
            in warnings(plan)
        )

    def test_it_refuses_a_date_before_the_feedback_date_naming_sheet_row_and_column(self, world, tmp_path):
        plan = plan_for(world, ledger_file(tmp_path, [problem_row()], [measure_row(完成时限="2026年8月31日")]))
        assert messages(plan) == [
            "工作表“任务清单”第3行G列（完成时限）：完成时限2026-08-31早于本轮反馈日期2026-09-01，请核对。"
        ]

    def test_it_shows_the_resolved_date_in_the_preview(self, world, tmp_path, client):
        client.force_login(world.office)
        path = ledger_file(tmp_path, [problem_row()], [measure_row(完成时限="10月底")])
        with path.open("rb") as upload:
            response = client.post(
                reverse("rectification:excel:import_upload"), {"inspection_round": world.round.pk, "file": upload}
            )
        assert response.status_code == 200
        assert "完成时限：2026-10-31" in response.content.decode()

    def test_the_preview_shows_a_new_measure_kept_up_after_its_date(self, world, tmp_path, client):
        client.force_login(world.office)
        path = ledger_file(tmp_path, [problem_row()], [measure_row(完成时限="10月底前完成并长期坚持")])
        with path.open("rb") as upload:
            response = client.post(
                reverse("rectification:excel:import_upload"), {"inspection_round": world.round.pk, "file": upload}
            )
        assert response.status_code == 200
        assert "完成时限：2026-10-31并长期坚持" in response.content.decode()
