#!/bin/bash
# usage: run.sh sqlite|pg NAME PORT loadtest-args...  (starts a fresh server, runs, stops it)
set -e
kind=$1; name=$2; port=$3; shift 3
export LT_ADMIN_PASSWORD=$(cat ${LT_DIR:-/tmp/lt}/admin_pw) MAESTRO_ADMIN_PASSWORD=$(cat ${LT_DIR:-/tmp/lt}/admin_pw)
if [ $kind = pg ]; then pid=$("$(dirname "$0")"/start-pg.sh $name $port | tail -1); else pid=$("$(dirname "$0")"/start-sqlite.sh $name $port | tail -1); fi
{ echo "== $name ($kind) start $(date -u +%FT%TZ) server pid $pid"; uptime; echo "args: $*"; } >> ${LT_DIR:-/tmp/lt}/runs.log
${LT_DIR:-/tmp/lt}/loadtest -target http://127.0.0.1:$port -server-pid $pid -server-log ${LT_DIR:-/tmp/lt}/$name-server.log -json ${LT_DIR:-/tmp/lt}/$name.json -md ${LT_DIR:-/tmp/lt}/$name.md "$@" > ${LT_DIR:-/tmp/lt}/$name.progress 2>&1 || echo "loadtest failed: $?" >> ${LT_DIR:-/tmp/lt}/runs.log
{ echo "== $name end $(date -u +%FT%TZ)"; uptime; } >> ${LT_DIR:-/tmp/lt}/runs.log
kill $pid; wait $pid 2>/dev/null || true
