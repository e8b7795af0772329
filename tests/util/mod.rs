//! Helpers shared by the integration tests (`mod util;`).

use std::time::Duration;

/// Asserts that this thread's hub holds no greenlet and no armed timer: the
/// test left nothing behind. Sleeps a millisecond first so that greenlets
/// that just finished are reaped.
pub(crate) fn assert_clean() {
    green::thread::sleep(Duration::from_millis(1));
    let s = green::runtime::stats();
    assert_eq!(s.greenlets, 0, "leaked greenlets: {s:?}");
    assert_eq!(s.timers, 0, "leaked timers: {s:?}");
}
