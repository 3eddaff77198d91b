#!/bin/bash
# usage: principal-cache.sh NAME PORT on|off
# A baseline run of 20 users for 75 s on PostgreSQL + Redis (run.sh pg) with
# MAESTRO_PRINCIPAL_CACHE=on|off, the profiling build ($LT_DIR/platform from
# ../pprof/build.sh), a 45 s CPU profile taken 20 s after the setup, and the
# server's Prometheus counters scraped before and after the profile. Then it
# prints the statements per request in that window and the profile's share
# of the principal check. Ports PORT (API), PORT+1 (pprof), PORT+2 (metrics).
set -u
name=$1; port=$2; pc=$3
export LT_DIR=${LT_DIR:-/tmp/lt} PLATFORM_BIN=${PLATFORM_BIN:-${LT_DIR:-/tmp/lt}/platform}
export MAESTRO_PRINCIPAL_CACHE=$pc LOADTEST_PPROF_ADDR=127.0.0.1:$((port+1)) MAESTRO_METRICS_ADDR=127.0.0.1:$((port+2))
d=$LT_DIR; m=http://127.0.0.1:$((port+2))/metrics
"$(dirname "$0")"/run.sh pg "$name" "$port" -profile baseline -users 20 -duration 75s -window 15s &
runner=$!
until grep -q '^setup ' "$d/$name.progress" 2>/dev/null; do sleep 1; done
sleep 20
curl -s $m > "$d/$name-metrics-0.txt"; uptime > "$d/$name-uptime.txt"
curl -s -o "$d/$name.cpu" "http://127.0.0.1:$((port+1))/debug/pprof/profile?seconds=45"
curl -s $m > "$d/$name-metrics-1.txt"; uptime >> "$d/$name-uptime.txt"
wait $runner
sum() { grep -h "^$2" "$d/$name-metrics-$1.txt" | awk '{s+=$NF} END {printf "%d", s}'; }
q=$(( $(sum 1 maestro_db_queries_total) - $(sum 0 maestro_db_queries_total) ))
r=$(( $(sum 1 maestro_http_requests_total) - $(sum 0 maestro_http_requests_total) ))
echo "$name: $r requests, $q statements in the profiled window: $(echo "scale=2; $q/$r" | bc) per request"
grep -h 'cache="principals"' "$d/$name-metrics-1.txt"
for f in 'checkPrincipal' 'tenancy.\(\*Manager\).User$|tenancy.\(\*Manager\).Membership$' 'auth.Middleware'; do
  echo -n "$f: "; go tool pprof -top -nodecount=100000 -focus="$f" "$d/$name.cpu" 2>/dev/null | grep '^Showing nodes'
done
