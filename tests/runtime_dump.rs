//! `runtime::dump()`: every greenlet on every hub with its state, what it
//! waits for and where it was spawned; a blocked hub named with the
//! greenlet that blocks it; readable at 20 000 greenlets; printed on
//! SIGUSR1; and the stats that count greenlets by state.

mod util;

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use green::event::Event;
use green::net::TcpListener;
use green::queue::Queue;
use green::runtime::{self, GreenletInfo, State, WaitingOn};
use green::sync::{Mutex, mpsc};
use green::thread;

fn find<'a>(dump: &'a runtime::Dump, name: &str) -> &'a GreenletInfo {
    dump.hubs
        .iter()
        .flat_map(|h| &h.greenlets)
        .find(|g| g.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("no greenlet '{name}' in the dump:\n{dump:#}"))
}

fn named<F: FnOnce() + Send + 'static>(name: &str, f: F) -> thread::JoinHandle<()> {
    thread::Builder::new().name(name.into()).spawn(f).unwrap()
}

#[test]
fn each_state_is_named_with_what_it_waits_for() {
    let lock = Arc::new(Mutex::new(()));
    let held = lock.lock().unwrap();
    let (tx, rx) = mpsc::channel::<u32>();
    let event = Event::new();
    let queue: Queue<u32> = Queue::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let fd = {
        use std::os::fd::AsRawFd;
        listener.as_raw_fd()
    };

    let sleeper = named("sleeper", || thread::sleep(Duration::from_secs(30)));
    let l = lock.clone();
    let locker = named("locker", move || drop(l.lock().unwrap()));
    let receiver = named("receiver", move || {
        let _ = rx.recv();
    });
    let e = event.clone();
    let event_waiter = named("event-waiter", move || {
        e.wait();
    });
    let q = queue.clone();
    let getter = named("getter", move || {
        let _ = q.get();
    });
    let acceptor = named("acceptor", move || drop(listener.accept()));
    let job = named("job", || {
        green::tpool::execute(|| std::thread::sleep(Duration::from_millis(1000)))
    });
    let target = named("target", || thread::sleep(Duration::from_millis(300)));
    let target_id = target.thread().id();
    let joiner = named("joiner", move || drop(target.join()));
    // Let every one of them run to its wait.
    for _ in 0..3 {
        thread::yield_now();
    }
    let fresh = named("fresh", || {});

    // Stats count these greenlets by state (taken first: the dump may
    // wait for other tests' hubs).
    let s = runtime::stats();
    assert_eq!(s.waiting.sleep, 2, "{s:?}");
    assert_eq!(s.waiting.io, 1, "{s:?}");
    assert_eq!(s.waiting.join, 1, "{s:?}");
    assert_eq!(s.waiting.blocking, 1, "{s:?}");
    assert_eq!(s.waiting.primitive, 4, "{s:?}");
    assert_eq!(s.ready, 1, "{s:?}");
    assert_eq!(s.waiting.total() + s.ready, s.greenlets, "{s:?}");
    assert!(s.blocking_threads >= 1 && s.blocking_busy >= 1, "{s:?}");

    let dump = runtime::dump();
    let text = format!("{dump}");
    let state = |n: &str| find(&dump, n).state;
    assert!(
        matches!(state("sleeper"), State::Waiting(WaitingOn::Sleep(left)) if left > Duration::from_secs(20)),
        "{text}"
    );
    assert_eq!(
        state("locker"),
        State::Waiting(WaitingOn::Primitive("Mutex")),
        "{text}"
    );
    assert_eq!(
        state("receiver"),
        State::Waiting(WaitingOn::Primitive("Receiver::recv")),
        "{text}"
    );
    assert_eq!(
        state("event-waiter"),
        State::Waiting(WaitingOn::Primitive("Event")),
        "{text}"
    );
    assert_eq!(
        state("getter"),
        State::Waiting(WaitingOn::Primitive("Queue::get")),
        "{text}"
    );
    assert_eq!(
        state("acceptor"),
        State::Waiting(WaitingOn::Read(fd)),
        "{text}"
    );
    assert_eq!(state("job"), State::Waiting(WaitingOn::Blocking), "{text}");
    let target_num: u64 = format!("{target_id:?}")
        .trim_start_matches("ThreadId(")
        .trim_end_matches(')')
        .parse()
        .unwrap();
    assert_eq!(
        state("joiner"),
        State::Waiting(WaitingOn::Join(target_num)),
        "{text}"
    );
    assert_eq!(state("fresh"), State::Ready, "{text}");
    // The root context (the test's thread) is the caller: running.
    let root = &dump.hubs[0].greenlets[0];
    assert!(root.root && root.state == State::Running, "{text}");
    // Spawn sites point at this file.
    let site = find(&dump, "sleeper").spawned_at.unwrap();
    assert!(site.file().ends_with("runtime_dump.rs"), "{site}");
    assert!(find(&dump, "sleeper").age.is_some());
    // The text names states and sites.
    assert!(text.contains("waiting: Mutex"), "{text}");
    assert!(text.contains("waiting: read on fd"), "{text}");
    assert!(text.contains("spawned at tests/runtime_dump.rs:"), "{text}");

    // Clean up.
    drop(held);
    tx.send(1).unwrap();
    event.set();
    queue.put(1);
    sleeper.kill();
    for h in [locker, receiver, event_waiter, getter, job, fresh] {
        h.join().unwrap();
    }
    joiner.join().unwrap();
    acceptor.kill();
    let _ = acceptor.join();
    let _ = sleeper.join();
    util::assert_clean();
}

#[test]
fn other_hubs_are_listed_and_a_blocked_one_is_named() {
    runtime::Builder::new().workers(2).run(|| {
        // The first Send spawn stays on this hub (and does not run before
        // the dump: this root context does not wait), the second goes to
        // the worker hub and blocks its OS thread.
        let here = named("here", || thread::sleep(Duration::from_millis(10)));
        let blocker = named("blocker", || {
            std::thread::sleep(Duration::from_millis(1500));
        });
        std::thread::sleep(Duration::from_millis(100));
        let start = Instant::now();
        let dump = runtime::dump();
        assert!(start.elapsed() < Duration::from_secs(5));
        // (Other tests' hubs run in this process too.)
        assert!(dump.hubs.len() >= 2, "{dump}");
        let stalled = dump
            .hubs
            .iter()
            .filter_map(|h| h.stalled.as_ref())
            .find(|s| s.name.as_deref() == Some("blocker"))
            .unwrap_or_else(|| panic!("no hub blocked by 'blocker':\n{dump}"));
        assert_eq!(stalled.name.as_deref(), Some("blocker"), "{dump}");
        assert!(stalled.spawned_at.is_some(), "{dump}");
        assert!(
            stalled
                .backtrace
                .iter()
                .any(|f| f.contains("runtime_dump::other_hubs_are_listed")),
            "no frame of the blocking closure:\n{dump}"
        );
        let text = dump.to_string();
        assert!(text.contains("BLOCKED"), "{text}");
        here.join().unwrap();
        blocker.join().unwrap();
        // Once it is free, the worker hub answers again.
        let dump = runtime::dump();
        assert!(
            dump.hubs
                .iter()
                .filter_map(|h| h.stalled.as_ref())
                .all(|s| s.name.as_deref() != Some("blocker")),
            "{dump}"
        );
    });
}

#[test]
fn twenty_thousand_greenlets_are_summarized() {
    let hs: Vec<_> = (0..20_000)
        .map(|_| thread::spawn(|| thread::sleep(Duration::from_secs(60))))
        .collect();
    thread::yield_now();
    let dump = runtime::dump();
    let text = dump.to_string();
    // A summary by state and site, then 50 greenlets and a count of the
    // rest: a few dozen lines, not twenty thousand.
    assert!(text.lines().count() < 80, "{} lines", text.lines().count());
    assert!(text.contains("20000  waiting: sleep"), "{text}");
    assert!(text.contains("and 19951 more"), "{text}");
    assert!(
        format!("{dump:#}").lines().count() > 20_000,
        "the alternate form lists every greenlet"
    );
    for h in &hs {
        h.kill();
    }
    for h in hs {
        let _ = h.join();
    }
    util::assert_clean();
}

#[test]
fn the_dump_is_printed_on_sigusr1() {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_entry", "--nocapture", "--test-threads=1"])
        .env("GREEN_DUMP_CHILD", "1")
        .env("GREEN_DUMP_SIGNAL", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    while !String::from_utf8_lossy(&seen).contains("READY") {
        let n = stdout.read(&mut buf).unwrap();
        assert!(n > 0, "the child ended early");
        seen.extend_from_slice(&buf[..n]);
    }
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGUSR1) };
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("green: 1 hub"), "{err}");
    assert!(err.contains("'napper' waiting: sleep"), "{err}");
}

#[test]
fn child_entry() {
    if std::env::var("GREEN_DUMP_CHILD").is_err() {
        return;
    }
    runtime::Builder::new().run(|| {
        let h = named("napper", || thread::sleep(Duration::from_millis(1500)));
        thread::yield_now();
        println!("READY");
        h.join().unwrap();
    });
}

#[test]
fn the_longest_stall_is_counted() {
    let h = thread::spawn(|| std::thread::sleep(Duration::from_millis(120)));
    h.join().unwrap();
    let s = runtime::stats();
    assert!(s.longest_stall >= Duration::from_millis(100), "{s:?}");
}
