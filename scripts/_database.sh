# Sourced by scripts/test: when PostgreSQL answers on 127.0.0.1:5432, make sure the project's
# database role and its database exist, so that a fresh machine (PostgreSQL and Redis running,
# nothing created yet) runs tests/test_deployment.py and CI's DATABASE_URL without an earlier
# step. Safe to run again: it creates only what is missing. ZHENGGAI_DB_ROLE names the role
# (default zhenggai, as in the deployment guide); its database has the same name. The role the
# application connects as in production, which owns no table, is created beside it
# (ZHENGGAI_DB_APP_ROLE, default zhenggai_app): tests/test_deployment.py migrates as the first
# and runs as the second.
set -euo pipefail
ZHENGGAI_DB_ROLE="${ZHENGGAI_DB_ROLE:-zhenggai}"
ZHENGGAI_DB_APP_ROLE="${ZHENGGAI_DB_APP_ROLE:-${ZHENGGAI_DB_ROLE}_app}"
export ZHENGGAI_DB_ROLE ZHENGGAI_DB_APP_ROLE
if command -v pg_isready >/dev/null && pg_isready -h 127.0.0.1 -p 5432 -q; then
  # As the superuser "postgres" with local trust authentication, as on a server being set up.
  if ! psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -v ON_ERROR_STOP=1 -q -v role="$ZHENGGAI_DB_ROLE" -v app_role="$ZHENGGAI_DB_APP_ROLE" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN CREATEDB', :'role') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role')\gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'role', :'role') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'role')\gexec
SELECT format('CREATE ROLE %I LOGIN', :'app_role') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app_role')\gexec
SQL
  then
    echo "无法以 postgres 身份在 127.0.0.1:5432 创建测试所需的数据库角色 $ZHENGGAI_DB_ROLE、$ZHENGGAI_DB_APP_ROLE 和数据库 $ZHENGGAI_DB_ROLE" >&2
    exit 1
  fi
fi
