"""Running it for real: production settings on PostgreSQL and Redis, gunicorn, the deployment
files, the version, and the offline bundle installed into a fresh virtual environment.

Everything here runs in subprocesses with the environment a server would have, the way
tests/test_settings.py does. PostgreSQL and Redis are the machine's own (CI starts them in
.ci/run); without them these tests fail. The database role and its database are created by the
test command (scripts/test, through scripts/_database.sh), named by ZHENGGAI_DB_ROLE.
"""

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time
import venv
from configparser import ConfigParser
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.urls import reverse

from config.version import __version__

ROOT = Path(__file__).resolve().parent.parent
ROLE = os.environ.get("ZHENGGAI_DB_ROLE", "zhenggai")
APP_ROLE = os.environ.get("ZHENGGAI_DB_APP_ROLE", f"{ROLE}_app")
DATABASE_URL = f"postgres://{ROLE}@127.0.0.1:5432/{ROLE}"
BROKER_URL = "redis://127.0.0.1:6379/13"
SECRET_KEY = "prod-test-" + "Vb7Kq2Xw9Lm4Np8Rt3Zs6Hd1Gf5Jc0Ya" * 2
# base64 of 16 bytes: the SM4 key that seals secrets at rest (accounts.crypto).
FIELD_ENCRYPTION_KEY = "cHJvZC10ZXN0LWtleS0xNg=="
AUDIT_CHAIN_KEY = "YXVkaXQtY2hhaW4ta2V5LWZvci10ZXN0cy0wMTIzNDU2Nzg5"
HOST = "zhenggai.example.gov.cn"

CONNECT = """
import django, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
from django.conf import settings
from django.db import connection
from kombu import Connection

with connection.cursor() as cursor:
    cursor.execute("SELECT current_user, current_database()")
    print("database", *cursor.fetchone())
with Connection(settings.CELERY_BROKER_URL, connect_timeout=3) as broker:
    broker.ensure_connection(max_retries=1)
    print("broker", broker.transport_cls, broker.default_channel.client.ping())
print("engine", settings.DATABASES["default"]["ENGINE"])
print("debug", settings.DEBUG, "secure-cookies", settings.SESSION_COOKIE_SECURE)
"""


def _listening(port):
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _needs(port, what):
    # Never a skip: PostgreSQL and Redis are part of the test environment (.ci/run starts them).
    if not _listening(port):
        pytest.fail(f"{what} is not listening on 127.0.0.1:{port}: start it (see .ci/run) and run the tests again")


def _needs_database():
    """The role and its database, as scripts/test creates them; a plain ``pytest`` on a machine
    where they were never created is told where they come from."""
    import psycopg2

    try:
        psycopg2.connect(host="127.0.0.1", port=5432, user=ROLE, dbname=ROLE, connect_timeout=5).close()
    except psycopg2.OperationalError as error:
        pytest.fail(
            f"cannot connect to PostgreSQL as {ROLE!r} ({error}): scripts/test creates the role and its database"
        )


def _clean_env(tmp_path, **overrides):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "CELERY_", "GUNICORN_"))}
    env["DJANGO_VAR_DIR"] = str(tmp_path)
    env.update(overrides)
    return env


def _production_env(tmp_path, **overrides):
    production = {
        "DJANGO_PRODUCTION": "1",
        "DJANGO_SECRET_KEY": SECRET_KEY,
        "DJANGO_FIELD_ENCRYPTION_KEY": FIELD_ENCRYPTION_KEY,
        "DJANGO_AUDIT_CHAIN_KEY": AUDIT_CHAIN_KEY,
        "DJANGO_ALLOWED_HOSTS": HOST,
        "DJANGO_SITE_URL": f"https://{HOST}",
        "DATABASE_URL": DATABASE_URL,
        "CELERY_BROKER_URL": BROKER_URL,
    }
    return _clean_env(tmp_path, **{**production, **overrides})


def _free_port():
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        return free.getsockname()[1]


@contextmanager
def _gunicorn(env, port):
    """gunicorn started exactly as the systemd unit starts it, stopped by its own process id."""
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [str(gunicorn), "--config", "deploy/gunicorn.conf.py", "config.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not _listening(port):
            if server.poll() is not None:
                pytest.fail("gunicorn stopped: " + server.stderr.read()[-3000:])
            assert time.monotonic() < deadline, "gunicorn did not start within 30 seconds"
            time.sleep(0.2)
        yield server
    finally:
        server.terminate()
        server.wait(timeout=30)
        server.stderr.close()


def _run(args, env, cwd=ROOT, timeout=180):
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture
def services_up():
    _needs(5432, "PostgreSQL")
    _needs(6379, "Redis")
    _needs_database()


@pytest.mark.usefixtures("services_up")
class TestProductionOnPostgresqlAndRedis:
    def test_it_passes_the_deployment_checklist_against_the_real_database(self, tmp_path):
        result = _run(
            [sys.executable, "manage.py", "check", "--deploy", "--database", "default", "--fail-level", "WARNING"],
            _production_env(tmp_path),
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "no issues" in result.stdout

    def test_it_opens_a_database_cursor_and_a_broker_connection(self, tmp_path):
        result = _run([sys.executable, "-c", CONNECT], _production_env(tmp_path))
        assert result.returncode == 0, result.stdout + result.stderr
        lines = result.stdout.splitlines()
        assert f"database {ROLE} {ROLE}" in lines
        assert "broker redis True" in lines
        assert "engine django.db.backends.postgresql" in lines
        assert "debug False secure-cookies True" in lines

    def test_it_serves_the_health_check_from_gunicorn(self, tmp_path):
        port = _free_port()
        env = _production_env(tmp_path, GUNICORN_BIND=f"127.0.0.1:{port}", GUNICORN_WORKERS="1")
        with _gunicorn(env, port):
            # What the compose healthcheck and a command-running monitoring agent call.
            result = _run([sys.executable, "deploy/healthcheck.py", f"127.0.0.1:{port}"], env, timeout=30)
            assert result.returncode == 0, result.stdout + result.stderr
            body = json.loads(result.stdout)
            assert body["checks"]["database"]["ok"] is True
            assert body["checks"]["broker"]["ok"] is True
            assert body["checks"]["broker"]["transport"] == "redis"
            assert body["version"] == __version__
            # Plain HTTP straight to gunicorn is sent to HTTPS: the production settings are on.
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("GET", "/healthz", headers={"Host": HOST})
            response = connection.getresponse()
            assert response.status == 301
            assert response.getheader("Location") == f"https://{HOST}/healthz"

    def test_it_reports_the_broker_down_through_the_healthcheck_script(self, tmp_path):
        assert not _listening(6390), "the test needs nothing listening on 127.0.0.1:6390"
        port = _free_port()
        env = _production_env(
            tmp_path,
            GUNICORN_BIND=f"127.0.0.1:{port}",
            GUNICORN_WORKERS="1",
            CELERY_BROKER_URL="redis://127.0.0.1:6390/0",
        )
        with _gunicorn(env, port):
            result = _run([sys.executable, "deploy/healthcheck.py", f"127.0.0.1:{port}"], env, timeout=30)
        assert result.returncode == 1, result.stdout + result.stderr
        assert json.loads(result.stdout)["status"] == "unavailable"


@pytest.fixture
def two_role_database(services_up):
    """A database of its own, owned by the project's role; the application role connects to it."""
    import psycopg2

    name = f"{ROLE}_two_roles_{os.getpid()}"
    admin = psycopg2.connect(host="127.0.0.1", port=5432, user=ROLE, dbname=ROLE, connect_timeout=5)
    admin.autocommit = True
    try:
        psycopg2.connect(host="127.0.0.1", port=5432, user=APP_ROLE, dbname=ROLE, connect_timeout=5).close()
    except psycopg2.OperationalError as error:
        admin.close()
        pytest.fail(f"cannot connect to PostgreSQL as {APP_ROLE!r} ({error}): scripts/test creates the role")
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}" OWNER "{ROLE}"')
    try:
        yield name
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _refused(database, user, statement):
    """The error PostgreSQL gives ``user`` for ``statement``, which must be refused."""
    import psycopg2

    connection = psycopg2.connect(host="127.0.0.1", port=5432, user=user, dbname=database, connect_timeout=5)
    try:
        with connection.cursor() as cursor:
            try:
                cursor.execute(statement)
            except psycopg2.Error as error:
                return error.pgerror
        pytest.fail(f"{user} was allowed: {statement}")
    finally:
        connection.rollback()
        connection.close()


class TestTwoDatabaseRoles:
    """As deployed: migrations run as the owner of the tables, the application as a role that owns
    none, so not even the application's own role can change or empty the audit log."""

    def test_the_application_role_can_neither_change_nor_empty_the_audit_log(self, tmp_path, two_role_database):
        database = two_role_database
        env = _production_env(
            tmp_path,
            DATABASE_URL=f"postgres://{APP_ROLE}@127.0.0.1:5432/{database}",
            DATABASE_OWNER_URL=f"postgres://{ROLE}@127.0.0.1:5432/{database}",
        )
        migrated = _run([sys.executable, "manage.py", "migrate", "--noinput"], env, timeout=600)
        assert migrated.returncode == 0, migrated.stdout[-3000:] + migrated.stderr[-3000:]
        assert f"已授予应用角色 {APP_ROLE} 所需权限" in migrated.stdout
        # The application writes audit rows as its own role: the daily anchor writes one.
        anchored = _run([sys.executable, "manage.py", "anchor_audit_chain"], env)
        assert anchored.returncode == 0, anchored.stdout + anchored.stderr
        checked = _run([sys.executable, "manage.py", "check", "--deploy", "--database", "default"], env)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        # Connected as the owner instead, the deployment checklist says no.
        as_owner = _run(
            [sys.executable, "manage.py", "check", "--deploy", "--database", "default"],
            {**env, "DATABASE_URL": f"postgres://{ROLE}@127.0.0.1:5432/{database}"},
        )
        assert as_owner.returncode != 0 and "accounts.E005" in as_owner.stderr, as_owner.stdout + as_owner.stderr

        for statement in (
            "ALTER TABLE accounts_auditevent DISABLE TRIGGER ALL",
            "ALTER TABLE accounts_auditevent DISABLE TRIGGER accounts_auditevent_append_only",
            "DROP TRIGGER accounts_auditevent_no_truncate ON accounts_auditevent",
            "DROP TABLE accounts_auditevent CASCADE",
        ):
            assert "must be owner" in _refused(database, APP_ROLE, statement), statement
        for statement in (
            "UPDATE accounts_auditevent SET target_repr = 'x'",
            "DELETE FROM accounts_auditevent",
            "TRUNCATE accounts_auditevent",
            "SET zhenggai.audit_truncate = 'allowed'; TRUNCATE accounts_auditevent",
            "UPDATE django_migrations SET name = 'x'",
        ):
            assert "permission denied" in _refused(database, APP_ROLE, statement), statement
        # The owner is refused too, by the triggers, unless it switches them off first (which the
        # chain and the anchor then find: tests/test_audit_anchor.py).
        for statement in (
            "UPDATE accounts_auditevent SET target_repr = 'x'",
            "DELETE FROM accounts_auditevent",
            "TRUNCATE accounts_auditevent",
        ):
            assert "append-only" in _refused(database, ROLE, statement), statement

        verified = _run([sys.executable, "manage.py", "verify_audit_chain"], env)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert "与 1 个锚点相符" in verified.stdout


def _env_example(*, optional=False):
    """The NAME=value lines of .env.example; with ``optional``, also the commented-out ones
    ("# NAME=value"), which document a variable that only some installations set."""
    values = {}
    for number, line in enumerate((ROOT / ".env.example").read_text(encoding="utf-8").splitlines(), start=1):
        commented = re.fullmatch(r"# ([A-Z][A-Z0-9_]*)=(\S*)", line)
        if optional and commented:
            values[commented.group(1)] = commented.group(2)
            continue
        if not line.strip() or line.startswith("#"):
            continue
        match = re.fullmatch(r"([A-Z][A-Z0-9_]*)=(\S*)", line)
        assert match, f".env.example line {number} is not NAME=value: {line!r}"
        assert match.group(1) not in values, f"{match.group(1)} appears twice in .env.example"
        values[match.group(1)] = match.group(2)
    return values


def _variables_read_by(path):
    text = (ROOT / path).read_text(encoding="utf-8")
    pattern = r'(?:env_(?:str|bool|int|list|key)|os\.environ\.get)\(\s*"([A-Z][A-Z0-9_]*)"'
    return set(re.findall(pattern, text))


class TestEnvironmentExample:
    def test_it_lists_every_variable_the_code_reads(self):
        documented = set(_env_example(optional=True))
        read = set()
        for path in ("config/settings.py", "config/health.py", "deploy/gunicorn.conf.py"):
            read |= _variables_read_by(path)
        read |= set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", (ROOT / "deploy/compose.yaml").read_text()))
        # DJANGO_SETTINGS_MODULE is set by manage.py and wsgi.py, never by an operator.
        missing = sorted(read - documented - {"DJANGO_SETTINGS_MODULE"})
        assert not missing, f"add these to .env.example and docs/DEPLOYMENT.md: {missing}"

    def test_it_boots_the_production_settings_once_filled_in(self, tmp_path):
        values = _env_example()
        assert values["DJANGO_PRODUCTION"] == "1"
        assert values["DJANGO_SECRET_KEY"] == "", "the example must not ship a usable secret"
        assert values["DJANGO_FIELD_ENCRYPTION_KEY"] == "", "the example must not ship a usable key"
        assert values["DJANGO_AUDIT_CHAIN_KEY"] == "", "the example must not ship a usable key"
        values.update(
            DJANGO_SECRET_KEY=SECRET_KEY,
            DJANGO_FIELD_ENCRYPTION_KEY=FIELD_ENCRYPTION_KEY,
            DJANGO_AUDIT_CHAIN_KEY=AUDIT_CHAIN_KEY,
            DJANGO_VAR_DIR=str(tmp_path / "var"),
            DJANGO_PRIVATE_MEDIA_ROOT=str(tmp_path / "media"),
            DJANGO_STATIC_ROOT=str(tmp_path / "static"),
        )
        result = _run(
            [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
            _clean_env(tmp_path, **values),
        )
        assert result.returncode == 0, result.stdout + result.stderr

    def test_it_lets_gunicorn_load_its_configuration_and_the_application(self, tmp_path):
        env = _production_env(tmp_path, GUNICORN_WORKERS="1")
        gunicorn = Path(sys.executable).with_name("gunicorn")
        result = _run([str(gunicorn), "--config", "deploy/gunicorn.conf.py", "--check-config", "config.wsgi"], env)
        assert result.returncode == 0, result.stdout + result.stderr


class TestDeploymentFiles:
    def _unit(self, name):
        parser = ConfigParser(strict=False, interpolation=None)
        parser.optionxform = str
        parser.read(ROOT / "deploy" / "systemd" / name, encoding="utf-8")
        return parser

    def test_it_runs_every_service_as_the_unprivileged_user_with_the_shared_environment(self):
        for name in ("zhenggai-web.service", "zhenggai-worker.service", "zhenggai-beat.service"):
            service = self._unit(name)["Service"]
            assert service["User"] == "zhenggai", name
            assert service["EnvironmentFile"] == "/etc/zhenggai/zhenggai.env", name
            assert service["ExecStart"].startswith("/opt/zhenggai/venv/bin/"), name
            assert service["ProtectSystem"] == "strict", name

    def test_it_starts_gunicorn_celery_workers_and_beat(self):
        assert (
            "gunicorn --config deploy/gunicorn.conf.py config.wsgi"
            in self._unit("zhenggai-web.service")["Service"]["ExecStart"]
        )
        assert " worker " in self._unit("zhenggai-worker.service")["Service"]["ExecStart"]
        beat = self._unit("zhenggai-beat.service")
        assert beat["Service"]["ExecStart"].endswith("celery --app config beat --loglevel INFO")
        assert "one machine only" in beat["Unit"]["Description"]

    def test_it_has_exactly_one_beat_in_the_compose_file(self):
        compose = (ROOT / "deploy" / "compose.yaml").read_text(encoding="utf-8")
        assert len(re.findall(r'"beat"', compose)) == 1
        assert re.search(r"\n  beat:\n(?:    .*\n)*?    deploy:\n      replicas: 1\n", compose)
        for service in ("postgres", "redis", "migrate", "web", "worker", "beat", "nginx"):
            assert f"\n  {service}:\n" in compose, service

    def test_it_limits_the_rate_of_login_posts_per_address_in_nginx(self):
        for name in ("zhenggai.conf", "compose.conf"):
            conf = (ROOT / "deploy" / "nginx" / name).read_text(encoding="utf-8")
            assert re.search(r"map \$request_method \$zhenggai_login_key \{\s*POST\s+\$binary_remote_addr;", conf), name
            assert re.search(r"limit_req_zone \$zhenggai_login_key zone=zhenggai_login:\S+ rate=\d+r/m;", conf), name
            login = re.search(r"location \^~ /accounts/login/ \{(.*?)\n    \}", conf, re.S)
            assert login, name
            assert "limit_req zone=zhenggai_login " in login.group(1), name
            assert "proxy_pass http://zhenggai_web;" in login.group(1), name

    def test_it_documents_the_deployment_and_links_the_operations_guide(self):
        guide = (ROOT / "docs" / "DEPLOYMENT.md").read_text(encoding="utf-8")
        assert "(OPERATIONS.md)" in guide
        for path in sorted((ROOT / "deploy").rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                assert path.name in guide, (
                    f"docs/DEPLOYMENT.md does not mention deploy/{path.relative_to(ROOT / 'deploy')}"
                )
        for name in ("DJANGO_HEALTH_TOKEN", "Sentinel", "scripts/bundle", "/healthz"):
            assert name in guide


class TestVersion:
    def test_it_is_a_semantic_version_with_a_changelog_entry(self):
        assert re.fullmatch(r"\d+\.\d+\.\d+", __version__)
        changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
        assert re.search(rf"^## \[{re.escape(__version__)}\] - \d{{4}}-\d{{2}}-\d{{2}}$", changelog, re.MULTILINE)

    def test_it_shows_the_version_in_the_page_footer(self, client):
        # With the settings as they are: the footer shows the version only if config/settings.py
        # lists config.context_processors.version.
        response = client.get(reverse("accounts:login"))
        footer = re.search(r'<footer class="footer">(.*?)</footer>', response.content.decode()).group(1)
        assert footer == f"巡视整改督办台账 {__version__} · 内部工作系统，请勿外传"


@pytest.fixture(scope="session")
def offline_bundle(tmp_path_factory):
    """scripts/bundle, once per test run. Building it may download from the package registry."""
    folder = tmp_path_factory.mktemp("offline") / "bundle"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "CELERY_"))}
    result = _run(["bash", "scripts/bundle", str(folder)], env, timeout=1200)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return folder


class TestOfflineBundle:
    def test_it_installs_into_a_fresh_environment_without_any_package_index(self, offline_bundle, tmp_path):
        bundle = offline_bundle
        assert (bundle / "staticfiles" / "staticfiles.json").is_file()
        assert (bundle / "VERSION").read_text().strip() == __version__
        assert (bundle.parent / f"zhenggai-{__version__}-offline.tar.gz").is_file()
        sums = _run(["sha256sum", "--check", "--quiet", "SHA256SUMS"], dict(os.environ), cwd=bundle)
        assert sums.returncode == 0, sums.stdout + sums.stderr

        target = tmp_path / "venv"
        venv.EnvBuilder(with_pip=True).create(target)
        python = target / "bin" / "python"
        # No index, no configured find-links or constraints: only the bundle's wheels exist.
        offline = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "DJANGO_", "DATABASE_", "CELERY_"))}
        offline.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
        install = _run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--no-index",
                "--find-links",
                str(bundle / "wheels"),
                "-r",
                str(ROOT / "requirements.txt"),
            ],
            offline,
            timeout=900,
        )
        assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
        check = _run([str(python), "-m", "pip", "check"], offline)
        assert check.returncode == 0, check.stdout + check.stderr

        # The bundle's own copy of the application runs on what was just installed.
        env = _clean_env(
            tmp_path,
            **{k: v for k, v in offline.items() if k.startswith("PIP_")},
            DJANGO_PRODUCTION="1",
            DJANGO_SECRET_KEY=SECRET_KEY,
            DJANGO_FIELD_ENCRYPTION_KEY=FIELD_ENCRYPTION_KEY,
            DJANGO_AUDIT_CHAIN_KEY=AUDIT_CHAIN_KEY,
            DJANGO_ALLOWED_HOSTS=HOST,
            DJANGO_SITE_URL=f"https://{HOST}",
            DJANGO_STATIC_ROOT=str(bundle / "staticfiles"),
        )
        env = {k: v for k, v in env.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
        result = _run([str(python), "manage.py", "check", "--deploy", "--fail-level", "WARNING"], env, cwd=bundle)
        assert result.returncode == 0, result.stdout + result.stderr
        assert (target / "bin" / "gunicorn").exists()
        assert (target / "bin" / "celery").exists()
