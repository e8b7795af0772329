//! green::queue: Queue, LifoQueue, PriorityQueue, JoinableQueue.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use green::queue::{Empty, Full, JoinableQueue, LifoQueue, PriorityQueue, Queue};
use green::sync::Arc;
use green::thread;

mod util;
use util::assert_clean;

#[test]
fn orders() {
    let q = Queue::new();
    let l = LifoQueue::new();
    let p = PriorityQueue::new();
    for v in [3, 1, 2] {
        q.put(v);
        l.put(v);
        p.put(v);
    }
    let take = |f: &dyn Fn() -> i32| (0..3).map(|_| f()).collect::<Vec<_>>();
    assert_eq!(take(&|| q.get()), [3, 1, 2]);
    assert_eq!(take(&|| l.get()), [2, 1, 3]);
    assert_eq!(take(&|| p.get()), [1, 2, 3]);
    assert_eq!(q.get_nowait(), Err(Empty));
}

#[test]
fn bounded_put_parks_and_nowait_fails() {
    let q = Queue::bounded(2);
    q.put(1);
    q.put(2);
    assert!(q.is_full());
    assert!(matches!(q.put_nowait(3), Err(Full(3))));
    let t0 = Instant::now();
    assert!(matches!(
        q.put_timeout(3, Duration::from_millis(10)),
        Err(Full(3))
    ));
    assert!(t0.elapsed() >= Duration::from_millis(10));
    let q2 = q.clone();
    let putter = thread::spawn(move || q2.put(3));
    thread::sleep(Duration::from_millis(2));
    assert!(!putter.is_finished());
    assert_eq!(q.get(), 1);
    putter.join().unwrap();
    assert_eq!((q.get(), q.get()), (2, 3));
    assert_eq!(q.get_timeout(Duration::from_millis(5)), Err(Empty));
    assert_clean();
}

#[test]
fn boss_and_workers() {
    let q = Queue::bounded(4);
    let done = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..5)
        .map(|_| {
            let (q, done) = (q.clone(), done.clone());
            thread::spawn(move || {
                loop {
                    let job: Option<u32> = q.get();
                    let Some(n) = job else { break };
                    thread::sleep(Duration::from_micros(n as u64 % 50));
                    done.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    for n in 0..200 {
        q.put(Some(n));
        assert!(q.len() <= 4);
    }
    for _ in 0..5 {
        q.put(None);
    }
    workers.into_iter().for_each(|w| w.join().unwrap());
    assert_eq!(done.load(Ordering::SeqCst), 200);
    assert_clean();
}

// ANCHOR: joinable
#[test]
fn joinable_task_done() {
    let q: JoinableQueue<u32> = JoinableQueue::new();
    let processed = Arc::new(AtomicUsize::new(0));
    for i in 0..20 {
        q.put(i);
    }
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let (q, processed) = (q.clone(), processed.clone());
            thread::spawn(move || {
                while let Ok(_item) = q.get_timeout(Duration::from_millis(50)) {
                    thread::yield_now();
                    processed.fetch_add(1, Ordering::SeqCst);
                    q.task_done();
                }
            })
        })
        .collect();
    q.join();
    assert_eq!(processed.load(Ordering::SeqCst), 20);
    assert_eq!(q.unfinished_tasks(), 0);
    assert!(q.join_timeout(Duration::ZERO));
    workers.into_iter().for_each(|w| w.join().unwrap());
    assert_clean();
}
// ANCHOR_END: joinable

#[test]
fn killed_getter_does_not_swallow_an_item() {
    let q = Queue::new();
    let q1 = q.clone();
    let victim = thread::spawn(move || q1.get());
    let q2 = q.clone();
    let survivor = thread::spawn(move || q2.get());
    thread::sleep(Duration::from_millis(2));
    assert_eq!(q.getters(), 2);
    q.put(42); // wakes the victim (FIFO)...
    victim.kill(); // ...which dies before taking it
    assert!(victim.join().is_err());
    assert_eq!(survivor.join().unwrap(), 42);
    assert_eq!(q.getters(), 0);
    assert_clean();
}

#[test]
fn queue_between_os_thread_and_greenlets() {
    let q = Queue::bounded(1);
    let q2 = q.clone();
    let os = std::thread::spawn(move || (0..100).map(|_| q2.get()).sum::<u32>());
    let h = thread::spawn(move || {
        for i in 0..100 {
            q.put(i);
        }
    });
    h.join().unwrap();
    assert_eq!(os.join().unwrap(), 4950);
    assert_clean();
}
