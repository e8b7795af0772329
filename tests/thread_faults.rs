//! Faults in greenlets: panics are reported like std's and returned by
//! `join`; a stack overflow names the greenlet and aborts. The crashing
//! cases run in a child process (this test binary, re-run with an
//! environment variable naming the case).

use std::process::Command;
use std::time::Duration;

use green::thread;

const CHILD: &str = "GREEN_FAULT_CASE";

/// Runs `case` in a child process and returns (status, stderr).
fn run_child(case: &str) -> (std::process::ExitStatus, String) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_entry", "--nocapture", "--test-threads=1"])
        .env(CHILD, case)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    (
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Entry of the child process; does nothing in a normal test run.
#[test]
fn child_entry() {
    match std::env::var(CHILD).as_deref() {
        Ok("overflow") => {
            #[allow(unconditional_recursion)]
            fn recurse(n: u64) -> u64 {
                let buf = [n; 64];
                std::hint::black_box(&buf);
                recurse(n + 1) + buf[3]
            }
            let h = thread::Builder::new()
                .name("deep-diver".into())
                .stack_size(64 * 1024)
                .spawn(|| recurse(0))
                .unwrap();
            let _ = h.join();
            unreachable!("the overflow aborts the process");
        }
        Ok("panic") => {
            let h = thread::Builder::new()
                .name("panicky".into())
                .spawn(|| panic!("the payload {}", 42))
                .unwrap();
            let _ = h.join();
            let h = thread::spawn(|| panic!("anonymous"));
            let _ = h.join();
        }
        Ok("segv") => {
            // A fault outside any greenlet guard still ends as SIGSEGV: the
            // handler passes it on.
            let h = thread::spawn(|| {
                // SAFETY: deliberately invalid; this child process is meant
                // to die of SIGSEGV.
                unsafe { std::ptr::write_volatile(16 as *mut u64, 1) };
            });
            let _ = h.join();
        }
        _ => {}
    }
}

#[test]
fn stack_overflow_names_the_greenlet_and_aborts() {
    use std::os::unix::process::ExitStatusExt;
    let (status, stderr) = run_child("overflow");
    assert_eq!(status.signal(), Some(libc::SIGABRT), "stderr: {stderr}");
    assert!(
        stderr.contains("thread 'deep-diver'") && stderr.contains("has overflowed its stack"),
        "stderr: {stderr}"
    );
}

#[test]
fn other_segfaults_are_passed_on() {
    use std::os::unix::process::ExitStatusExt;
    let (status, stderr) = run_child("segv");
    assert_eq!(status.signal(), Some(libc::SIGSEGV), "stderr: {stderr}");
    assert!(!stderr.contains("overflowed"), "stderr: {stderr}");
}

#[test]
fn panic_is_reported_like_std_with_the_greenlet_name() {
    let (status, stderr) = run_child("panic");
    assert!(status.success(), "stderr: {stderr}");
    assert!(stderr.contains("thread 'panicky' ("), "stderr: {stderr}");
    assert!(
        stderr.contains("panicked at tests/thread_faults.rs:"),
        "stderr: {stderr}"
    );
    assert!(stderr.contains("the payload 42"), "stderr: {stderr}");
    assert!(stderr.contains("thread '<unnamed>' ("), "stderr: {stderr}");
}

#[test]
fn panic_is_returned_by_join_and_others_carry_on() {
    let sleeper = thread::spawn(|| {
        thread::sleep(Duration::from_millis(30));
        "still here"
    });
    let boom = thread::spawn(|| -> u32 { std::panic::panic_any(String::from("boom")) });
    let err = boom.join().unwrap_err();
    assert_eq!(
        err.downcast_ref::<String>().map(String::as_str),
        Some("boom")
    );
    assert!(!thread::is_greenlet_exit(&*err));
    assert_eq!(sleeper.join().unwrap(), "still here");
}
