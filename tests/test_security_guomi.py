"""国密 where an assessor asks for it: secrets at rest sealed with SM4-GCM (accounts.crypto), and a
PBKDF2-SM3 password hasher chosen by one setting (accounts.hashers)."""

import base64
import datetime
import hashlib
import importlib

import pyotp
import pytest
import time_machine
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.apps import apps
from django.contrib.auth.hashers import identify_hasher, make_password
from django.db import connection
from django.urls import reverse

from accounts import crypto
from accounts.hashers import PBKDF2SM3PasswordHasher

from .conftest import PASSWORD
from .test_security_auth import LOGIN_TOTP, START, _enrol, _login, _offered_secret, _signed_in
from .test_settings import PRINT_SETTINGS, _run

SM3_HASHER = "accounts.hashers.PBKDF2SM3PasswordHasher"
MD5_HASHER = "django.contrib.auth.hashers.MD5PasswordHasher"
PRODUCTION = {
    "DJANGO_PRODUCTION": "1",
    "DJANGO_SECRET_KEY": "k" * 20 + "x7Qp2Lm9Zr4Tv8Wn1Bc6Hd3Jf5Gs0Ya_" * 2,
    "DJANGO_ALLOWED_HOSTS": "zhenggai.example.gov.cn",
    "DJANGO_AUDIT_CHAIN_KEY": "YXVkaXQtY2hhaW4ta2V5LWZvci10ZXN0cy0wMTIzNDU2Nzg5",
}


@pytest.fixture
def frozen():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def _stored_secret(user):
    """The totp_secret column as the database holds it, past every layer of the application."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT totp_secret FROM accounts_user WHERE id = %s", [user.pk])
        return cursor.fetchone()[0]


def _store_secret(user, value):
    with connection.cursor() as cursor:
        cursor.execute("UPDATE accounts_user SET totp_secret = %s WHERE id = %s", [value, user.pk])


class TestSealing:
    def test_it_opens_what_it_sealed(self):
        sealed = crypto.seal("JBSWY3DPEHPK3PXP 动态口令", context="ctx")
        assert sealed.startswith("sm4gcm:v1:")
        assert "JBSWY3DPEHPK3PXP" not in sealed
        assert crypto.unseal(sealed, context="ctx") == "JBSWY3DPEHPK3PXP 动态口令"

    def test_it_never_seals_one_value_twice_alike(self):
        assert crypto.seal("same", context="ctx") != crypto.seal("same", context="ctx")

    def test_it_is_sm4_in_gcm_mode_under_the_configured_key(self, settings):
        # What docs/OPERATIONS.md promises an assessor: any SM4-GCM implementation opens it.
        sealed = crypto.seal("JBSWY3DPEHPK3PXP", context="ctx")
        nonce_text, body_text = sealed.removeprefix("sm4gcm:v1:").split(":")
        nonce = base64.urlsafe_b64decode(nonce_text + "=" * (-len(nonce_text) % 4))
        body = base64.urlsafe_b64decode(body_text + "=" * (-len(body_text) % 4))
        decryptor = Cipher(algorithms.SM4(settings.FIELD_ENCRYPTION_KEY), modes.GCM(nonce, body[-16:])).decryptor()
        decryptor.authenticate_additional_data(b"ctx")
        assert decryptor.update(body[:-16]) + decryptor.finalize() == b"JBSWY3DPEHPK3PXP"

    def test_it_refuses_another_key(self, settings):
        sealed = crypto.seal("JBSWY3DPEHPK3PXP", context="ctx")
        settings.FIELD_ENCRYPTION_KEY = bytes(16)
        with pytest.raises(crypto.SealError):
            crypto.unseal(sealed, context="ctx")

    def test_it_refuses_altered_text(self):
        sealed = crypto.seal("JBSWY3DPEHPK3PXP", context="ctx")
        # One character of the ciphertext changed: base64 "A" and "B" differ in one bit.
        position = len("sm4gcm:v1:") + 17
        altered = sealed[:position] + ("B" if sealed[position] == "A" else "A") + sealed[position + 1 :]
        for bad in (altered, sealed[:-4], sealed + "AAAA", "sm4gcm:v1:xx", "JBSWY3DPEHPK3PXP"):
            with pytest.raises(crypto.SealError):
                crypto.unseal(bad, context="ctx")

    def test_it_refuses_a_value_moved_to_another_context(self):
        sealed = crypto.seal("JBSWY3DPEHPK3PXP", context="accounts.User.totp_secret:1")
        with pytest.raises(crypto.SealError):
            crypto.unseal(sealed, context="accounts.User.totp_secret:2")


@pytest.mark.django_db
class TestTotpSecretAtRest:
    def test_it_keeps_no_secret_in_clear_in_the_database(self, world, client):
        client.force_login(world.leader)
        page = client.get(reverse("accounts:totp_setup")).content.decode()
        offered = _offered_secret(page)
        # While the setup waits for its first code, the session (a database row) holds it sealed too.
        with connection.cursor() as cursor:
            cursor.execute("SELECT session_data FROM django_session")
            sessions = [row[0] for row in cursor.fetchall()]
        assert sessions
        for data in sessions:
            assert offered not in str(client.session.decode(data))
        secret = _enrol(client, world.leader)
        assert secret == offered
        stored = _stored_secret(world.leader)
        assert stored.startswith("sm4gcm:v1:")
        assert secret not in stored

    def test_it_signs_in_with_the_sealed_secret(self, world, client, frozen):
        secret = _enrol(client, world.leader)
        frozen.shift(datetime.timedelta(seconds=30))
        _login(client, "leader", PASSWORD)
        client.post(LOGIN_TOTP, {"code": pyotp.TOTP(secret).now()})
        assert _signed_in(client)

    def test_it_refuses_the_code_when_the_key_changed(self, world, client, frozen, settings):
        secret = _enrol(client, world.leader)
        settings.FIELD_ENCRYPTION_KEY = bytes(16)
        frozen.shift(datetime.timedelta(seconds=30))
        _login(client, "leader", PASSWORD)
        response = client.post(LOGIN_TOTP, {"code": pyotp.TOTP(secret).now()})
        assert "动态口令不正确" in response.content.decode()
        assert not _signed_in(client)

    def test_it_refuses_a_sealed_secret_copied_from_another_account(self, world, client, frozen):
        # Someone who can write to the database copies their own sealed secret onto the leader's
        # row, to pass the leader's second factor with their own phone.
        own_secret = _enrol(client, world.office)
        _enrol(client, world.leader)
        _store_secret(world.leader, _stored_secret(world.office))
        frozen.shift(datetime.timedelta(seconds=30))
        _login(client, "leader", PASSWORD)
        response = client.post(LOGIN_TOTP, {"code": pyotp.TOTP(own_secret).now()})
        assert "动态口令不正确" in response.content.decode()
        assert not _signed_in(client)

    def test_the_migration_seals_secrets_enrolled_in_clear(self, world, client, frozen):
        migration = importlib.import_module("accounts.migrations.0005_seal_totp_secrets")
        secret = _enrol(client, world.leader)
        _store_secret(world.leader, secret)
        migration.seal_clear_secrets(apps, None)
        sealed = _stored_secret(world.leader)
        assert sealed.startswith("sm4gcm:v1:")
        # Run twice (a re-run after a failure), it seals nothing twice.
        migration.seal_clear_secrets(apps, None)
        assert _stored_secret(world.leader) == sealed
        frozen.shift(datetime.timedelta(seconds=30))
        _login(client, "leader", PASSWORD)
        client.post(LOGIN_TOTP, {"code": pyotp.TOTP(secret).now()})
        assert _signed_in(client)
        migration.open_sealed_secrets(apps, None)
        assert _stored_secret(world.leader) == secret


class TestSM3PasswordHasher:
    def test_it_verifies_what_it_hashed_and_nothing_else(self):
        # The tests' fast MD5 hasher is the configured one; this one is used by name.
        hasher = PBKDF2SM3PasswordHasher()
        encoded = make_password(PASSWORD, hasher=hasher)
        algorithm, iterations, salt, digest = encoded.split("$")
        assert algorithm == "pbkdf2_sm3"
        assert int(iterations) == PBKDF2SM3PasswordHasher.iterations
        # It is PBKDF2 over HMAC-SM3, as any implementation computes it.
        expected = hashlib.pbkdf2_hmac("sm3", PASSWORD.encode(), salt.encode(), int(iterations))
        assert base64.b64decode(digest) == expected
        assert hasher.verify(PASSWORD, encoded)
        assert not hasher.verify(PASSWORD + "x", encoded)
        assert not hasher.must_update(encoded)

    @pytest.mark.django_db
    def test_it_rehashes_an_older_hash_at_the_next_login_once_chosen(self, world, client, settings):
        world.office.set_password(PASSWORD)
        world.office.save()
        assert identify_hasher(world.office.password).algorithm == "md5"
        settings.PASSWORD_HASHERS = [SM3_HASHER, MD5_HASHER]
        _login(client, "office", PASSWORD)
        assert _signed_in(client)
        world.office.refresh_from_db()
        assert world.office.password.startswith("pbkdf2_sm3$")
        client.logout()
        _login(client, "office", PASSWORD)
        assert _signed_in(client)

    def test_it_is_chosen_by_one_setting(self, tmp_path):
        code = PRINT_SETTINGS.split("print(")[0] + "print(s.PASSWORD_HASHERS[0]); print(len(s.PASSWORD_HASHERS))"
        chosen = _run(code, {"DJANGO_PASSWORD_HASHER": "sm3"}, tmp_path)
        assert chosen.returncode == 0, chosen.stderr
        assert chosen.stdout.split()[0] == SM3_HASHER
        default = _run(code.replace("[0]", "[-1]"), {}, tmp_path)
        # Not chosen, it stays last in the list so its hashes still verify after switching back.
        assert default.stdout.split()[0] == SM3_HASHER
        assert default.stdout.split()[1] == chosen.stdout.split()[1]
        wrong = _run(code, {"DJANGO_PASSWORD_HASHER": "sm4"}, tmp_path)
        assert wrong.returncode != 0
        assert "DJANGO_PASSWORD_HASHER" in wrong.stderr


class TestStartupCheck:
    def test_it_reports_an_openssl_without_sm4(self, monkeypatch):
        from accounts.checks import security_baseline_check

        assert security_baseline_check(None) == []

        def unsupported(self, *args, **kwargs):
            raise UnsupportedAlgorithm("sm4 is not supported by this backend")

        monkeypatch.setattr(algorithms.SM4, "__init__", unsupported)
        assert [e.id for e in security_baseline_check(None)] == ["accounts.E004"]


class TestFieldEncryptionKeySetting:
    def test_it_is_required_in_production(self, tmp_path):
        result = _run(PRINT_SETTINGS, PRODUCTION, tmp_path)
        assert result.returncode != 0
        assert "DJANGO_FIELD_ENCRYPTION_KEY must be set" in result.stderr

    def test_it_refuses_a_key_that_is_not_128_bits(self, tmp_path):
        short = base64.b64encode(b"fifteen bytes!!").decode()
        for value in (short, "not base64!"):
            result = _run(PRINT_SETTINGS, {**PRODUCTION, "DJANGO_FIELD_ENCRYPTION_KEY": value}, tmp_path)
            assert result.returncode != 0
            assert "DJANGO_FIELD_ENCRYPTION_KEY" in result.stderr

    def test_it_starts_production_with_a_key(self, tmp_path):
        key = base64.b64encode(b"0123456789abcdef").decode()
        result = _run(PRINT_SETTINGS, {**PRODUCTION, "DJANGO_FIELD_ENCRYPTION_KEY": key}, tmp_path)
        assert result.returncode == 0, result.stderr
