# Sourced by scripts/test: when PostgreSQL answers on 127.0.0.1:5432, make sure the project's
# database role and its database exist, so that a fresh machine (PostgreSQL and Redis running,
# nothing created yet) runs tests/test_deployment.py and CI's DATABASE_URL without an earlier
# step. Safe to run again: it creates only what is missing. ZHENGGAI_DB_ROLE names the role
# (default zhenggai, as in the deployment guide); its database has the same name.
set -euo pipefail
ZHENGGAI_DB_ROLE="${ZHENGGAI_DB_ROLE:-zhenggai}"
export ZHENGGAI_DB_ROLE
if command -v pg_isready >/dev/null && pg_isready -h 127.0.0.1 -p 5432 -q; then
  # As the superuser "postgres" with local trust authentication, as on a server being set up.
  if ! psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -v ON_ERROR_STOP=1 -q -v role="$ZHENGGAI_DB_ROLE" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN CREATEDB', :'role') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role')\gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'role', :'role') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'role')\gexec
SQL
  then
    echo "无法以 postgres 身份在 127.0.0.1:5432 创建测试所需的数据库角色和数据库 $ZHENGGAI_DB_ROLE" >&2
    exit 1
  fi
fi
