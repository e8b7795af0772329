//! `green::signal`: waiting for signals in a greenlet. Each case that
//! raises a signal runs in a child process (this binary again, running
//! only `child_entry`), so that the parallel tests of this process never
//! see each other's signals and a case may end its process by a signal.

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use green::signal::{self, SIGHUP, SIGUSR1, SIGUSR2, Signals};
use green::sync::{Mutex, mpsc};
use green::thread;

mod util;

const CHILD: &str = "GREEN_SIGNAL_CHILD";

/// Runs `case` in a child process (killed after a generous minute);
/// returns its exit status and standard error.
fn child(case: &str) -> (ExitStatus, String) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_entry", "--nocapture", "--test-threads=1"])
        .env(CHILD, case)
        .env("RUST_BACKTRACE", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The case ran to its end and said so.
fn assert_passes(case: &str) {
    let (status, stderr) = child(case);
    assert!(
        status.success() && stderr.contains(&format!("case {case} done")),
        "case {case}: {status}\n{stderr}"
    );
}

/// Entry of the child process; does nothing in a normal test run.
#[test]
fn child_entry() {
    let Ok(case) = std::env::var(CHILD) else {
        return;
    };
    green::runtime::Builder::new()
        .workers(2)
        .run(|| run_case(&case));
    eprintln!("case {case} done");
}

fn run_case(case: &str) {
    match case {
        "wakes" => {
            // On the root context.
            let mut signals = Signals::new([SIGUSR1]).unwrap();
            let h = thread::spawn(|| {
                thread::sleep(Duration::from_millis(20));
                signal::raise(SIGUSR1).unwrap();
            });
            assert_eq!(signals.wait().unwrap(), SIGUSR1);
            h.join().unwrap();
            // In a greenlet (on either hub), and through `wait`.
            let (ready, is_ready) = mpsc::channel();
            let waiter = thread::spawn(move || {
                // A slice works as well as an array.
                let wanted: &[i32] = &[SIGUSR2, SIGHUP];
                let mut signals = Signals::new(wanted).unwrap();
                ready.send(()).unwrap();
                signals.wait().unwrap()
            });
            is_ready.recv().unwrap();
            signal::raise(SIGHUP).unwrap();
            assert_eq!(waiter.join().unwrap(), SIGHUP);
            // From a plain OS thread (its own hub, made on first use).
            let mut signals = Signals::new([SIGUSR2]).unwrap();
            let os = std::thread::spawn(move || signals.wait().unwrap());
            thread::sleep(Duration::from_millis(20));
            signal::raise(SIGUSR2).unwrap();
            assert_eq!(os.join().unwrap(), SIGUSR2);
        }
        "others_run" => {
            // While one greenlet waits, the others go on.
            let ticks = Arc::new(AtomicUsize::new(0));
            let (ready, is_ready) = mpsc::channel();
            let t = ticks.clone();
            let waiter = thread::spawn_local(move || {
                let mut signals = Signals::new([SIGUSR1]).unwrap();
                ready.send(()).unwrap();
                let sig = signals.wait().unwrap();
                (sig, t.load(Ordering::SeqCst))
            });
            is_ready.recv().unwrap();
            let t = ticks.clone();
            let ticker = thread::spawn_local(move || {
                for _ in 0..50 {
                    thread::sleep(Duration::from_millis(1));
                    t.fetch_add(1, Ordering::SeqCst);
                }
                signal::raise(SIGUSR1).unwrap();
            });
            ticker.join().unwrap();
            assert_eq!(waiter.join().unwrap(), (SIGUSR1, 50));
        }
        "two_waiters" => {
            let (ready, is_ready) = mpsc::channel();
            let waiters: Vec<_> = (0..2)
                .map(|_| {
                    let ready = ready.clone();
                    thread::spawn(move || {
                        let mut signals = Signals::new([SIGHUP]).unwrap();
                        ready.send(()).unwrap();
                        signals.wait().unwrap()
                    })
                })
                .collect();
            is_ready.recv().unwrap();
            is_ready.recv().unwrap();
            signal::raise(SIGHUP).unwrap();
            for w in waiters {
                assert_eq!(w.join().unwrap(), SIGHUP);
            }
        }
        "pending" => {
            let mut signals = Signals::new([SIGUSR1, SIGUSR2]).unwrap();
            assert_eq!(signals.pending().count(), 0);
            // Three deliveries of one signal before it is taken count as
            // one; the lower number comes first.
            for _ in 0..3 {
                signal::raise(SIGUSR2).unwrap();
            }
            signal::raise(SIGUSR1).unwrap();
            let got: Vec<_> = signals.pending().collect();
            assert_eq!(got, [SIGUSR1, SIGUSR2]);
            assert_eq!(
                signals.wait_timeout(Duration::from_millis(30)).unwrap(),
                None
            );
            signal::raise(SIGUSR2).unwrap();
            assert_eq!(
                signals.wait_timeout(Duration::from_secs(30)).unwrap(),
                Some(SIGUSR2)
            );
            assert_eq!(signals.wait_timeout(Duration::ZERO).unwrap(), None);
            assert_eq!(signals.signals(), [SIGUSR1, SIGUSR2]);
        }
        "forever" => {
            let mut signals = Signals::new([SIGUSR1]).unwrap();
            let (tx, rx) = mpsc::channel();
            let listener = thread::spawn(move || {
                for sig in &mut signals {
                    tx.send(sig).unwrap();
                }
            });
            for _ in 0..3 {
                signal::raise(SIGUSR1).unwrap();
                assert_eq!(rx.recv().unwrap(), SIGUSR1);
            }
            listener.kill();
            assert!(listener.join().is_err());
        }
        "drop_restores_default" => {
            // Caught while subscribed (twice: dropping one of two
            // subscriptions keeps the signal caught).
            let mut a = Signals::new([SIGUSR1]).unwrap();
            let b = Signals::new([SIGUSR1]).unwrap();
            drop(b);
            signal::raise(SIGUSR1).unwrap();
            assert_eq!(a.wait().unwrap(), SIGUSR1);
            drop(a);
            eprintln!("raising SIGUSR1 with no subscriber");
            signal::raise(SIGUSR1).unwrap();
            // Not reached: SIGUSR1's default action ends the process.
            thread::sleep(Duration::from_secs(30));
        }
        "ignored_stays_ignored" => {
            // SAFETY: setting SIGUSR2's action to "ignore" in this child
            // process; no handler of it exists yet.
            let old = unsafe { libc::signal(SIGUSR2, libc::SIG_IGN) };
            assert_ne!(old, libc::SIG_ERR);
            let mut s = Signals::new([SIGUSR2]).unwrap();
            signal::raise(SIGUSR2).unwrap();
            assert_eq!(s.wait().unwrap(), SIGUSR2);
            drop(s);
            signal::raise(SIGUSR2).unwrap();
            thread::sleep(Duration::from_millis(20));
        }
        "handler" => {
            let main = thread::current().id();
            let (tx, rx) = mpsc::channel();
            let tx = std::sync::Mutex::new(tx);
            let calls = Arc::new(AtomicUsize::new(0));
            let c = calls.clone();
            let handler = signal::signal_handler(SIGUSR2, move || {
                c.fetch_add(1, Ordering::SeqCst);
                tx.lock().unwrap().send(thread::current().id()).unwrap();
            })
            .unwrap();
            assert_eq!(handler.signal(), SIGUSR2);
            let mut ids = Vec::new();
            for _ in 0..2 {
                signal::raise(SIGUSR2).unwrap();
                ids.push(rx.recv().unwrap());
            }
            assert!(ids.iter().all(|&id| id != main), "f ran on the caller");
            assert_ne!(ids[0], ids[1], "each delivery gets a new greenlet");
            handler.cancel();
            // Cancelled: a delivery (kept from the default action by
            // another subscription) runs f no more.
            let mut other = Signals::new([SIGUSR2]).unwrap();
            signal::raise(SIGUSR2).unwrap();
            assert_eq!(other.wait().unwrap(), SIGUSR2);
            thread::sleep(Duration::from_millis(50));
            assert_eq!(calls.load(Ordering::SeqCst), 2);
            // Dropping a handler unregisters it as well.
            let dropped = signal::signal_handler(SIGUSR2, || {}).unwrap();
            drop(dropped);
        }
        "reload" => {
            fn load_config() -> String {
                format!("loaded at {:?}", std::time::Instant::now())
            }
            // ANCHOR: handler
            let config = Arc::new(Mutex::new(load_config()));
            let c = config.clone();
            // SIGHUP: read the configuration again, in a new greenlet.
            let reload = signal::signal_handler(SIGHUP, move || {
                *c.lock().unwrap() = load_config();
            })
            .unwrap();
            // ANCHOR_END: handler
            let first = config.lock().unwrap().clone();
            signal::raise(SIGHUP).unwrap();
            let start = Instant::now();
            while *config.lock().unwrap() == first {
                assert!(start.elapsed() < Duration::from_secs(30), "no reload");
                thread::sleep(Duration::from_millis(1));
            }
            drop(reload);
        }
        "no_leak" => {
            let cycle = || {
                let mut s = Signals::new([SIGUSR1, SIGUSR2]).unwrap();
                signal::raise(SIGUSR1).unwrap();
                assert_eq!(s.wait().unwrap(), SIGUSR1);
                drop(s);
                let (tx, rx) = mpsc::channel();
                let tx = std::sync::Mutex::new(tx);
                let h = signal::signal_handler(SIGUSR2, move || {
                    tx.lock().unwrap().send(()).unwrap();
                })
                .unwrap();
                signal::raise(SIGUSR2).unwrap();
                rx.recv().unwrap();
                drop(h);
            };
            cycle(); // the hub's and the runtime's own descriptors
            let fds = util::open_fds();
            for _ in 0..50 {
                cycle();
            }
            assert_eq!(util::open_fds(), fds, "descriptors leaked");
            util::assert_clean();
        }
        "handler_dropped_restores_default" => {
            let h = signal::signal_handler(SIGUSR1, || {}).unwrap();
            drop(h);
            eprintln!("raising SIGUSR1 with no subscriber");
            signal::raise(SIGUSR1).unwrap();
            thread::sleep(Duration::from_secs(30));
        }
        other => panic!("unknown case {other}"),
    }
}

#[test]
fn wait_wakes_on_delivery_in_a_greenlet_on_the_root_and_on_an_os_thread() {
    assert_passes("wakes");
}

#[test]
fn other_greenlets_run_while_one_waits() {
    assert_passes("others_run");
}

#[test]
fn two_subscriptions_both_see_one_delivery() {
    assert_passes("two_waiters");
}

#[test]
fn pending_coalesces_and_wait_timeout_expires() {
    assert_passes("pending");
}

#[test]
fn forever_yields_each_delivery() {
    assert_passes("forever");
}

#[test]
fn dropping_the_last_subscription_restores_the_default_action() {
    let (status, stderr) = child("drop_restores_default");
    assert!(
        stderr.contains("raising SIGUSR1 with no subscriber"),
        "the case did not get that far: {status}\n{stderr}"
    );
    assert_eq!(status.signal(), Some(SIGUSR1), "{status}\n{stderr}");
}

#[test]
fn dropping_the_last_subscription_keeps_an_ignored_signal_ignored() {
    assert_passes("ignored_stays_ignored");
}

#[test]
fn signal_handler_runs_f_in_a_new_greenlet_until_cancelled() {
    assert_passes("handler");
}

#[test]
fn signal_handler_reloads_on_sighup() {
    assert_passes("reload");
}

#[test]
fn subscriptions_and_handlers_leave_no_descriptor_or_greenlet_behind() {
    assert_passes("no_leak");
}

#[test]
fn dropping_a_signal_handler_restores_the_default_action() {
    let (status, stderr) = child("handler_dropped_restores_default");
    assert!(
        stderr.contains("raising SIGUSR1 with no subscriber"),
        "the case did not get that far: {status}\n{stderr}"
    );
    assert_eq!(status.signal(), Some(SIGUSR1), "{status}\n{stderr}");
}

#[test]
fn forbidden_signals_are_invalid_input() {
    for (sig, name) in [
        (signal::SIGKILL, "SIGKILL"),
        (signal::SIGSTOP, "SIGSTOP"),
        (signal::SIGSEGV, "SIGSEGV"),
        (signal::SIGBUS, "SIGBUS"),
        (signal::SIGILL, "SIGILL"),
        (signal::SIGFPE, "SIGFPE"),
    ] {
        // Listed after an allowed one: nothing is registered either way.
        let e = Signals::new([SIGUSR1, sig]).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput, "{name}");
        assert!(e.to_string().contains(name), "{name}: {e}");
        let e = signal::signal_handler(sig, || {}).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput, "{name}");
    }
    for sig in [0, -1, 1000] {
        let e = signal::wait(&[sig]).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput, "{sig}");
        assert!(e.to_string().contains("not a signal number"), "{e}");
    }
    assert_eq!(signal::signal_name(signal::SIGTERM), Some("SIGTERM"));
}
