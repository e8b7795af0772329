//! Ordinary std programs, built as written and with only green's
//! attributes added, must print the same and the green build must be green:
//! no OS thread per `thread::spawn`, no hub blocked by a sleep, a lock, a
//! child process or standard input.
//!
//! Each program lives in `tests/ordinary/NAME/`: `std.rs` as a Rust user
//! writes it (imports at the top, helpers beside `main`, module files),
//! `green.rs` the same text with `#[green::main]` above `fn main()` and
//! `#[green::patch]` above each inline `mod NAME {` (checked here), and the
//! module files both share. Cargo builds each twice (`NAME-std`,
//! `NAME-green`); the test runs both, samples `Threads:` in
//! `/proc/PID/status` while they run, and compares their standard output.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// What one run printed and how many OS threads it had at most.
struct Run {
    stdout: String,
    max_threads: usize,
    elapsed: Duration,
}

fn threads_of(pid: u32) -> Option<usize> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
}

fn run(exe: &str, stdin: Option<Vec<&'static str>>) -> Run {
    let start = Instant::now();
    let mut child = Command::new(exe)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {exe}: {e}"));
    let pid = child.id();
    let feeder = stdin.map(|lines| {
        let mut pipe = child.stdin.take().unwrap();
        thread::spawn(move || {
            for line in lines {
                thread::sleep(Duration::from_millis(200));
                pipe.write_all(line.as_bytes()).unwrap();
                pipe.write_all(b"\n").unwrap();
            }
        })
    });
    let mut out = child.stdout.take().unwrap();
    let reader = thread::spawn(move || {
        let mut s = String::new();
        out.read_to_string(&mut s).unwrap();
        s
    });
    let mut max_threads = 0;
    let status = loop {
        if let Some(n) = threads_of(pid) {
            max_threads = max_threads.max(n);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        thread::sleep(Duration::from_millis(2));
    };
    if let Some(f) = feeder {
        f.join().unwrap();
    }
    let stdout = reader.join().unwrap();
    assert!(
        status.success(),
        "{exe} failed ({status}); it printed:\n{stdout}"
    );
    Run {
        stdout,
        max_threads,
        elapsed: start.elapsed(),
    }
}

/// `green.rs` is `std.rs` with only the attribute lines added.
fn assert_only_attributes_added(name: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    let std_src = std::fs::read_to_string(dir.join("std.rs")).unwrap();
    let green_src = std::fs::read_to_string(dir.join("green.rs")).unwrap();
    let kept: Vec<&str> = green_src
        .lines()
        .filter(|l| !matches!(l.trim(), "#[green::main]" | "#[green::patch]"))
        .collect();
    assert_eq!(
        kept,
        std_src.lines().collect::<Vec<_>>(),
        "{name}/green.rs must be {name}/std.rs with only `#[green::main]` and \
         `#[green::patch]` lines added"
    );
    assert!(
        green_src.contains("#[green::main]\nfn main()"),
        "{name}/green.rs puts #[green::main] on main"
    );
}

/// Runs both builds of `name`; checks the transcripts and the thread counts.
/// `std_min`: the std build must reach this many OS threads (so the
/// program does spawn them); `green_max`: the green build may not exceed it.
fn check(
    name: &str,
    std_exe: &str,
    green_exe: &str,
    std_min: usize,
    green_max: usize,
    stdin: Option<Vec<&'static str>>,
) {
    assert_only_attributes_added(name);
    let on_std = run(std_exe, stdin.clone());
    let on_green = run(green_exe, stdin);
    eprintln!(
        "{name}: std {} OS threads, {:?}; green {} OS threads, {:?}",
        on_std.max_threads, on_std.elapsed, on_green.max_threads, on_green.elapsed
    );
    assert!(
        on_std.stdout.lines().count() >= 3,
        "{name}: the transcript is too short:\n{}",
        on_std.stdout
    );
    assert_eq!(
        on_std.stdout, on_green.stdout,
        "{name}: std (left) and green (right) printed different transcripts"
    );
    assert!(
        on_std.max_threads >= std_min,
        "{name}: the std build reached only {} OS threads (expected >= {std_min}): \
         the program does not measure what it should",
        on_std.max_threads
    );
    assert!(
        on_green.max_threads <= green_max,
        "{name}: the green build ran {} OS threads (at most {green_max} allowed): \
         some code stayed on std threads",
        on_green.max_threads
    );
}

/// The blocking pool's default bound (`green::tpool::DEFAULT_MAX_THREADS`).
const POOL: usize = 20;

#[test]
fn ten_thousand_sleepers_use_one_os_thread() {
    check(
        "sleepers",
        env!("CARGO_BIN_EXE_sleepers-std"),
        env!("CARGO_BIN_EXE_sleepers-green"),
        1_000,
        1,
        None,
    );
}

#[test]
fn echo_server_with_free_handler() {
    check(
        "echo",
        env!("CARGO_BIN_EXE_echo-std"),
        env!("CARGO_BIN_EXE_echo-green"),
        100,
        1,
        None,
    );
}

#[test]
fn producers_spawned_from_helpers() {
    check(
        "producers",
        env!("CARGO_BIN_EXE_producers-std"),
        env!("CARGO_BIN_EXE_producers-green"),
        50,
        1,
        None,
    );
}

#[test]
fn book_thread_pool_in_a_file_module() {
    check(
        "book_pool",
        env!("CARGO_BIN_EXE_book_pool-std"),
        env!("CARGO_BIN_EXE_book_pool-green"),
        9,
        1,
        None,
    );
}

#[test]
fn helpers_that_sleep_do_not_block_the_hub() {
    check(
        "sleepy_helpers",
        env!("CARGO_BIN_EXE_sleepy_helpers-std"),
        env!("CARGO_BIN_EXE_sleepy_helpers-green"),
        10,
        1,
        None,
    );
}

#[test]
fn std_mutex_held_across_a_sleep() {
    check(
        "mutex_sleep",
        env!("CARGO_BIN_EXE_mutex_sleep-std"),
        env!("CARGO_BIN_EXE_mutex_sleep-green"),
        10,
        1,
        None,
    );
}

#[test]
fn whole_crate_modules_statics_macros() {
    check(
        "whole_crate",
        env!("CARGO_BIN_EXE_whole_crate-std"),
        env!("CARGO_BIN_EXE_whole_crate-green"),
        3,
        1,
        None,
    );
}

#[test]
fn commands_and_files_keep_the_hub_running() {
    check(
        "commands",
        env!("CARGO_BIN_EXE_commands-std"),
        env!("CARGO_BIN_EXE_commands-green"),
        5,
        1 + POOL,
        None,
    );
}

#[test]
fn stdin_lines_keep_the_hub_running() {
    check(
        "stdin_words",
        env!("CARGO_BIN_EXE_stdin_words-std"),
        env!("CARGO_BIN_EXE_stdin_words-green"),
        2,
        1 + POOL,
        Some(vec![
            "the quick brown fox",
            "jumps over",
            "the lazy dog",
            "",
            "five words on this line",
        ]),
    );
}

#[test]
fn patched_inline_module_using_super_imports() {
    check(
        "patched_module",
        env!("CARGO_BIN_EXE_patched_module-std"),
        env!("CARGO_BIN_EXE_patched_module-green"),
        20,
        1,
        None,
    );
}
