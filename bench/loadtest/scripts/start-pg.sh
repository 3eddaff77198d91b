#!/bin/bash
# usage: start-pg.sh NAME PORT -> fresh database maestro_lt_NAME, init-db, serve with Redis; prints pid
set -e
name=$1; port=$2
role=${LT_APP_ROLE:-maestro_lt_app}
db=maestro_lt_${name//-/_}
home=${LT_DIR:-/tmp/lt}/$name-home
rm -rf "$home"; mkdir -p "$home"; chmod 700 "$home"
PGURL=postgres://postgres:postgres@127.0.0.1:5432
psql "$PGURL/postgres?sslmode=disable" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
apppw=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
export MAESTRO_HOME=$home
export MAESTRO_DATABASE_URL="postgres://$role:$apppw@127.0.0.1:5432/$db?sslmode=disable"
psql "$PGURL/postgres?sslmode=disable" -qc "ALTER ROLE $role PASSWORD '$apppw'" >/dev/null 2>&1 || true
MAESTRO_DATABASE_OWNER_URL="$PGURL/$db?sslmode=disable" ${PLATFORM_BIN:-${LT_DIR:-/tmp/lt}/platform} init-db > ${LT_DIR:-/tmp/lt}/$name-initdb.log 2>&1
MAESTRO_REDIS_URL=${LT_REDIS_URL:-redis://127.0.0.1:6379/0} MAESTRO_ADMIN_PASSWORD="$LT_ADMIN_PASSWORD" \
  ${PLATFORM_BIN:-${LT_DIR:-/tmp/lt}/platform} serve --addr 127.0.0.1:$port > ${LT_DIR:-/tmp/lt}/$name-server.log 2>&1 &
echo $! > ${LT_DIR:-/tmp/lt}/$name.pid
for i in $(seq 1 150); do curl -sf http://127.0.0.1:$port/health/ready >/dev/null && break; sleep 0.2; done
curl -s http://127.0.0.1:$port/health/ready; echo
cat ${LT_DIR:-/tmp/lt}/$name.pid
