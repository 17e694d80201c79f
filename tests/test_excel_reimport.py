"""Re-importing an exported ledger: zero differences, measures left out are kept, and a moved due
date of a claimed measure re-plans its milestones and tells its unit."""

import datetime
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from rectification.excel import exports
from rectification.excel.imports import ledger_plan
from rectification.models import Measure, Milestone, Notification
from rectification.services.ledger_import import ledger_import

from .test_excel_imports import _bulk_file, _round_like

TODAY = datetime.date(2026, 11, 26)


def exported(world, tmp_path, change=None):
    """The office's ledger export, changed by ``change(book)``, saved to a file."""
    content = exports.ledger_export(user=world.office, inspection_round=world.round, today=TODAY).content
    book = load_workbook(io.BytesIO(content))
    if change is not None:
        change(book)
    path = tmp_path / "ledger.xlsx"
    book.save(path)
    return path


def column(sheet, header):
    return [cell.value for cell in sheet[2]].index(header) + 1


def row_of(sheet, code):
    codes = column(sheet, "措施编号")
    return next(row for row in range(3, sheet.max_row + 1) if sheet.cell(row, codes).value == code)


@pytest.mark.django_db
class TestReimport:
    def test_it_reads_its_own_export_back_with_zero_differences(self, world, tmp_path):
        plan = ledger_plan(exported(world, tmp_path), inspection_round=world.round)
        assert plan.errors == []
        assert {key: value for key, value in plan.summary().items() if value} == {
            "problems_unchanged": 1,
            "measures_unchanged": 2,
        }
        assert plan.missing_measures == [] and plan.moved_due_dates == []

    def test_it_keeps_the_measures_the_file_leaves_out(self, world, tmp_path):
        def drop_second(book):
            sheet = book["任务清单"]
            sheet.delete_rows(row_of(sheet, "1.1.2"))

        plan = ledger_plan(exported(world, tmp_path, drop_second), inspection_round=world.round)
        assert plan.errors == []
        assert plan.missing_measures == [world.coop_measure]
        ledger_import(actor=world.office, plan=plan)
        assert Measure.objects.filter(pk=world.coop_measure.pk).exists()

    def test_it_replans_the_milestones_of_a_claimed_measure_whose_due_date_moves(self, world, tmp_path):
        measure = world.resp_measure  # claimed; 2026-09-01 to 2026-11-30
        Milestone.objects.create(measure=measure, seq=1, title="摸底排查", due_date=datetime.date(2026, 9, 16))
        Milestone.objects.create(measure=measure, seq=2, title="集中整改", due_date=datetime.date(2026, 10, 31))
        done = Milestone.objects.create(
            measure=measure, seq=3, title="已完成节点", due_date=datetime.date(2026, 9, 10), done_on=TODAY
        )

        def move(book):
            sheet = book["任务清单"]
            sheet.cell(row_of(sheet, "1.1.1"), column(sheet, "完成时限")).value = datetime.datetime(2026, 12, 30)

        plan = ledger_plan(exported(world, tmp_path, move), inspection_round=world.round)
        assert plan.errors == []
        assert plan.moved_due_dates == [(measure, datetime.date(2026, 11, 30), datetime.date(2026, 12, 30))]
        assert Notification.objects.filter(recipient=world.resp_staff, kind=Notification.Kind.DISPATCH).count() == 0

        ledger_import(actor=world.office, plan=plan)
        measure.refresh_from_db()
        assert measure.due_date == datetime.date(2026, 12, 30)
        # 90 days became 120: a milestone at day 15 moves to day 20, one at day 60 to day 80.
        assert list(measure.milestones.order_by("seq").values_list("title", "due_date")) == [
            ("摸底排查", datetime.date(2026, 9, 21)),
            ("集中整改", datetime.date(2026, 11, 20)),
            ("已完成节点", done.due_date),
        ]
        notice = Notification.objects.get(recipient=world.resp_staff, kind=Notification.Kind.DISPATCH)
        assert notice.text == (
            "整改办导入台账时调整了措施 1.1.1 的完成时限：2026-11-30 → 2026-12-30，未完成的时间节点已相应调整，请核对。"
        )
        assert Notification.objects.filter(recipient=world.resp_head, kind=Notification.Kind.DISPATCH).exists()
        assert not Notification.objects.filter(recipient=world.coop_staff, kind=Notification.Kind.DISPATCH).exists()

    def test_it_shows_what_is_kept_and_what_moves_in_the_preview(self, world, tmp_path, client):
        def change(book):
            sheet = book["任务清单"]
            sheet.cell(row_of(sheet, "1.1.1"), column(sheet, "完成时限")).value = datetime.datetime(2026, 12, 30)
            sheet.delete_rows(row_of(sheet, "1.1.2"))

        client.force_login(world.office)
        with exported(world, tmp_path, change).open("rb") as upload:
            response = client.post(
                reverse("rectification:excel:import_upload"), {"inspection_round": world.round.pk, "file": upload}
            )
        page = response.content.decode()
        assert "本文件中以下 1 项措施没有列出（其问题在文件中），导入后<strong>保留不变</strong>" in page
        assert "1.1.2 镇街自查自纠（协办镇）" in page
        assert "1.1.1（责任局）：2026-11-30 → 2026-12-30" in page


@pytest.mark.django_db
class TestPreviewQueries:
    """The preview reads the round once, whatever the size of the file or of the ledger."""

    def test_it_runs_the_same_number_of_queries_for_5_and_19_measures_new_and_again(self, world, tmp_path):
        first, again = [], []
        for problems, measures_each in ((2, 2), (6, 3)):
            inspection_round = _round_like(world, f"预览轮次{problems}")
            path = _bulk_file(tmp_path, problems, measures_each, name=f"{problems}.xlsx")
            with CaptureQueriesContext(connection) as new:
                plan = ledger_plan(path, inspection_round=inspection_round)
            assert plan.summary()["measures_created"] == problems * measures_each + 1
            first.append(len(new))
            ledger_import(actor=world.office, plan=plan)
            with CaptureQueriesContext(connection) as reread:
                plan = ledger_plan(path, inspection_round=inspection_round)
            assert plan.summary()["measures_unchanged"] == problems * measures_each + 1
            again.append(len(reread))
        # The round is read once (units, leaders, aspects, problems with their lists, measures with
        # their milestones, plus the office's column mappings and the stored unit and leader aliases):
        # fifteen queries for a new file as for one read again.
        assert (first, again) == ([15, 15], [15, 15])
