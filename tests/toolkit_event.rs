//! green::event (Event, AsyncResult) and green::select.

use std::time::{Duration, Instant};

use green::event::{AsyncResult, Event};
use green::select::Select;
use green::sync::mpsc;
use green::thread;

mod util;
use util::assert_clean;

#[test]
fn event_wakes_every_waiter() {
    let ev = Event::new();
    let hs: Vec<_> = (0..50)
        .map(|_| {
            let ev = ev.clone();
            thread::spawn(move || ev.wait())
        })
        .collect();
    thread::sleep(Duration::from_millis(2));
    assert!(hs.iter().all(|h| !h.is_finished()));
    ev.set();
    for h in hs {
        assert!(h.join().unwrap());
    }
    assert!(ev.is_set());
    assert!(ev.wait_timeout(Duration::ZERO));
    ev.clear();
    assert!(!ev.is_set());
    let t0 = Instant::now();
    assert!(!ev.wait_timeout(Duration::from_millis(10)));
    assert!(t0.elapsed() >= Duration::from_millis(10));
    assert_clean();
}

#[test]
fn event_set_from_an_os_thread() {
    let ev = Event::new();
    let ev2 = ev.clone();
    let waiter = thread::spawn(move || ev2.wait_timeout(Duration::from_secs(5)));
    let os = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(5));
        ev.set();
    });
    assert!(waiter.join().unwrap());
    os.join().unwrap();
    assert_clean();
}

#[test]
fn event_killed_waiter() {
    let ev = Event::new();
    let ev2 = ev.clone();
    let h = thread::spawn(move || ev2.wait());
    thread::sleep(Duration::from_millis(1));
    h.kill();
    assert!(h.join().is_err());
    ev.set();
    assert_clean();
}

#[test]
fn async_result_value_and_error() {
    let r: AsyncResult<u32, String> = AsyncResult::new();
    assert!(!r.ready());
    let getters: Vec<_> = (0..5)
        .map(|_| {
            let r = r.clone();
            thread::spawn(move || r.get())
        })
        .collect();
    assert_eq!(r.get_timeout(Duration::from_millis(5)), None);
    r.set(7);
    r.set_error("ignored: first outcome wins".into());
    for g in getters {
        assert_eq!(g.join().unwrap(), Ok(7));
    }
    assert!(r.ready() && r.successful());
    assert_eq!(r.peek(), Some(Ok(7)));

    let e: AsyncResult<u32, String> = AsyncResult::new();
    let e2 = e.clone();
    let setter = std::thread::spawn(move || e2.set_error("boom".into()));
    assert_eq!(e.get(), Err("boom".to_string()));
    assert!(e.ready() && !e.successful());
    setter.join().unwrap();
    e.wait();
    assert!(e.wait_timeout(Duration::ZERO));
    assert_clean();
}

#[test]
fn async_result_default_error_type() {
    let r: AsyncResult<&str> = AsyncResult::new();
    r.set_error(std::sync::Arc::new(std::io::Error::other("nope")));
    assert_eq!(r.get().unwrap_err().to_string(), "nope");
}

// ANCHOR: select
#[test]
fn select_over_receivers() {
    let (tx1, rx1) = mpsc::channel::<i32>();
    let (tx2, rx2) = mpsc::sync_channel::<&str>(1);
    let h = thread::spawn(move || {
        thread::sleep(Duration::from_millis(3));
        tx2.send("two").unwrap();
        thread::sleep(Duration::from_millis(3));
        tx1.send(1).unwrap();
    });
    let mut seen = Vec::new();
    while seen.len() < 2 {
        // Ready means a message *or* every sender gone.
        match Select::new().recv(&rx1).recv(&rx2).wait() {
            0 => seen.extend(rx1.try_recv().map(|v| v.to_string())),
            1 => seen.extend(rx2.try_recv().map(|v| v.to_string())),
            _ => unreachable!(),
        }
    }
    assert_eq!(seen, ["two", "1"]);
    h.join().unwrap();
    // Every sender is gone: both are ready (disconnected).
    let mut sel = Select::new();
    let a = sel.add(&rx1);
    assert_eq!(sel.wait(), a);
    assert!(rx1.try_recv().is_err());
    assert_clean();
}
// ANCHOR_END: select

#[test]
fn select_timeout_and_os_thread_sender() {
    let (tx, rx) = mpsc::channel::<u8>();
    let (_tx2, rx2) = mpsc::channel::<u8>();
    let sel = Select::new().recv(&rx).recv(&rx2);
    let t0 = Instant::now();
    assert_eq!(sel.wait_timeout(Duration::from_millis(10)), None);
    assert!(t0.elapsed() >= Duration::from_millis(10));
    let os = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(5));
        tx.send(3).unwrap();
    });
    assert_eq!(sel.wait_timeout(Duration::from_secs(5)), Some(0));
    assert_eq!(rx.recv().unwrap(), 3);
    os.join().unwrap();
    assert_clean();
}

#[test]
fn select_does_not_starve_a_receiver() {
    let (tx1, rx1) = mpsc::channel::<u8>();
    let (tx2, rx2) = mpsc::channel::<u8>();
    for _ in 0..100 {
        tx1.send(1).unwrap();
        tx2.send(2).unwrap();
    }
    let mut from_second = 0;
    for _ in 0..100 {
        match Select::new().recv(&rx1).recv(&rx2).wait() {
            0 => {
                rx1.try_recv().unwrap();
            }
            _ => {
                rx2.try_recv().unwrap();
                from_second += 1;
            }
        }
    }
    assert!(
        from_second > 20,
        "the second receiver was served {from_second} times of 100"
    );
}
