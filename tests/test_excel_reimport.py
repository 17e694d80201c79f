"""Re-importing an exported ledger: zero differences, measures left out are kept, and a moved due
date of a claimed measure re-plans its milestones and tells its unit."""

import datetime
import io

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from accounts.models import AuditEvent
from rectification import services
from rectification.excel import exports
from rectification.excel.imports import ledger_plan
from rectification.models import CloseOutState, Measure, Milestone, Notification, Problem
from rectification.services.ledger_import import ledger_import

from .conftest import week_report_data
from .test_excel_imports import _bulk_file, _round_like
from .test_excel_layouts import EXPECTED, ROWS, coded, fresh_round, snapshot
from .test_excel_views import _token, private_media  # noqa: F401  (the fixture keeps uploads private)

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
        assert "本文件中以下 1 项措施没有列出（其问题在文件中）。默认<strong>保留不变</strong>" in page
        assert "<td>镇街自查自纠</td><td>协办镇</td>" in page
        # Keep is chosen already; withdraw is offered beside it, in the confirm form.
        pk = world.coop_measure.pk
        assert f'form="import-confirm" name="missing-{pk}" value="keep" checked> 保留' in page
        assert f'form="import-confirm" name="missing-{pk}" value="withdraw"> 撤销' in page
        assert "1.1.1（责任局）：2026-11-30 → 2026-12-30" in page


def fields(measure):
    """Every stored field of a measure but its last-changed time, for a field-by-field comparison."""
    measure.refresh_from_db()
    return {f.attname: getattr(measure, f.attname) for f in Measure._meta.concrete_fields if f.name != "updated_at"}


def upload(client, world, path):
    client.force_login(world.office)
    with path.open("rb") as handle:
        return client.post(
            reverse("rectification:excel:import_upload"), {"inspection_round": world.round.pk, "file": handle}
        )


def drop_coop_measure(book):
    sheet = book["任务清单"]
    sheet.delete_rows(row_of(sheet, "1.1.2"))


@pytest.mark.django_db
class TestKeptUpAfterItsDate:
    """立行立改并长期坚持 / 年底前完成并长期坚持: a due date plus 完成后长期坚持, stored and round-tripped."""

    def test_the_export_writes_it_and_a_reimport_changes_nothing(self, world, tmp_path, client):
        Measure.objects.filter(pk=world.resp_measure.pk).update(ongoing_after_due=True)
        before = fields(world.resp_measure)
        captured = {}

        def read(book):
            sheet = book["任务清单"]
            captured["cell"] = sheet.cell(row_of(sheet, "1.1.1"), column(sheet, "完成时限")).value
            captured["other"] = sheet.cell(row_of(sheet, "1.1.2"), column(sheet, "完成时限")).value

        plan = ledger_plan(exported(world, tmp_path, read), inspection_round=world.round)
        assert captured == {"cell": "2026-11-30并长期坚持", "other": datetime.datetime(2026, 10, 31)}
        assert plan.errors == []
        assert {key: value for key, value in plan.summary().items() if value} == {
            "problems_unchanged": 1,
            "measures_unchanged": 2,
        }
        # The ledger's own way of writing it needs no explanation in the preview.
        assert not [str(w) for w in plan.warnings if "长期坚持" in str(w)]
        ledger_import(actor=world.office, plan=plan)
        assert fields(world.resp_measure) == before
        # Shown wherever the measure's deadline is: its page, its problem's page, the measure list.
        client.force_login(world.office)
        for url in (
            world.resp_measure.get_absolute_url(),
            world.problem.get_absolute_url(),
            reverse("rectification:measure_list") + f"?round={world.round.pk}",
        ):
            page = client.get(url).content.decode()
            assert page.count('<span class="tag">完成后长期坚持</span>') == 1, url

    def test_a_file_that_drops_the_words_ends_it_and_says_so(self, world, tmp_path):
        Measure.objects.filter(pk=world.resp_measure.pk).update(ongoing_after_due=True)

        def plain_date(book):
            sheet = book["任务清单"]
            sheet.cell(row_of(sheet, "1.1.1"), column(sheet, "完成时限")).value = datetime.datetime(2026, 11, 30)

        plan = ledger_plan(exported(world, tmp_path, plain_date), inspection_round=world.round)
        assert plan.errors == []
        [draft] = [d for d in plan.measures if d.code == "1.1.1"]
        assert draft.values == {"ongoing_after_due": False}
        assert [(c.label, c.old, c.new) for c in draft.changes] == [("完成后长期坚持", "是", "否")]
        assert plan.moved_due_dates == []
        ledger_import(actor=world.office, plan=plan)
        after = fields(world.resp_measure)
        assert (after["due_date"], after["ongoing_after_due"]) == (datetime.date(2026, 11, 30), False)


@pytest.mark.django_db
class TestWithdrawingLeftOutMeasures:
    """The preview offers 保留 / 撤销 for each measure the file leaves out; keep is the default."""

    def test_keep_is_the_default_when_nothing_is_chosen(self, world, tmp_path, client):
        response = upload(client, world, exported(world, tmp_path, drop_coop_measure))
        before = fields(world.coop_measure)
        confirmed = client.post(reverse("rectification:excel:import_confirm"), {"token": _token(response)})
        assert confirmed.status_code == 302
        assert fields(world.coop_measure) == before

    def test_a_withdrawn_measure_leaves_the_ledger_with_who_when_and_why_and_its_unit_is_told(
        self, world, tmp_path, client
    ):
        response = upload(client, world, exported(world, tmp_path, drop_coop_measure))
        pk, kept = world.coop_measure.pk, fields(world.resp_measure)
        confirmed = client.post(
            reverse("rectification:excel:import_confirm"),
            {"token": _token(response), f"missing-{pk}": "withdraw"},
            follow=True,
        )
        assert "撤销文件中未列出的措施1个，已通知其责任单位。" in confirmed.content.decode()
        assert not Measure.objects.filter(pk=pk).exists()
        assert fields(world.resp_measure) == kept
        event = AuditEvent.objects.get(action="measure.withdraw", target_id=str(pk))
        assert event.actor == world.office
        assert event.changes["code"] == "1.1.2" and event.changes["owner_unit"] == "协办镇"
        assert (event.changes["state"], event.changes["step"], event.changes["file"]) == (
            "claimed",
            "重新导入台账时文件中未列出",
            "ledger.xlsx",
        )
        notice = Notification.objects.get(recipient=world.coop_staff, dedup_key=f"measure-withdrawn:{pk}")
        assert (
            notice.text
            == "整改办撤销了措施 1.1.2（镇街自查自纠），原因：重新导入台账时文件中未列出。该措施不再需要填报。"
        )
        assert not Notification.objects.filter(recipient=world.resp_staff, dedup_key=f"measure-withdrawn:{pk}").exists()
        # Every count goes by the measures that are there: the list says what it lists.
        page = client.get(reverse("rectification:measure_list") + f"?round={world.round.pk}").content.decode()
        raw = Measure.objects.filter(problem__round=world.round).count()
        assert raw == 1
        assert f"共 {raw} 项" in page and "镇街自查自纠" not in page
        assert client.get(reverse("rectification:measure_detail", args=[pk])).status_code == 404

    @pytest.mark.parametrize(
        "state, reason",
        [
            (CloseOutState.CLOSED, "措施“1.1.2”已销号，不能撤销。"),
            (CloseOutState.PENDING_LEAD_UNIT, "措施“1.1.2”正在销号审核中，不能撤销。"),
            (CloseOutState.PENDING_OFFICE, "措施“1.1.2”正在销号审核中，不能撤销。"),
        ],
    )
    def test_a_closed_measure_or_one_in_review_is_kept_with_the_reason(self, world, tmp_path, client, state, reason):
        Measure.objects.filter(pk=world.coop_measure.pk).update(closeout_state=state)

        def change(book):
            drop_coop_measure(book)
            sheet = book["任务清单"]
            sheet.cell(row_of(sheet, "1.1.1"), column(sheet, "完成时限")).value = datetime.datetime(2026, 11, 20)

        response = upload(client, world, exported(world, tmp_path, change))
        page = response.content.decode()
        pk = world.coop_measure.pk
        assert reason in page and f'name="missing-{pk}"' not in page
        before = {m.pk: fields(m) for m in (world.coop_measure, world.resp_measure)}
        # Asked anyway (a form kept from before): refused, and nothing of the file is saved.
        refused = client.post(
            reverse("rectification:excel:import_confirm"), {"token": _token(response), f"missing-{pk}": "withdraw"}
        )
        assert refused.status_code == 200
        assert f"导入失败，未保存任何数据：{reason}" in refused.content.decode()
        assert {m.pk: fields(m) for m in (world.coop_measure, world.resp_measure)} == before

    def test_a_measure_with_reports_is_kept_with_the_reason(self, world, tmp_path):
        services.report_save(
            actor=world.coop_staff,
            measure=world.coop_measure,
            iso_year=2026,
            iso_week=48,
            data=week_report_data(),
            lock_version=None,
        )
        plan = ledger_plan(exported(world, tmp_path, drop_coop_measure), inspection_round=world.round)
        with pytest.raises(ValidationError) as refused:
            ledger_import(actor=world.office, plan=plan, withdraw=[world.coop_measure])
        assert refused.value.messages == [
            "措施“1.1.2”已有进展报告、佐证材料、督办、变更或销号等记录，不能撤销，请保留。"
        ]
        assert Measure.objects.filter(pk=world.coop_measure.pk).exists()

    def test_only_a_measure_the_file_leaves_out_can_be_withdrawn(self, world, tmp_path):
        plan = ledger_plan(exported(world, tmp_path), inspection_round=world.round)
        with pytest.raises(ValidationError, match="只能撤销本文件中未列出的措施"):
            ledger_import(actor=world.office, plan=plan, withdraw=[world.coop_measure])
        assert Measure.objects.filter(pk=world.coop_measure.pk).exists()

    @pytest.mark.parametrize(
        "key, value, message",
        [
            ("missing-{pk}", "maybe", "措施“1.1.2”请选择“保留”或“撤销”。"),
            ("missing-{other}", "withdraw", "所选措施已不在本文件未列出的措施中，请核对下面的最新预览后再确认。"),
            ("missing-abc", "withdraw", "所选措施已不在本文件未列出的措施中，请核对下面的最新预览后再确认。"),
        ],
    )
    def test_a_bad_choice_is_refused_in_chinese(self, world, tmp_path, client, key, value, message):
        response = upload(client, world, exported(world, tmp_path, drop_coop_measure))
        key = key.format(pk=world.coop_measure.pk, other=world.resp_measure.pk)
        refused = client.post(reverse("rectification:excel:import_confirm"), {"token": _token(response), key: value})
        assert refused.status_code == 200
        assert message in refused.content.decode()
        assert Measure.objects.filter(problem=world.problem).count() == 2


@pytest.mark.django_db
class TestShiftedCodes:
    """A measure inserted in the middle, the codes after it renumbered: matched by text, nothing overwritten."""

    def insert(self, book):
        sheet = book["任务清单"]
        row = row_of(sheet, "1.1.2")
        sheet.cell(row, column(sheet, "措施编号")).value = "1.1.3"
        sheet.insert_rows(row)
        for header, value in {
            "问题编号": "1.1",
            "措施编号": "1.1.2",
            "整改措施": "建立津补贴发放台账",
            "措施类别": "建章立制",
            "责任单位": "责任局",
            "经办人": "王经办",
            "开始日期": datetime.datetime(2026, 9, 10),
            "完成时限": "年底前完成并长期坚持",
        }.items():
            sheet.cell(row, column(sheet, header)).value = value

    def test_the_preview_says_so_and_the_old_measures_keep_their_text(self, world, tmp_path, client):
        before = {m.pk: fields(m) for m in (world.resp_measure, world.coop_measure)}
        response = upload(client, world, exported(world, tmp_path, self.insert))
        page = response.content.decode()
        assert (
            "工作表“任务清单”：检测到编号整体错位，已按内容匹配（问题“1.1”）："
            "第4行（编号“1.1.2”）为新措施，编号改为“1.1.3”；第5行（编号“1.1.3”）按内容为已有措施“1.1.2”。"
        ) in page
        plan = response.context["plan"]
        assert [(d.code, d.action) for d in plan.measures] == [
            ("1.1.1", "unchanged"),
            ("1.1.3", "create"),
            ("1.1.2", "unchanged"),
        ]
        assert plan.missing_measures == []
        confirmed = client.post(reverse("rectification:excel:import_confirm"), {"token": _token(response)})
        assert confirmed.status_code == 302
        assert {m.pk: fields(m) for m in (world.resp_measure, world.coop_measure)} == before
        new = Measure.objects.get(problem=world.problem, code="1.1.3")
        assert {name: value for name, value in fields(new).items() if name not in ("id", "created_at")} == {
            "problem_id": world.problem.pk,
            "code": "1.1.3",
            # Placed after the problem's measures (the world's were created without a number, 0).
            "seq": 1,
            "text": "建立津补贴发放台账",
            "kind": Measure.Kind.RULES,
            "owner_unit_id": world.resp_unit.pk,
            "handler_name": "王经办",
            "handler_phone": "",
            "start_date": datetime.date(2026, 9, 10),
            "due_date": datetime.date(2026, 12, 31),
            "ongoing_after_due": True,
            "expected_deliverable": "",
            "progress_state": "not_started",
            "percent": 0,
            "latest_progress": "",
            "last_reported_at": None,
            "closeout_state": "not_applied",
            "claim_state": "pending",
            "claimed_by_id": None,
            "claimed_at": None,
            "objection_reason": "",
        }

    def test_a_text_changed_under_its_own_code_is_still_an_edit(self, world, tmp_path):
        def edit(book):
            sheet = book["任务清单"]
            sheet.cell(row_of(sheet, "1.1.2"), column(sheet, "整改措施")).value = "镇街全面自查自纠"

        plan = ledger_plan(exported(world, tmp_path, edit), inspection_round=world.round)
        assert not [str(w) for w in plan.warnings if "错位" in str(w)]
        [draft] = [d for d in plan.measures if d.action == "update"]
        assert (draft.existing, draft.values) == (world.coop_measure, {"text": "镇街全面自查自纠"})


def problem_fields(problem):
    """Every stored field of a problem but its last-changed time, with its lists."""
    problem.refresh_from_db()
    values = {f.attname: getattr(problem, f.attname) for f in Problem._meta.concrete_fields if f.name != "updated_at"}
    values["manifestations"] = [m.text for m in problem.manifestations.order_by("seq")]
    values["responsible_units"] = sorted(u.name for u in problem.responsible_units.all())
    values["responsible_leaders"] = sorted(u.full_name for u in problem.responsible_leaders.all())
    return values


NEW_PROBLEM = "借考察名义公款旅游"


@pytest.mark.django_db
class TestShiftedProblemCodes:
    """A problem inserted in the middle of an exported ledger, the problem codes after it (and so
    the codes of their measures) renumbered on both sheets: matched by title, nothing overwritten."""

    def ledger(self, world, tmp_path):
        inspection_round = fresh_round(world)
        ledger_import(
            actor=world.office, plan=ledger_plan(coded(ROWS, tmp_path, "a.xlsx"), inspection_round=inspection_round)
        )
        return inspection_round

    def renumbered(self, world, inspection_round, tmp_path):
        """The export with 公款旅游 inserted as 1.2; 会议文件过多 (1.2, measure 1.2.1) written 1.3 and 1.3.1."""
        content = exports.ledger_export(user=world.office, inspection_round=inspection_round, today=TODAY).content
        book = load_workbook(io.BytesIO(content))
        problems = book["问题清单"]
        codes = column(problems, "问题编号")
        row = next(r for r in range(3, problems.max_row + 1) if problems.cell(r, codes).value == "1.2")
        problems.cell(row, codes).value = "1.3"
        problems.insert_rows(row)
        for header, value in {
            "问题编号": "1.2",
            "方面": "贯彻落实党中央决策部署方面",
            "专项": "综合",
            "反馈问题": NEW_PROBLEM,
            "反馈原文": "个别单位借考察学习名义公款旅游",
            "具体表现": "某局组织赴外地考察，行程以旅游为主",
            "问题类型": "个性问题",
            "整改时限类别": "限期整改",
            "整改时限": datetime.datetime(2026, 11, 30),
            "牵头领导": "王牵头",
            "责任领导": "李其他",
            "牵头单位": "牵头局",
            "责任单位": "责任局",
            "书记领办": "否",
        }.items():
            problems.cell(row, column(problems, header)).value = value
        measures = book["任务清单"]
        row = row_of(measures, "1.2.1")
        measures.cell(row, column(measures, "问题编号")).value = "1.3"
        measures.cell(row, column(measures, "措施编号")).value = "1.3.1"
        measures.insert_rows(row)
        for header, value in {
            "问题编号": "1.2",
            "问题概述": NEW_PROBLEM,
            "措施编号": "1.2.1",
            "整改措施": "清退违规报销的旅游费用",
            "措施类别": "立行立改",
            "责任单位": "责任局",
            "完成时限": datetime.datetime(2026, 10, 31),
        }.items():
            measures.cell(row, column(measures, header)).value = value
        path = tmp_path / "renumbered.xlsx"
        book.save(path)
        return path

    def preview(self, client, world, inspection_round, path):
        client.force_login(world.office)
        with path.open("rb") as handle:
            return client.post(
                reverse("rectification:excel:import_upload"), {"inspection_round": inspection_round.pk, "file": handle}
            )

    def test_the_preview_says_so_the_old_problems_keep_code_and_text_and_a_second_import_changes_nothing(
        self, world, tmp_path, client
    ):
        inspection_round = self.ledger(world, tmp_path)
        old_problems = list(Problem.objects.filter(round=inspection_round).order_by("code"))
        old_measures = list(Measure.objects.filter(problem__round=inspection_round).order_by("id"))
        before_problems = {p.pk: problem_fields(p) for p in old_problems}
        before_measures = {m.pk: fields(m) for m in old_measures}
        path = self.renumbered(world, inspection_round, tmp_path)

        response = self.preview(client, world, inspection_round, path)
        page = response.content.decode()
        assert (
            "工作表“问题清单”：检测到问题编号整体错位，已按反馈问题的内容匹配："
            "第5行（问题编号“1.2”）为新问题，编号改为“1.3”；第6行（问题编号“1.3”）按内容为已有问题“1.2”；"
            "这些问题的措施随问题一并调整编号。"
        ) in page
        plan = response.context["plan"]
        assert [str(e) for e in plan.errors] == []
        assert not [str(w) for w in plan.warnings if "措施" in str(w) and "问题编号" not in str(w)]
        assert [(d.code, d.action) for d in plan.problems] == [
            ("1.1", "unchanged"),
            ("1.3", "create"),
            ("1.2", "unchanged"),
            ("2.1", "unchanged"),
        ]
        assert [(d.problem_code, d.code, d.action) for d in plan.measures] == [
            ("1.1", "1.1.1", "unchanged"),
            ("1.1", "1.1.2", "unchanged"),
            ("1.3", "1.3.1", "create"),
            ("1.2", "1.2.1", "unchanged"),
            ("2.1", "2.1.1", "unchanged"),
            ("2.1", "2.1.2", "unchanged"),
        ]
        assert plan.missing_measures == [] and plan.moved_due_dates == []

        confirmed = client.post(reverse("rectification:excel:import_confirm"), {"token": _token(response)})
        assert confirmed.status_code == 302
        # Every existing problem and measure is the same row, field by field, code and text included.
        assert {p.pk: problem_fields(p) for p in old_problems} == before_problems
        assert {m.pk: fields(m) for m in old_measures} == before_measures
        new = Problem.objects.get(round=inspection_round, title=NEW_PROBLEM)
        assert {k: v for k, v in problem_fields(new).items() if k not in ("id", "created_at", "seq")} == {
            "round_id": inspection_round.pk,
            "code": "1.3",
            "aspect_id": old_problems[0].aspect_id,
            "track_id": old_problems[0].track_id,
            "title": NEW_PROBLEM,
            "text": "个别单位借考察学习名义公款旅游",
            "problem_type": Problem.ProblemType.SPECIFIC,
            "deadline_category": "by_date",
            "due_date": datetime.date(2026, 11, 30),
            "lead_official_id": world.leader.pk,
            "lead_unit_id": world.lead_unit.pk,
            "goal": "",
            "campaign_id": None,
            "previous_problem_id": None,
            "is_secretary_led": False,
            "progress_state": "not_started",
            "closeout_state": "not_applied",
            "manifestations": ["某局组织赴外地考察，行程以旅游为主"],
            "responsible_units": ["责任局"],
            "responsible_leaders": ["李其他"],
        }
        [measure] = new.measures.all()
        assert (measure.code, measure.text, measure.kind, measure.owner_unit, measure.due_date) == (
            "1.3.1",
            "清退违规报销的旅游费用",
            Measure.Kind.IMMEDIATE,
            world.resp_unit,
            datetime.date(2026, 10, 31),
        )
        assert snapshot(inspection_round) == {
            **EXPECTED,
            "1.3": (
                EXPECTED["1.1"][0],
                NEW_PROBLEM,
                ["某局组织赴外地考察，行程以旅游为主"],
                "王牵头",
                {"李其他"},
                "牵头局",
                {"责任局"},
                ("by_date", datetime.date(2026, 11, 30)),
                [
                    (
                        "1.3.1",
                        "清退违规报销的旅游费用",
                        Measure.Kind.IMMEDIATE,
                        "责任局",
                        datetime.date(2026, 10, 31),
                        False,
                    )
                ],
            ),
        }

        # The same file again: matched by title once more, nothing left to change.
        again = self.preview(client, world, inspection_round, path)
        plan = again.context["plan"]
        assert [str(e) for e in plan.errors] == []
        assert {d.action for d in plan.problems} | {d.action for d in plan.measures} == {"unchanged"}
        assert len(plan.problems) == 4 and len(plan.measures) == 6 and plan.missing_measures == []
        assert (
            "第5行（问题编号“1.2”）按内容为已有问题“1.3”；第6行（问题编号“1.3”）按内容为已有问题“1.2”"
        ) in again.content.decode()

    def test_a_title_changed_under_its_own_code_is_still_an_edit(self, world, tmp_path):
        inspection_round = self.ledger(world, tmp_path)
        content = exports.ledger_export(user=world.office, inspection_round=inspection_round, today=TODAY).content
        book = load_workbook(io.BytesIO(content))
        sheet = book["问题清单"]
        codes, titles = column(sheet, "问题编号"), column(sheet, "反馈问题")
        row = next(r for r in range(3, sheet.max_row + 1) if sheet.cell(r, codes).value == "1.2")
        sheet.cell(row, titles).value = "会议文件过多过滥"
        path = tmp_path / "edited.xlsx"
        book.save(path)
        plan = ledger_plan(path, inspection_round=inspection_round)
        assert not [str(w) for w in plan.warnings if "错位" in str(w)]
        [draft] = [d for d in plan.problems if d.action == "update"]
        assert (draft.code, draft.values) == ("1.2", {"title": "会议文件过多过滥"})


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
