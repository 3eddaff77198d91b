#!/usr/bin/env bash
# Runs compare.py from a cached virtualenv built from requirements.txt
# (rebuilt when the requirements change). From the repository root:
#
#   bash bench/metalearn/run_compare.sh [compare.py arguments]
#
# The data must be exported first (see bench/metalearn/README.md).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
req="$here/requirements.txt"
key="$(sha256sum "$req" | cut -c1-12)"
venv="${MAESTRO_MLBENCH_VENV:-$HOME/.cache/maestro/mlbench-venv-$key}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv.tmp"
  "$venv.tmp/bin/pip" install --quiet --disable-pip-version-check -r "$req"
  mv "$venv.tmp" "$venv"
fi
exec "$venv/bin/python" "$here/compare.py" "$@"
