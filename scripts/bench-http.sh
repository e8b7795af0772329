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
set -euo pipefail
cd "$(dirname "$0")/.."
export HTTP_BENCH_SECS=${SECS:-5}
export HTTP_BENCH_ROUNDS=${ROUNDS:-3}
export HTTP_BENCH_CONNS=${CONNS:-50}
export HTTP_BENCH_PORT=${BASE_PORT:-19300}
export HTTP_BENCH_PEERS=${PEERS:-green,green-raw,hyper,actix,may}
export HTTP_BENCH_DEPTHS=${DEPTHS:-1,16}
exec cargo bench --bench http
