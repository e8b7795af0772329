#!/usr/bin/env bash
# The integration tests under valgrind's memcheck: uses of freed or
# uninitialised memory, invalid reads and writes (`--error-exitcode` makes
# any report fail the run; a test that fails for timing under valgrind's
# slowdown is reported, not counted: the plain `cargo test` checks it). Greenlet stacks are switched by corosensei;
# green registers each stack with valgrind (VALGRIND_STACK_REGISTER, in
# green-rt/src/rt/stack.rs), so memcheck takes a jump onto one for a switch,
# not for a frame of hundreds of kilobytes (without it, reads of the
# thread's own TLS are reported as invalid). Leaks are not checked (the hub
# and stack pool live until exit on purpose). Needs valgrind
# (`apt-get install valgrind`).
#
#   scripts/valgrind.sh                   # the default set below
#   scripts/valgrind.sh sync_mpsc net_tcp # named test files
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v valgrind >/dev/null 2>&1; then
  echo "valgrind is not installed (apt-get install valgrind): skipped"
  exit 0
fi
tests=("$@")
if [ ${#tests[@]} -eq 0 ]; then
  tests=(thread_spawn thread_kill thread_park thread_scope thread_local thread_unwind
    sync_mpsc sync_mutex sync_once toolkit_event toolkit_queue toolkit_timeout
    net_tcp net_udp net_unix runtime_fairness tpool_execute)
fi
args=()
for t in "${tests[@]}"; do args+=(--test "$t"); done
cargo test --workspace --features tls,tracing --no-run "${args[@]}" 2>&1 | grep -o 'target/debug/deps/[^ )]*' > /tmp/green-valgrind-bins
status=0
while read -r bin; do
  echo "== valgrind $bin"
  rc=0
  valgrind --quiet --error-exitcode=99 "$bin" --test-threads=1 -q || rc=$?
  if [ "$rc" = 99 ]; then
    echo "memcheck reported errors in $bin"
    status=1
  elif [ "$rc" != 0 ]; then
    # Not a memory error: a test that times something failed under
    # valgrind's slowdown (20-50x). The plain run checks the timing.
    echo "note: a test of $bin failed under valgrind's slowdown (exit $rc), not a memory error"
  fi
done < /tmp/green-valgrind-bins
exit $status
