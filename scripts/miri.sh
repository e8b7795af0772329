#!/usr/bin/env bash
# Miri on the parts of the runtime that need no hub (no epoll, no mmap, no
# stack switch, which Miri cannot run): the spin lock under four threads and
# the timer wheel and heap. Needs nightly with Miri
# (`rustup +nightly component add miri`); builds into target/miri.
#
#   scripts/miri.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export MIRIFLAGS="${MIRIFLAGS:-}"
exec cargo +nightly miri test -p green-rt --lib --target-dir target/miri -- \
  rt::spin:: rt::timer::
