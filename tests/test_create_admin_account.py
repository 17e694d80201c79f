"""``create_admin_account``: how the first system, security and audit administrators (三员) come to
exist, on the server's command line (docs/OPERATIONS.md, section 2)."""

import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent, User
from accounts.roles import Role

STRONG = "Anquan#2026admin"


@pytest.fixture
def typed(monkeypatch):
    """The passwords the operator types at the two prompts, in order; the prompts are recorded."""
    prompts = []

    def answer(*passwords):
        replies = iter(passwords)

        def getpass(prompt=""):
            prompts.append(prompt)
            return next(replies)

        monkeypatch.setattr("getpass.getpass", getpass)
        return prompts

    return answer


def _create(*args):
    out = io.StringIO()
    call_command("create_admin_account", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
class TestCreateAdminAccount:
    @pytest.mark.parametrize(
        "role, expected",
        [("system", Role.SYSTEM_ADMIN), ("security", Role.SECURITY_ADMIN), ("audit", Role.AUDIT_ADMIN)],
    )
    def test_it_creates_an_administrator_who_can_sign_in(self, typed, role, expected):
        prompts = typed(STRONG, STRONG)
        out = _create(role, "admin_new", "新管理员")
        assert prompts == ["密码：", "再次输入密码："]
        assert out.strip() == f"已创建{expected.label}账号 admin_new。"
        person = User.objects.get(username="admin_new")
        assert (person.full_name, person.unit) == ("新管理员", None)
        assert person.role_set == {expected}
        # 三员分立: a dedicated account, never a superuser that would bypass it.
        assert not person.is_superuser and not person.is_staff
        event = AuditEvent.objects.get(action="user.create", target_id=str(person.pk))
        assert event.actor is None and event.changes["roles"] == [str(expected.label)]
        client = Client()
        response = client.post(reverse("accounts:login"), {"username": "admin_new", "password": STRONG}, follow=True)
        assert response.context["user"] == person

    def test_it_refuses_two_different_passwords(self, typed):
        typed(STRONG, STRONG + "x")
        with pytest.raises(CommandError, match=r"^两次输入的密码不一致。$"):
            _create("system", "admin_new", "新管理员")
        assert not User.objects.filter(username="admin_new").exists()

    @pytest.mark.parametrize(
        "password, reason",
        [
            ("Aq#1", "密码长度至少 8 位"),
            ("12345678", "密码只包含数字"),
            ("anquan2026", "密码长度至少 8 位"),
            ("admin_new#2026A", "太相似"),
        ],
    )
    def test_it_refuses_a_weak_password_in_chinese(self, typed, password, reason):
        typed(password, password)
        with pytest.raises(CommandError) as refused:
            _create("audit", "admin_new", "新管理员")
        message = str(refused.value)
        assert reason in message
        assert not re.search("[A-Za-z]", message), message
        assert not User.objects.filter(username="admin_new").exists()

    def test_it_refuses_a_taken_username_before_asking_for_a_password(self, world, typed):
        prompts = typed()
        with pytest.raises(CommandError, match=r"^用户名 resp_lly 已存在。$"):
            _create("system", "resp_lly", "重名")
        assert prompts == []
        # The liaison keeps their name and roles: no administrator role is added to them.
        person = User.objects.get(username="resp_lly")
        assert person.full_name == "张联络" and person.role_set == {Role.LIAISON}

    def test_it_refuses_a_second_run_for_the_same_administrator(self, typed):
        typed(STRONG, STRONG)
        _create("security", "aqgly", "安全管理员")
        with pytest.raises(CommandError, match=r"^用户名 aqgly 已存在。$"):
            _create("security", "aqgly", "安全管理员")
        assert User.objects.filter(username="aqgly").count() == 1

    def test_it_refuses_an_unknown_role_in_chinese(self, typed):
        prompts = typed()
        with pytest.raises(CommandError) as refused:
            _create("superuser", "admin_new", "新管理员")
        assert str(refused.value) == "角色须为 system（系统管理员）、security（安全管理员）或 audit（审计管理员）。"
        assert prompts == []
        assert not User.objects.filter(username="admin_new").exists()
