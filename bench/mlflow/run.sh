#!/usr/bin/env bash
# Benchmarks Maestro's MLflow API (the platform with --mlflow, on SQLite)
# against FastTrackML and MLflow's own tracking server (each on SQLite), in
# one run on this machine, one server at a time, with the driver in this
# directory (one client thread, plain HTTP). The peers are installed from PyPI into cached
# virtualenvs under ${MAESTRO_CACHE:-$HOME/.cache/maestro} on first use;
# nothing of theirs is committed, and CI never runs this.
#
#   bench/mlflow/run.sh            # N=200 (50 for MLflow's server)
#   N=50 N_MLFLOW=20 bench/mlflow/run.sh
#   MLFLOW_SETTLE=20: seconds MLflow's server gets to settle after /health
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cache="${MAESTRO_CACHE:-$HOME/.cache/maestro}"
python="${PYTHON:-python3}"
FASTTRACKML_VERSION="${FASTTRACKML_VERSION:-0.6.0}"
MLFLOW_VERSION="${MLFLOW_VERSION:-3.17.2}"
N="${N:-200}"
N_MLFLOW="${N_MLFLOW:-50}"

install() { # venv package==version
  local venv=$1 pkg=$2
  if [ "$(cat "$venv/.maestro-bench" 2>/dev/null || true)" != "$pkg" ]; then
    echo "mlflowbench: installing $pkg into $venv" >&2
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-input "$pkg"
    echo "$pkg" >"$venv/.maestro-bench"
  fi
}
install "$cache/bench-fasttrackml-venv" "fasttrackml==$FASTTRACKML_VERSION"
install "$cache/bench-mlflow-server-venv" "mlflow==$MLFLOW_VERSION"

work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

wait_ready() { # url pid log
  for _ in $(seq 1 300); do
    curl -fsS --max-time 1 "$1" >/dev/null 2>&1 && return 0
    kill -0 "$2" 2>/dev/null || { cat "$3" >&2; exit 1; }
    sleep 0.2
  done
  echo "mlflowbench: $1 never became ready" >&2; cat "$3" >&2; exit 1
}

(cd "$root" && go build -o "$work/platform" ./examples/platform)
(cd "$here" && go build -o "$work/mlflowbench" .)

# Each server runs alone: started on a fresh database, measured, stopped,
# before the next one starts. (Started together, MLflow's server keeps
# about ten Python processes busy for a while after it answers /health,
# which put multi-millisecond p95s on whichever server was measured then.)
stop() { # pid
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
results="$work/results.tsv"
: >"$results"
drive() { # name url n [token env]
  echo "mlflowbench: $1: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) before" >&2
  local tok=()
  [ -n "${4:-}" ] && tok=(-token-env "$1=$4")
  "$work/mlflowbench" -tsv -n "$3" -target "$1=$2" "${tok[@]}" >>"$results"
  echo "mlflowbench: $1: load average $(cut -d' ' -f1-3 /proc/loadavg) after" >&2
}

password="Bench-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
mkdir -m 700 "$work/maestro"
env -u MAESTRO_DATABASE_URL -u MAESTRO_DATABASE_OWNER_URL -u MAESTRO_REDIS_URL \
  MAESTRO_HOME="$work/maestro" MAESTRO_ADMIN_PASSWORD="$password" \
  "$work/platform" serve --addr 127.0.0.1:18401 --mlflow >"$work/maestro.log" 2>&1 &
pid=$!
pids+=("$pid")
wait_ready http://127.0.0.1:18401/health/ready "$pid" "$work/maestro.log"
# An API key (it outlives an access token, whatever the run's length).
access="$(curl -fsS -H 'Content-Type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$password\",\"tenant\":\"default\"}" \
  http://127.0.0.1:18401/api/v1/auth/login | "$python" -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
MAESTRO_TOKEN="$(curl -fsS -H 'Content-Type: application/json' -H "Authorization: Bearer $access" \
  -d "{\"current_password\":\"$password\",\"name\":\"mlflowbench\"}" \
  http://127.0.0.1:18401/api/v1/auth/api-keys | "$python" -c 'import json,sys; print(json.load(sys.stdin)["key"])')"
export MAESTRO_TOKEN
drive maestro http://127.0.0.1:18401 "$N" MAESTRO_TOKEN
stop "$pid"

"$cache/bench-fasttrackml-venv/bin/fml" server --listen-address 127.0.0.1:18402 --log-level warn \
  --database-uri "sqlite://$work/fasttrackml.db" --default-artifact-root "$work/fml-artifacts" >"$work/fasttrackml.log" 2>&1 &
pid=$!
pids+=("$pid")
wait_ready http://127.0.0.1:18402/health "$pid" "$work/fasttrackml.log"
drive fasttrackml http://127.0.0.1:18402 "$N"
stop "$pid"

"$cache/bench-mlflow-server-venv/bin/mlflow" server --host 127.0.0.1 --port 18403 --workers 1 \
  --backend-store-uri "sqlite:///$work/mlflow.db" --artifacts-destination "$work/mlflow-artifacts" >"$work/mlflow.log" 2>&1 &
pid=$!
pids+=("$pid")
wait_ready http://127.0.0.1:18403/health "$pid" "$work/mlflow.log"
# Its helper processes settle first, as the other servers' would have.
sleep "${MLFLOW_SETTLE:-20}"
drive mlflow http://127.0.0.1:18403 "$N_MLFLOW"
stop "$pid"

"$python" - "$results" <<'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
names, ops, cell = [], [], {}
for name, op, med, p95, n in rows:
    names += [name] if name not in names else []
    ops += [op] if op not in ops else []
    cell[name, op] = f"{med} / {p95} (n={n})"
print("| operation |" + "".join(f" {n} median / p95 (ms) |" for n in names))
print("|---|" + "---|" * len(names))
for op in ops:
    print(f"| {op} |" + "".join(f" {cell.get((n, op), '')} |" for n in names))
PY
