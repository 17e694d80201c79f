"""The import page's blank template and filled example: generated, downloadable by the office, and
read by the import as they are."""

import datetime
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from rectification.excel.imports import ledger_plan
from rectification.excel.samples import MEASURE_COLUMNS, PROBLEM_COLUMNS
from rectification.models import DeadlineCategory, Measure, Problem
from rectification.services.ledger_import import ledger_import

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def download(client, user, name, **kwargs):
    client.force_login(user)
    return client.get(reverse(f"rectification:excel:{name}", kwargs=kwargs))


def saved(response, tmp_path, name="sample.xlsx"):
    path = tmp_path / name
    path.write_bytes(response.content)
    return path


@pytest.mark.django_db
class TestImportTemplate:
    def test_it_has_the_headers_the_import_reads(self, world, client):
        response = download(client, world.office, "import_template")
        assert response.status_code == 200 and response["Content-Type"] == XLSX
        book = load_workbook(io.BytesIO(response.content))
        assert book.sheetnames == ["问题清单", "任务清单"]
        assert [c.value for c in book["问题清单"][2]] == [c.header for c in PROBLEM_COLUMNS]
        assert [c.value for c in book["任务清单"][2]] == [c.header for c in MEASURE_COLUMNS]
        assert "问题编号" in [c.header for c in PROBLEM_COLUMNS] and "进展状态" not in [
            c.header for c in PROBLEM_COLUMNS
        ]
        assert book["问题清单"].max_row == 2

    def test_it_is_read_as_an_empty_ledger(self, world, client, tmp_path):
        plan = ledger_plan(
            saved(download(client, world.office, "import_template"), tmp_path), inspection_round=world.round
        )
        assert [str(issue) for issue in plan.errors] == ["台账中没有找到任何问题或措施。"]

    def test_it_is_the_offices_alone(self, world, client):
        assert download(client, world.resp_staff, "import_template").status_code == 403
        assert download(client, world.leader, "import_template").status_code == 403


@pytest.mark.django_db
class TestImportExample:
    def test_on_a_round_with_a_ledger_it_adds_two_problems_under_new_codes_and_changes_none(
        self, world, client, tmp_path
    ):
        before = list(Problem.objects.filter(round=world.round).values())
        measures = list(Measure.objects.filter(problem__round=world.round).values())
        plan = ledger_plan(
            saved(download(client, world.office, "import_example", round_id=world.round.pk), tmp_path),
            inspection_round=world.round,
        )
        assert plan.errors == []
        assert [(d.code, d.action) for d in plan.problems] == [("2.1", "create"), ("2.2", "create")]
        assert [(d.code, d.action) for d in plan.measures] == [
            ("2.1.1", "create"),
            ("2.1.2", "create"),
            ("2.2.1", "create"),
        ]
        ledger_import(actor=world.office, plan=plan)
        assert list(Problem.objects.filter(round=world.round, code="1.1").values()) == before
        assert list(Measure.objects.filter(problem__round=world.round, problem__code="1.1").values()) == measures

    def test_it_imports_cleanly_field_by_field(self, world, client, tmp_path):
        fresh = world.make_round("示例轮次", feedback_date=datetime.date(2026, 9, 1))
        response = download(client, world.office, "import_example", round_id=fresh.pk)
        assert response.status_code == 200 and response["Content-Type"] == XLSX
        plan = ledger_plan(saved(response, tmp_path), inspection_round=fresh)
        assert plan.errors == []
        assert {k: v for k, v in plan.summary().items() if v} == {
            "aspects_created": 1,
            "problems_created": 2,
            "measures_created": 3,
        }
        ledger_import(actor=world.office, plan=plan)

        first = Problem.objects.get(round=fresh, code="1.1")
        assert (first.title, first.aspect.title, first.track.kind) == (
            "公务用车管理不规范",
            "落实全面从严治党主体责任方面",
            "general",
        )
        assert (first.problem_type, first.deadline_category, first.due_date) == (
            Problem.ProblemType.SPECIFIC,
            DeadlineCategory.BY_DATE,
            fresh.report_deadline,
        )
        assert [m.text for m in first.manifestations.all()] == ["某局以维修名义报销私车费用", "超编制配备公务用车"]
        assert list(first.criteria.values_list("text", flat=True)) == ["违规费用全部追回", "出台公务用车管理办法"]
        # The system's first leaders and units, by their order.
        assert (first.lead_official, list(first.responsible_leaders.all())) == (world.leader, [world.other_leader])
        assert first.lead_unit.name == "整改办" and [u.name for u in first.responsible_units.all()] == ["组织部"]
        second = Problem.objects.get(round=fresh, code="1.2")
        assert (second.deadline_category, second.due_date) == (DeadlineCategory.LONG_TERM, None)

        measures = {m.code: m for m in Measure.objects.filter(problem__round=fresh)}
        assert set(measures) == {"1.1.1", "1.1.2", "1.2.1"}
        assert (measures["1.1.1"].kind, measures["1.1.1"].due_date, measures["1.1.1"].handler_phone) == (
            Measure.Kind.RECOVERY,
            datetime.date(2026, 10, 1),
            "0571-88000000",
        )
        assert list(measures["1.1.1"].milestones.values_list("title", "due_date")) == [
            ("完成摸底排查", datetime.date(2026, 9, 11)),
            ("追回违规资金", datetime.date(2026, 9, 26)),
        ]
        assert measures["1.1.2"].due_date == datetime.date(2026, 10, 31)
        # 立行立改并长期坚持, no date: the report deadline as its stage deadline.
        assert (measures["1.2.1"].kind, measures["1.2.1"].due_date) == (Measure.Kind.IMMEDIATE, fresh.report_deadline)

    def test_it_is_the_offices_alone(self, world, client):
        assert download(client, world.resp_staff, "import_example", round_id=world.round.pk).status_code == 403
        assert download(client, world.outsider, "import_example", round_id=world.round.pk).status_code == 403

    def test_it_answers_404_for_a_round_that_does_not_exist(self, world, client):
        assert download(client, world.office, "import_example", round_id=999999).status_code == 404

    def test_the_import_page_links_both(self, world, client):
        client.force_login(world.office)
        page = client.get(reverse("rectification:excel:index"), {"round": world.round.pk}).content.decode()
        assert reverse("rectification:excel:import_template") in page
        assert reverse("rectification:excel:import_example", kwargs={"round_id": world.round.pk}) in page
