//! The blocking detector names the greenlet that blocks its hub, with a
//! frame of the offending function: a std sleep, a busy loop, a std Mutex
//! deadlock, a blocking call inside another crate (tokio's `block_on`),
//! the root context blocking, and nothing for a busy echo server.
//!
//! Each case runs in a child process (this test binary again, running only
//! `child_entry`) with the detector on, so a stall (or a deadlock) cannot
//! take the test process down; the parent reads the child's stderr.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use green::net::{TcpListener, TcpStream};
use green::thread;

const CASE: &str = "GREEN_BLOCKING_CASE";

/// Runs `case` in a child with `env`; kills it after `limit` or as soon as
/// its stderr holds `until`. Returns its stderr.
fn child(case: &str, env: &[(&str, &str)], until: Option<&str>, limit: Duration) -> String {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "child_entry", "--nocapture", "--test-threads=1"])
        .env(CASE, case)
        .env("RUST_BACKTRACE", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        loop {
            match stderr.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let _ = tx.send(buf[..n].to_vec());
                }
            }
        }
    });
    let start = Instant::now();
    let mut all = Vec::new();
    loop {
        match rx.recv_timeout(Duration::from_millis(20)) {
            Ok(chunk) => all.extend_from_slice(&chunk),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
        }
        let seen = until.is_some_and(|u| String::from_utf8_lossy(&all).contains(u));
        if seen || start.elapsed() > limit {
            let _ = child.kill();
            break;
        }
    }
    let _ = child.wait();
    reader.join().unwrap();
    while let Ok(chunk) = rx.try_recv() {
        all.extend_from_slice(&chunk);
    }
    String::from_utf8_lossy(&all).into_owned()
}

fn report_names(out: &str, greenlet: &str, frame: &str) {
    assert!(
        out.contains("green: hub") && out.contains("has not switched for"),
        "no blocking report:\n{out}"
    );
    assert!(
        out.contains(&format!("'{greenlet}'")),
        "the report does not name greenlet '{greenlet}':\n{out}"
    );
    assert!(
        out.contains("spawned at tests/runtime_blocking.rs:"),
        "the report does not say where the greenlet was spawned:\n{out}"
    );
    assert!(
        out.contains(frame),
        "the backtrace has no frame of {frame}:\n{out}"
    );
    assert_eq!(
        out.matches("has not switched for").count(),
        1,
        "one stall, one report:\n{out}"
    );
}

#[test]
fn a_std_sleep_is_reported_with_its_greenlet_and_frame() {
    let out = child(
        "std_sleep",
        &[("GREEN_BLOCKING_MS", "100")],
        None,
        Duration::from_secs(20),
    );
    report_names(&out, "sleeper", "runtime_blocking::blocking_std_sleep");
    assert!(out.contains("std::thread"), "std's sleep frame:\n{out}");
}

#[test]
fn a_busy_loop_is_reported() {
    let out = child("busy", &[], None, Duration::from_secs(20));
    report_names(&out, "spinner", "runtime_blocking::busy_loop");
}

#[test]
fn a_std_mutex_deadlock_is_reported() {
    // The child never ends: greenlet 'holder' keeps a std Mutex across a
    // green sleep, greenlet 'locker' blocks the OS thread on it.
    let out = child(
        "deadlock",
        &[],
        Some("note: a call that blocks"),
        Duration::from_secs(20),
    );
    report_names(&out, "locker", "runtime_blocking::deadlocking_lock");
}

#[test]
fn a_blocking_call_in_another_crate_is_reported() {
    let out = child("tokio", &[], None, Duration::from_secs(20));
    report_names(&out, "bridge", "runtime_blocking::blocks_in_tokio");
    assert!(out.contains("tokio::"), "tokio's frames:\n{out}");
}

#[test]
fn the_root_context_blocking_its_greenlets_is_reported() {
    let out = child("root", &[], None, Duration::from_secs(20));
    assert!(out.contains("has not switched for"), "{out}");
    assert!(out.contains("(the thread's root context)"), "{out}");
    assert!(
        out.contains("runtime_blocking::root_blocks"),
        "frame of the root's blocking function:\n{out}"
    );
}

#[test]
fn a_bad_threshold_in_the_environment_is_named() {
    let out = child(
        "quiet",
        &[("GREEN_BLOCKING_MS", "100ms")],
        None,
        Duration::from_secs(20),
    );
    assert!(
        out.contains("GREEN_BLOCKING_MS=\"100ms\" is not a whole number of milliseconds"),
        "{out}"
    );
    assert!(out.contains("the blocking detector is off"), "{out}");
}

#[test]
fn a_busy_echo_server_reports_nothing() {
    let out = child("echo", &[], None, Duration::from_secs(60));
    assert!(
        out.contains("echo done"),
        "the child did not finish:\n{out}"
    );
    assert!(
        !out.contains("has not switched"),
        "a false blocking report under load:\n{out}"
    );
}

#[inline(never)]
fn blocking_std_sleep() {
    std::thread::sleep(Duration::from_millis(1500));
}

#[inline(never)]
fn busy_loop() {
    let end = Instant::now() + Duration::from_millis(1500);
    let mut x = 0u64;
    while Instant::now() < end {
        x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
    }
    std::hint::black_box(x);
}

#[inline(never)]
fn deadlocking_lock(m: &std::sync::Mutex<u32>) {
    let g = m.lock().unwrap();
    std::hint::black_box(*g);
}

#[inline(never)]
fn blocks_in_tokio() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(async { tokio::time::sleep(Duration::from_millis(1500)).await });
}

#[inline(never)]
fn root_blocks() {
    std::thread::sleep(Duration::from_millis(1500));
}

/// A greenlet that waits greenly meanwhile, so the hub has greenlets to
/// run (the detector reports a hub only when some wait on it).
fn ticker() -> thread::JoinHandle<()> {
    thread::Builder::new()
        .name("ticker".into())
        .spawn(|| {
            for _ in 0..100 {
                thread::sleep(Duration::from_millis(10));
            }
        })
        .unwrap()
}

/// Runs `f` in a greenlet named `name` beside [`ticker`], and waits for
/// both.
fn beside_ticker(name: &str, f: fn()) {
    let t = ticker();
    let h = thread::Builder::new().name(name.into()).spawn(f).unwrap();
    h.join().unwrap();
    t.join().unwrap();
}

#[test]
fn child_entry() {
    let Ok(case) = std::env::var(CASE) else {
        return;
    };
    let rt = green::runtime::Builder::new();
    // The env case turns the detector on with GREEN_BLOCKING_MS.
    let rt = if case == "std_sleep" || case == "quiet" {
        rt
    } else {
        rt.blocking_detector(Duration::from_millis(100))
    };
    rt.run(|| match case.as_str() {
        "std_sleep" => beside_ticker("sleeper", blocking_std_sleep),
        "busy" => beside_ticker("spinner", busy_loop),
        "deadlock" => {
            let m = std::sync::Arc::new(std::sync::Mutex::new(0u32));
            let m2 = m.clone();
            let holder = thread::Builder::new()
                .name("holder".into())
                .spawn(move || {
                    let _g = m2.lock().unwrap();
                    thread::sleep(Duration::from_millis(100));
                })
                .unwrap();
            thread::yield_now();
            let locker = thread::Builder::new()
                .name("locker".into())
                .spawn(move || deadlocking_lock(&m))
                .unwrap();
            let _ = locker.join();
            let _ = holder.join();
        }
        "tokio" => beside_ticker("bridge", blocks_in_tokio),
        "root" => {
            let t = ticker();
            thread::yield_now();
            root_blocks();
            t.join().unwrap();
        }
        "quiet" => beside_ticker("quiet", || {}),
        "echo" => {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let server = thread::spawn(move || {
                let mut conns = Vec::new();
                for _ in 0..50 {
                    let (mut s, _) = listener.accept().unwrap();
                    conns.push(thread::spawn(move || {
                        let mut buf = [0u8; 64];
                        loop {
                            match s.read(&mut buf) {
                                Ok(0) | Err(_) => break,
                                Ok(n) => s.write_all(&buf[..n]).unwrap(),
                            }
                        }
                    }));
                }
                for c in conns {
                    c.join().unwrap();
                }
            });
            let clients: Vec<_> = (0..50)
                .map(|_| {
                    thread::spawn(move || {
                        let mut s = TcpStream::connect(addr).unwrap();
                        let mut buf = [0u8; 64];
                        for _ in 0..2_000 {
                            s.write_all(b"ping").unwrap();
                            s.read_exact(&mut buf[..4]).unwrap();
                        }
                    })
                })
                .collect();
            for c in clients {
                c.join().unwrap();
            }
            server.join().unwrap();
            eprintln!("echo done");
        }
        other => panic!("unknown case {other}"),
    });
}
