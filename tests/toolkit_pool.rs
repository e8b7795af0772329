//! green::pool: Pool, Group, joinall, killall.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use green::pool::{Group, Pool, joinall, killall};
use green::sync::Arc;
use green::thread;

mod util;
use util::assert_clean;

#[test]
fn spawn_parks_when_full() {
    let pool = Pool::new(3);
    let inside = Arc::new(AtomicUsize::new(0));
    let max = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..20)
        .map(|i| {
            let (inside, max) = (inside.clone(), max.clone());
            pool.spawn(move || {
                let n = inside.fetch_add(1, Ordering::SeqCst) + 1;
                max.fetch_max(n, Ordering::SeqCst);
                thread::sleep(Duration::from_millis(1));
                inside.fetch_sub(1, Ordering::SeqCst);
                i
            })
        })
        .collect();
    assert!(pool.len() <= 3);
    pool.join();
    assert!(pool.is_empty());
    assert_eq!(pool.free_count(), 3);
    assert_eq!(max.load(Ordering::SeqCst), 3);
    let sum: i32 = hs.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(sum, 190);
    assert_clean();
}

#[test]
fn map_over_nothing() {
    let pool = Pool::new(2);
    assert!(pool.map(|x: u8| x, std::iter::empty()).is_empty());
    assert_eq!(pool.map(|x: u8| x, [7]), [7]);
    pool.join();
    assert_clean();
}

#[test]
fn map_keeps_order_and_limit() {
    let pool = Pool::new(4);
    let inside = Arc::new(AtomicUsize::new(0));
    let max = Arc::new(AtomicUsize::new(0));
    let (i2, m2) = (inside.clone(), max.clone());
    let out = pool.map(
        move |x: u64| {
            let n = i2.fetch_add(1, Ordering::SeqCst) + 1;
            m2.fetch_max(n, Ordering::SeqCst);
            thread::sleep(Duration::from_micros(100 * (x % 5)));
            i2.fetch_sub(1, Ordering::SeqCst);
            x * x
        },
        0..100,
    );
    assert_eq!(out, (0..100).map(|x| x * x).collect::<Vec<_>>());
    assert_eq!(max.load(Ordering::SeqCst), 4);
    pool.join();
    assert_clean();
}

#[test]
fn imap_in_order_and_unordered() {
    let pool = Pool::new(10);
    let slow_first = |x: u64| {
        thread::sleep(Duration::from_millis(10 - x));
        x
    };
    let ordered: Vec<u64> = pool.imap(slow_first, 0..10).collect();
    assert_eq!(ordered, (0..10).collect::<Vec<_>>());
    let unordered: Vec<u64> = pool.imap_unordered(slow_first, 0..10).collect();
    assert_ne!(unordered, ordered, "finished in completion order");
    let mut sorted = unordered.clone();
    sorted.sort();
    assert_eq!(sorted, ordered);
    pool.join();
    assert_clean();
}

#[test]
fn imap_is_lazy_over_an_endless_input() {
    let pool = Pool::new(5);
    let first: Vec<u64> = pool.imap(|x: u64| x + 1, 0..).take(10).collect();
    assert_eq!(first, (1..=10).collect::<Vec<_>>());
    // Dropping the iterator stops the workers.
    assert!(pool.join_timeout(Duration::from_secs(5)));
    assert_clean();
}

#[test]
fn map_reraises_a_job_panic() {
    let pool = Pool::new(3);
    let r = panic::catch_unwind(AssertUnwindSafe(|| {
        pool.map(
            |x: u32| {
                if x == 7 {
                    panic!("job 7 failed (expected by the test)");
                }
                x
            },
            0..20,
        )
    }));
    let p = r.unwrap_err();
    assert_eq!(
        p.downcast_ref::<&str>(),
        Some(&"job 7 failed (expected by the test)")
    );
    pool.join();
    assert_clean();
}

#[test]
fn pool_kill_stops_everything() {
    let pool = Pool::new(5);
    let hs: Vec<_> = (0..5)
        .map(|_| pool.spawn(|| thread::sleep(Duration::from_secs(10))))
        .collect();
    thread::yield_now();
    assert_eq!(pool.len(), 5);
    let t0 = Instant::now();
    pool.kill();
    assert!(t0.elapsed() < Duration::from_secs(1));
    assert!(pool.is_empty());
    for h in hs {
        assert!(thread::is_greenlet_exit(&*h.join().unwrap_err()));
    }
    assert_clean();
}

#[test]
fn group_join_kill_and_unstarted_members() {
    let g = Group::new();
    let counter = Arc::new(AtomicUsize::new(0));
    for _ in 0..10 {
        let c = counter.clone();
        g.spawn(move || {
            thread::sleep(Duration::from_millis(1));
            c.fetch_add(1, Ordering::SeqCst);
        });
    }
    g.join();
    assert_eq!(counter.load(Ordering::SeqCst), 10);
    // Killed before they ever ran: the group still empties.
    let c = counter.clone();
    let h = g.spawn(move || c.fetch_add(100, Ordering::SeqCst));
    assert_eq!(g.len(), 1);
    g.kill();
    assert!(g.is_empty());
    assert!(h.join().is_err());
    assert_eq!(counter.load(Ordering::SeqCst), 10);
    assert_clean();
}

#[test]
fn group_add_and_discard_greenlets_spawned_elsewhere() {
    let g = Group::new();
    let release = green::event::Event::new();
    let r = release.clone();
    let outside = thread::spawn(move || {
        r.wait();
        7
    });
    g.add(&outside);
    assert_eq!(g.len(), 1);
    // join waits for the added greenlet too.
    assert!(!g.join_timeout(Duration::from_millis(20)));
    release.set();
    g.join();
    assert!(g.is_empty());
    assert_eq!(outside.join().unwrap(), 7);

    // Adding a finished greenlet adds nothing.
    let done = thread::spawn(|| ());
    thread::sleep(Duration::from_millis(2));
    assert!(done.is_finished());
    g.add(&done);
    assert!(g.is_empty());
    done.join().unwrap();

    // kill reaches added greenlets; discard lets one go unharmed.
    let killed = thread::spawn(|| thread::sleep(Duration::from_secs(10)));
    let kept = thread::spawn(|| {
        thread::sleep(Duration::from_millis(20));
        "kept"
    });
    g.add(&killed);
    g.add(&kept);
    assert_eq!(g.len(), 2);
    assert!(g.discard(&kept));
    assert!(!g.discard(&kept));
    g.kill();
    assert!(g.is_empty());
    assert!(thread::is_greenlet_exit(&*killed.join().unwrap_err()));
    assert_eq!(kept.join().unwrap(), "kept");
    assert_clean();
}

#[test]
fn pool_slot_freed_by_a_killed_greenlet() {
    let pool = Pool::new(1);
    let h = pool.spawn(|| thread::sleep(Duration::from_secs(10)));
    let p2 = pool.clone();
    let waiting = thread::spawn(move || p2.spawn(|| 5).join().unwrap());
    thread::sleep(Duration::from_millis(2));
    assert!(!waiting.is_finished());
    h.kill();
    assert_eq!(waiting.join().unwrap(), 5);
    assert_eq!(pool.apply(|| 6).unwrap(), 6);
    assert!(h.join().is_err());
    pool.join();
    assert_clean();
}

// ANCHOR: joinall
#[test]
fn joinall_timeout_and_raise_error() {
    let hs = vec![
        thread::spawn(|| 1),
        thread::spawn(|| {
            thread::sleep(Duration::from_millis(200));
            2
        }),
        thread::spawn(|| 3),
    ];
    let r = joinall(hs, Some(Duration::from_millis(10)), false);
    assert_eq!(r.done.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [0, 2]);
    assert_eq!(r.pending.len(), 1);
    let (idx, slow) = r.pending.into_iter().next().unwrap();
    assert_eq!(idx, 1);
    let r = killall(vec![slow], None);
    assert!(thread::is_greenlet_exit(
        &**r.done[0].1.as_ref().unwrap_err()
    ));

    let release = green::event::Event::new();
    let r2 = release.clone();
    let hs = vec![
        thread::spawn(move || {
            r2.wait_timeout(Duration::from_secs(5));
        }),
        thread::spawn(|| panic!("second fails (expected by the test)")),
    ];
    let t0 = Instant::now();
    let r = panic::catch_unwind(AssertUnwindSafe(|| joinall(hs, None, true)));
    assert!(r.is_err());
    assert!(
        t0.elapsed() < Duration::from_secs(4),
        "raised before the slow one ended"
    );
    release.set();
    thread::sleep(Duration::from_millis(5));

    let all = joinall((0..100).map(|i| thread::spawn(move || i)), None, true);
    assert!(all.pending.is_empty());
    assert_eq!(all.done.len(), 100);
    assert_clean();
}
// ANCHOR_END: joinall

#[test]
fn joinall_collects_greenlets_finishing_one_by_one() {
    // Greenlet i yields 300 - i times, so they finish in reverse order, one
    // per wake-up of the joiner.
    let hs: Vec<_> = (0..300u32)
        .map(|i| {
            thread::spawn(move || {
                for _ in 0..300 - i {
                    thread::yield_now();
                }
                i * 2
            })
        })
        .collect();
    let r = joinall(hs, None, false);
    assert!(r.pending.is_empty());
    let got: Vec<(usize, u32)> = r.done.into_iter().map(|(i, v)| (i, v.unwrap())).collect();
    let want: Vec<(usize, u32)> = (0..300).map(|i| (i, i as u32 * 2)).collect();
    assert_eq!(got, want);

    // Handles left pending by a timeout are ordinary handles again.
    let hs: Vec<_> = (0..3u32)
        .map(|i| {
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(30));
                i
            })
        })
        .collect();
    let r = joinall(hs, Some(Duration::ZERO), false);
    assert!(r.done.is_empty());
    let back: Vec<u32> = r
        .pending
        .into_iter()
        .map(|(_, h)| h.join().unwrap())
        .collect();
    assert_eq!(back, [0, 1, 2]);
    assert_clean();
}

#[test]
fn killing_the_pool_during_map_ends_the_map() {
    let pool = Pool::new(4);
    let p2 = pool.clone();
    let killer = thread::spawn(move || {
        thread::sleep(Duration::from_millis(5));
        p2.kill();
    });
    let r = panic::catch_unwind(AssertUnwindSafe(|| {
        pool.map(|x: u64| thread::sleep(Duration::from_secs(10 + x)), 0..8)
    }));
    let msg = r.unwrap_err();
    let msg = msg
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| msg.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    assert!(msg.contains("killed"), "{msg}");
    killer.join().unwrap();
    assert!(pool.is_empty());
    assert_clean();
}

#[test]
fn killing_the_pool_during_imap_is_not_a_silent_short_stream() {
    let pool = Pool::new(2);
    let p2 = pool.clone();
    let killer = thread::spawn(move || {
        thread::sleep(Duration::from_millis(5));
        p2.kill();
    });
    let r = panic::catch_unwind(AssertUnwindSafe(|| {
        pool.imap_unordered(|x: u64| thread::sleep(Duration::from_secs(10 + x)), 0..4)
            .count()
    }));
    assert!(r.is_err());
    killer.join().unwrap();
    assert_clean();
}

/// `Pool::kill_timeout` as `Group`'s, and `Group::kill` twice while the
/// greenlets unwind through destructors that block: the second kill stays
/// pending instead of aborting the process.
#[test]
fn kill_timeout_on_a_pool_and_kill_twice_on_a_group() {
    struct SlowDrop(Arc<AtomicUsize>);
    impl Drop for SlowDrop {
        fn drop(&mut self) {
            thread::sleep(Duration::from_millis(20));
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    green::runtime::Builder::new().run(|| {
        let dropped = Arc::new(AtomicUsize::new(0));
        let pool = Pool::new(4);
        for _ in 0..4 {
            let d = dropped.clone();
            pool.spawn(move || {
                let _slow = SlowDrop(d);
                thread::sleep(Duration::from_secs(60));
            });
        }
        thread::yield_now();
        assert!(pool.kill_timeout(Duration::from_secs(5)));
        assert!(pool.is_empty());
        assert_eq!(dropped.load(Ordering::SeqCst), 4);

        let group = Group::new();
        for _ in 0..4 {
            let d = dropped.clone();
            group.spawn(move || {
                let _slow = SlowDrop(d);
                thread::sleep(Duration::from_secs(60));
            });
        }
        thread::yield_now();
        let g2 = group.clone();
        let killer = thread::spawn(move || {
            thread::sleep(Duration::from_millis(5));
            // The greenlets are inside their SlowDrop: kill again.
            g2.kill();
        });
        group.kill();
        killer.join().unwrap();
        assert!(group.is_empty());
        assert_eq!(dropped.load(Ordering::SeqCst), 8);
        assert_clean();
    });
}
