//! Helpers shared by the integration tests (`mod util;`). Each test crate
//! uses some of them.

#![allow(dead_code)]

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

/// Both builds of a corpus program printed the same, non-trivial
/// transcript.
pub(crate) fn assert_same_transcript(on_std: &str, on_green: &str) {
    assert!(
        on_std.lines().count() >= 3,
        "the transcript is too short to compare:\n{on_std}"
    );
    assert_eq!(
        on_std, on_green,
        "std (left) and green (right) printed different transcripts"
    );
}
