#!/usr/bin/env bash
# User-space instructions per message of each echo server, counted by
# valgrind (callgrind), so the runtimes' own work is compared without the
# noise of timing and without the kernel's share, which is the same for all
# of them (see scripts/bench-echo.sh and book/src/networking.md).
#
# Each server runs under callgrind; the load generator (examples/echo_load.rs)
# drives it twice, for SHORT and LONG seconds; the instructions per message
# are the difference of the two totals over the difference of the message
# counts, which cancels start-up and shut-down.
#
#   scripts/echo-instructions.sh   # CONNS=50 SIZE=64 SHORT=2 LONG=4 BASE_PORT=19700
#
# Needs valgrind (apt-get install valgrind).
set -euo pipefail
cd "$(dirname "$0")/.."
CONNS=${CONNS:-50}
SIZE=${SIZE:-64}
SHORT=${SHORT:-2}
LONG=${LONG:-4}
BASE_PORT=${BASE_PORT:-19700}
TARGET=${CARGO_TARGET_DIR:-target}
if ! command -v valgrind >/dev/null; then
    echo "echo-instructions: needs valgrind (apt-get install valgrind)" >&2
    exit 1
fi
cargo build --release --example echo --example echo_tokio --example echo_std --example echo_load >&2
BIN=$TARGET/release/examples
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

# count NAME PORT SECS -> "instructions messages"
count() {
    local name=$1 port=$2 secs=$3 pid msgs ir
    valgrind --tool=callgrind --callgrind-out-file="$OUT/$name.$secs" \
        "$BIN/$name" "127.0.0.1:$port" 2>/dev/null &
    pid=$!
    # Warm-up (also waits until the server listens under valgrind).
    "$BIN/echo_load" "127.0.0.1:$port" "$CONNS" 0.5 "$SIZE" >/dev/null
    msgs=$("$BIN/echo_load" "127.0.0.1:$port" "$CONNS" "$secs" "$SIZE")
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    ir=$(callgrind_annotate "$OUT/$name.$secs" 2>/dev/null |
        awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
    echo "$ir $msgs"
}

echo "user-space instructions per message (CONNS=$CONNS SIZE=$SIZE):"
declare -A per
port=$BASE_PORT
for name in echo echo_tokio echo_std; do
    read -r ir1 m1 <<<"$(count "$name" "$port" "$SHORT")"
    read -r ir2 m2 <<<"$(count "$name" "$((port + 1))" "$LONG")"
    port=$((port + 2))
    per[$name]=$(awk -v a="$ir1" -v b="$ir2" -v m="$m1" -v n="$m2" 'BEGIN { printf "%.0f", (b - a) / (n - m) }')
    printf "  %-11s %6s\n" "$name" "${per[$name]}"
done
awk -v g="${per[echo]}" -v t="${per[echo_tokio]}" 'BEGIN { printf "  green/tokio %6.2f\n", g / t }'
