#!/usr/bin/env bash
# Issue 10 load suite: every djust-bench scenario against the Rust server
# (spawned as a child process so its RSS is measured alone), then the same
# counter and table scenarios against djust (PyPI) via anchors/djust/run.sh.
# JSON results land in target/djust-bench/. Takes about 15 minutes.
#
# Usage: benches/load.sh [rust|py|all]   (default all)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
ulimit -n 20000   # 10,000 sockets + page loads per process
cargo build --release -p djust-benches --bin djust-bench
BENCH=target/release/djust-bench
OUT=target/djust-bench
mkdir -p "$OUT"
WHAT="${1:-all}"

rs() { local name=$1; shift; "$BENCH" --spawn --json "$OUT/rs-$name.json" "$@"; }
py() { benches/anchors/djust/run.sh "$@"; }

if [ "$WHAT" = all ] || [ "$WHAT" = rust ]; then
    rs counter-1          --scenario counter --sessions 1     --active 1   --duration 10
    rs counter-100        --scenario counter --sessions 100   --active 100 --duration 10
    rs counter-1000       --scenario counter --sessions 1000  --active 100 --duration 10
    rs counter-1000-r10   --scenario counter --sessions 1000  --active 100 --duration 10 --rate 10
    rs counter-10000      --scenario counter --sessions 10000 --active 100 --duration 10 --settle 5
    rs counter-10000-r10  --scenario counter --sessions 10000 --active 100 --duration 10 --rate 10 --settle 5
    rs table-100          --scenario table   --sessions 100   --active 10  --duration 10
    rs table-10-r2        --scenario table   --sessions 10    --active 10  --duration 10 --rate 2
    rs search-100         --scenario search  --sessions 100   --active 100 --duration 10
    rs search-1000-r5     --scenario search  --sessions 1000  --active 100 --duration 10 --rate 5
fi
if [ "$WHAT" = all ] || [ "$WHAT" = py ]; then
    py counter-1          --scenario counter --sessions 1     --active 1   --duration 10
    py counter-100        --scenario counter --sessions 100   --active 100 --duration 10
    py counter-1000       --scenario counter --sessions 1000  --active 100 --duration 10
    py counter-1000-r10   --scenario counter --sessions 1000  --active 100 --duration 10 --rate 10
    py table-10           --scenario table   --sessions 10    --active 10  --duration 10
    py table-10-r2        --scenario table   --sessions 10    --active 10  --duration 10 --rate 2
fi
