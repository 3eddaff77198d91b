#!/bin/bash
# usage: start-sqlite.sh NAME PORT  -> prints pid
set -e
name=$1; port=$2
home=${LT_DIR:-/tmp/lt}/$name-home
rm -rf "$home"; mkdir -p "$home"; chmod 700 "$home"
MAESTRO_HOME=$home MAESTRO_ADMIN_PASSWORD="$LT_ADMIN_PASSWORD" ${PLATFORM_BIN:-${LT_DIR:-/tmp/lt}/platform} serve --addr 127.0.0.1:$port > ${LT_DIR:-/tmp/lt}/$name-server.log 2>&1 &
echo $! > ${LT_DIR:-/tmp/lt}/$name.pid
for i in $(seq 1 100); do curl -sf http://127.0.0.1:$port/health/ready >/dev/null && break; sleep 0.2; done
cat ${LT_DIR:-/tmp/lt}/$name.pid
