//! `#[green::patch]` on an inline module: the std code inside really runs on
//! green threads, and only the table's modules move.

use std::cell::Cell;
use std::time::Duration;

#[green::patch]
mod m {
    use std::cell::Cell;
    use std::sync::{Arc, Mutex, mpsc};
    use std::thread;
    use std::{collections::HashMap, time::Duration};

    /// A local module that only looks like std's: left alone.
    mod net {
        pub fn connect() -> &'static str {
            "local"
        }
    }

    thread_local! {
        pub static COUNTER: Cell<u32> = Cell::new(0);
    }

    macro_rules! spawn_sleeper {
        ($tx:expr, $i:expr, $ms:expr) => {
            std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_millis($ms));
                $tx.send($i).unwrap();
            })
        };
    }

    /// The number of OS threads of this process.
    pub fn os_threads() -> usize {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("Threads:")).unwrap();
        line["Threads:".len()..].trim().parse().unwrap()
    }

    /// Spawns `n` sleepers with `std::thread::spawn`; returns how many
    /// finished and the OS thread count while they all slept.
    pub fn sleepers(n: usize, ms: u64) -> (usize, usize) {
        let (tx, rx) = mpsc::channel();
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let tx = tx.clone();
                spawn_sleeper!(tx, i, ms)
            })
            .collect();
        drop(tx);
        thread::sleep(Duration::from_millis(ms / 2));
        let during = os_threads();
        let done = rx.iter().count();
        for h in handles {
            h.join().unwrap();
        }
        (done, during)
    }

    /// Each greenlet sees its own `thread_local!`, even on one hub.
    pub fn locals() -> Vec<u32> {
        let handles: Vec<_> = (0..10)
            .map(|i| {
                thread::spawn(move || {
                    COUNTER.with(|c| c.set(c.get() + i));
                    thread::sleep(Duration::from_millis(20));
                    COUNTER.with(|c| c.get())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    }

    pub fn spawn_one() -> std::thread::JoinHandle<u8> {
        thread::spawn(|| 7)
    }

    pub fn shared() -> Arc<Mutex<HashMap<u8, u8>>> {
        let map = Arc::new(Mutex::new(HashMap::new()));
        let m2 = Arc::clone(&map);
        thread::spawn(move || m2.lock().unwrap().insert(1, 2))
            .join()
            .unwrap();
        assert_eq!(map.lock().unwrap().get(&1), Some(&2));
        map
    }

    pub fn in_macros() -> bool {
        let (_tx, rx) = mpsc::channel::<u8>();
        assert!(matches!(
            rx.recv_timeout(Duration::from_millis(1)),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout)
        ));
        let v = vec![std::time::Instant::now(), ::std::time::Instant::now()];
        format!("{:?}", std::thread::current().id()).starts_with("ThreadId") && v.len() == 2
    }

    pub fn local_net() -> &'static str {
        net::connect()
    }
}

#[green::test]
fn thousands_of_sleepers_few_os_threads() {
    let before = m::os_threads();
    let (done, during) = m::sleepers(2000, 300);
    assert_eq!(done, 2000);
    assert!(
        during < before + 50,
        "2000 patched std::thread::spawn sleepers used {during} OS threads (before: {before})"
    );
}

#[green::test]
fn thread_local_is_greenlet_local() {
    assert_eq!(m::locals(), (0..10).collect::<Vec<_>>());
}

#[green::test]
fn patched_types_are_green_types() {
    // These bindings only type-check if the module's std paths were
    // rewritten to green's.
    let h: green::thread::JoinHandle<u8> = m::spawn_one();
    assert_eq!(h.join().unwrap(), 7);
    let map: std::sync::Arc<green::sync::Mutex<std::collections::HashMap<u8, u8>>> = m::shared();
    assert_eq!(map.lock().unwrap().len(), 1);
    let key: &'static green::thread::LocalKey<Cell<u32>> = &m::COUNTER;
    key.with(|c| c.set(1));
}

#[green::test]
fn macros_and_look_alikes() {
    assert!(m::in_macros());
    assert_eq!(m::local_net(), "local");
}

#[green::patch]
fn patched_fn() -> green::thread::JoinHandle<Duration> {
    std::thread::spawn(|| {
        let start = std::time::Instant::now();
        std::thread::sleep(Duration::from_millis(5));
        start.elapsed()
    })
}

#[green::test]
fn patch_on_a_fn() {
    assert!(patched_fn().join().unwrap() >= Duration::from_millis(5));
}
