#!/usr/bin/env bash
# Echo server CPU per message: green vs tokio current_thread vs std threads,
# and the kernel's floor: examples/echo_uring.rs, a server with no runtime
# (one io_uring, all of a batch's receives and sends in one system call,
# next to no user-space work). No server can go far below it; green/floor
# and tokio/floor say how much each runtime adds to the kernel's cost.
#
# Each server runs pinned to CPU 0, the same load generator (examples/
# echo_load.rs: CONNS connections, SIZE-byte ping-pong) pinned to CPU 1.
# Server CPU time (utime+stime from /proc/PID/stat) over the measured run is
# divided by the round trips the generator counted. ROUNDS rounds alternate
# the servers; the median per server is reported, with green/tokio.
#
#   scripts/bench-echo.sh   # CONNS=50 SIZE=64 SECS=5 ROUNDS=3 BASE_PORT=19100
set -euo pipefail
cd "$(dirname "$0")/.."
CONNS=${CONNS:-50}
SIZE=${SIZE:-64}
SECS=${SECS:-5}
ROUNDS=${ROUNDS:-3}
BASE_PORT=${BASE_PORT:-19100}
TARGET=${CARGO_TARGET_DIR:-target}
cargo build --release --example echo --example echo_tokio --example echo_std --example echo_uring --example echo_load >&2
BIN=$TARGET/release/examples
TCK=$(getconf CLK_TCK)

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
user_ticks() { awk '{print $14}' "/proc/$1/stat"; }

# run NAME PORT -> prints microseconds of server CPU per round trip
run() {
    local name=$1 port=$2 pid t0 t1 u0 u1 msgs
    if [ "$name" = gevent ] || [ "$name" = eventlet ]; then
        taskset -c 0 python3 "scripts/echo_$name.py" "127.0.0.1:$port" 2>/dev/null &
    else
        taskset -c 0 "$BIN/$name" "127.0.0.1:$port" 2>/dev/null &
    fi
    pid=$!
    # Warm-up (also waits until the server listens).
    taskset -c 1 "$BIN/echo_load" "127.0.0.1:$port" "$CONNS" 1 "$SIZE" >/dev/null
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "bench-echo: $name did not start (is port $port taken? set BASE_PORT)" >&2
        exit 1
    fi
    t0=$(cpu_ticks "$pid")
    u0=$(user_ticks "$pid")
    msgs=$(taskset -c 1 "$BIN/echo_load" "127.0.0.1:$port" "$CONNS" "$SECS" "$SIZE")
    t1=$(cpu_ticks "$pid")
    u1=$(user_ticks "$pid")
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    awk -v t="$((t1 - t0))" -v u="$((u1 - u0))" -v tck="$TCK" -v m="$msgs" -v n="$name" \
        'BEGIN { printf "%-11s %7.3f %7.3f %9d %6.2f\n", n, t / tck * 1e6 / m, u / tck * 1e6 / m, m, t / tck }' >&2
    awk -v t="$((t1 - t0))" -v tck="$TCK" -v m="$msgs" 'BEGIN { printf "%.3f\n", t / tck * 1e6 / m }'
}

median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# gevent's and eventlet's echo servers join in when Python has them
# (pip install gevent eventlet).
GEVENT=""
if python3 -c 'import gevent' 2>/dev/null; then GEVENT=1; fi
EVENTLET=""
if python3 -c 'import eventlet' 2>/dev/null; then EVENTLET=1; fi

declare -A results
echo "# server      us/msg  user-us/msg  round-trips  cpu-s   (CONNS=$CONNS SIZE=$SIZE SECS=$SECS)" >&2
for round in $(seq "$ROUNDS"); do
    results[green]+="$(run echo "$BASE_PORT") "
    results[tokio]+="$(run echo_tokio "$((BASE_PORT + 1))") "
    results[std]+="$(run echo_std "$((BASE_PORT + 2))") "
    results[floor]+="$(run echo_uring "$((BASE_PORT + 4))") "
    if [ -n "$GEVENT" ]; then
        results[gevent]+="$(run gevent "$((BASE_PORT + 3))") "
    fi
    if [ -n "$EVENTLET" ]; then
        results[eventlet]+="$(run eventlet "$((BASE_PORT + 5))") "
    fi
done
g=$(echo "${results[green]}" | tr ' ' '\n' | grep . | median)
t=$(echo "${results[tokio]}" | tr ' ' '\n' | grep . | median)
s=$(echo "${results[std]}" | tr ' ' '\n' | grep . | median)
f=$(echo "${results[floor]}" | tr ' ' '\n' | grep . | median)
echo "server CPU per message (median of $ROUNDS, microseconds):"
echo "  green          $g"
echo "  tokio (ct)     $t"
echo "  std threads    $s"
echo "  io_uring floor $f   (examples/echo_uring.rs: no runtime)"
if [ -n "$GEVENT" ]; then
    gv=$(echo "${results[gevent]}" | tr ' ' '\n' | grep . | median)
    echo "  gevent         $gv"
    awk -v g="$g" -v v="$gv" 'BEGIN { printf "  green/gevent   %.3f\n", g / v }'
fi
if [ -n "$EVENTLET" ]; then
    ev=$(echo "${results[eventlet]}" | tr ' ' '\n' | grep . | median)
    echo "  eventlet       $ev"
    awk -v g="$g" -v v="$ev" 'BEGIN { printf "  green/eventlet %.3f\n", g / v }'
fi
awk -v g="$g" -v t="$t" 'BEGIN { printf "  green/tokio    %.3f   (ratio of the medians)\n", g / t }'
# Rounds run back to back, so a per-round ratio cancels some of the noise of
# a shared machine: report its median too.
paste <(echo "${results[green]}" | tr ' ' '\n' | grep .) <(echo "${results[tokio]}" | tr ' ' '\n' | grep .) |
    awk '{ print $1 / $2 }' | median | awk '{ printf "  green/tokio    %.3f   (median of the per-round ratios)\n", $1 }'
awk -v g="$g" -v t="$t" -v f="$f" 'BEGIN { printf "  green/floor    %.3f\n  tokio/floor    %.3f\n", g / f, t / f }'
