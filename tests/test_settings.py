"""Settings come from the environment, with an embedded default that needs no server."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRINT_SETTINGS = (
    "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings'); django.setup();"
    "from django.conf import settings as s;"
    "print(s.DATABASES['default']['ENGINE']); print(s.CELERY_BROKER_URL); print(s.DEBUG); print(s.TIME_ZONE)"
)


def _run(code_or_args, env_overrides, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "CELERY_"))}
    env["DJANGO_VAR_DIR"] = str(tmp_path)
    env.update(env_overrides)
    args = [sys.executable, "-c", code_or_args] if isinstance(code_or_args, str) else [sys.executable, *code_or_args]
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


class TestSettings:
    def test_it_falls_back_to_sqlite_and_a_serverless_broker(self, tmp_path):
        result = _run(PRINT_SETTINGS, {}, tmp_path)
        assert result.returncode == 0, result.stderr
        engine, broker, _debug, tz = result.stdout.split()
        assert engine == "django.db.backends.sqlite3"
        assert broker == "filesystem://"
        assert (tmp_path / "celery-broker" / "queue").is_dir()
        assert tz == "Asia/Shanghai"

    def test_it_uses_postgresql_and_redis_when_configured(self, tmp_path):
        result = _run(
            PRINT_SETTINGS,
            {"DATABASE_URL": "postgres://u@127.0.0.1:5432/zg", "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0"},
            tmp_path,
        )
        assert result.returncode == 0, result.stderr
        engine, broker, *_ = result.stdout.split()
        assert engine == "django.db.backends.postgresql"
        assert broker == "redis://127.0.0.1:6379/0"

    def test_it_refuses_production_without_a_secret_key(self, tmp_path):
        result = _run(PRINT_SETTINGS, {"DJANGO_PRODUCTION": "1", "DJANGO_ALLOWED_HOSTS": "zg.example"}, tmp_path)
        assert result.returncode != 0
        assert "DJANGO_SECRET_KEY" in result.stderr

    def test_it_refuses_a_malformed_boolean(self, tmp_path):
        result = _run(PRINT_SETTINGS, {"DJANGO_DEBUG": "maybe"}, tmp_path)
        assert result.returncode != 0
        assert "DJANGO_DEBUG" in result.stderr

    def test_it_warns_when_message_links_would_point_at_the_development_address(self, tmp_path):
        result = _run(
            ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
            {
                "DJANGO_PRODUCTION": "1",
                "DJANGO_SECRET_KEY": "k" * 20 + "x7Qp2Lm9Zr4Tv8Wn1Bc6Hd3Jf5Gs0Ya_" * 2,
                "DJANGO_FIELD_ENCRYPTION_KEY": "MDEyMzQ1Njc4OWFiY2RlZg==",
                "DJANGO_AUDIT_CHAIN_KEY": "YXVkaXQtY2hhaW4ta2V5LWZvci10ZXN0cy0wMTIzNDU2Nzg5",
                "DJANGO_ALLOWED_HOSTS": "zhenggai.example.gov.cn",
            },
            tmp_path,
        )
        assert result.returncode != 0
        assert "accounts.W006" in result.stderr and "DJANGO_SITE_URL" in result.stderr

    def test_it_passes_the_deployment_checklist_in_production(self, tmp_path):
        result = _run(
            ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
            {
                "DJANGO_PRODUCTION": "1",
                "DJANGO_SECRET_KEY": "k" * 20 + "x7Qp2Lm9Zr4Tv8Wn1Bc6Hd3Jf5Gs0Ya_" * 2,
                "DJANGO_FIELD_ENCRYPTION_KEY": "MDEyMzQ1Njc4OWFiY2RlZg==",
                "DJANGO_AUDIT_CHAIN_KEY": "YXVkaXQtY2hhaW4ta2V5LWZvci10ZXN0cy0wMTIzNDU2Nzg5",
                "DJANGO_ALLOWED_HOSTS": "zhenggai.example.gov.cn",
                "DJANGO_SITE_URL": "https://zhenggai.example.gov.cn",
            },
            tmp_path,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "no issues" in result.stdout


PRINT_TOTP = (
    "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings'); django.setup();"
    "from django.conf import settings as s;"
    "print(s.TOTP_REQUIRED); print(','.join(sorted(s.TOTP_REQUIRED_ROLES)))"
)
PRODUCTION_ENV = {
    "DJANGO_PRODUCTION": "1",
    "DJANGO_SECRET_KEY": "k" * 20 + "x7Qp2Lm9Zr4Tv8Wn1Bc6Hd3Jf5Gs0Ya_" * 2,
    "DJANGO_FIELD_ENCRYPTION_KEY": "MDEyMzQ1Njc4OWFiY2RlZg==",
    "DJANGO_AUDIT_CHAIN_KEY": "YXVkaXQtY2hhaW4ta2V5LWZvci10ZXN0cy0wMTIzNDU2Nzg5",
    "DJANGO_ALLOWED_HOSTS": "zhenggai.example.gov.cn",
}


class TestSecondFactorDefault:
    """Production requires the second factor of the office, the leaders and the three
    administrators unless a setting turns it off; the embedded default does not."""

    def test_it_is_required_in_production_for_the_office_leaders_and_administrators(self, tmp_path):
        result = _run(PRINT_TOTP, PRODUCTION_ENV, tmp_path)
        assert result.returncode == 0, result.stderr
        required, roles = result.stdout.split()
        assert required == "True"
        assert set(roles.split(",")) == {
            "role:office",
            "role:leader",
            "role:system_admin",
            "role:security_admin",
            "role:audit_admin",
        }

    def test_a_setting_turns_it_off_in_production(self, tmp_path):
        result = _run(PRINT_TOTP, {**PRODUCTION_ENV, "DJANGO_TOTP_REQUIRED": "0"}, tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stdout.split()[0] == "False"

    def test_it_is_not_required_by_the_embedded_default(self, tmp_path):
        result = _run(PRINT_TOTP, {}, tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stdout.split()[0] == "False"
