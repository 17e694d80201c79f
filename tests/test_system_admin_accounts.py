"""The system administrator opens accounts and units and moves people between units."""

import re

import pytest
from django.urls import reverse

from accounts import services
from accounts.models import AdminApproval, AuditEvent, Unit, User
from rectification import access
from rectification.access import problems_visible_to

TEMP = "Linshi#2026pass"


@pytest.mark.django_db
class TestUserCreate:
    def test_it_opens_an_account_without_roles_that_must_change_its_password(self, world, client):
        client.force_login(world.sysadmin)
        response = client.post(
            reverse("accounts:system_user_create"),
            {
                "username": "new_lly",
                "full_name": "新联络员",
                "unit": world.resp_unit.pk,
                "title": "科员",
                "phone": "1",
                "new_password1": TEMP,
                "new_password2": TEMP,
            },
        )
        assert response.status_code == 302
        person = User.objects.get(username="new_lly")
        assert person.password_changed_at is None
        assert not person.role_set
        # The unit waits for the security administrator: until then the account belongs to none.
        assert person.unit is None and not person.groups.exists()
        approval = AdminApproval.objects.get(target=person, kind="unit", status="pending")
        assert approval.payload["unit_id"] == world.resp_unit.pk
        services.approval_approve(actor=world.secadmin, approval=approval)
        person = User.objects.get(username="new_lly")
        assert person.unit == world.resp_unit
        assert world.resp_unit.group in person.groups.all()

    def test_it_refuses_a_weak_password_and_a_taken_username(self, world, client):
        client.force_login(world.sysadmin)
        url = reverse("accounts:system_user_create")
        page = client.post(
            url, {"username": "x1", "full_name": "某", "new_password1": "123", "new_password2": "123"}
        ).content.decode()
        assert not User.objects.filter(username="x1").exists()
        # The reasons, each in Chinese (the page's labels say 密码 whatever happens).
        reasons = " ".join(re.findall(r'class="error">([^<]*)<', page))
        assert "密码长度至少 8 位" in reasons and "密码只包含数字" in reasons
        assert not re.search("[A-Za-z]", reasons), reasons
        page = client.post(
            url, {"username": "resp_lly", "full_name": "重名", "new_password1": TEMP, "new_password2": TEMP}
        ).content.decode()
        assert "已被使用" in page

    @pytest.mark.parametrize("actor", ["office", "secadmin", "auditadmin", "resp_staff"])
    def test_it_is_the_system_administrators_alone(self, world, client, actor):
        client.force_login(getattr(world, actor))
        assert client.get(reverse("accounts:system_user_create")).status_code == 403
        assert client.get(reverse("accounts:system_unit_create")).status_code == 403
        assert (
            client.post(
                reverse("accounts:system_user_move", args=[world.outsider.pk]), {"unit": world.resp_unit.pk}
            ).status_code
            == 403
        )


@pytest.mark.django_db
class TestMoveAndUnits:
    def test_it_takes_access_away_at_once_and_gives_it_on_approval(self, world, client):
        client.force_login(world.sysadmin)
        assert client.get(reverse("accounts:system_user_move", args=[world.resp_staff.pk])).status_code == 200
        client.post(reverse("accounts:system_user_move", args=[world.resp_staff.pk]), {"unit": world.lead_unit.pk})
        moved = User.objects.get(pk=world.resp_staff.pk)
        # Out of the old unit at once, not yet in the new one.
        assert moved.unit is None
        assert not access.may_report(moved, world.resp_measure)
        assert not problems_visible_to(moved).exists()
        approval = AdminApproval.objects.get(target=moved, kind="unit", status="pending")
        client.force_login(world.secadmin)
        client.post(reverse("accounts:approval_decide", args=[approval.pk]), {"decision": "approve"})
        moved = User.objects.get(pk=world.resp_staff.pk)
        assert moved.unit == world.lead_unit
        assert list(problems_visible_to(moved)) == [world.problem]
        assert AuditEvent.objects.filter(action="user.move_unit").count() == 2

    def test_it_refuses_a_second_move_while_one_waits(self, world, client):
        client.force_login(world.sysadmin)
        url = reverse("accounts:system_user_move", args=[world.outsider.pk])
        client.post(url, {"unit": world.resp_unit.pk})
        page = client.post(url, {"unit": world.lead_unit.pk}).content.decode()
        assert "已有一项待审批的“单位授权”申请" in page
        assert AdminApproval.objects.filter(target=world.outsider).count() == 1

    def test_it_adds_a_unit_with_its_permission_group(self, world, client):
        client.force_login(world.sysadmin)
        client.post(
            reverse("accounts:system_unit_create"),
            {"name": "区数据局", "short_name": "数据局", "level": "department", "kind": "government"},
        )
        unit = Unit.objects.get(name="区数据局")
        assert unit.group.name == "unit:区数据局"
        page = client.post(
            reverse("accounts:system_unit_create"), {"name": "区数据局", "level": "department", "kind": "government"}
        ).content.decode()
        assert "已存在" in page
