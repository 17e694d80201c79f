"""双人审批: no single administrator can give anyone access to findings, take over an account that
reads them, or put another administrator out of office. Each of these is a request one
administrator makes and another (never the requester, never the person it is about) approves."""

import datetime
import json

import pyotp
import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from accounts import access, services
from accounts.models import AdminApproval, AuditEvent, User
from accounts.roles import Role

from .conftest import PASSWORD
from .test_security_auth import LOGIN_TOTP, PASSWORD_PAGE, START, _enrol, _login

TEMP = "Linshi#2026pass"
NEW = "Xin#2026mima"
PROBLEM_TEXT = "违规发放津补贴"
MEASURE_TEXT = "全面清理违规发放的津贴补贴"
NOT_ADMINISTRATORS = ["office", "resp_staff", "resp_head", "leader", "supervision", "provincial", "track_office"]


@pytest.fixture
def frozen():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def _decide(client, approval, decision="approve", reason=""):
    return client.post(
        reverse("accounts:approval_decide", args=[approval.pk]), {"decision": decision, "reason": reason}
    )


def _pending(target, kind):
    return AdminApproval.objects.get(target=target, kind=kind, status=AdminApproval.Status.PENDING)


def _sees_unit_findings(client):
    """What the signed-in person is shown of unit 责任局's problem and measure on the list pages."""
    shown = []
    for name in ("rectification:problem_list", "rectification:measure_list", "rectification:worklist"):
        response = client.get(reverse(name))
        assert response.status_code < 500
        text = response.content.decode()
        shown += [t for t in (PROBLEM_TEXT, MEASURE_TEXT) if t in text]
    return shown


@pytest.mark.django_db
class TestNewAccountInAUnit:
    """The 系统管理员's first way in: open an account in a unit and sign in as it."""

    def test_it_sees_nothing_of_the_unit_until_the_security_administrator_approves(self, world, client):
        admin = Client()
        admin.force_login(world.sysadmin)
        response = admin.post(
            reverse("accounts:system_user_create"),
            {
                "username": "new_lly",
                "full_name": "新联络员",
                "unit": world.resp_unit.pk,
                "new_password1": TEMP,
                "new_password2": TEMP,
            },
        )
        assert response.status_code == 302
        person = User.objects.get(username="new_lly")
        # Even with a role that acts on findings (itself approved), the pending unit grants nothing.
        security = Client()
        security.force_login(world.secadmin)
        security.post(reverse("accounts:security_user_roles", args=[person.pk]), {"roles": [Role.LIAISON]})
        _decide(admin, _pending(person, "roles"))
        assert User.objects.get(pk=person.pk).role_set == {Role.LIAISON}

        # The person signs in with the temporary password and changes it, as they must.
        assert _login(client, "new_lly", TEMP).status_code == 302
        response = client.post(
            PASSWORD_PAGE, {"old_password": TEMP, "new_password1": NEW, "new_password2": NEW}, REMOTE_ADDR="10.0.0.1"
        )
        assert response.status_code == 302
        assert _sees_unit_findings(client) == []
        assert client.get(world.problem.get_absolute_url()).status_code == 404
        assert client.get(world.resp_measure.get_absolute_url()).status_code == 404

        response = _decide(security, _pending(person, "unit"))
        assert response.status_code == 302
        assert PROBLEM_TEXT in _sees_unit_findings(client)
        assert MEASURE_TEXT in _sees_unit_findings(client)
        assert client.get(world.problem.get_absolute_url()).status_code == 200

    def test_it_audits_the_request_and_the_decision(self, world):
        person = services.user_create_by_admin(
            actor=world.sysadmin, username="new_lly", full_name="新联络员", password=TEMP, unit=world.resp_unit
        )
        approval = _pending(person, "unit")
        services.approval_approve(actor=world.secadmin, approval=approval, reason="核实无误")
        request = AuditEvent.objects.get(action="approval.request")
        assert request.actor == world.sysadmin
        assert request.target_type == "accounts.adminapproval" and request.target_id == str(approval.pk)
        assert request.changes["kind"] == "unit" and request.changes["target"] == "new_lly"
        assert request.changes["request"]["unit"] == "责任局"
        decision = AuditEvent.objects.get(action="approval.approve")
        assert decision.actor == world.secadmin
        assert decision.changes["status"] == ["pending", "approved"]
        assert decision.changes["requested_by"] == "sysadmin" and decision.changes["reason"] == "核实无误"
        assert AuditEvent.objects.get(action="user.move_unit").actor == world.secadmin

    def test_the_system_administrator_cannot_approve_the_unit_he_asked_for(self, world, client):
        person = services.user_create_by_admin(
            actor=world.sysadmin, username="new_lly", full_name="新联络员", password=TEMP, unit=world.resp_unit
        )
        client.force_login(world.sysadmin)
        response = _decide(client, _pending(person, "unit"))
        assert response.status_code == 403
        assert "不能审批自己提出的申请" in response.content.decode()
        assert User.objects.get(pk=person.pk).unit is None

    def test_it_refuses_a_unit_that_was_deactivated_meanwhile(self, world, client):
        person = services.user_create_by_admin(
            actor=world.sysadmin, username="new_lly", full_name="新联络员", password=TEMP, unit=world.resp_unit
        )
        world.resp_unit.is_active = False
        world.resp_unit.save()
        client.force_login(world.secadmin)
        response = _decide(client, _pending(person, "unit"))
        assert response.status_code == 302
        page = client.get(response["Location"]).content.decode()
        assert "单位“责任局”已停用或不存在" in page and "该申请已失效" in page
        assert User.objects.get(pk=person.pk).unit is None
        assert _pending(person, "unit")
        assert AuditEvent.objects.filter(action="approval.approve_refused", outcome="failure").exists()


@pytest.mark.django_db
class TestPasswordReset:
    """The 系统管理员's second way in: reset the office's password and sign in as the office."""

    def test_it_changes_nothing_until_approved_and_then_asks_for_the_second_factor_and_a_new_password(
        self, world, client, frozen
    ):
        secret = _enrol(client, world.office)
        admin = Client()
        admin.force_login(world.sysadmin)
        url = reverse("accounts:system_user_password", args=[world.office.pk])
        response = admin.post(url, {"new_password1": TEMP, "new_password2": TEMP}, follow=True)
        assert "须由安全管理员审批后生效" in response.content.decode()
        world.office.refresh_from_db()
        assert world.office.check_password(PASSWORD) and not world.office.check_password(TEMP)
        assert _login(client, "office", TEMP).status_code == 200
        approval = _pending(world.office, "password")
        # The temporary password waits as a hash only, and never reaches an audit row.
        assert TEMP not in json.dumps(approval.payload)
        assert not AuditEvent.objects.filter(action="system.password_reset").exists()

        security = Client()
        security.force_login(world.secadmin)
        assert _decide(security, approval).status_code == 302
        world.office.refresh_from_db()
        assert world.office.check_password(TEMP)
        assert world.office.has_totp, "a password reset must never clear the second factor"
        approval.refresh_from_db()
        assert approval.status == "approved" and "password_hash" not in approval.payload
        for event in AuditEvent.objects.filter(action__startswith="approval."):
            assert set(event.changes["request"]) == set(), event.changes
            assert "md5$" not in json.dumps(event.changes)

        # The password alone is not enough: the code comes next (a later one than the code used to
        # enrol, which cannot be replayed), then a new password.
        frozen.shift(datetime.timedelta(seconds=30))
        assert _login(client, "office", TEMP)["Location"] == LOGIN_TOTP
        response = client.post(LOGIN_TOTP, {"code": pyotp.TOTP(secret).now()})
        assert response.status_code == 302
        response = client.get(reverse("rectification:problem_list"))
        assert response["Location"] == PASSWORD_PAGE

    def test_the_requester_cannot_approve_his_own_reset(self, world, client):
        approval = services.user_password_reset(actor=world.sysadmin, user=world.office, password=TEMP)
        client.force_login(world.sysadmin)
        page = client.get(reverse("accounts:approval_detail", args=[approval.pk])).content.decode()
        assert "不能审批自己提出的申请" in page and 'value="approve"' not in page
        response = _decide(client, approval)
        assert response.status_code == 403
        world.office.refresh_from_db()
        assert world.office.check_password(PASSWORD)

    def test_it_is_out_of_date_once_the_person_changed_the_password(self, world, client):
        approval = services.user_password_reset(actor=world.sysadmin, user=world.office, password=TEMP)
        client.force_login(world.office)
        client.post(PASSWORD_PAGE, {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW})
        client.force_login(world.secadmin)
        response = _decide(client, approval)
        page = client.get(response["Location"]).content.decode()
        assert "密码已被修改" in page and "该申请已失效" in page
        world.office.refresh_from_db()
        assert world.office.check_password(NEW)

    def test_it_allows_one_waiting_reset_per_account(self, world, client):
        client.force_login(world.sysadmin)
        url = reverse("accounts:system_user_password", args=[world.office.pk])
        client.post(url, {"new_password1": TEMP, "new_password2": TEMP})
        page = client.post(url, {"new_password1": TEMP + "x", "new_password2": TEMP + "x"}).content.decode()
        assert "已有一项待审批的“重置密码”申请" in page
        assert AdminApproval.objects.filter(target=world.office, kind="password").count() == 1


@pytest.mark.django_db
class TestDeactivatingAdministrators:
    """The 系统管理员's third way: put the other administrators out of the way."""

    @pytest.mark.parametrize("target, approver", [("secadmin", "auditadmin"), ("auditadmin", "secadmin")])
    def test_it_only_asks_and_another_administrator_decides(self, world, client, target, approver):
        target, approver = getattr(world, target), getattr(world, approver)
        client.force_login(world.sysadmin)
        response = client.post(reverse("accounts:system_user_active", args=[target.pk]), {"active": "0"}, follow=True)
        assert "须由另一名管理员审批后生效" in response.content.decode()
        target.refresh_from_db()
        assert target.is_active
        approval = _pending(target, "deactivate")

        # Neither the one who asked nor the one it is about may approve.
        assert _decide(client, approval).status_code == 403
        client.force_login(target)
        response = _decide(client, approval)
        assert response.status_code == 403
        assert "不能审批与自己账号有关的申请" in response.content.decode()
        target.refresh_from_db()
        assert target.is_active

        client.force_login(approver)
        assert _decide(client, approval).status_code == 302
        target.refresh_from_db()
        assert not target.is_active
        event = AuditEvent.objects.get(action="system.user_deactivate")
        assert event.actor == approver and event.changes["requested_by"] == "sysadmin"

    def test_reactivating_an_administrator_waits_for_another_administrator(self, world):
        approval = services.user_set_active(actor=world.sysadmin, user=world.auditadmin, active=False)
        services.approval_approve(actor=world.secadmin, approval=approval)
        world.auditadmin.refresh_from_db()
        approval = services.user_set_active(actor=world.sysadmin, user=world.auditadmin, active=True)
        assert approval.approver == AdminApproval.Approver.ANY_ADMIN
        world.auditadmin.refresh_from_db()
        assert not world.auditadmin.is_active
        services.approval_approve(actor=world.secadmin, approval=approval)
        world.auditadmin.refresh_from_db()
        assert world.auditadmin.is_active

    def test_the_security_administrator_cannot_strip_an_administrator_of_the_role_alone(self, world, client):
        client.force_login(world.secadmin)
        client.post(reverse("accounts:security_user_roles", args=[world.sysadmin.pk]), {"roles": []})
        assert User.objects.get(pk=world.sysadmin.pk).role_set == {Role.SYSTEM_ADMIN}
        approval = _pending(world.sysadmin, "roles")
        assert approval.approver == AdminApproval.Approver.ANY_ADMIN
        client.force_login(world.sysadmin)
        assert _decide(client, approval).status_code == 403
        client.force_login(world.auditadmin)
        assert _decide(client, approval).status_code == 302
        assert User.objects.get(pk=world.sysadmin.pk).role_set == set()


@pytest.mark.django_db
class TestRoles:
    def test_granting_the_office_role_waits_for_the_system_administrator(self, world, client):
        client.force_login(world.secadmin)
        url = reverse("accounts:security_user_roles", args=[world.outsider.pk])
        response = client.post(url, {"roles": [Role.OFFICE]}, follow=True)
        assert "须由系统管理员审批后生效" in response.content.decode()
        outsider = User.objects.get(pk=world.outsider.pk)
        assert not access.reads_all(outsider)
        assert AuditEvent.objects.filter(action="approval.request", actor=world.secadmin).exists()
        assert not AuditEvent.objects.filter(action="security.roles_change").exists()
        approval = _pending(outsider, "roles")
        assert _decide(client, approval).status_code == 403

        client.force_login(world.sysadmin)
        assert _decide(client, approval, reason="经区委批准").status_code == 302
        outsider = User.objects.get(pk=world.outsider.pk)
        assert access.reads_all(outsider)
        approval.refresh_from_db()
        assert approval.decided_by == world.sysadmin and approval.reason == "经区委批准"

    def test_it_refuses_an_approval_overtaken_by_a_later_change(self, world, client):
        approval = services.user_roles_set(
            actor=world.secadmin, user=world.resp_staff, roles=[Role.LIAISON, Role.OFFICE]
        )
        # Taking the liaison role away meanwhile takes effect at once, and makes the request stale.
        services.user_roles_set(actor=world.secadmin, user=world.resp_staff, roles=[])
        client.force_login(world.sysadmin)
        response = _decide(client, approval)
        page = client.get(response["Location"]).content.decode()
        assert "角色已被调整" in page and "该申请已失效" in page
        assert User.objects.get(pk=world.resp_staff.pk).role_set == set()


@pytest.mark.django_db
class TestRequests:
    def test_the_requester_withdraws_and_nobody_else_may(self, world, client):
        approval = services.user_password_reset(actor=world.sysadmin, user=world.office, password=TEMP)
        client.force_login(world.secadmin)
        assert client.post(reverse("accounts:approval_withdraw", args=[approval.pk])).status_code == 403
        client.force_login(world.sysadmin)
        response = client.post(reverse("accounts:approval_withdraw", args=[approval.pk]), follow=True)
        assert "已撤回" in response.content.decode()
        approval.refresh_from_db()
        assert approval.status == "withdrawn" and "password_hash" not in approval.payload
        assert AuditEvent.objects.get(action="approval.withdraw").actor == world.sysadmin
        # Withdrawn, it can no longer be approved.
        client.force_login(world.secadmin)
        assert _decide(client, approval).status_code == 403
        world.office.refresh_from_db()
        assert world.office.check_password(PASSWORD)

    def test_a_rejection_changes_nothing_and_the_requester_sees_why(self, world, client):
        approval = services.user_roles_set(actor=world.secadmin, user=world.resp_staff, roles=[Role.OFFICE])
        client.force_login(world.sysadmin)
        _decide(client, approval, "reject", "未见任职文件")
        assert User.objects.get(pk=world.resp_staff.pk).role_set == {Role.LIAISON}
        event = AuditEvent.objects.get(action="approval.reject")
        assert event.actor == world.sysadmin and event.changes["reason"] == "未见任职文件"
        client.force_login(world.secadmin)
        page = client.get(reverse("accounts:approvals_mine")).content.decode()
        assert "已驳回" in page and "未见任职文件" in page

    def test_the_requester_sees_each_status(self, world, client):
        statuses = {}
        for person, decide in ((world.resp_staff, "approve"), (world.resp_head, "reject"), (world.lead_staff, None)):
            statuses[person] = services.user_password_reset(actor=world.sysadmin, user=person, password=TEMP)
            if decide == "approve":
                services.approval_approve(actor=world.secadmin, approval=statuses[person])
            elif decide == "reject":
                services.approval_reject(actor=world.secadmin, approval=statuses[person])
        services.approval_withdraw(
            actor=world.sysadmin,
            approval=services.user_password_reset(actor=world.sysadmin, user=world.coop_staff, password=TEMP),
        )
        client.force_login(world.sysadmin)
        page = client.get(reverse("accounts:approvals_mine")).content.decode()
        for label in ("待审批", "已批准", "已驳回", "已撤回"):
            assert label in page

    def test_it_refuses_a_decision_that_is_neither_approve_nor_reject_in_chinese(self, world, client):
        approval = services.user_password_reset(actor=world.sysadmin, user=world.office, password=TEMP)
        client.force_login(world.secadmin)
        response = client.post(reverse("accounts:approval_decide", args=[approval.pk]), {"decision": "maybe"})
        assert response.status_code == 400
        assert "请选择批准或驳回" in response.content.decode()
        assert _pending(world.office, "password")

    def test_it_refuses_a_post_without_the_csrf_token(self, world):
        approval = services.user_password_reset(actor=world.sysadmin, user=world.office, password=TEMP)
        client = Client(enforce_csrf_checks=True)
        client.force_login(world.secadmin)
        assert _decide(client, approval).status_code == 403
        assert _pending(world.office, "password")


@pytest.mark.django_db
class TestApprovalPages:
    def _waiting(self, world):
        return services.user_password_reset(actor=world.sysadmin, user=world.office, password=TEMP)

    def test_it_shows_the_approver_what_is_asked_by_whom_and_when(self, world, client):
        approval = self._waiting(world)
        client.force_login(world.secadmin)
        page = client.get(reverse("accounts:approvals")).content.decode()
        assert "重置密码" in page and "sysadmin" in page
        assert approval.requested_at.astimezone().strftime("%Y-%m-%d") in page
        detail = client.get(reverse("accounts:approval_detail", args=[approval.pk])).content.decode()
        assert "整改办" in detail  # the office account's current role
        assert 'value="approve"' in detail and 'value="reject"' in detail

    def test_it_counts_what_waits_in_the_administrators_navigation(self, world, client):
        self._waiting(world)
        client.force_login(world.secadmin)
        page = client.get(reverse("accounts:security_users")).content.decode()
        assert '待我审批<span class="badge">1</span>' in page
        client.force_login(world.sysadmin)
        page = client.get(reverse("accounts:system_users")).content.decode()
        assert '待我审批<span class="badge">' not in page

    def test_the_user_lists_mark_people_with_a_waiting_request(self, world, client):
        services.user_create_by_admin(
            actor=world.sysadmin, username="new_lly", full_name="新联络员", password=TEMP, unit=world.resp_unit
        )
        for actor, url in ((world.sysadmin, "accounts:system_users"), (world.secadmin, "accounts:security_users")):
            client.force_login(actor)
            page = client.get(reverse(url), {"q": "new_lly"}).content.decode()
            assert "待审批" in page and "加入单位“责任局”" in page

    @pytest.mark.parametrize("actor", NOT_ADMINISTRATORS)
    def test_it_is_closed_to_everyone_but_the_administrators(self, world, client, actor):
        approval = self._waiting(world)
        client.force_login(getattr(world, actor))
        for name in ("accounts:approvals", "accounts:approvals_mine"):
            assert client.get(reverse(name)).status_code == 403
        assert client.get(reverse("accounts:approval_detail", args=[approval.pk])).status_code == 403
        assert _decide(client, approval).status_code == 403
        assert client.post(reverse("accounts:approval_withdraw", args=[approval.pk])).status_code == 403
        assert _pending(world.office, "password")

    def test_an_administrator_it_is_not_addressed_to_gets_404(self, world, client):
        approval = self._waiting(world)
        client.force_login(world.auditadmin)
        assert client.get(reverse("accounts:approval_detail", args=[approval.pk])).status_code == 404
        assert _decide(client, approval).status_code == 404
        assert client.get(reverse("accounts:approval_detail", args=[999999])).status_code == 404

    def test_it_sends_anonymous_visitors_to_the_login_page_and_refuses_the_wrong_method(self, world, client):
        approval = self._waiting(world)
        for url in (reverse("accounts:approvals"), reverse("accounts:approval_detail", args=[approval.pk])):
            assert client.get(url)["Location"].startswith(reverse("accounts:login"))
        client.force_login(world.secadmin)
        assert client.get(reverse("accounts:approval_decide", args=[approval.pk])).status_code == 405
        assert client.get(reverse("accounts:approval_withdraw", args=[approval.pk])).status_code == 405
        assert client.post(reverse("accounts:approvals")).status_code == 405

    @pytest.mark.parametrize(
        "url, actor", [("accounts:approvals", "secadmin"), ("accounts:approvals_mine", "sysadmin")]
    )
    def test_it_runs_the_same_number_of_queries_for_few_and_many_requests(
        self, world, client, django_assert_num_queries, url, actor
    ):
        from accounts.services import user_create

        client.force_login(getattr(world, actor))
        self._waiting(world)
        client.get(reverse(url))
        # Session, user, roles, count, the page of requests with their people, the badge's count.
        with django_assert_num_queries(7, exact=False) as captured:
            client.get(reverse(url))
        baseline = len(captured.captured_queries)
        for n in range(20):
            person = user_create(actor=None, username=f"extra{n}", full_name=f"新人{n}", password=PASSWORD)
            services.user_move_by_admin(actor=world.sysadmin, user=person, unit=world.other_unit)
        with django_assert_num_queries(baseline):
            response = client.get(reverse(url))
        assert response.context["page"].paginator.count == 21


@pytest.mark.django_db
class TestTheRulesAgree:
    """The page lists what ``may_decide_approval`` allows, for every administrator and request."""

    def test_the_waiting_list_matches_the_predicate(self, world):
        requests = [
            services.user_password_reset(actor=world.sysadmin, user=world.office, password=TEMP),
            services.user_roles_set(actor=world.secadmin, user=world.resp_staff, roles=[Role.OFFICE]),
            services.user_set_active(actor=world.sysadmin, user=world.secadmin, active=False),
            services.user_roles_set(actor=world.secadmin, user=world.auditadmin, roles=[]),
        ]
        for admin in (world.sysadmin, world.secadmin, world.auditadmin):
            listed = set(access.approvals_waiting_for(admin))
            allowed = {a for a in requests if access.may_decide_approval(admin, a)}
            assert listed == allowed, admin
        assert {a.kind for a in access.approvals_waiting_for(world.auditadmin)} == {"deactivate"}
