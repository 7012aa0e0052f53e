#!/usr/bin/env bash
# Issue 11 load suite: counter, rate-limited counter and chat, each in memory
# and with Redis, back to back in one run (server spawned as a child process,
# load on 127.0.0.1 only). Starts its own redis-server on a free loopback
# port (temp dir, no persistence) and stops it on exit. JSON results land in
# target/djust-bench/redis-*.json; a summary table is printed at the end.
# 12 runs of ~20 s each: about 4-5 minutes.
#
# Usage: benches/redis_load.sh
# Environment:
#   DJUST_BENCH=path   use this djust-bench binary instead of building one
#                      (it must be built with --features redis)
#   DURATION=secs      measured seconds per run (default 10, at most 60)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
DURATION="${DURATION:-10}"
if ! [[ "$DURATION" =~ ^[0-9]+$ ]] || [ "$DURATION" -lt 1 ] || [ "$DURATION" -gt 60 ]; then
    echo "DURATION must be 1..60 seconds" >&2
    exit 2
fi
if [ -n "${DJUST_BENCH:-}" ]; then
    BENCH="$DJUST_BENCH"
else
    cargo build --release --locked -p djust-benches --bin djust-bench --features redis
    BENCH=target/release/djust-bench
fi
REDIS_SERVER="$(command -v redis-server || echo /usr/bin/redis-server)"
[ -x "$REDIS_SERVER" ] || { echo "redis-server not found" >&2; exit 1; }
OUT=target/djust-bench
mkdir -p "$OUT"

# --- a private redis-server on a free 127.0.0.1 port ---------------------------
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
REDIS_DIR="$(mktemp -d "${TMPDIR:-/tmp}/djust-bench-redis.XXXXXX")"
"$REDIS_SERVER" --bind 127.0.0.1 --port "$PORT" --dir "$REDIS_DIR" \
    --save "" --appendonly no --logfile "$REDIS_DIR/redis.log" &
REDIS_PID=$!
stop_redis() {
    kill "$REDIS_PID" 2>/dev/null || true
    wait "$REDIS_PID" 2>/dev/null || true
    rm -rf "$REDIS_DIR"
}
trap stop_redis EXIT
for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then break; fi
    sleep 0.1
done
REDIS_URL="redis://127.0.0.1:$PORT/0"
# One inline command to the private Redis (no redis-cli needed).
redis_cmd() {
    local reply
    exec 3<>"/dev/tcp/127.0.0.1/$PORT"
    printf '%s\r\n' "$1" >&3
    read -r reply <&3
    exec 3<&- 3>&-
    echo "${reply%$'\r'}"
}
echo "redis-server $("$REDIS_SERVER" --version | awk '{print $3}') on $REDIS_URL (pid $REDIS_PID)"

# --- the runs: in memory, then Redis, for each load shape ----------------------
run() {
    local name=$1; shift
    # Every run starts from an empty Redis: a stopped server can leave
    # per-IP connection counts behind (djust-bench reports them as
    # redis_ip_slots_left), which would refuse the next run's sockets.
    echo "=== $name: $* (FLUSHALL: $(redis_cmd FLUSHALL))"
    timeout 300 "$BENCH" --spawn --duration "$DURATION" --json "$OUT/redis-$name.json" "$@"
}
pair() {
    local name=$1; shift
    run "$name-mem" "$@"
    run "$name-redis" "$@" --redis "$REDIS_URL"
}
pair counter-r10 --scenario counter --sessions 1000 --active 100 --rate 10
pair counter     --scenario counter --sessions 1000 --active 100
pair limited-r10 --scenario limited --sessions 1000 --active 100 --rate 10
pair limited     --scenario limited --sessions 1000 --active 100
pair chat-r10    --scenario chat    --sessions 1000 --active 100 --rate 10 --room-size 10
pair chat        --scenario chat    --sessions 1000 --active 100 --room-size 10

# --- summary ------------------------------------------------------------------------
echo
echo "| run | mounted | events/s | p50 µs | p99 µs | delivery p50 / p99 µs | delivered | Redis cmds/event (by name) | round trips/event (by name) | IP slots left |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: |"
for name in counter-r10 counter limited-r10 limited chat-r10 chat; do
    for backend in mem redis; do
        jq -r --arg run "$name-$backend" '
          def names(o): if o == null or o == {} then "none" else (o | to_entries | map("\(.key) \(.value)") | join(", ")) end;
          "| \($run) | \(.sessions_mounted) | \(.events_per_sec) | \(.latency_us.p50) | \(.latency_us.p99) | " +
          (if .delivery_us == null then "" else "\(.delivery_us.p50) / \(.delivery_us.p99)" end) + " | " +
          (if .delivered_ratio == null then "" else "\(.delivered_ratio)" end) + " | " +
          (if .redis_commands_per_event == null then "" else "\(.redis_commands_per_event) (\(names(.redis_commands_by_name)))" end) + " | " +
          (if .redis_round_trips_per_event == null then "" else "\(.redis_round_trips_per_event) (\(names(.redis_round_trips_by_name)))" end) + " | " +
          (if .redis_ip_slots_left == null then "" else "\(.redis_ip_slots_left)" end) + " |"
        ' "$OUT/redis-$name-$backend.json"
    done
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
