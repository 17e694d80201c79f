"""The system administrator opens accounts and units and moves people between units."""

import re

import pytest
from django.urls import reverse

from accounts.models import AuditEvent, Unit, User
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
        assert person.unit == world.resp_unit and person.password_changed_at is None
        assert not person.role_set
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
    def test_it_moves_a_person_and_their_access_with_them(self, world, client):
        client.force_login(world.sysadmin)
        assert client.get(reverse("accounts:system_user_move", args=[world.outsider.pk])).status_code == 200
        client.post(reverse("accounts:system_user_move", args=[world.outsider.pk]), {"unit": world.resp_unit.pk})
        moved = User.objects.get(pk=world.outsider.pk)
        assert moved.unit == world.resp_unit
        assert access.may_report(moved, world.resp_measure)
        client.post(reverse("accounts:system_user_move", args=[moved.pk]), {"unit": world.other_unit.pk})
        assert not problems_visible_to(User.objects.get(pk=moved.pk)).exists()
        assert AuditEvent.objects.filter(action="user.move_unit").count() == 2

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
