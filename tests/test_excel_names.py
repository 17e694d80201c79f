"""Names as ledgers write them: short and bracketed units, several per cell, unknown leaders and
units kept as pending (待开通), aliases and column mappings remembered, binding by the system
administrator giving access.

The ledgers are real .xlsx files built here with openpyxl in the layout districts circulate: a
merged title, 序号 without codes, an aspect on a row of its own, one row per measure.
"""

import datetime
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook

from accounts.models import AuditEvent, NameAlias, Unit, User
from accounts.roles import Role
from accounts.services import unit_create, user_create
from rectification.access import measures_visible_to, problems_visible_to
from rectification.excel import exports
from rectification.excel.imports import ledger_plan
from rectification.excel.names import PendingName, likeness
from rectification.models import DispatchSheet, ImportColumnMapping, Notification, Problem, WeeklyCycle
from rectification.services.ledger_import import ledger_import
from rectification.services.pending import (
    column_mapping_set,
    name_alias_add,
    pending_leader_bind,
    pending_send_to_admins,
    pending_unit_bind,
    pending_unit_open,
)

from .conftest import PASSWORD

TODAY = datetime.date(2026, 11, 26)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADERS = ["序号", "反馈问题", "整改措施", "牵头领导", "责任领导（分管）", "牵头单位", "责任单位", "完成时限"]


def ledger(rows, headers=HEADERS):
    """A one-sheet ledger: merged title, header, an aspect row, then ``rows`` (dicts by header)."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "整改台账"
    sheet.append(["某区落实省委巡视反馈意见整改台账"])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
    sheet.append(headers)
    sheet.append(["一、作风建设方面"])
    sheet.merge_cells(start_row=3, start_column=1, end_row=3, end_column=len(headers))
    for number, row in enumerate(rows, start=1):
        sheet.append([number if header == "序号" else row.get(header) for header in headers])
    buffer = io.BytesIO()
    workbook.save(buffer)
    workbook.close()
    return buffer.getvalue()


def row(**changes):
    values = {
        "反馈问题": "公务接待超标准",
        "整改措施": "全面清查2025年以来的公务接待",
        "牵头领导": "王牵头",
        "责任领导（分管）": "李其他",
        "牵头单位": "牵头局",
        "责任单位": "责任局",
        "完成时限": "2026-11-30",
    }
    values.update(changes)
    return values


def plan_of(world, tmp_path, content, name="ledger.xlsx"):
    path = tmp_path / name
    path.write_bytes(content)
    return ledger_plan(path, inspection_round=world.round)


def imported(world, tmp_path, content, name="ledger.xlsx"):
    plan = plan_of(world, tmp_path, content, name)
    assert [str(e) for e in plan.errors] == []
    ledger_import(actor=world.office, plan=plan)
    return Problem.objects.get(round=world.round, title=row()["反馈问题"])


@pytest.fixture
def health(world):
    """区卫生健康局 and 区市场监督管理局, each with a liaison."""
    health = unit_create(actor=None, name="区卫生健康局", level=Unit.Level.DEPARTMENT, kind=Unit.Kind.GOVERNMENT)
    market = unit_create(actor=None, name="区市场监督管理局", level=Unit.Level.DEPARTMENT, kind=Unit.Kind.GOVERNMENT)
    staff = user_create(
        actor=None, username="wjj_lly", full_name="卫联络", password=PASSWORD, unit=health, roles=[Role.LIAISON]
    )
    return {"unit": health, "market": market, "staff": staff}


@pytest.mark.django_db
class TestNamesAsWritten:
    @pytest.mark.parametrize(
        "written",
        [
            "区卫生健康局、区市场监督管理局",
            "区卫生健康局，区市场监督管理局",
            "区卫生健康局;区市场监督管理局",
            "区卫生健康局/区市场监督管理局",
            "区卫生健康局\n区市场监督管理局",
            "区 卫生健康局、 卫生健康局、市场监督管理局",
        ],
    )
    def test_it_reads_several_units_per_cell_with_spaces_and_without_the_district(
        self, world, tmp_path, health, written
    ):
        plan = plan_of(world, tmp_path, ledger([row(责任单位=written)]))
        assert [str(e) for e in plan.errors] == []
        problem = plan.problems[0]
        assert problem.values["responsible_units"] == [health["unit"], health["market"]]
        assert [m.values["owner_unit"] for m in plan.measures] == [health["unit"]]

    def test_it_reads_full_width_brackets_as_half_width(self, world, tmp_path):
        office = unit_create(actor=None, name="区政府办公室(外事办)", level=Unit.Level.ORGAN, kind=Unit.Kind.GOVERNMENT)
        plan = plan_of(world, tmp_path, ledger([row(牵头单位="区政府办公室（外事办）")]))
        assert plan.problems[0].values["lead_unit"] == office
        (shown,) = [r for r in plan.names.listed() if r.written == "区政府办公室（外事办）"]
        assert (shown.status, shown.status_label, shown.bound) == ("exact", "名称一致", True)

    def test_it_never_binds_a_short_name_to_the_unit_it_suggests(self, world, tmp_path, health):
        plan = plan_of(world, tmp_path, ledger([row(牵头单位="卫健局", 责任单位="市监局")]))
        assert [str(e) for e in plan.errors] == []
        draft = plan.problems[0]
        assert draft.values["lead_unit"] == PendingName("unit", "卫健局")
        assert draft.values["responsible_units"] == [PendingName("unit", "市监局")]
        shown = {r.written: r for r in plan.names.listed()}
        assert shown["卫健局"].status == "new" and not shown["卫健局"].bound
        assert shown["卫健局"].suggestions == [(health["unit"], 81)]
        assert shown["市监局"].suggestions == [(health["market"], 75)]
        # The names not bound come first in the preview.
        assert [r.written for r in plan.names.listed()][:2] == ["卫健局", "市监局"]

    def test_it_scores_likeness_of_written_names(self):
        assert likeness("卫生健康局", "区卫生健康局") == 100
        assert likeness("卫健局", "区卫生健康局") == 81
        assert likeness("市监局", "区市场监督管理局") == 75
        assert likeness("财政局", "区卫生健康局") < 50

    def test_it_refuses_a_short_name_registered_for_two_units(self, world, tmp_path):
        for name in ("区财政局", "区财政所"):
            unit = unit_create(actor=None, name=name, level=Unit.Level.DEPARTMENT, kind=Unit.Kind.GOVERNMENT)
            Unit.objects.filter(pk=unit.pk).update(short_name="财政")
        plan = plan_of(world, tmp_path, ledger([row(牵头单位="财政")]))
        assert [str(e) for e in plan.errors] == [
            "工作表“整改台账”第4行F列（牵头单位）：单位简称“财政”对应多个单位（区财政局、区财政所），请填写单位全称"
        ]

    def test_it_refuses_two_leaders_of_one_name_until_the_post_is_written(self, world, tmp_path):
        user_create(
            actor=None, username="w2", full_name="王牵头", password=PASSWORD, title="副区长", roles=[Role.LEADER]
        )
        plan = plan_of(world, tmp_path, ledger([row()]))
        assert [str(e) for e in plan.errors] == [
            "工作表“整改台账”第4行D列（牵头领导）：有2位区领导名为“王牵头”，请写成“王牵头（职务）”以便区分"
        ]
        plan = plan_of(world, tmp_path, ledger([row(牵头领导="王牵头（副区长）")]), "b.xlsx")
        assert plan.problems[0].values["lead_official"].username == "w2"


@pytest.mark.django_db
class TestPendingOnImport:
    def test_it_imports_with_unknown_leaders_and_units_kept_as_pending(self, world, tmp_path, health):
        problem = imported(
            world, tmp_path, ledger([row(牵头领导="赵新来", 牵头单位="卫健委", 责任单位="卫健委、责任局")])
        )
        pending_unit = Unit.objects.get(name="卫健委")
        pending_leader = User.objects.get(full_name="赵新来")
        assert (pending_unit.is_pending, pending_unit.is_active, str(pending_unit)) == (True, True, "卫健委（待开通）")
        assert (pending_leader.is_pending, pending_leader.is_active, pending_leader.has_usable_password()) == (
            True,
            False,
            False,
        )
        assert str(pending_leader) == "赵新来（待开通）"
        assert problem.lead_official == pending_leader
        assert problem.lead_unit == pending_unit
        assert set(problem.responsible_units.all()) == {pending_unit, world.resp_unit}
        measure = problem.measures.get()
        assert measure.owner_unit == pending_unit
        # Nobody but the office sees what waits for a pending unit; the real 卫健局 is not given it.
        assert problem in problems_visible_to(world.office)
        assert problem not in problems_visible_to(health["staff"])
        assert measure not in measures_visible_to(health["staff"])
        assert AuditEvent.objects.filter(action="pending.create").count() == 2

    def test_a_second_import_finds_the_same_pending_unit(self, world, tmp_path):
        imported(world, tmp_path, ledger([row(牵头单位="卫健委")]))
        plan = plan_of(world, tmp_path, ledger([row(牵头单位="卫健委", 整改措施="另一项措施")]), "b.xlsx")
        (shown,) = [r for r in plan.names.listed() if r.written == "卫健委"]
        assert shown.status == "pending"
        ledger_import(actor=world.office, plan=plan)
        assert Unit.objects.filter(name="卫健委").count() == 1

    def test_an_export_with_pending_names_reads_back_unchanged(self, world, tmp_path):
        problem = imported(
            world,
            tmp_path,
            ledger(
                [
                    row(
                        **{
                            "牵头领导": "赵新来",
                            "责任领导（分管）": "赵新来、李其他",
                            "牵头单位": "卫健委",
                            "责任单位": "卫健委",
                        }
                    )
                ]
            ),
        )
        content = exports.ledger_export(user=world.office, inspection_round=world.round, today=TODAY).content
        plan = plan_of(world, tmp_path, content, "export.xlsx")
        assert [str(e) for e in plan.errors] == []
        assert {d.action for d in plan.problems} == {"unchanged"}
        assert {d.action for d in plan.measures} == {"unchanged"}
        assert plan.summary()["problems_unchanged"] == Problem.objects.filter(round=world.round).count() == 2
        assert {r.written: r.status for r in plan.names.listed()}["卫健委"] == "pending"
        assert problem.lead_unit.name == "卫健委"

    def test_a_failed_import_keeps_no_pending_unit(self, world, tmp_path):
        plan = plan_of(world, tmp_path, ledger([row(牵头单位="卫健委")]))
        plan.measures[0].values["due_date"] = None  # the save fails inside the transaction
        with pytest.raises(ValidationError):
            ledger_import(actor=world.office, plan=plan)
        assert not Unit.objects.filter(name="卫健委").exists()


@pytest.mark.django_db
class TestAliases:
    def test_an_alias_is_used_by_every_later_import(self, world, tmp_path, health):
        name_alias_add(actor=world.office, kind="unit", written="区卫健局", target=health["unit"])
        first = plan_of(world, tmp_path, ledger([row(牵头单位="区卫健局")]))
        (shown,) = [r for r in first.names.listed() if r.written == "区卫健局"]
        assert (shown.status, shown.target) == ("alias", health["unit"])
        ledger_import(actor=world.office, plan=first)
        second = plan_of(world, tmp_path, ledger([row(牵头单位="区 卫健局", 整改措施="第二次导入的措施")]), "b.xlsx")
        assert second.problems[0].action == "unchanged"
        assert second.measures[-1].values["owner_unit"] == world.resp_unit
        ledger_import(actor=world.office, plan=second)
        problem = Problem.objects.get(title=row()["反馈问题"])
        assert problem.lead_unit == health["unit"]
        assert problem in problems_visible_to(health["staff"])
        assert not Unit.objects.filter(is_pending=True).exists()
        event = AuditEvent.objects.get(action="name.alias_add")
        assert event.changes == {"kind": "unit", "written": "区卫健局", "unit": "区卫生健康局"}

    def test_a_leader_alias(self, world, tmp_path):
        name_alias_add(actor=world.office, kind="leader", written="王区长", target=world.leader)
        plan = plan_of(world, tmp_path, ledger([row(牵头领导="王区长")]))
        assert plan.problems[0].values["lead_official"] == world.leader

    def test_only_the_office_adds_aliases_and_only_to_open_units_and_leaders(self, world, health):
        with pytest.raises(PermissionDenied):
            name_alias_add(actor=world.outsider, kind="unit", written="卫健局", target=health["unit"])
        with pytest.raises(ValidationError):
            name_alias_add(actor=world.office, kind="leader", written="张三", target=world.resp_staff)
        pending = unit_create(actor=None, name="卫健委", level=Unit.Level.DEPARTMENT, kind=Unit.Kind.GOVERNMENT)
        Unit.objects.filter(pk=pending.pk).update(is_pending=True)
        pending.refresh_from_db()
        with pytest.raises(ValidationError):
            name_alias_add(actor=world.office, kind="unit", written="卫健", target=pending)


@pytest.mark.django_db
class TestColumnMapping:
    HEADERS = ["序号", "反馈问题", "整改措施", "牵头领导", "牵头单位", "承担单位", "完成时限"]

    def test_one_unknown_header_gives_one_message_naming_it(self, world, tmp_path):
        plan = plan_of(world, tmp_path, ledger([row(承担单位="责任局")], self.HEADERS))
        assert [str(e) for e in plan.errors] == [
            "工作表“整改台账”：缺少“责任单位”列，无法新建措施“1.2.1”。未识别的表头：F列“承担单位”，"
            "如其中一列就是“责任单位”，请把表头改为“责任单位”。"
        ]
        assert plan.unknown_headers == [("整改台账", "F", "承担单位")]

    def test_a_mapped_column_is_read_and_remembered(self, world, tmp_path):
        column_mapping_set(actor=world.office, header="承担单位", target="measure:owner_unit")
        content = ledger([row(承担单位="责任局")], self.HEADERS)
        plan = plan_of(world, tmp_path, content)
        assert [str(e) for e in plan.errors] == []
        assert plan.measures[0].values["owner_unit"] == world.resp_unit
        assert plan.remapped == [("整改台账", "F", "承担单位", "措施：责任单位")]
        # Remembered: another file with the header written with spaces is read the same way.
        other = ledger(
            [row(**{"承 担 单 位": "责任局"})], [h if h != "承担单位" else "承 担 单 位" for h in self.HEADERS]
        )
        assert plan_of(world, tmp_path, other, "b.xlsx").measures[0].values["owner_unit"] == world.resp_unit
        assert ImportColumnMapping.objects.get().target == "measure:owner_unit"

    def test_a_column_mapped_as_not_imported_is_not_reported(self, world, tmp_path):
        column_mapping_set(actor=world.office, header="承担单位", target="ignore")
        headers = [*HEADERS, "承担单位"]
        plan = plan_of(world, tmp_path, ledger([row()], headers))
        assert plan.unknown_headers == [] and [str(e) for e in plan.errors] == []

    def test_it_refuses_a_target_that_is_no_field(self, world):
        with pytest.raises(ValidationError):
            column_mapping_set(actor=world.office, header="承担单位", target="measure:password")
        with pytest.raises(PermissionDenied):
            column_mapping_set(actor=world.outsider, header="承担单位", target="ignore")


@pytest.mark.django_db
class TestBinding:
    def test_binding_a_unit_gives_its_staff_access_at_once(self, world, tmp_path, health):
        problem = imported(world, tmp_path, ledger([row(牵头单位="卫健委", 责任单位="卫健委")]))
        measure = problem.measures.get()
        pending = Unit.objects.get(name="卫健委")
        assert problem not in problems_visible_to(health["staff"])
        pending_unit_bind(actor=world.sysadmin, pending=pending, target=health["unit"])
        problem.refresh_from_db()
        measure.refresh_from_db()
        assert (problem.lead_unit, list(problem.responsible_units.all()), measure.owner_unit) == (
            health["unit"],
            [health["unit"]],
            health["unit"],
        )
        assert problem in problems_visible_to(health["staff"])
        assert measure in measures_visible_to(health["staff"])
        assert problem not in problems_visible_to(world.outsider)
        assert not Unit.objects.filter(name="卫健委").exists()
        assert NameAlias.objects.get(key="卫健委").unit == health["unit"]
        assert Notification.objects.filter(recipient=health["staff"], kind="new_assignment").exists()
        event = AuditEvent.objects.get(action="pending.unit_bind")
        assert event.changes == {"written": "卫健委", "unit": "区卫生健康局", "problems": 1, "measures": 1}
        # The written name is an alias now: the next import binds it without asking.
        plan = plan_of(world, tmp_path, ledger([row(牵头单位="卫健委", 责任单位="卫健委")]), "b.xlsx")
        assert plan.problems[0].action == "unchanged"

    def test_a_pending_unit_history_names_is_kept_disabled_when_bound(self, world, tmp_path, health):
        problem = imported(world, tmp_path, ledger([row(牵头单位="卫健委")]))
        pending = Unit.objects.get(name="卫健委")
        cycle = WeeklyCycle.objects.create(round=world.round, iso_year=2026, iso_week=40)
        DispatchSheet.objects.create(cycle=cycle, unit=pending, content={})
        pending_unit_bind(actor=world.sysadmin, pending=pending, target=health["unit"])
        pending.refresh_from_db()
        assert (pending.is_active, pending.is_pending) == (False, True)
        problem.refresh_from_db()
        assert problem.lead_unit == health["unit"]
        # Disabled, it is neither listed as pending nor matched by a later import: the alias is.
        plan = plan_of(world, tmp_path, ledger([row(牵头单位="卫健委")]), "b.xlsx")
        assert plan.problems[0].action == "unchanged"

    def test_binding_a_leader(self, world, tmp_path):
        problem = imported(
            world, tmp_path, ledger([row(**{"牵头领导": "赵新来", "责任领导（分管）": "赵新来、王牵头"})])
        )
        pending = User.objects.get(full_name="赵新来")
        assert problem not in problems_visible_to(world.other_leader)
        pending_leader_bind(actor=world.sysadmin, pending=pending, target=world.other_leader)
        problem.refresh_from_db()
        assert problem.lead_official == world.other_leader
        assert set(problem.responsible_leaders.all()) == {world.other_leader, world.leader}
        assert problem in problems_visible_to(world.other_leader)
        assert not User.objects.filter(pk=pending.pk).exists()

    def test_opening_a_pending_unit_keeps_its_findings_for_its_future_staff(self, world, tmp_path):
        problem = imported(world, tmp_path, ledger([row(牵头单位="区新设局")]))
        unit = Unit.objects.get(name="区新设局")
        pending_unit_open(actor=world.sysadmin, pending=unit)
        unit.refresh_from_db()
        assert (unit.is_pending, str(unit)) == (False, "区新设局")
        staff = user_create(
            actor=None, username="xs", full_name="新联络", password=PASSWORD, unit=unit, roles=[Role.LIAISON]
        )
        assert problem in problems_visible_to(staff)

    def test_only_the_system_administrator_binds(self, world, tmp_path, health):
        imported(world, tmp_path, ledger([row(牵头单位="卫健委")]))
        pending = Unit.objects.get(name="卫健委")
        for actor in (world.office, world.outsider, world.secadmin):
            with pytest.raises(PermissionDenied):
                pending_unit_bind(actor=actor, pending=pending, target=health["unit"])
        with pytest.raises(ValidationError):
            pending_unit_bind(actor=world.sysadmin, pending=health["unit"], target=world.resp_unit)
        with pytest.raises(ValidationError):
            pending_leader_bind(actor=world.sysadmin, pending=world.leader, target=world.other_leader)

    def test_the_office_sends_the_list_to_the_system_administrators(self, world, tmp_path):
        imported(world, tmp_path, ledger([row(牵头领导="赵新来", 牵头单位="卫健委")]))
        assert pending_send_to_admins(actor=world.office) == 1
        notice = Notification.objects.get(recipient=world.sysadmin)
        assert notice.kind == "pending_accounts"
        assert notice.text == "整改办请开通或绑定2个待开通的领导和单位：卫健委、赵新来"
        assert notice.link == reverse("rectification:pending_bind")
        # The same list twice: no second notice.
        assert pending_send_to_admins(actor=world.office) == 0
        with pytest.raises(PermissionDenied):
            pending_send_to_admins(actor=world.sysadmin)


def _upload(client, world, content):
    upload = SimpleUploadedFile("台账.xlsx", content, content_type=XLSX)
    return client.post(
        reverse("rectification:excel:import_upload"), {"inspection_round": world.round.pk, "file": upload}
    )


@pytest.fixture
def private_media(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    return settings.PRIVATE_MEDIA_ROOT


@pytest.mark.django_db
class TestPreviewPages:
    def test_it_maps_an_unknown_column_from_the_preview(self, world, client, private_media):
        client.force_login(world.office)
        response = _upload(client, world, ledger([row(承担单位="责任局")], TestColumnMapping.HEADERS))
        page = response.content.decode()
        assert "未识别的列" in page and "按此对应并重新预览" in page and "确认导入" not in page
        token = response.context["retry_token"]
        response = client.post(
            reverse("rectification:excel:import_remap"),
            {"token": token, "header": "承担单位", "target": "measure:owner_unit"},
        )
        page = response.content.decode()
        assert "已记住：表头“承担单位”对应“措施：责任单位”" in page
        assert "确认导入" in page
        assert response.context["plan"].measures[0].values["owner_unit"] == world.resp_unit

    def test_it_adds_an_alias_in_one_click_from_the_preview(self, world, client, private_media, health):
        client.force_login(world.office)
        response = _upload(client, world, ledger([row(牵头单位="卫健局")]))
        page = response.content.decode()
        assert "卫健局（待开通）" in page and "区卫生健康局（81%）" in page and "是，记为别名" in page
        assert "确认导入" in page  # an unknown name does not stop the import
        response = client.post(
            reverse("rectification:excel:import_alias"),
            {
                "token": response.context["retry_token"],
                "kind": "unit",
                "written": "卫健局",
                "target": health["unit"].pk,
            },
        )
        assert response.status_code == 200
        assert response.context["plan"].problems[0].values["lead_unit"] == health["unit"]
        assert "已记住：“卫健局”即“区卫生健康局”" in response.content.decode()
        assert NameAlias.objects.get(key="卫健局").unit == health["unit"]

    @pytest.mark.parametrize("name", ["import_remap", "import_alias"])
    def test_they_are_forbidden_to_everyone_but_the_office(self, world, client, name):
        for actor in (world.outsider, world.sysadmin, world.leader):
            client.force_login(actor)
            assert client.post(reverse(f"rectification:excel:{name}"), {"token": "x"}).status_code == 403
        client.force_login(world.office)
        assert client.get(reverse(f"rectification:excel:{name}")).status_code == 405

    def test_a_forged_token_or_an_unknown_target_is_refused(self, world, client, private_media):
        client.force_login(world.office)
        response = client.post(
            reverse("rectification:excel:import_remap"), {"token": "forged", "header": "承担单位", "target": "ignore"}
        )
        assert response.status_code == 400 and "导入预览已过期或无效" in response.content.decode()
        response = client.post(
            reverse("rectification:excel:import_alias"),
            {"token": "forged", "kind": "unit", "written": "卫健局", "target": 999999},
        )
        assert response.status_code == 404
        response = client.post(
            reverse("rectification:excel:import_remap"), {"token": "forged", "header": "承担单位", "target": "nope"}
        )
        assert response.status_code == 400


@pytest.mark.django_db
class TestPendingPages:
    def test_the_office_sees_the_list_and_sends_it(self, world, client, tmp_path):
        imported(world, tmp_path, ledger([row(牵头领导="赵新来", 牵头单位="卫健委")]))
        client.force_login(world.office)
        page = client.get(reverse("rectification:pending_list")).content.decode()
        assert "卫健委（待开通）" in page and "赵新来（待开通）" in page and "发送给系统管理员" in page
        response = client.post(reverse("rectification:pending_send"), follow=True)
        assert "已发送给1位系统管理员。" in response.content.decode()
        assert Notification.objects.filter(recipient=world.sysadmin, kind="pending_accounts").count() == 1

    def test_the_system_administrator_binds_from_the_page(self, world, client, tmp_path, health):
        problem = imported(world, tmp_path, ledger([row(牵头单位="卫健委")]))
        pending = Unit.objects.get(name="卫健委")
        client.force_login(world.sysadmin)
        page = client.get(reverse("rectification:pending_bind")).content.decode()
        assert "卫健委（待开通）" in page
        # Names and counts only: the administrator reads no finding.
        assert row()["反馈问题"] not in page and row()["整改措施"] not in page
        response = client.post(
            reverse("rectification:pending_unit_bind", args=[pending.pk]),
            {f"u{pending.pk}-target": health["unit"].pk},
            follow=True,
        )
        assert "已将“卫健委”绑定到“区卫生健康局”。" in response.content.decode()
        problem.refresh_from_db()
        assert problem.lead_unit == health["unit"]
        # Bound already: the pending unit is gone.
        response = client.post(
            reverse("rectification:pending_unit_bind", args=[pending.pk]), {f"u{pending.pk}-target": health["unit"].pk}
        )
        assert response.status_code == 404

    @pytest.mark.parametrize("name", ["pending_list", "pending_bind"])
    def test_the_pages_are_forbidden_to_outsiders(self, world, client, name):
        for actor in (world.outsider, world.leader, world.auditadmin, world.provincial):
            client.force_login(actor)
            assert client.get(reverse(f"rectification:{name}")).status_code == 403

    def test_the_list_is_the_offices_and_binding_the_system_administrators(self, world, client):
        client.force_login(world.sysadmin)
        assert client.get(reverse("rectification:pending_list")).status_code == 403
        assert client.post(reverse("rectification:pending_send")).status_code == 403
        client.force_login(world.office)
        assert client.get(reverse("rectification:pending_bind")).status_code == 403
        assert client.post(reverse("rectification:pending_unit_open", args=[world.resp_unit.pk])).status_code == 403

    def test_binding_what_is_not_pending_answers_404(self, world, client):
        client.force_login(world.sysadmin)
        for name, pk in (
            ("pending_unit_bind", world.resp_unit.pk),
            ("pending_unit_open", world.resp_unit.pk),
            ("pending_leader_bind", world.leader.pk),
            ("pending_unit_bind", 999999),
        ):
            assert client.post(reverse(f"rectification:{name}", args=[pk])).status_code == 404
        assert client.get(reverse("rectification:pending_unit_open", args=[world.resp_unit.pk])).status_code == 405

    def test_anonymous_visitors_go_to_the_login_page(self, client):
        response = client.get(reverse("rectification:pending_list"))
        assert response.status_code == 302 and "login" in response["Location"]

    def test_a_pending_unit_and_leader_show_as_such_on_the_problem_page(self, world, client, tmp_path):
        problem = imported(world, tmp_path, ledger([row(牵头领导="赵新来", 牵头单位="卫健委")]))
        client.force_login(world.office)
        page = client.get(reverse("rectification:problem_detail", args=[problem.pk])).content.decode()
        assert "<dd>赵新来（待开通）</dd>" in page and "<dd>卫健委（待开通）</dd>" in page


@pytest.mark.django_db
class TestLearnedPage:
    def test_the_office_sees_and_removes_what_the_import_remembers(self, world, client, tmp_path, health):
        alias = name_alias_add(actor=world.office, kind="unit", written="卫健局", target=health["unit"])
        mapping = column_mapping_set(actor=world.office, header="承担单位", target="measure:owner_unit")
        client.force_login(world.office)
        page = client.get(reverse("rectification:pending_learned")).content.decode()
        assert "<td>卫健局</td><td>区卫生健康局</td>" in page
        assert "<td>承担单位</td><td>措施：责任单位</td>" in page
        response = client.post(reverse("rectification:pending_alias_remove", args=[alias.pk]), follow=True)
        assert "已删除别名“卫健局”。" in response.content.decode()
        response = client.post(reverse("rectification:pending_mapping_remove", args=[mapping.pk]), follow=True)
        assert "已删除表头“承担单位”的对应关系。" in response.content.decode()
        assert not NameAlias.objects.exists() and not ImportColumnMapping.objects.exists()
        # Forgotten: the next import suggests again instead of binding.
        plan = plan_of(world, tmp_path, ledger([row(牵头单位="卫健局")]))
        assert plan.problems[0].values["lead_unit"] == PendingName("unit", "卫健局")
        assert AuditEvent.objects.get(action="name.alias_remove").changes == {"kind": "unit", "written": "卫健局"}
        assert AuditEvent.objects.get(action="excel.column_mapping_remove").changes == {
            "header": "承担单位",
            "mapped_as": "measure:owner_unit",
        }

    def test_it_is_the_offices_alone(self, world, client, health):
        alias = name_alias_add(actor=world.office, kind="unit", written="卫健局", target=health["unit"])
        mapping = column_mapping_set(actor=world.office, header="承担单位", target="ignore")
        for actor in (world.outsider, world.sysadmin, world.leader, world.supervision):
            client.force_login(actor)
            assert client.get(reverse("rectification:pending_learned")).status_code == 403
            assert client.post(reverse("rectification:pending_alias_remove", args=[alias.pk])).status_code == 403
            assert client.post(reverse("rectification:pending_mapping_remove", args=[mapping.pk])).status_code == 403
        client.force_login(world.office)
        assert client.post(reverse("rectification:pending_alias_remove", args=[999999])).status_code == 404
        assert client.post(reverse("rectification:pending_mapping_remove", args=[999999])).status_code == 404
        assert client.get(reverse("rectification:pending_alias_remove", args=[alias.pk])).status_code == 405
        assert NameAlias.objects.count() == ImportColumnMapping.objects.count() == 1
