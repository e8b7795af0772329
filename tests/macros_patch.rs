//! `#[green::patch]` on an inline module and on a fn: the std code inside
//! really runs on green threads, and only the table's modules move.
//! (`std::sync` under patching is tested in `macros_sync.rs`.)

use std::cell::Cell;
use std::time::Duration;

#[green::patch]
mod m {
    use std::cell::Cell;
    use std::thread;
    use std::{collections::HashMap, time::Duration};

    /// A local module that only looks like std's: left alone.
    mod net {
        pub(super) fn connect() -> &'static str {
            "local"
        }
    }

    thread_local! {
        pub static COUNTER: Cell<u32> = Cell::new(0);
    }

    macro_rules! spawn_sleeper {
        ($i:expr, $ms:expr) => {
            std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_millis($ms));
                $i
            })
        };
    }

    /// The number of OS threads of this process.
    pub(crate) fn os_threads() -> usize {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("Threads:")).unwrap();
        line["Threads:".len()..].trim().parse().unwrap()
    }

    /// Spawns `n` sleepers with `std::thread::spawn`; returns the sum of
    /// their results and the OS thread count while they all slept.
    pub(crate) fn sleepers(n: usize, ms: u64) -> (usize, usize) {
        let handles: Vec<_> = (0..n).map(|i| spawn_sleeper!(i, ms)).collect();
        thread::sleep(Duration::from_millis(ms / 2));
        let during = os_threads();
        let sum = handles.into_iter().map(|h| h.join().unwrap()).sum();
        (sum, during)
    }

    /// Each greenlet sees its own `thread_local!`, even on one hub.
    pub(crate) fn locals() -> Vec<u32> {
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

    pub(crate) fn spawn_one() -> std::thread::JoinHandle<u8> {
        thread::spawn(|| 7)
    }

    pub(crate) fn current() -> ::std::thread::Thread {
        std::thread::current()
    }

    pub(crate) fn in_macros() -> bool {
        let mut map = HashMap::new();
        map.insert(1, std::thread::spawn(|| 1));
        let mut v = vec![std::time::Instant::now(), ::std::time::Instant::now()];
        v.push(std::time::Instant::now());
        assert!(matches!(
            map.remove(&1).map(|h| h.join()),
            Some(std::thread::Result::Ok(1))
        ));
        format!("{:?}", std::thread::current().id()).contains("ThreadId") && v.len() == 3
    }

    pub(crate) fn local_net() -> &'static str {
        net::connect()
    }
}

#[green::test]
fn thousands_of_sleepers_few_os_threads() {
    let before = m::os_threads();
    let (sum, during) = m::sleepers(2000, 300);
    assert_eq!(sum, 1999 * 2000 / 2);
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
    let t: green::thread::Thread = m::current();
    let _: green::thread::ThreadId = t.id();
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

#[green::patch]
impl Worker {
    fn run(&self) -> std::thread::JoinHandle<u32> {
        let n = self.0;
        std::thread::spawn(move || n * 2)
    }
}

struct Worker(u32);

#[green::test]
fn patch_on_an_impl() {
    let h: green::thread::JoinHandle<u32> = Worker(21).run();
    assert_eq!(h.join().unwrap(), 42);
}

#[green::patch]
trait Spawner {
    fn spawn_it(&self) -> std::thread::JoinHandle<u8> {
        std::thread::spawn(|| 3)
    }
}

impl Spawner for Worker {}

#[green::patch]
const SPAWN: fn(fn() -> u8) -> std::thread::JoinHandle<u8> = std::thread::spawn::<fn() -> u8, u8>;

#[green::patch]
static NAP: fn(Duration) = std::thread::sleep;

#[green::patch]
use std::{collections::BTreeMap, thread as gthread};

#[green::test]
fn patch_on_trait_const_static_use() {
    let h: green::thread::JoinHandle<u8> = Worker(0).spawn_it();
    assert_eq!(h.join().unwrap(), 3);
    let h: green::thread::JoinHandle<u8> = SPAWN(|| 5);
    assert_eq!(h.join().unwrap(), 5);
    NAP(Duration::from_millis(1));
    let h: green::thread::JoinHandle<BTreeMap<u8, u8>> = gthread::spawn(BTreeMap::new);
    assert!(h.join().unwrap().is_empty());
}
