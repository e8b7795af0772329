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

/// Runs this test binary again as a child process that executes only its
/// `child_entry` test, with `var=case` in its environment, killing it after
/// `limit`; returns (success, stdout, stderr). For aborts and hangs that
/// must not take the test process down.
pub(crate) fn run_child_case(var: &str, case: &str, limit: Duration) -> (bool, String, String) {
    use std::process::{Command, Stdio};
    use std::time::Instant;
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_entry", "--nocapture", "--test-threads=1"])
        .env(var, case)
        .env("RUST_BACKTRACE", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let out = child.wait_with_output().unwrap();
    (
        status.is_some_and(|s| s.success()),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// OS threads of this process (`Threads:` in /proc/self/status).
pub(crate) fn os_threads() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Open file descriptors of this process.
pub(crate) fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Memory maps of this process (lines of /proc/self/maps).
pub(crate) fn memory_maps() -> usize {
    std::fs::read_to_string("/proc/self/maps")
        .unwrap()
        .lines()
        .count()
}
