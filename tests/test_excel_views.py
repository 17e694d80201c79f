"""The Excel pages: every view for the happy path, the wrong method and an outsider."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from accounts.models import AuditEvent
from accounts.roles import Role
from accounts.services import user_create
from rectification.models import Measure, Problem

from .conftest import PASSWORD

INDEX = reverse("rectification:excel:index")
UPLOAD = reverse("rectification:excel:import_upload")
CONFIRM = reverse("rectification:excel:import_confirm")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    return settings.PRIVATE_MEDIA_ROOT


def _url(name, world, *extra):
    return reverse(f"rectification:excel:{name}", args=[world.round.pk, *extra])


def ledger_bytes(owner_unit="责任局", due="10月底"):
    workbook = Workbook()
    problems = workbook.active
    problems.title = "问题清单"
    problems.append(["问题编号", "方面", "反馈问题", "问题类型", "整改时限", "牵头领导", "牵头单位", "责任单位"])
    problems.append(["2.1", "方面一", "公务用车管理不规范", "个性问题", "2026-11-30", "王牵头", "牵头局", "责任局"])
    measures = workbook.create_sheet("任务清单")
    measures.append(["问题编号", "措施编号", "整改措施", "措施类别", "责任单位", "完成时限"])
    measures.append(["2.1", "2.1.1", "清理超编制车辆", "立行立改", owner_unit, due])
    buffer = io.BytesIO()
    workbook.save(buffer)
    workbook.close()
    return buffer.getvalue()


def _upload(client, world, content=None, name="台账.xlsx"):
    upload = SimpleUploadedFile(name, content if content is not None else ledger_bytes(), content_type=XLSX)
    return client.post(UPLOAD, {"inspection_round": world.round.pk, "file": upload})


def _token(response):
    return response.context["confirm_form"].initial["token"]


def _stored(private_media):
    folder = private_media / "imports"
    return sorted(folder.glob("*.xlsx")) if folder.exists() else []


@pytest.mark.django_db
class TestIndex:
    def test_it_lists_the_downloads_and_the_import_form_for_the_office(self, world, client):
        client.force_login(world.office)
        page = client.get(INDEX).content.decode()
        for name in ("ledger", "weekly", "statistics"):
            assert _url(name, world) in page
        assert _url("unit_tasks", world, world.coop_unit.pk) in page
        assert UPLOAD in page and "上传并预览" in page

    def test_it_shows_a_unit_its_own_downloads_without_the_import_form(self, world, client):
        client.force_login(world.resp_staff)
        page = client.get(INDEX).content.decode()
        assert _url("ledger", world) in page
        assert _url("unit_tasks", world, world.resp_unit.pk) in page
        assert _url("unit_tasks", world, world.coop_unit.pk) not in page
        assert UPLOAD not in page

    def test_it_tells_an_outsider_there_is_nothing_to_export(self, world, client):
        client.force_login(world.sysadmin)
        page = client.get(INDEX).content.decode()
        assert "没有可导出的内容" in page
        assert _url("ledger", world) not in page

    def test_it_refuses_post(self, world, client):
        client.force_login(world.office)
        assert client.post(INDEX).status_code == 405

    def test_it_sends_anonymous_visitors_to_the_login_page(self, client):
        response = client.get(INDEX)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.django_db
class TestDownloads:
    @pytest.mark.parametrize(
        "name, actor",
        [
            # The provincial team downloads only released weekly packages (test_access.TestReleasedOnly).
            ("ledger", "supervision"),
            ("ledger", "resp_staff"),
            ("weekly", "office"),
            ("statistics", "office"),
            ("statistics", "supervision"),
        ],
    )
    def test_it_sends_a_real_xlsx(self, world, client, name, actor):
        client.force_login(getattr(world, actor))
        response = client.get(_url(name, world))
        assert response.status_code == 200
        assert response["Content-Type"] == XLSX
        assert response["Content-Disposition"].startswith("attachment; filename*=utf-8''")
        assert load_workbook(io.BytesIO(response.content)).sheetnames
        assert AuditEvent.objects.filter(action__startswith="excel.export_", actor=getattr(world, actor)).count() == 1

    @pytest.mark.parametrize("name", ["ledger", "weekly", "statistics"])
    def test_it_refuses_post(self, world, client, name):
        client.force_login(world.office)
        assert client.post(_url(name, world)).status_code == 405

    @pytest.mark.parametrize("name", ["ledger", "weekly", "statistics"])
    @pytest.mark.parametrize("actor", ["outsider", "sysadmin"])
    def test_it_answers_404_to_whoever_sees_nothing_of_the_round(self, world, client, name, actor):
        client.force_login(getattr(world, actor))
        assert client.get(_url(name, world)).status_code == 404
        assert not AuditEvent.objects.filter(action__startswith="excel.export_").exists()

    def test_it_answers_404_for_a_round_that_does_not_exist(self, world, client):
        client.force_login(world.office)
        assert client.get(reverse("rectification:excel:ledger", args=[999999])).status_code == 404

    def test_it_sends_the_weekly_table_of_the_chosen_week(self, world, client):
        client.force_login(world.office)
        response = client.get(_url("weekly", world), {"week": "2026-W45"})
        assert "2026年第45周" in load_workbook(io.BytesIO(response.content))["周进展表"]["A1"].value

    @pytest.mark.parametrize("week", ["2026-45", "2026-W54", "下周"])
    def test_it_refuses_a_malformed_week(self, world, client, week):
        client.force_login(world.office)
        response = client.get(_url("weekly", world), {"week": week})
        assert response.status_code == 400
        assert "周次格式不正确" in response.content.decode()


@pytest.mark.django_db
class TestUnitTaskDownload:
    def test_it_sends_a_unit_its_own_task_list(self, world, client):
        client.force_login(world.resp_staff)
        response = client.get(_url("unit_tasks", world, world.resp_unit.pk))
        assert response.status_code == 200
        sheet = load_workbook(io.BytesIO(response.content))["单位任务清单"]
        assert [row[2] for row in sheet.iter_rows(min_row=3, values_only=True)] == ["1.1.1"]

    def test_it_sends_the_office_any_units_list(self, world, client):
        client.force_login(world.office)
        assert client.get(_url("unit_tasks", world, world.coop_unit.pk)).status_code == 200

    @pytest.mark.parametrize("actor", ["resp_staff", "leader", "sysadmin"])
    def test_it_answers_404_for_another_units_list(self, world, client, actor):
        client.force_login(getattr(world, actor))
        assert client.get(_url("unit_tasks", world, world.coop_unit.pk)).status_code == 404

    def test_it_refuses_post(self, world, client):
        client.force_login(world.resp_staff)
        assert client.post(_url("unit_tasks", world, world.resp_unit.pk)).status_code == 405


@pytest.mark.django_db
class TestImportUpload:
    def test_it_shows_a_preview_and_saves_nothing(self, world, client, private_media):
        client.force_login(world.office)
        response = _upload(client, world)
        page = response.content.decode()
        assert response.status_code == 200
        assert "确认导入" in page and "新建" in page and "2.1.1" in page
        assert not Problem.objects.filter(code="2.1").exists()
        assert len(_stored(private_media)) == 1
        event = AuditEvent.objects.get(action="excel.import_preview")
        assert event.changes["problems_created"] == 1 and event.changes["errors"] == 0

    def test_it_lists_every_error_and_offers_no_confirmation(self, world, client, private_media):
        client.force_login(world.office)
        page = _upload(client, world, ledger_bytes(due="下个月")).content.decode()
        assert "无法识别的完成时限“下个月”" in page
        assert "确认导入" not in page
        assert _stored(private_media) == []

    def test_it_refuses_a_file_that_is_not_xlsx(self, world, client, private_media):
        client.force_login(world.office)
        page = _upload(client, world, "问题编号,反馈问题\n".encode(), name="台账.xlsx").content.decode()
        assert "文件不是 Excel 工作簿（.xlsx）" in page
        assert _stored(private_media) == []

    def test_it_refuses_get(self, world, client):
        client.force_login(world.office)
        assert client.get(UPLOAD).status_code == 405

    @pytest.mark.parametrize("actor", ["provincial", "resp_staff", "supervision", "sysadmin"])
    def test_it_is_forbidden_to_everyone_but_the_office(self, world, client, private_media, actor):
        client.force_login(getattr(world, actor))
        assert _upload(client, world).status_code == 403
        assert _stored(private_media) == []

    def test_it_needs_the_csrf_token(self, world):
        client = Client(enforce_csrf_checks=True)
        client.force_login(world.office)
        assert _upload(client, world).status_code == 403


@pytest.mark.django_db
class TestImportConfirm:
    def test_it_saves_everything_once_confirmed(self, world, client, private_media):
        client.force_login(world.office)
        token = _token(_upload(client, world))
        response = client.post(CONFIRM, {"token": token}, follow=True)
        assert response.redirect_chain[-1][0] == f"{INDEX}?round={world.round.pk}"
        assert "台账导入完成：新建问题1个、更新问题0个，新建措施1个、更新措施0个。" in response.content.decode()
        measure = Measure.objects.get(problem__round=world.round, code="2.1.1")
        assert measure.due_date.isoformat() == "2026-10-31"
        assert _stored(private_media) == []
        event = AuditEvent.objects.get(action="excel.import")
        assert event.actor == world.office and event.changes["problems_created"] == 1

    def test_it_cannot_be_confirmed_twice(self, world, client):
        client.force_login(world.office)
        token = _token(_upload(client, world))
        client.post(CONFIRM, {"token": token})
        response = client.post(CONFIRM, {"token": token})
        assert response.status_code == 400
        assert Problem.objects.filter(code="2.1").count() == 1

    def test_it_shows_a_new_preview_when_the_ledger_changed_since(self, world, client):
        client.force_login(world.office)
        token = _token(_upload(client, world))
        world.make_problem("2.1")
        response = client.post(CONFIRM, {"token": token})
        assert response.status_code == 200
        assert "请核对下面的最新预览后再确认" in response.content.decode()
        assert Problem.objects.get(code="2.1").title == "问题2.1"

    def test_it_writes_nothing_when_saving_fails(self, world, client, monkeypatch):
        client.force_login(world.office)
        token = _token(_upload(client, world))

        def failing(**kwargs):
            raise ValidationError("模拟保存失败")

        monkeypatch.setattr("rectification.services.ledger.measure_create_many", failing)
        before = (Problem.objects.count(), Measure.objects.count())
        response = client.post(CONFIRM, {"token": token})
        assert "导入失败，未保存任何数据：模拟保存失败" in response.content.decode()
        assert (Problem.objects.count(), Measure.objects.count()) == before
        assert AuditEvent.objects.filter(action="excel.import_failed").exists()
        assert not AuditEvent.objects.filter(action="excel.import").exists()

    def test_it_refuses_a_forged_token(self, world, client):
        client.force_login(world.office)
        response = client.post(CONFIRM, {"token": "forged"})
        assert response.status_code == 400
        assert "导入预览已过期或无效" in response.content.decode()

    def test_it_refuses_a_token_issued_to_someone_else(self, world, client):
        client.force_login(world.office)
        token = _token(_upload(client, world))
        colleague = user_create(
            actor=None, username="office2", full_name="另一位", password=PASSWORD, roles=[Role.OFFICE]
        )
        client.force_login(colleague)
        assert client.post(CONFIRM, {"token": token}).status_code == 400
        assert not Problem.objects.filter(code="2.1").exists()

    def test_it_refuses_get(self, world, client):
        client.force_login(world.office)
        assert client.get(CONFIRM).status_code == 405

    def test_it_is_forbidden_to_everyone_but_the_office(self, world, client):
        client.force_login(world.office)
        token = _token(_upload(client, world))
        client.force_login(world.provincial)
        assert client.post(CONFIRM, {"token": token}).status_code == 403
        assert not Problem.objects.filter(code="2.1").exists()
