#!/usr/bin/env bash
# The integration tests under AddressSanitizer (nightly Rust).
#
#   scripts/asan.sh                 # the default set below
#   scripts/asan.sh --test net_tcp  # any `cargo test` arguments
#
# corosensei's `sanitizer` feature (green-rt's `asan`) tells ASan about each
# switch between greenlet stacks, so a use of a dead greenlet's frame is a
# stack-use-after-return report, not silence. Needs the nightly toolchain
# (`rustup toolchain install nightly`); builds into target/asan. Tests that
# install their own SIGSEGV handler or count memory maps (stack overflow
# reports, vm.max_map_count limits) are left out: ASan owns those.
set -euo pipefail
cd "$(dirname "$0")/.."
target=$(rustc -vV | sed -n 's/^host: //p')
export RUSTFLAGS="-Zsanitizer=address"
export RUSTDOCFLAGS="-Zsanitizer=address"
export GREEN_ASAN=1
export ASAN_OPTIONS="detect_leaks=0:detect_stack_use_after_return=1"
if [ $# -eq 0 ]; then
  set -- \
    --test thread_spawn --test thread_kill --test thread_park --test thread_scope \
    --test thread_local --test thread_remote --test thread_unwind --test thread_teardown \
    --test sync_mpsc --test sync_mutex --test sync_once --test sync_stress \
    --test toolkit_event --test toolkit_pool --test toolkit_queue --test toolkit_timeout \
    --test net_tcp --test net_udp --test net_unix --test runtime_workers \
    --test runtime_fairness --test stress_schedule --test tpool_execute
fi
exec cargo +nightly test -p green --features green-rt/asan --target "$target" \
  --target-dir target/asan "$@"
