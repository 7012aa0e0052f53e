#!/usr/bin/env bash
# djust (PyPI) anchor for djust-bench (issue 10).
#
# Creates a virtualenv (once), installs pinned djust + Django + uvicorn from
# PyPI, serves benchproj (counter at /, 100x100 table at /table) with one
# uvicorn worker on 127.0.0.1, runs djust-bench against it with
# `--protocol djust-py`, and stops the server.
#
# Usage: benches/anchors/djust/run.sh NAME [djust-bench options...]
#   e.g. benches/anchors/djust/run.sh counter-1000 --scenario counter --sessions 1000 --active 100
# The JSON result goes to target/djust-bench/py-NAME.json. Build djust-bench first:
#   cargo build --release -p djust-benches --bin djust-bench
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
VENV="${DJUST_PY_VENV:-$ROOT/target/djust-py-venv}"
PORT="${DJUST_PY_PORT:-8765}"
BENCH="$ROOT/target/release/djust-bench"
OUT="$ROOT/target/djust-bench"
NAME="${1:?usage: run.sh NAME [djust-bench options...]}"
shift

if [ ! -x "$BENCH" ]; then
    echo "build djust-bench first: cargo build --release -p djust-benches --bin djust-bench" >&2
    exit 1
fi
if [ ! -x "$VENV/bin/uvicorn" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --upgrade pip
    "$VENV/bin/pip" install --quiet -r "$HERE/requirements.txt"
fi
mkdir -p "$OUT"

# Path of the scenario on the Python server.
PAGE="/"
for arg in "$@"; do
    if [ "$arg" = "table" ]; then PAGE="/table"; fi
done

cd "$HERE"
"$VENV/bin/uvicorn" benchproj.asgi:application --host 127.0.0.1 --port "$PORT" \
    --workers 1 --log-level warning --no-access-log &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true' EXIT

for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then break; fi
    sleep 0.2
done

"$BENCH" --url "http://127.0.0.1:$PORT$PAGE" --protocol djust-py --server-pid "$SERVER" \
    --json "$OUT/py-$NAME.json" "$@"
