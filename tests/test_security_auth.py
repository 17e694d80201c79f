"""Signing in under the security baseline: lockout by username and address with a delay per username, password rules and expiry,
session timeouts, a new session id at login, and the optional second factor (TOTP)."""

import datetime
import re

import pyotp
import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent, PasswordHistory, User
from accounts.passwords import ComplexityValidator, character_classes

from .conftest import PASSWORD

LOGIN = reverse("accounts:login")
LOGIN_TOTP = reverse("accounts:login_totp")
HOME = reverse("rectification:home")
PASSWORD_PAGE = reverse("accounts:password_change")
TOTP_PAGE = reverse("accounts:totp_setup")
START = datetime.datetime(2026, 11, 24, 9, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))


def _login(client, username, password, address="10.0.0.1"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def _signed_in(client):
    return SESSION_KEY in client.session


@pytest.fixture
def frozen():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.mark.django_db
class TestLockout:
    def test_it_locks_the_username_at_the_address_of_five_failures(self, world, client, frozen):
        for _ in range(4):
            assert _login(client, "resp_lly", "wrong", "10.0.0.1").status_code == 200
        response = _login(client, "resp_lly", "wrong", "10.0.0.1")
        assert response.status_code == 429
        page = response.content.decode()
        assert "在本地址因连续 5 次登录失败已被锁定" in page
        assert "30 分钟后再试" in page
        # The right password does not help now, from that address, even after the short delay.
        frozen.shift(datetime.timedelta(seconds=5))
        assert _login(client, "resp_lly", PASSWORD, "10.0.0.1").status_code == 429
        assert not _signed_in(client)

    def test_it_does_not_let_failures_from_elsewhere_lock_the_person_out(self, world, client, frozen):
        # The person signs in every day from the office's address.
        assert _login(client, "resp_lly", PASSWORD, "10.0.0.1").status_code == 302
        client.post(reverse("accounts:logout"))
        # Somebody elsewhere sends wrong passwords for the account, every 30 minutes if he likes.
        for _ in range(5):
            _login(client, "resp_lly", "wrong", "203.0.113.9")
        assert _login(client, "resp_lly", PASSWORD, "203.0.113.9").status_code == 429
        # Right away, from the office: neither his lock nor the delay his failures set reaches it.
        response = _login(client, "resp_lly", PASSWORD, "10.0.0.1")
        assert response.status_code == 302
        assert _signed_in(client)

    def test_it_delays_guessing_one_username_from_many_addresses(self, world, client, frozen):
        for n in range(5):
            assert _login(client, "resp_lly", "wrong", f"198.51.100.{n + 1}").status_code == 200
        # The sixth attempt, from yet another address, waits a second; refused unread and uncounted.
        response = _login(client, "resp_lly", PASSWORD, "198.51.100.6")
        assert response.status_code == 429
        assert "请 1 秒后再试" in response.content.decode()
        assert not _signed_in(client)
        assert AuditEvent.objects.filter(action="auth.login_failed").count() == 5
        frozen.shift(datetime.timedelta(seconds=1))
        assert _login(client, "resp_lly", "wrong", "198.51.100.6").status_code == 200
        # Each failure doubles the wait.
        assert "请 2 秒后再试" in _login(client, "resp_lly", "wrong", "198.51.100.7").content.decode()
        frozen.shift(datetime.timedelta(seconds=2))
        assert _login(client, "resp_lly", "wrong", "198.51.100.7").status_code == 200
        assert "请 4 秒后再试" in _login(client, "resp_lly", "wrong", "198.51.100.8").content.decode()

    def test_it_keeps_the_delay_short(self, world, client, frozen, settings):
        for n in range(12):
            assert _login(client, "resp_lly", "wrong", f"198.51.100.{n + 1}").status_code == 200
            frozen.shift(datetime.timedelta(seconds=settings.LOGIN_DELAY_MAX_SECONDS))
        assert settings.LOGIN_DELAY_MAX_SECONDS == 30
        frozen.shift(datetime.timedelta(seconds=-1))
        assert "请 1 秒后再试" in _login(client, "resp_lly", PASSWORD, "198.51.100.99").content.decode()
        frozen.shift(datetime.timedelta(seconds=1))
        assert _login(client, "resp_lly", PASSWORD, "198.51.100.99").status_code == 302

    def test_it_warns_before_the_last_attempt(self, world, client):
        for _ in range(3):
            assert "再输错 1 次" not in _login(client, "resp_lly", "wrong").content.decode()
        page = _login(client, "resp_lly", "wrong").content.decode()
        assert "再输错 1 次，账号“resp_lly”在本地址将被锁定 30 分钟" in page

    def test_it_counts_wrong_passwords_on_the_password_change_form(self, world, client):
        client.force_login(world.resp_staff)
        new = "Zx9!kLm2#Qw7"
        for _ in range(4):
            response = client.post(PASSWORD_PAGE, {"old_password": "wrong", "new_password1": new, "new_password2": new})
            assert "旧密码不正确" in response.content.decode()
        response = client.post(PASSWORD_PAGE, {"old_password": "wrong", "new_password1": new, "new_password2": new})
        assert response.status_code == 429
        assert AuditEvent.objects.filter(action="auth.login_failed", changes__reason="password_change").count() == 5
        # Locked: the right password changes nothing, and signing in from here is refused.
        response = client.post(PASSWORD_PAGE, {"old_password": PASSWORD, "new_password1": new, "new_password2": new})
        assert "已被锁定" in response.content.decode()
        world.resp_staff.refresh_from_db()
        assert world.resp_staff.check_password(PASSWORD)
        client.post(reverse("accounts:logout"))
        assert _login(client, "resp_lly", PASSWORD, "127.0.0.1").status_code == 429

    def test_it_does_not_lock_colleagues_behind_the_same_address(self, world, client):
        for _ in range(5):
            _login(client, "resp_lly", "wrong", "10.0.0.1")
        response = _login(client, "resp_fzr", PASSWORD, "10.0.0.1")
        assert response.status_code == 302
        assert _signed_in(client)

    def test_it_lifts_the_lock_after_thirty_minutes(self, world, client, frozen):
        for _ in range(5):
            _login(client, "resp_lly", "wrong")
        frozen.shift(datetime.timedelta(minutes=29))
        assert _login(client, "resp_lly", PASSWORD).status_code == 429
        frozen.shift(datetime.timedelta(minutes=2))
        assert _login(client, "resp_lly", PASSWORD).status_code == 302

    def test_it_lets_the_security_administrator_unlock(self, world, client):
        for _ in range(5):
            _login(client, "resp_lly", "wrong")
        client.force_login(world.secadmin)
        page = client.get(reverse("accounts:security_lockouts")).content.decode()
        assert "resp_lly" in page
        assert "张联络" in page
        assert "10.0.0.1" in page
        response = client.post(reverse("accounts:security_unlock"), {"username": "resp_lly"}, follow=True)
        assert "已解除账号“resp_lly”的锁定" in response.content.decode()
        assert "resp_lly" not in client.get(reverse("accounts:security_lockouts")).content.decode()
        event = AuditEvent.objects.get(action="security.unlock")
        assert event.actor == world.secadmin
        assert event.target_id == str(world.resp_staff.pk)
        client.post(reverse("accounts:logout"))
        assert _login(client, "resp_lly", PASSWORD).status_code == 302

    def test_it_refuses_unlocking_to_everyone_else(self, world, client):
        for _ in range(5):
            _login(client, "resp_lly", "wrong")
        for actor in (world.sysadmin, world.auditadmin, world.office):
            client.force_login(actor)
            assert client.post(reverse("accounts:security_unlock"), {"username": "resp_lly"}).status_code == 403
        assert _login(client, "resp_lly", PASSWORD).status_code == 429

    def test_it_forgets_failures_after_a_successful_login(self, world, client):
        for _ in range(4):
            _login(client, "resp_lly", "wrong")
        assert _login(client, "resp_lly", PASSWORD).status_code == 302
        client.post(reverse("accounts:logout"))
        for _ in range(4):
            _login(client, "resp_lly", "wrong")
        assert _login(client, "resp_lly", PASSWORD).status_code == 302


class TestComplexity:
    @pytest.mark.parametrize("password", ["abcdefgh", "abcdefg1", "ABCDEFG1", "Ab1!xyz", "12345678!", "Abcdefgh"])
    def test_it_refuses_short_passwords_or_fewer_than_three_classes(self, password):
        with pytest.raises(ValidationError) as error:
            ComplexityValidator().validate(password)
        assert "至少 8 位" in error.value.messages[0]

    @pytest.mark.parametrize("password", ["Abcdefg1", "abcdef1!", "ABCDEF1!", "Zhenggai@2026", "整改abc12345"])
    def test_it_accepts_eight_characters_from_three_classes(self, password):
        ComplexityValidator().validate(password)

    def test_it_counts_chinese_characters_as_symbols(self):
        assert character_classes("整改Ab") == {"symbol", "upper", "lower"}

    def test_it_is_configurable(self):
        validator = ComplexityValidator(min_length=12, min_classes=4)
        with pytest.raises(ValidationError):
            validator.validate("Abcdefg1!")
        validator.validate("Abcdefghijk1!")

    @pytest.mark.django_db
    def test_it_is_applied_to_every_password_change(self, world):
        with pytest.raises(ValidationError):
            validate_password("abcdefgh", world.resp_staff)


def _set_password(user, password):
    user.set_password(password)
    user.save()


@pytest.mark.django_db
class TestPasswordHistory:
    def test_it_refuses_the_last_five_passwords(self, world):
        user = world.resp_staff
        passwords = [f"Neue@2026x{n}" for n in range(5)]
        for password in passwords:
            _set_password(user, password)
        # The current one and the four before it are refused; the original (sixth back) is allowed.
        for password in passwords:
            with pytest.raises(ValidationError) as error:
                validate_password(password, user)
            assert "最近使用过的 5 个密码" in error.value.messages[0]
        validate_password(PASSWORD, user)
        assert PasswordHistory.objects.filter(user=user).count() == 5

    def test_it_refuses_reuse_on_the_password_page(self, world, client):
        client.force_login(world.resp_staff)
        response = client.post(
            PASSWORD_PAGE, {"old_password": PASSWORD, "new_password1": PASSWORD, "new_password2": PASSWORD}
        )
        assert response.status_code == 200
        assert "最近使用过的 5 个密码" in response.content.decode()
        assert AuditEvent.objects.filter(action="auth.password_change_failed", actor=world.resp_staff).exists()

    def test_it_changes_the_password_and_keeps_the_session(self, world, client):
        client.force_login(world.resp_staff)
        response = client.post(
            PASSWORD_PAGE, {"old_password": PASSWORD, "new_password1": "Xin@mima2027", "new_password2": "Xin@mima2027"}
        )
        assert response.status_code == 302
        assert client.get(HOME, follow=True).status_code == 200
        world.resp_staff.refresh_from_db()
        assert world.resp_staff.check_password("Xin@mima2027")
        assert AuditEvent.objects.filter(action="auth.password_change", actor=world.resp_staff).exists()


@pytest.mark.django_db
class TestPasswordExpiry:
    def _age(self, user, days):
        User.objects.filter(pk=user.pk).update(password_changed_at=timezone.now() - datetime.timedelta(days=days))

    def test_it_lets_a_password_of_89_days_pass(self, world, client):
        self._age(world.office, 89)
        client.force_login(world.office)
        assert client.get(HOME).status_code == 200

    def test_it_sends_an_expired_password_to_the_change_page_first(self, world, client):
        self._age(world.office, 91)
        client.force_login(world.office)
        response = client.get(HOME)
        assert response.status_code == 302
        assert response["Location"] == PASSWORD_PAGE
        page = client.get(PASSWORD_PAGE).content.decode()
        assert "超过 90 天未修改" in page
        # Every other page is closed too, downloads and POSTs included.
        assert client.get(reverse("rectification:problem_list"))["Location"] == PASSWORD_PAGE
        assert client.post(reverse("rectification:notifications_read"))["Location"] == PASSWORD_PAGE

    def test_it_opens_again_once_the_password_is_changed(self, world, client):
        self._age(world.office, 120)
        client.force_login(world.office)
        client.post(
            PASSWORD_PAGE, {"old_password": PASSWORD, "new_password1": "Xin@mima2027", "new_password2": "Xin@mima2027"}
        )
        assert client.get(HOME).status_code == 200

    def test_it_still_lets_the_person_sign_out(self, world, client):
        self._age(world.office, 120)
        client.force_login(world.office)
        client.post(reverse("accounts:logout"))
        assert not _signed_in(client)

    def test_it_can_be_turned_off(self, world, client, settings):
        settings.PASSWORD_EXPIRY_DAYS = 0
        self._age(world.office, 400)
        client.force_login(world.office)
        assert client.get(HOME).status_code == 200


@pytest.mark.django_db
class TestSessionTimeouts:
    def _sign_in(self, client):
        response = _login(client, "office", PASSWORD)
        assert response.status_code == 302

    def test_it_signs_out_after_thirty_idle_minutes(self, world, client, frozen):
        self._sign_in(client)
        frozen.shift(datetime.timedelta(minutes=29))
        assert client.get(HOME).status_code == 200
        frozen.shift(datetime.timedelta(minutes=29))
        assert client.get(HOME).status_code == 200
        frozen.shift(datetime.timedelta(minutes=30))
        response = client.get(HOME)
        assert response.status_code == 302
        assert response["Location"].startswith(LOGIN)
        assert not _signed_in(client)
        page = client.get(response["Location"]).content.decode()
        assert "超过 30 分钟未操作" in page
        assert AuditEvent.objects.filter(action="auth.logout", actor=world.office, changes__reason="idle").exists()

    def test_it_signs_out_twelve_hours_after_login_however_busy(self, world, client, frozen):
        self._sign_in(client)
        for _ in range(35):  # 11 h 40 min of requests every 20 minutes
            frozen.shift(datetime.timedelta(minutes=20))
            assert client.get(HOME).status_code == 200
        frozen.shift(datetime.timedelta(minutes=20))
        response = client.get(HOME)
        assert response.status_code == 302
        assert "超过 12 小时" in client.get(response["Location"]).content.decode()
        assert AuditEvent.objects.filter(action="auth.logout", changes__reason="absolute").exists()

    def test_it_saves_the_session_at_most_once_a_minute(self, world, client, frozen):
        self._sign_in(client)
        client.get(HOME)

        def session_saved():
            with CaptureQueriesContext(connection) as captured:
                client.get(HOME)
            return any(q["sql"].startswith('UPDATE "django_session"') for q in captured.captured_queries)

        frozen.shift(datetime.timedelta(seconds=30))
        assert not session_saved()
        frozen.shift(datetime.timedelta(seconds=40))
        assert session_saved()

    def test_it_gives_a_new_session_id_at_login(self, world, client):
        session = client.session
        session["before_login"] = True
        session.save()
        before = session.session_key
        self._sign_in(client)
        assert client.session.session_key != before
        assert _signed_in(client)


class TestCookies:
    def test_it_marks_cookies_secure_and_http_only_in_production(self, tmp_path):
        from .test_settings import _run

        code = (
            "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings'); django.setup();"
            "from django.conf import settings as s;"
            "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY,"
            " s.SESSION_COOKIE_NAME, s.SECURE_HSTS_SECONDS > 0, s.SESSION_EXPIRE_AT_BROWSER_CLOSE)"
        )
        result = _run(
            code,
            {
                "DJANGO_PRODUCTION": "1",
                "DJANGO_SECRET_KEY": "k" * 20 + "x7Qp2Lm9Zr4Tv8Wn1Bc6Hd3Jf5Gs0Ya_" * 2,
                "DJANGO_FIELD_ENCRYPTION_KEY": "MDEyMzQ1Njc4OWFiY2RlZg==",
                "DJANGO_AUDIT_CHAIN_KEY": "YXVkaXQtY2hhaW4ta2V5LWZvci10ZXN0cy0wMTIzNDU2Nzg5",
                "DJANGO_ALLOWED_HOSTS": "zhenggai.example.gov.cn",
            },
            tmp_path,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == ["True", "True", "True", "__Host-sessionid", "True", "True"]


def _offered_secret(page):
    """The secret of the setup page's otpauth:// link, as an authenticator app scanning it reads it."""
    return re.search(r"[?&;]secret=([A-Z2-7]+)", page).group(1)


def _enrol(client, user):
    client.force_login(user)
    secret = _offered_secret(client.get(TOTP_PAGE).content.decode())
    response = client.post(TOTP_PAGE, {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302
    client.post(reverse("accounts:logout"))
    user.refresh_from_db()
    return secret


@pytest.mark.django_db
class TestSecondFactor:
    def test_it_enrols_with_a_first_code(self, world, client):
        client.force_login(world.leader)
        page = client.get(TOTP_PAGE).content.decode()
        assert "身份验证器" in page
        secret = _offered_secret(page)
        assert "otpauth://totp/" in page
        response = client.post(TOTP_PAGE, {"code": "000000" if pyotp.TOTP(secret).now() != "000000" else "111111"})
        assert "动态口令不正确" in response.content.decode()
        client.post(TOTP_PAGE, {"code": pyotp.TOTP(secret).now()})
        world.leader.refresh_from_db()
        assert world.leader.has_totp
        assert AuditEvent.objects.filter(action="auth.totp_enrol", actor=world.leader).exists()
        assert AuditEvent.objects.filter(action="auth.totp_enrol_failed", outcome="failure").exists()

    def test_it_asks_for_the_code_before_signing_in(self, world, client, frozen):
        secret = _enrol(client, world.leader)
        # The next 30-second step: the code used to enrol cannot be used again.
        frozen.shift(datetime.timedelta(seconds=30))
        response = _login(client, "leader", PASSWORD)
        assert response["Location"] == LOGIN_TOTP
        assert not _signed_in(client)
        assert client.get(HOME).status_code == 302
        response = client.post(LOGIN_TOTP, {"code": pyotp.TOTP(secret).now()})
        assert response.status_code == 302
        assert _signed_in(client)
        assert AuditEvent.objects.filter(action="auth.login", actor=world.leader, changes__second_factor=True).exists()

    def test_it_refuses_a_code_used_before(self, world, client, frozen):
        secret = _enrol(client, world.leader)
        frozen.shift(datetime.timedelta(seconds=30))
        _login(client, "leader", PASSWORD)
        code = pyotp.TOTP(secret).now()
        client.post(LOGIN_TOTP, {"code": code})
        client.post(reverse("accounts:logout"))
        _login(client, "leader", PASSWORD)
        response = client.post(LOGIN_TOTP, {"code": code})
        assert "动态口令不正确或已使用过" in response.content.decode()
        assert not _signed_in(client)

    def test_it_locks_the_account_after_five_wrong_codes(self, world, client):
        secret = _enrol(client, world.leader)
        _login(client, "leader", PASSWORD)
        wrong = "123456" if pyotp.TOTP(secret).now() != "123456" else "654321"
        for _ in range(4):
            assert client.post(LOGIN_TOTP, {"code": wrong}).status_code == 200
        response = client.post(LOGIN_TOTP, {"code": wrong})
        assert response.status_code == 429
        assert "已被锁定" in response.content.decode()
        assert AuditEvent.objects.filter(action="auth.login_failed", changes__reason="totp").count() == 5

    def test_it_lets_a_locked_out_person_unlock_with_password_and_code(self, world, client, frozen):
        secret = _enrol(client, world.office)
        frozen.shift(datetime.timedelta(seconds=30))
        for _ in range(5):
            response = _login(client, "office", "wrong")
        assert "用密码和动态口令自行解锁" in response.content.decode()
        frozen.shift(datetime.timedelta(seconds=1))
        unlock = reverse("accounts:login_unlock")
        wrong = "123456" if pyotp.TOTP(secret).now() != "123456" else "654321"
        response = client.post(
            unlock, {"username": "office", "password": PASSWORD, "code": wrong}, REMOTE_ADDR="10.0.0.1"
        )
        # Still locked, and counted as a failed login.
        assert response.status_code == 429
        assert "已被锁定" in response.content.decode()
        assert AuditEvent.objects.filter(action="auth.login_failed", changes__reason="self_unlock").count() == 1
        frozen.shift(datetime.timedelta(seconds=30))
        code = pyotp.TOTP(secret).now()
        response = client.post(
            unlock, {"username": "office", "password": PASSWORD, "code": code}, REMOTE_ADDR="10.0.0.1"
        )
        assert response["Location"] == LOGIN
        assert AuditEvent.objects.filter(action="auth.self_unlock", actor=world.office).exists()
        assert _login(client, "office", PASSWORD)["Location"] == LOGIN_TOTP

    def test_it_unlocks_nobody_without_a_second_factor(self, world, client, frozen):
        for _ in range(5):
            _login(client, "resp_lly", "wrong")
        frozen.shift(datetime.timedelta(seconds=5))
        client.post(
            reverse("accounts:login_unlock"),
            {"username": "resp_lly", "password": PASSWORD, "code": "123456"},
            REMOTE_ADDR="10.0.0.1",
        )
        frozen.shift(datetime.timedelta(seconds=30))
        assert _login(client, "resp_lly", PASSWORD).status_code == 429

    def test_it_forgets_a_pending_password_after_five_minutes(self, world, client, frozen):
        secret = _enrol(client, world.leader)
        _login(client, "leader", PASSWORD)
        frozen.shift(datetime.timedelta(minutes=5, seconds=1))
        response = client.post(LOGIN_TOTP, {"code": pyotp.TOTP(secret).now()})
        assert response["Location"] == LOGIN
        assert not _signed_in(client)

    def test_it_is_required_of_administrators_and_leaders_by_a_setting(self, world, client, settings):
        settings.TOTP_REQUIRED = True
        client.force_login(world.leader)
        response = client.get(HOME)
        assert response["Location"] == TOTP_PAGE
        # The office reads every finding: required of it too (the production default, test_settings).
        for person in (world.office, world.sysadmin, world.secadmin, world.auditadmin):
            client.force_login(person)
            assert client.get(HOME)["Location"] == TOTP_PAGE, person
        client.force_login(world.resp_staff)
        assert client.get(HOME, follow=True).status_code == 200

    def test_it_is_cleared_by_the_security_administrator(self, world, client):
        _enrol(client, world.leader)
        client.force_login(world.secadmin)
        client.post(reverse("accounts:security_totp_reset", args=[world.leader.pk]))
        world.leader.refresh_from_db()
        assert not world.leader.has_totp
        assert AuditEvent.objects.filter(action="security.totp_reset", actor=world.secadmin).exists()
        client.post(reverse("accounts:logout"))
        assert _login(client, "leader", PASSWORD)["Location"] != LOGIN_TOTP

    def test_the_admin_login_form_is_no_way_around_it(self, world, client):
        _enrol(client, world.leader)
        response = client.post(reverse("admin:login"), {"username": "leader", "password": PASSWORD})
        assert response.status_code == 302
        assert response["Location"].startswith(LOGIN)
        assert not _signed_in(client)
