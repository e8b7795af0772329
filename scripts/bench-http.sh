#!/usr/bin/env bash
# HTTP server CPU per request: green (ordinary and raw handlers) vs hyper (tokio current_thread),
# actix-web (1 worker) and may_minihttp (1 worker), hello world over 50
# keep-alive connections, one request at a time and pipelined 16 deep.
#
# benches/http.rs is every server and the load generator in one binary,
# built here once (so the peers are built in the same run). Each server
# runs pinned to CPU 0 and the generator to CPU 1; server CPU time (utime
# and stime from /proc/PID/stat) over the run is divided by the requests
# answered. ROUNDS rounds alternate the servers; medians are reported.
#
#   scripts/bench-http.sh   # SECS=5 ROUNDS=3 CONNS=50 BASE_PORT=19300
#   PEERS=green,hyper DEPTHS=1 scripts/bench-http.sh   # a quicker subset
#
# CALLGRIND=1 counts user-space instructions per request instead (steadier
# on a shared machine): each server runs under valgrind's callgrind and is
# loaded twice, for SHORT and LONG seconds; the count per request is the
# difference of the totals over the difference of the requests answered,
# which cancels start-up and shut-down. Needs valgrind.
#
#   CALLGRIND=1 PEERS=green-raw,may DEPTHS=16 scripts/bench-http.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${CALLGRIND:-}" ]; then
    CONNS=${CONNS:-50}
    SHORT=${SHORT:-2}
    LONG=${LONG:-4}
    port=${BASE_PORT:-19400}
    BIN=$(cargo bench --bench http --no-run 2>&1 | sed -n 's/.*Executable .*(\(.*\))/\1/p' | tail -1)
    OUT=$(mktemp -d)
    trap 'rm -rf "$OUT"' EXIT
    # count NAME PORT DEPTH SECS -> "instructions requests"
    count() {
        local name=$1 port=$2 depth=$3 secs=$4 pid w n ir
        taskset -c 0 valgrind --tool=callgrind --callgrind-out-file="$OUT/cg" \
            "$BIN" serve "$name" "127.0.0.1:$port" >/dev/null 2>&1 &
        pid=$!
        until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do sleep 0.2; done
        # The warm-up's requests count too: their instructions are in the
        # total, and how many there are varies from run to run.
        w=$(taskset -c 1 "$BIN" load "127.0.0.1:$port" "$CONNS" 0.5 "$depth")
        n=$(taskset -c 1 "$BIN" load "127.0.0.1:$port" "$CONNS" "$secs" "$depth")
        n=$((n + w))
        kill "$pid"
        wait "$pid" 2>/dev/null || true
        ir=$(callgrind_annotate "$OUT/cg" 2>/dev/null |
            awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
        echo "$ir $n"
    }
    echo "# user-space instructions per request (callgrind; CONNS=$CONNS, $SHORT s and $LONG s)"
    DEPTHS=${DEPTHS:-1,16}
    PEERS=${PEERS:-green,green-raw,hyper,actix,may}
    for depth in ${DEPTHS//,/ }; do
        for name in ${PEERS//,/ }; do
            read -r ir1 m1 <<<"$(count "$name" "$port" "$depth" "$SHORT")"
            read -r ir2 m2 <<<"$(count "$name" "$((port + 1))" "$depth" "$LONG")"
            port=$((port + 2))
            awk -v a="$ir1" -v b="$ir2" -v m="$m1" -v n="$m2" -v d="$depth" -v s="$name" \
                'BEGIN { printf "%7s %-9s %7.0f  (%d and %d requests)\n", d, s, (b - a) / (n - m), m, n }'
        done
    done
    exit 0
fi
export HTTP_BENCH_SECS=${SECS:-5}
export HTTP_BENCH_ROUNDS=${ROUNDS:-3}
export HTTP_BENCH_CONNS=${CONNS:-50}
export HTTP_BENCH_PORT=${BASE_PORT:-19300}
export HTTP_BENCH_PEERS=${PEERS:-green,green-raw,hyper,actix,may}
export HTTP_BENCH_DEPTHS=${DEPTHS:-1,16}
exec cargo bench --bench http
