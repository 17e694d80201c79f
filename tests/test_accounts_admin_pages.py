"""三员分立: the system, security and audit administrators' own pages, each closed to everyone else;
their actions audited; none of them a Django superuser or a reader of findings."""

import csv
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from accounts import access
from accounts.models import AdminApproval, AuditEvent, User
from accounts.roles import Role

from .conftest import PASSWORD

ACTORS = ["office", "resp_staff", "leader", "provincial", "supervision", "sysadmin", "secadmin", "auditadmin"]


def _pages(world):
    """(url, the one actor it opens to) for every administrator page answering GET."""
    return [
        (reverse("accounts:system_users"), "sysadmin"),
        (reverse("accounts:system_units"), "sysadmin"),
        (reverse("accounts:system_user_password", args=[world.resp_staff.pk]), "sysadmin"),
        (reverse("accounts:security_lockouts"), "secadmin"),
        (reverse("accounts:security_users"), "secadmin"),
        (reverse("accounts:security_user_roles", args=[world.resp_staff.pk]), "secadmin"),
        (reverse("accounts:audit_log"), "auditadmin"),
        (reverse("accounts:audit_export"), "auditadmin"),
        (reverse("accounts:audit_export") + "?format=csv", "auditadmin"),
        (reverse("accounts:audit_export") + "?format=xlsx", "auditadmin"),
    ]


def _posts(world):
    return [
        (reverse("accounts:system_user_active", args=[world.resp_staff.pk]), {"active": "0"}, "sysadmin"),
        (reverse("accounts:security_unlock"), {"username": "resp_lly"}, "secadmin"),
        (reverse("accounts:security_user_roles", args=[world.resp_staff.pk]), {"roles": [Role.OFFICE]}, "secadmin"),
        (reverse("accounts:security_totp_reset", args=[world.resp_staff.pk]), {}, "secadmin"),
        (reverse("accounts:audit_verify"), {}, "auditadmin"),
    ]


@pytest.mark.django_db
class TestWhoGetsIn:
    @pytest.mark.parametrize("actor", ACTORS)
    def test_it_opens_each_page_to_its_administrator_only(self, world, client, actor):
        client.force_login(getattr(world, actor))
        for url, owner in _pages(world):
            response = client.get(url)
            expected = 200 if actor == owner else 403
            assert response.status_code == expected, (url, actor)

    @pytest.mark.parametrize("actor", ACTORS)
    def test_it_refuses_every_action_to_everyone_else(self, world, client, actor):
        client.force_login(getattr(world, actor))
        for url, data, owner in _posts(world):
            if actor != owner:
                assert client.post(url, data).status_code == 403, (url, actor)
        world.resp_staff.refresh_from_db()
        assert world.resp_staff.is_active
        assert not access.is_office(world.resp_staff)

    def test_it_sends_anonymous_visitors_to_the_login_page(self, world, client):
        for url, _owner in _pages(world):
            response = client.get(url)
            assert response.status_code == 302
            assert response["Location"].startswith(reverse("accounts:login"))

    def test_it_refuses_the_wrong_method(self, world, client):
        client.force_login(world.auditadmin)
        assert client.post(reverse("accounts:audit_log")).status_code == 405
        assert client.get(reverse("accounts:audit_verify")).status_code == 405
        client.force_login(world.sysadmin)
        assert client.get(reverse("accounts:system_user_active", args=[world.resp_staff.pk])).status_code == 405

    @pytest.mark.parametrize(
        "actor, link",
        [("sysadmin", "用户管理"), ("secadmin", "安全管理"), ("auditadmin", "审计日志"), ("office", "数据维护")],
    )
    def test_it_shows_each_administrator_their_link_only(self, world, client, actor, link):
        client.force_login(getattr(world, actor))
        page = client.get(reverse("rectification:home")).content.decode()
        assert link in page
        assert "修改密码" in page
        for other in {"用户管理", "安全管理", "审计日志"} - {link}:
            assert f">{other}</a>" not in page


@pytest.mark.django_db
class TestAdministratorsSeeNoFindings:
    @pytest.mark.parametrize("actor", ["sysadmin", "secadmin", "auditadmin"])
    def test_it_shows_them_no_finding(self, world, client, actor):
        client.force_login(getattr(world, actor))
        for url in (reverse("rectification:problem_list"), reverse("rectification:home")):
            assert "违规发放津补贴" not in client.get(url).content.decode()
        assert client.get(world.problem.get_absolute_url()).status_code == 404

    def test_it_makes_nobody_a_superuser(self, world):
        assert not User.objects.filter(is_superuser=True).exists()
        assert not User.objects.filter(is_staff=True).exclude(pk=world.office.pk).exists()


@pytest.mark.django_db
class TestSystemAdministrator:
    def test_it_lists_users_and_units(self, world, client):
        client.force_login(world.sysadmin)
        page = client.get(reverse("accounts:system_users"), {"q": "责任局"}).content.decode()
        assert "张联络" in page and "赵局长" in page
        assert "单位联络员" in page
        assert "王牵头" not in page
        assert "牵头局" in client.get(reverse("accounts:system_units")).content.decode()

    def test_it_deactivates_at_once_and_reactivates_on_approval(self, world, client):
        client.force_login(world.sysadmin)
        url = reverse("accounts:system_user_active", args=[world.resp_staff.pk])
        response = client.post(url, {"active": "0"}, follow=True)
        assert "已停用账号“张联络”" in response.content.decode()
        world.resp_staff.refresh_from_db()
        assert not world.resp_staff.is_active
        event = AuditEvent.objects.get(action="system.user_deactivate")
        assert event.actor == world.sysadmin and event.changes == {"is_active": [True, False]}
        # Reactivating gives back the unit's findings: the security administrator approves it.
        response = client.post(url, {"active": "1"}, follow=True)
        assert "须由安全管理员审批后生效" in response.content.decode()
        world.resp_staff.refresh_from_db()
        assert not world.resp_staff.is_active
        approval = AdminApproval.objects.get(kind="activate", target=world.resp_staff)
        client.force_login(world.secadmin)
        client.post(reverse("accounts:approval_decide", args=[approval.pk]), {"decision": "approve"})
        world.resp_staff.refresh_from_db()
        assert world.resp_staff.is_active

    def test_it_ends_the_deactivated_persons_session(self, world, client):
        client.force_login(world.resp_staff)
        other = type(client)()
        other.force_login(world.sysadmin)
        other.post(reverse("accounts:system_user_active", args=[world.resp_staff.pk]), {"active": "0"})
        assert client.get(reverse("rectification:home")).status_code == 302

    def test_it_cannot_deactivate_itself(self, world, client):
        client.force_login(world.sysadmin)
        response = client.post(
            reverse("accounts:system_user_active", args=[world.sysadmin.pk]), {"active": "0"}, follow=True
        )
        assert "不能停用自己的账号" in response.content.decode()
        world.sysadmin.refresh_from_db()
        assert world.sysadmin.is_active

    def test_it_ignores_a_foreign_redirect(self, world, client):
        client.force_login(world.sysadmin)
        response = client.post(
            reverse("accounts:system_user_active", args=[world.resp_staff.pk]),
            {"active": "0", "next": "https://evil.example/"},
        )
        assert response["Location"] == reverse("accounts:system_users")

    def test_it_sets_a_temporary_password_that_must_be_changed_once_approved(self, world, client):
        client.force_login(world.sysadmin)
        url = reverse("accounts:system_user_password", args=[world.resp_staff.pk])
        response = client.post(url, {"new_password1": "Linshi@2026a", "new_password2": "Linshi@2026a"})
        assert response.status_code == 302
        assert AuditEvent.objects.filter(action="approval.request", actor=world.sysadmin).exists()
        approval = AdminApproval.objects.get(kind="password", target=world.resp_staff)
        client.force_login(world.secadmin)
        client.post(reverse("accounts:approval_decide", args=[approval.pk]), {"decision": "approve"})
        assert AuditEvent.objects.filter(action="system.password_reset", actor=world.secadmin).exists()
        client.post(reverse("accounts:logout"))
        client.post(reverse("accounts:login"), {"username": "resp_lly", "password": "Linshi@2026a"})
        response = client.get(reverse("rectification:worklist"))
        assert response["Location"] == reverse("accounts:password_change")
        assert "临时密码" in client.get(response["Location"]).content.decode()

    def test_it_cannot_reset_another_administrators_password(self, world, client):
        client.force_login(world.sysadmin)
        url = reverse("accounts:system_user_password", args=[world.auditadmin.pk])
        response = client.post(url, {"new_password1": "Linshi@2026a", "new_password2": "Linshi@2026a"})
        assert "管理员账号的密码只能由本人修改" in response.content.decode()
        world.auditadmin.refresh_from_db()
        assert world.auditadmin.check_password(PASSWORD)

    def test_it_runs_the_same_number_of_queries_for_few_and_many_users(self, world, client, django_assert_num_queries):
        from accounts.services import user_create

        client.force_login(world.sysadmin)
        url = reverse("accounts:system_users")
        client.get(url)
        # Session, user, roles, count, page of users, their groups and their requests waiting for
        # approval (two prefetches), the count of requests waiting for this administrator.
        with django_assert_num_queries(9, exact=False) as captured:
            client.get(url)
        baseline = len(captured.captured_queries)
        for n in range(30):
            user_create(
                actor=None,
                username=f"extra{n}",
                full_name=f"新人{n}",
                password=PASSWORD,
                roles=[Role.LIAISON],
                unit=world.other_unit,
            )
        with django_assert_num_queries(baseline):
            client.get(url)


@pytest.mark.django_db
class TestSecurityAdministrator:
    def test_it_lists_users_with_their_roles(self, world, client):
        client.force_login(world.secadmin)
        page = client.get(reverse("accounts:security_users"), {"q": "resp"}).content.decode()
        assert "resp_lly" in page and "单位联络员" in page

    def test_it_assigns_roles_on_approval_and_audits_old_and_new(self, world, client):
        client.force_login(world.secadmin)
        url = reverse("accounts:security_user_roles", args=[world.resp_staff.pk])
        response = client.post(url, {"roles": [Role.LIAISON, Role.UNIT_HEAD]})
        assert response.status_code == 302
        # Adding a role waits for the system administrator.
        assert User.objects.get(pk=world.resp_staff.pk).role_set == {Role.LIAISON}
        approval = AdminApproval.objects.get(kind="roles", target=world.resp_staff)
        client.force_login(world.sysadmin)
        client.post(reverse("accounts:approval_decide", args=[approval.pk]), {"decision": "approve"})
        person = User.objects.get(pk=world.resp_staff.pk)
        assert person.role_set == {Role.LIAISON, Role.UNIT_HEAD}
        # The unit group is not a role: it stays.
        assert person.groups.filter(pk=world.resp_unit.group_id).exists()
        event = AuditEvent.objects.get(action="security.roles_change")
        assert event.changes == {
            "roles": [["单位联络员"], ["单位联络员", "单位负责人"]],
            "approval": approval.pk,
            "requested_by": "secadmin",
        }
        assert event.actor == world.sysadmin

    def test_it_takes_a_role_away_at_once(self, world, client):
        client.force_login(world.secadmin)
        client.post(reverse("accounts:security_user_roles", args=[world.resp_head.pk]), {"roles": []})
        assert User.objects.get(pk=world.resp_head.pk).role_set == set()
        event = AuditEvent.objects.get(action="security.roles_change")
        assert event.actor == world.secadmin and event.changes == {"roles": [["单位负责人"], []]}

    def test_it_keeps_the_three_administrators_separate(self, world, client):
        client.force_login(world.secadmin)
        url = reverse("accounts:security_user_roles", args=[world.sysadmin.pk])
        response = client.post(url, {"roles": [Role.SYSTEM_ADMIN, Role.AUDIT_ADMIN]})
        assert "必须由不同的专用账号担任" in response.content.decode()
        response = client.post(
            reverse("accounts:security_user_roles", args=[world.resp_staff.pk]),
            {"roles": [Role.LIAISON, Role.SECURITY_ADMIN]},
        )
        assert "必须由不同的专用账号担任" in response.content.decode()
        assert not AuditEvent.objects.filter(action="security.roles_change").exists()

    def test_it_cannot_change_its_own_roles(self, world, client):
        client.force_login(world.secadmin)
        url = reverse("accounts:security_user_roles", args=[world.secadmin.pk])
        response = client.post(url, {"roles": [Role.OFFICE]})
        assert "不能修改自己的角色" in response.content.decode()
        assert User.objects.get(pk=world.secadmin.pk).role_set == {Role.SECURITY_ADMIN}

    def test_it_answers_404_for_a_missing_user(self, world, client):
        client.force_login(world.secadmin)
        assert client.get(reverse("accounts:security_user_roles", args=[999999])).status_code == 404


@pytest.mark.django_db
class TestAuditAdministrator:
    def test_it_searches_by_action_outcome_and_address(self, world, client):
        client.post(reverse("accounts:login"), {"username": "resp_lly", "password": "wrong"}, REMOTE_ADDR="10.7.7.7")
        client.force_login(world.auditadmin)
        page = client.get(reverse("accounts:audit_log"), {"action": "auth.login_failed", "outcome": "failure"})
        text = page.content.decode()
        assert "10.7.7.7" in text
        assert "resp_lly" in text
        assert page.context["page"].paginator.count == 1
        assert client.get(reverse("accounts:audit_log"), {"ip": "10.7.7.8"}).context["page"].paginator.count == 0

    def test_it_exports_what_it_shows_whichever_page_is_open(self, world, client):
        client.force_login(world.auditadmin)
        page = client.get(reverse("accounts:audit_log"), {"action": "auth.login_failed", "page": "1"}).content.decode()
        export = reverse("accounts:audit_export")
        assert f'href="{export}?action=auth.login_failed&amp;format=csv"' in page
        assert f'href="{export}?action=auth.login_failed&amp;format=xlsx"' in page

    def test_it_audits_its_own_searches(self, world, client):
        client.force_login(world.auditadmin)
        client.get(reverse("accounts:audit_log"), {"actor": "office"})
        event = AuditEvent.objects.filter(action="audit.search").get()
        assert event.actor == world.auditadmin
        assert event.changes["filters"] == {"actor": "office"}

    def test_it_exports_csv_with_chinese_headers_and_no_formulas(self, world, client):
        client.post(reverse("accounts:login"), {"username": "=cmd|' /C calc'!A0", "password": "x"})
        client.force_login(world.auditadmin)
        response = client.get(reverse("accounts:audit_export"), {"format": "csv", "action": "auth.login_failed"})
        assert response["Content-Type"].startswith("text/csv")
        text = b"".join(response.streaming_content).decode("utf-8")
        assert text.startswith("\ufeff编号,时间,操作人,操作,对象类型,对象,对象编号,变更内容,结果,来源地址")
        rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
        assert len(rows) == 2
        assert rows[1][2:6] == ["未登录的访问者", "登录失败", "账号", "'=cmd|' /C calc'!A0"]
        assert AuditEvent.objects.filter(action="audit.export", actor=world.auditadmin, changes__format="csv").exists()

    def test_it_exports_xlsx(self, world, client):
        client.force_login(world.auditadmin)
        response = client.get(reverse("accounts:audit_export"), {"format": "xlsx"})
        sheet = load_workbook(io.BytesIO(response.content))["审计日志"]
        header = [cell.value for cell in next(sheet.iter_rows(max_row=1))]
        assert header[:10] == [
            "编号",
            "时间",
            "操作人",
            "操作",
            "对象类型",
            "对象",
            "对象编号",
            "变更内容",
            "结果",
            "来源地址",
        ]
        assert sheet.max_row > 10

    def test_it_refuses_an_unknown_format(self, world, client):
        client.force_login(world.auditadmin)
        assert client.get(reverse("accounts:audit_export"), {"format": "pdf"}).status_code == 403

    def test_it_verifies_the_chain_on_request(self, world, client):
        client.force_login(world.auditadmin)
        response = client.post(reverse("accounts:audit_verify"), follow=True)
        assert "完整性校验通过" in response.content.decode()

    def test_it_is_no_longer_in_the_office_admin(self, world, client):
        from django.urls import NoReverseMatch

        client.force_login(world.office)
        with pytest.raises(NoReverseMatch):
            reverse("admin:accounts_auditevent_changelist")
        assert client.get("/admin/accounts/auditevent/").status_code == 404
        assert "审计记录" not in client.get(reverse("admin:index")).content.decode()

    def test_the_office_cannot_set_passwords_in_the_admin(self, world, client):
        client.force_login(world.office)
        url = reverse("admin:auth_user_password_change", args=[world.sysadmin.pk])
        response = client.post(url, {"password1": "Jieguan@2026x", "password2": "Jieguan@2026x"})
        assert response.status_code == 403
        world.sysadmin.refresh_from_db()
        assert world.sysadmin.check_password(PASSWORD)


@pytest.mark.django_db
class TestOfficeAdminChangesAreAudited:
    """数据维护 (Django's admin) is the office's, and what it changes there joins the chained audit
    log like any service's change. Before, a leader's e-mail changed, an administrator deactivated
    or a track's office moved there left only Django's own, editable history."""

    def _user_form(self, person, **changes):
        data = {
            "username": person.username,
            "full_name": person.full_name,
            "title": person.title,
            "phone": person.phone,
            "email": person.email,
            "is_active": "on" if person.is_active else "",
        }
        data.update(changes)
        return {key: value for key, value in data.items() if value != ""}

    def test_it_records_a_leaders_new_e_mail_with_both_values(self, world, client):
        from accounts.models import AuditEvent
        from accounts.selectors import chain_verify

        client.force_login(world.office)
        url = reverse("admin:accounts_user_change", args=[world.leader.pk])
        response = client.post(url, self._user_form(world.leader, email="new.leader@example.gov.cn"))
        assert response.status_code == 302
        world.leader.refresh_from_db()
        assert world.leader.email == "new.leader@example.gov.cn"
        event = AuditEvent.objects.get(action="admin.user.change")
        assert event.actor == world.office and event.target_id == str(world.leader.pk)
        assert event.changes["fields"] == ["email"]
        assert event.changes["values"] == {"email": ["", "new.leader@example.gov.cn"]}
        assert chain_verify()[0] is None

    def test_it_records_a_tracks_new_office_unit(self, world, client):
        from accounts.models import AuditEvent

        track = world.problem.track
        client.force_login(world.office)
        url = reverse("admin:rectification_track_change", args=[track.pk])
        response = client.post(url, {"round": track.round_id, "kind": track.kind, "office_unit": world.other_unit.pk})
        assert response.status_code == 302
        event = AuditEvent.objects.get(action="admin.track.change")
        old = "" if track.office_unit_id is None else str(track.office_unit_id)
        assert event.changes["values"] == {"office_unit": [old, str(world.other_unit.pk)]}

    def test_it_leaves_deactivation_and_reactivation_to_the_system_administrator(self, world, client):
        # Reactivation needs a second administrator's approval: the office cannot do it alone here.
        client.force_login(world.office)
        world.resp_staff.is_active = False
        world.resp_staff.save(update_fields=["is_active"])
        url = reverse("admin:accounts_user_change", args=[world.resp_staff.pk])
        response = client.post(url, self._user_form(world.resp_staff, is_active="on", title="科员"))
        assert response.status_code == 302
        world.resp_staff.refresh_from_db()
        assert (world.resp_staff.is_active, world.resp_staff.title) == (False, "科员")
        response = client.post(
            reverse("admin:accounts_user_change", args=[world.lead_staff.pk]),
            self._user_form(world.lead_staff, is_active=""),
        )
        world.lead_staff.refresh_from_db()
        assert world.lead_staff.is_active

    def test_it_lets_the_office_neither_deactivate_nor_change_an_administrator(self, world, client):
        client.force_login(world.office)
        for admin_account in (world.sysadmin, world.secadmin, world.auditadmin):
            url = reverse("admin:accounts_user_change", args=[admin_account.pk])
            response = client.post(url, self._user_form(admin_account, is_active=""))
            assert response.status_code == 403
            admin_account.refresh_from_db()
            assert admin_account.is_active

    def test_it_records_only_field_names_for_a_findings_text(self, world, client):
        from accounts.models import AuditEvent

        client.force_login(world.office)
        url = reverse("admin:rectification_inspectionround_change", args=[world.round.pk])
        page = client.get(url)
        assert page.status_code == 200
        form = page.context["adminform"].form
        data = {name: form.initial.get(name) for name in form.fields if form.initial.get(name) is not None}
        data = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in data.items()}
        data["inspection_team"] = "省委第九巡视组（新）"
        response = client.post(url, data)
        assert response.status_code == 302, response.content.decode()[:2000]
        event = AuditEvent.objects.get(action="admin.inspectionround.change")
        assert event.changes == {"fields": ["inspection_team"]}
