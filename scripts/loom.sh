#!/usr/bin/env bash
# Loom models of the runtime's concurrency core: a waiter's park/notify
# state (src/task/park.rs), the remote hand-over handshake (src/hub/wake.rs)
# with the spin lock and a stand-in waker, the spin lock, and the wait
# queues' grant/abandon paths (src/sync/waiter.rs). The models in
# green-rt/tests/loom_*.rs compile those source files as they are, with
# loom's atomics (src/loom.rs). Builds into target/loom.
#
#   scripts/loom.sh                 # every model
#   scripts/loom.sh --test loom_task two_unparkers   # one model
#
# LOOM_MAX_PREEMPTIONS bounds the preemptions loom tries per execution
# (default here 3, about 20 s in all; 5 takes about 6 min, mostly
# loom_waiter_chain; unbounded is out of reach).
#
# Only the loom_* test targets build with --cfg loom: the library's own unit
# tests would swap its atomics for loom's under its `const fn` constructors.
set -euo pipefail
cd "$(dirname "$0")/.."
export RUSTFLAGS="${RUSTFLAGS:-} --cfg loom"
export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-3}"
if [ "$#" -eq 0 ]; then
  set -- --test 'loom_*'
fi
exec cargo test -p green-rt --release --target-dir target/loom "$@"
