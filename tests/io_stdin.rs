//! green::io::stdin: reads suspend only the calling greenlet. The test
//! runs this test binary again as a child (`GREEN_STDIN_CHILD=1`) with a
//! piped stdin; the parent writes lines 200 ms apart, the child reads them
//! with `read_line`, a lock's `fill_buf`/`consume`/`read_line`, `lines()`
//! and `read_to_string` while a greenlet ticks every 10 ms, and reports
//! what it read and its worst tick gap.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use green::io::{self, BufRead, Read};
use green::thread;

const CHILD: &str = "GREEN_STDIN_CHILD";

#[test]
fn stdin_reads_are_green() {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["child_role", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        for chunk in ["one\n", "two\n", "three\n", "four\n", "rest a\nrest b\n"] {
            std::thread::sleep(Duration::from_millis(200));
            input.write_all(chunk.as_bytes()).unwrap();
            input.flush().unwrap();
        }
        // Dropping `input` closes the pipe: end of input.
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "child failed:\n{text}");
    // (libtest prints "test child_role ... " before the first line.)
    let report: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_once("CHILD ").map(|(_, r)| r))
        .collect();
    assert_eq!(
        report[..report.len() - 1],
        [
            "read_line \"one\\n\"",
            "peeked \"t\" then \"wo\\n\"",
            "lines \"three\"",
            "lines \"four\"",
            "read_to_string \"rest a\\nrest b\\n\"",
            "eof 0",
        ],
        "{text}"
    );
    let gap: u64 = report[report.len() - 1]
        .strip_prefix("worst_gap_ms ")
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        gap < 50,
        "worst tick gap {gap} ms while reading stdin\n{text}"
    );
}

/// The child side; does nothing unless run by `stdin_reads_are_green`.
#[test]
fn child_role() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let ticker = thread::spawn(move || {
        let mut worst = Duration::ZERO;
        let mut last = Instant::now();
        while !s.load(Ordering::Relaxed) {
            thread::sleep(Duration::from_millis(10));
            let now = Instant::now();
            worst = worst.max(now - last);
            last = now;
        }
        worst
    });

    // Stdin::read_line
    let mut line = String::new();
    io::stdin().read_line(&mut line).unwrap();
    println!("CHILD read_line {line:?}");

    // A lock: peek, consume one byte, drop the lock; the rest is not lost.
    let mut lock = io::stdin().lock();
    let first = {
        let buf = lock.fill_buf().unwrap();
        assert!(!buf.is_empty());
        buf[0]
    };
    lock.consume(1);
    drop(lock);
    let mut rest = String::new();
    io::stdin().lock().read_line(&mut rest).unwrap();
    println!(
        "CHILD peeked {:?} then {rest:?}",
        (first as char).to_string()
    );

    // Stdin::lines
    for l in io::stdin().lines().take(2) {
        println!("CHILD lines {:?}", l.unwrap());
    }

    // Read::read_to_string on Stdin, then end of input.
    let mut all = String::new();
    io::stdin().read_to_string(&mut all).unwrap();
    println!("CHILD read_to_string {all:?}");
    let mut b = [0; 8];
    println!("CHILD eof {}", (&io::stdin()).read(&mut b).unwrap());

    stop.store(true, Ordering::Relaxed);
    let worst = ticker.join().unwrap();
    println!("CHILD worst_gap_ms {}", worst.as_millis());
}
