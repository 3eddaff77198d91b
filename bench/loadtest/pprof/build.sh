#!/bin/sh
# Builds a profiling variant of examples/platform into $1 (default
# ./platform-pprof): the unchanged server plus testdata/pprof_overlay.go,
# added with go build -overlay so that no server source is edited. Run it
# with LOADTEST_PPROF_ADDR=127.0.0.1:6060 and fetch profiles with
#   go tool pprof -top http://127.0.0.1:6060/debug/pprof/profile?seconds=30
set -eu
root=$(cd "$(dirname "$0")/../../.." && pwd)
out=${1:-./platform-pprof}
overlay=$(mktemp)
trap 'rm -f "$overlay"' EXIT
printf '{"Replace":{"%s":"%s"}}\n' \
  "$root/examples/platform/zz_loadtest_pprof.go" \
  "$root/bench/loadtest/testdata/pprof_overlay.go" > "$overlay"
cd "$root"
go build -overlay "$overlay" -o "$out" ./examples/platform
