#!/usr/bin/env bash
# mini-redis on tokio vs mini-redis migrated to weft by weft-migrate, same load, one run.
#
#   benches/mini_redis.sh [SOURCE]
#
# SOURCE is a git URL or a local clone of tokio-rs/mini-redis (default: the
# GitHub URL). The script, from the repository root:
#   1. clones SOURCE into $WORK/tokio (the original) and copies it to $WORK/weft,
#   2. runs this repository's `weft-migrate rewrite` on the copy (path
#      dependencies on this checkout's runtime/ and compat/),
#   3. builds both servers in release (one shared target directory),
#   4. starts both on loopback and drives them with the same
#      `redis-benchmark -t set,get -n $N -c $C` (Debian: `apt-get install redis-tools`),
#      $ROUNDS rounds, alternating which server goes first,
#   5. prints the median requests/s of each side and the ratio weft/tokio
#      (above 1: weft serves more), each server's CPU time (user + system,
#      from /proc/PID/stat) per request over all rounds, how busy
#      redis-benchmark kept its core against each (near 100%: the client
#      bounds the request rate), and the load.
#
# On a shared machine requests/s swing by +-15% between rounds (and
# redis-benchmark itself needs a core); the CPU time per request is the
# steadier figure. For user-space instructions per request run a server
# under `valgrind --tool=callgrind` (see docs/bench-2026-12-06.txt).
#
# Environment: WORK (default /tmp/weft-mini-redis), N (20000), C (32), ROUNDS (5),
# WEFT_BACKEND (passed to the weft server: uring, posix or unset for auto).
# Nothing of mini-redis is kept in this repository.
set -euo pipefail

SOURCE=${1:-https://github.com/tokio-rs/mini-redis}
WORK=${WORK:-/tmp/weft-mini-redis}
N=${N:-20000}
C=${C:-32}
ROUNDS=${ROUNDS:-5}
REPO=$(cd "$(dirname "$0")/.." && pwd)

command -v redis-benchmark >/dev/null || {
    echo "mini_redis.sh: redis-benchmark not found (Debian/Ubuntu: apt-get install redis-tools)" >&2
    exit 2
}

mkdir -p "$WORK"
if [ ! -d "$WORK/tokio/.git" ]; then
    git clone -q "$SOURCE" "$WORK/tokio"
fi
rm -rf "$WORK/weft"
cp -r "$WORK/tokio" "$WORK/weft"
git -C "$WORK/weft" checkout -q -- . # a clean copy of the original

echo "== migrating $WORK/weft with weft-migrate"
(cd "$REPO" && cargo build -q --release -p weft-migrate)
(cd "$WORK/weft" && "$REPO/target/release/weft-migrate" rewrite --allow-dirty \
    --weft-path "$REPO/runtime" --compat-path "$REPO/compat" >"$WORK/migrate.log" 2>&1) || {
    echo "mini_redis.sh: weft-migrate failed, see $WORK/migrate.log" >&2
    exit 1
}
grep '^weft-migrate:' "$WORK/migrate.log" || true

echo "== building both servers (release)"
export CARGO_TARGET_DIR="$WORK/target"
(cd "$WORK/tokio" && cargo build -q --release --bin mini-redis-server)
cp "$CARGO_TARGET_DIR/release/mini-redis-server" "$WORK/server-tokio"
(cd "$WORK/weft" && cargo build -q --release --bin mini-redis-server)
cp "$CARGO_TARGET_DIR/release/mini-redis-server" "$WORK/server-weft"

PORT_TOKIO=${PORT_TOKIO:-6479}
PORT_WEFT=${PORT_WEFT:-6480}
"$WORK/server-tokio" --port "$PORT_TOKIO" >"$WORK/tokio.log" 2>&1 &
PID_TOKIO=$!
"$WORK/server-weft" --port "$PORT_WEFT" >"$WORK/weft.log" 2>&1 &
PID_WEFT=$!
trap 'kill $PID_TOKIO $PID_WEFT 2>/dev/null || true' EXIT

wait_port() {
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "mini_redis.sh: no server on port $1" >&2
    exit 1
}
wait_port "$PORT_TOKIO"
wait_port "$PORT_WEFT"

# One redis-benchmark run: prints "SET <rps>", "GET <rps>" and
# "CLIENT <busy>", the share of one core redis-benchmark kept busy (its user +
# system time over its wall time; the shell's `time` counts the children
# `timeout` waited for).
bench() {
    local csv times
    csv=$(mktemp)
    times=$(mktemp)
    { TIMEFORMAT='%R %U %S'; time timeout 300 redis-benchmark -p "$1" -t set,get -n "$N" -c "$C" --csv >"$csv" 2>/dev/null; } 2>"$times"
    awk -F'","' '/^"(SET|GET)"/ { gsub(/"/, "", $1); print $1, $2 }' "$csv"
    awk '$1 > 0 { print "CLIENT", ($2 + $3) / $1 }' "$times"
    rm -f "$csv" "$times"
}

# CPU time (user + system) of a process so far, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
CPU0_TOKIO=$(cpu_ticks $PID_TOKIO)
CPU0_WEFT=$(cpu_ticks $PID_WEFT)

RESULTS="$WORK/results.txt"
: >"$RESULTS"
echo "== $ROUNDS rounds of redis-benchmark -t set,get -n $N -c $C (load before: $(cut -d' ' -f1-3 /proc/loadavg))"
for round in $(seq "$ROUNDS"); do
    if [ $((round % 2)) -eq 1 ]; then order="tokio weft"; else order="weft tokio"; fi
    for side in $order; do
        port=$PORT_TOKIO
        [ "$side" = weft ] && port=$PORT_WEFT
        bench "$port" | while read -r test rps; do echo "$side $test $rps" >>"$RESULTS"; done
    done
done

TICK=$(getconf CLK_TCK)
REQUESTS=$((ROUNDS * 2 * N))
cpu_us() { echo "($(cpu_ticks "$1") - $2) * 1000000 / $TICK / $REQUESTS" | bc -l; }
CPU_TOKIO=$(cpu_us $PID_TOKIO "$CPU0_TOKIO")
CPU_WEFT=$(cpu_us $PID_WEFT "$CPU0_WEFT")

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
printf '\n%-6s %14s %14s %8s\n' test "tokio req/s" "weft req/s" weft/tokio
for test in SET GET; do
    t=$(awk -v t="$test" '$1 == "tokio" && $2 == t { print $3 }' "$RESULTS" | median)
    w=$(awk -v t="$test" '$1 == "weft" && $2 == t { print $3 }' "$RESULTS" | median)
    printf '%-6s %14.0f %14.0f %7.2fx\n' "$test" "$t" "$w" "$(echo "$w / $t" | bc -l)"
done
printf '%-6s %14.2f %14.2f %7.2fx   (server CPU us per request, lower is better; ratio tokio/weft)\n' \
    CPU "$CPU_TOKIO" "$CPU_WEFT" "$(echo "$CPU_TOKIO / $CPU_WEFT" | bc -l)"
CLIENT_TOKIO=$(awk '$1 == "tokio" && $2 == "CLIENT" { print $3 }' "$RESULTS" | median)
CLIENT_WEFT=$(awk '$1 == "weft" && $2 == "CLIENT" { print $3 }' "$RESULTS" | median)
printf '%-6s %13.0f%% %13.0f%%           (one core kept busy by redis-benchmark, median)\n' \
    client "$(echo "$CLIENT_TOKIO * 100" | bc -l)" "$(echo "$CLIENT_WEFT * 100" | bc -l)"
if [ "$(echo "$CLIENT_TOKIO >= 0.85 && $CLIENT_WEFT >= 0.85" | bc -l)" = 1 ]; then
    echo "(redis-benchmark is one thread and kept its core at least 85% busy against both"
    echo " servers: requests/s measure the client as much as the servers here; the servers'"
    echo " CPU per request is the figure that compares them)"
fi
echo "(medians of $ROUNDS rounds; load after: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores)"
