#!/bin/sh
# Run once by the postgres image when it creates its data directory (compose mounts this file in
# /docker-entrypoint-initdb.d): the application's own role, which owns no table. The tables belong
# to POSTGRES_USER (zhenggai), which only the migrate service connects as; after migrating it grants
# zhenggai_app what the application may do (docs/DEPLOYMENT.md, 两个数据库角色).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v password="$APP_DB_PASSWORD" <<'SQL'
CREATE ROLE zhenggai_app LOGIN PASSWORD :'password';
SQL
