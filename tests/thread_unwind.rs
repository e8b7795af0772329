//! Unwinding greenlets: a second interrupt during an unwind stays pending
//! (no abort), panic state is per greenlet (`panicking`, Mutex poisoning),
//! a panic hook that waits does not let another greenlet panic inside it,
//! a self-join panics as std's does, and a name with a nul byte is refused
//! as std refuses it. The cases that used to abort run in a child process
//! (this test binary re-run with an environment variable naming the case).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use green::sync::Mutex;
use green::sync::mpsc;
use green::thread;

mod util;
use green::timeout::Timeout;

const CHILD: &str = "GREEN_UNWIND_CASE";

/// Runs `case` in a child process (this test binary's `child_entry`),
/// killing it after `limit`; returns (success, stdout, stderr).
fn run_child(case: &str, limit: Duration) -> (bool, String, String) {
    util::run_child_case(CHILD, case, limit)
}

/// A value whose destructor makes a green blocking call.
struct SleepOnDrop(Duration);
impl Drop for SleepOnDrop {
    fn drop(&mut self) {
        thread::sleep(self.0);
    }
}

/// Entry of the child process; does nothing in a normal test run.
#[test]
fn child_entry() {
    match std::env::var(CHILD).as_deref() {
        Ok("kill-twice") => {
            let h = thread::spawn(|| {
                let _d = SleepOnDrop(Duration::from_millis(50));
                thread::sleep(Duration::from_secs(3600));
            });
            thread::sleep(Duration::from_millis(10));
            h.kill();
            thread::sleep(Duration::from_millis(10));
            // The greenlet is parked in its destructor, unwinding.
            h.kill();
            let err = h.join().unwrap_err();
            assert!(thread::is_greenlet_exit(&*err));
            println!("survived");
        }
        Ok("timeout-panic") => {
            let h = thread::spawn(|| {
                let _t = Timeout::start(Duration::from_millis(10));
                let _d = SleepOnDrop(Duration::from_millis(50));
                panic!("boom");
            });
            let err = h.join().unwrap_err();
            assert_eq!(err.downcast_ref::<&str>(), Some(&"boom"));
            println!("survived");
        }
        Ok("hook-waits") => {
            // A user hook installed before the runtime; green's hook calls
            // it for panics on the root context.
            std::panic::set_hook(Box::new(|_| thread::sleep(Duration::from_millis(20))));
            let h = thread::spawn(|| panic!("in a greenlet"));
            // The root panics while the greenlet is ready: the hook's sleep
            // must not run it (its panic would be inside std's hook).
            let r = std::panic::catch_unwind(|| panic!("on the root"));
            assert!(r.is_err());
            assert!(h.join().is_err());
            println!("survived");
        }
        _ => {}
    }
}

#[test]
fn a_second_kill_during_an_unwind_stays_pending() {
    let (ok, out, err) = run_child("kill-twice", Duration::from_secs(30));
    assert!(
        ok && out.contains("survived"),
        "stdout: {out}\nstderr: {err}"
    );
}

#[test]
fn a_timeout_during_a_panic_unwind_stays_pending() {
    let (ok, out, err) = run_child("timeout-panic", Duration::from_secs(30));
    assert!(
        ok && out.contains("survived"),
        "stdout: {out}\nstderr: {err}"
    );
}

#[test]
fn a_hook_that_waits_does_not_run_a_panicking_greenlet() {
    let (ok, out, err) = run_child("hook-waits", Duration::from_secs(30));
    assert!(
        ok && out.contains("survived"),
        "stdout: {out}\nstderr: {err}"
    );
}

/// Spawns greenlet A, which panics and, while it unwinds, parks in a
/// destructor until the returned sender sends (or is dropped); returns
/// once A is parked there, with A's handle.
fn greenlet_parked_in_its_unwind() -> (mpsc::Sender<()>, thread::JoinHandle<()>) {
    struct WaitOnDrop(mpsc::Receiver<()>, Arc<AtomicBool>);
    impl Drop for WaitOnDrop {
        fn drop(&mut self) {
            assert!(thread::panicking());
            self.1.store(true, Ordering::SeqCst);
            let _ = self.0.recv();
            assert!(thread::panicking());
        }
    }
    let in_drop = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel::<()>();
    let flag = in_drop.clone();
    let a = thread::spawn(move || {
        let _w = WaitOnDrop(rx, flag);
        panic!("A unwinds");
    });
    while !in_drop.load(Ordering::SeqCst) {
        thread::yield_now();
    }
    (tx, a)
}

#[test]
fn panicking_and_poisoning_are_per_greenlet() {
    let m = Arc::new(Mutex::new(0));
    let (tx, a) = greenlet_parked_in_its_unwind();
    let m2 = m.clone();
    let b = thread::spawn(move || {
        // A's unwind is on this OS thread, not on this greenlet.
        let std_says = std::thread::panicking();
        let green_says = thread::panicking();
        let g = m2.lock().unwrap();
        drop(g);
        (std_says, green_says)
    });
    let (std_says, green_says) = b.join().unwrap();
    assert!(std_says, "std's panic count is per OS thread");
    assert!(
        !green_says,
        "green::thread::panicking leaked from another greenlet"
    );
    assert!(!m.is_poisoned(), "an ordinary unlock poisoned the mutex");
    tx.send(()).unwrap();
    assert!(a.join().is_err());
    // A panic while holding the lock still poisons it.
    let m3 = m.clone();
    let c = thread::spawn(move || {
        let _g = m3.lock().unwrap();
        panic!("holder panics");
    });
    assert!(c.join().is_err());
    assert!(m.is_poisoned());
    m.clear_poison();
    assert!(m.lock().is_ok());
}

#[test]
fn joining_its_own_handle_panics_as_std() {
    let (tx, rx) = mpsc::channel::<thread::JoinHandle<()>>();
    let (rtx, rrx) = mpsc::channel::<Option<String>>();
    let h = thread::spawn(move || {
        let me = rx.recv().unwrap();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| me.join()));
        let msg = r.err().and_then(|e| e.downcast_ref::<String>().cloned());
        rtx.send(msg).unwrap();
    });
    // Handing the greenlet its own handle: keep a second way to wait.
    let done = h.thread().clone();
    tx.send(h).unwrap();
    let msg = rrx
        .recv_timeout(Duration::from_secs(5))
        .expect("the self-join parked forever");
    assert_eq!(
        msg.as_deref(),
        Some("failed to join thread: Resource deadlock avoided (os error 35)")
    );
    drop(done);
}

#[test]
fn a_name_with_a_nul_byte_panics_at_spawn_as_std() {
    let std_msg = std::panic::catch_unwind(|| {
        std::thread::Builder::new()
            .name("a\0b".into())
            .spawn(|| ())
            .map(|h| h.join())
    })
    .unwrap_err();
    let green_msg = std::panic::catch_unwind(|| {
        thread::Builder::new()
            .name("a\0b".into())
            .spawn(|| ())
            .map(|h| h.join())
    })
    .expect_err("green accepted a name with a nul byte");
    assert_eq!(
        green_msg.downcast_ref::<String>(),
        std_msg.downcast_ref::<String>()
    );
    assert!(
        green_msg
            .downcast_ref::<String>()
            .unwrap()
            .starts_with("thread name may not contain interior null bytes")
    );
}

#[test]
fn rwlock_poisoning_is_per_greenlet() {
    let l = Arc::new(green::sync::RwLock::new(0));
    let (tx, a) = greenlet_parked_in_its_unwind();
    // While A unwinds on this OS thread, B's ordinary write does not poison.
    let l2 = l.clone();
    thread::spawn(move || {
        *l2.write().unwrap() += 1;
    })
    .join()
    .unwrap();
    assert!(
        !l.is_poisoned(),
        "an ordinary write unlock poisoned the lock"
    );
    tx.send(()).unwrap();
    assert!(a.join().is_err());
    // A writer that panics poisons it, as std's; a reader does not.
    let l3 = l.clone();
    assert!(
        thread::spawn(move || {
            let _g = l3.read().unwrap();
            panic!("reader panics");
        })
        .join()
        .is_err()
    );
    assert!(!l.is_poisoned(), "a panicking reader poisoned the lock");
    let l4 = l.clone();
    assert!(
        thread::spawn(move || {
            let _g = l4.write().unwrap();
            panic!("writer panics");
        })
        .join()
        .is_err()
    );
    assert!(l.is_poisoned());
    assert!(l.read().is_err());
    l.clear_poison();
    assert_eq!(*l.read().unwrap(), 1);
}
