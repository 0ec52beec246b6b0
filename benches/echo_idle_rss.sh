#!/usr/bin/env bash
# Resident memory per idle connection: the echo example (weft) against the
# same server on tokio (benches/src/bin/echo_tokio.rs), same run.
#
#   benches/echo_idle_rss.sh [N]     (N connections, default 5000; needs N+10 open files)
#
# Each server is started fresh; benches/src/bin/idle_conns.rs opens N
# connections, does one 1-byte round trip on each and reports the growth of
# the server's VmRSS divided by N.
set -euo pipefail
N=${1:-5000}
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
cargo build -q --release -p weft-examples --bin echo
cargo build -q --release -p weft-benches --bin echo_tokio --bin idle_conns
BIN="$REPO/target/release"
# One port per side: the first side's 5000 closed connections linger in
# TIME_WAIT on its port, and connecting again to that port from the same
# ephemeral ports failed now and then (refused or reset).
for side in weft tokio; do
    if [ "$side" = weft ]; then server="$BIN/echo"; port=7311; else server="$BIN/echo_tokio"; port=7312; fi
    "$server" "127.0.0.1:$port" >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
    printf '%-6s ' "$side"
    "$BIN/idle_conns" "$pid" "127.0.0.1:$port" "$N" || true
    kill "$pid"
    wait "$pid" 2>/dev/null || true
done
echo "(load: $(cut -d' ' -f1-3 /proc/loadavg))"
