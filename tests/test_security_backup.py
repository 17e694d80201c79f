"""The backup and restore procedure of docs/OPERATIONS.md, run for real: pg_dump and pg_restore
against the PostgreSQL server at 127.0.0.1:5432 (trust authentication, role ``postgres``), into
scratch databases this test creates and always drops. Whatever DATABASE_URL the rest of the
suite uses, this test needs that server; it is on every developer machine and in CI."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST, PORT, SUPERUSER = "127.0.0.1", "5432", "postgres"
CONNECTION = ["--host", HOST, "--port", PORT, "--username", SUPERUSER]

FILL = """
from accounts.models import Unit
from accounts.roles import Role
from accounts.services import audit_record, unit_create, user_create
unit = unit_create(actor=None, name="备份测试局", level=Unit.Level.DEPARTMENT, kind=Unit.Kind.GOVERNMENT)
person = user_create(actor=None, username="beifen", full_name="备份测试", password="Beifen@2026x", unit=unit, roles=[Role.LIAISON])
for n in range(20):
    audit_record(actor=person, action="backup.test", target=unit, changes={"n": n, "text": "恢复后应完全一致"})
"""
COUNTS = "SELECT (SELECT count(*) FROM accounts_user), (SELECT count(*) FROM accounts_auditevent), (SELECT max(row_hash) FROM accounts_auditevent)"


def _run(args, **kwargs):
    result = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False, **kwargs)
    assert result.returncode == 0, f"{' '.join(map(str, args))}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _psql(sql, database="postgres"):
    return _run(["psql", *CONNECTION, "--dbname", database, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql]).strip()


def _manage(database, tmp_path, *args, check=True):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "CELERY_"))}
    env.update(
        {
            "DATABASE_URL": f"postgres://{SUPERUSER}@{HOST}:{PORT}/{database}",
            "DJANGO_VAR_DIR": str(tmp_path / "var"),
            "DJANGO_LOG_LEVEL": "WARNING",
        }
    )
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


class TestBackupAndRestore:
    def test_it_restores_a_dump_into_a_fresh_database(self, tmp_path):
        suffix = uuid.uuid4().hex[:10]
        source, target = f"zg_backup_src_{suffix}", f"zg_backup_dst_{suffix}"
        dump = tmp_path / "zhenggai.dump"
        try:
            _psql(f"CREATE DATABASE {source} TEMPLATE template0 ENCODING 'UTF8'")
            _manage(source, tmp_path, "migrate", "--verbosity", "0")
            _manage(source, tmp_path, "shell", "--verbosity", "0", "-c", FILL)

            # Backup, as in docs/OPERATIONS.md section 4.
            _run(["pg_dump", *CONNECTION, "--dbname", source, "--format=custom", "--file", str(dump)])
            assert "TABLE DATA public accounts_auditevent" in _run(["pg_restore", "--list", str(dump)])

            # Restore, as in section 5: a new database from template0, stop at the first error.
            _psql(f"CREATE DATABASE {target} TEMPLATE template0 ENCODING 'UTF8'")
            _run(["pg_restore", *CONNECTION, "--dbname", target, "--no-owner", "--exit-on-error", str(dump)])

            assert _psql(COUNTS, target) == _psql(COUNTS, source)
            assert _psql("SELECT full_name FROM accounts_user WHERE username = 'beifen'", target) == "备份测试"
            # No migration is missing (``migrate --check`` fails if one is).
            _manage(target, tmp_path, "migrate", "--check")
            verified = _manage(target, tmp_path, "verify_audit_chain")
            assert "哈希链完整" in verified.stdout
            # The restored copy is as append-only as the original.
            refused = subprocess.run(
                [
                    "psql",
                    *CONNECTION,
                    "--dbname",
                    target,
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-c",
                    "UPDATE accounts_auditevent SET action = 'x'",
                ],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert refused.returncode != 0
            assert "append-only" in refused.stderr
            # The restored accounts still sign in with their passwords.
            login = _manage(
                target,
                tmp_path,
                "shell",
                "--verbosity",
                "0",
                "-c",
                "from django.contrib.auth import authenticate; from django.test import RequestFactory;"
                "print(authenticate(RequestFactory().post('/'), username='beifen', password='Beifen@2026x'))",
            )
            assert login.stdout.strip() == "备份测试"
        finally:
            for database in (source, target):
                _psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
