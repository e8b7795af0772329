//! green::sync::mpsc: channels between greenlets, hubs and OS threads.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use green::sync::Arc;
use green::sync::mpsc::{self, RecvError, RecvTimeoutError, SendError, TryRecvError, TrySendError};
use green::thread;

mod util;
use util::assert_clean;

#[test]
fn unbounded_many_senders() {
    let (tx, rx) = mpsc::channel();
    let hs: Vec<_> = (0..10)
        .map(|i| {
            let tx = tx.clone();
            thread::spawn(move || {
                for j in 0..100 {
                    tx.send(i * 100 + j).unwrap();
                    if j % 10 == 0 {
                        thread::yield_now();
                    }
                }
            })
        })
        .collect();
    drop(tx);
    let mut got: Vec<i32> = rx.iter().collect();
    got.sort();
    assert_eq!(got, (0..1000).collect::<Vec<_>>());
    hs.into_iter().for_each(|h| h.join().unwrap());
    assert_clean();
}

#[test]
fn ping_pong_between_greenlets() {
    let (tx1, rx1) = mpsc::channel();
    let (tx2, rx2) = mpsc::channel();
    let h = thread::spawn(move || {
        for v in rx1.iter() {
            tx2.send(v + 1).unwrap();
        }
    });
    let mut v = 0;
    for _ in 0..1000 {
        tx1.send(v).unwrap();
        v = rx2.recv().unwrap();
    }
    assert_eq!(v, 1000);
    drop(tx1);
    h.join().unwrap();
    assert_clean();
}

// ANCHOR: mpsc_os_thread
#[test]
fn greenlet_and_os_thread() {
    let (tx, rx) = mpsc::channel();
    let (back_tx, back_rx) = mpsc::sync_channel(1);
    let os = std::thread::spawn(move || {
        // A plain OS thread receiving from greenlets and answering.
        for v in rx.iter() {
            back_tx.send(v * 2).unwrap();
        }
    });
    let h = thread::spawn(move || {
        let mut sum = 0;
        for i in 0..200 {
            tx.send(i).unwrap();
            sum += back_rx.recv().unwrap();
        }
        sum
    });
    assert_eq!(h.join().unwrap(), 2 * 199 * 200 / 2);
    os.join().unwrap();
    assert_clean();
}
// ANCHOR_END: mpsc_os_thread

// ANCHOR: disconnect
#[test]
fn recv_returns_err_when_senders_drop_while_parked() {
    let (tx, rx) = mpsc::channel::<i32>();
    let waiters = thread::spawn(move || rx.recv());
    thread::sleep(Duration::from_millis(2));
    assert!(!waiters.is_finished());
    drop(tx);
    assert_eq!(waiters.join().unwrap(), Err(RecvError));
    assert_clean();
}
// ANCHOR_END: disconnect

#[test]
fn send_returns_err_when_receiver_drops_while_parked() {
    let (tx, rx) = mpsc::sync_channel(1);
    tx.send(1).unwrap();
    let tx2 = tx.clone();
    let parked = thread::spawn(move || tx2.send(2));
    thread::sleep(Duration::from_millis(2));
    assert!(!parked.is_finished());
    drop(rx);
    assert_eq!(parked.join().unwrap(), Err(SendError(2)));
    assert_eq!(tx.send(3), Err(SendError(3)));
    assert!(matches!(tx.try_send(4), Err(TrySendError::Disconnected(4))));
    assert_clean();
}

#[test]
fn bounded_capacity_and_try() {
    let (tx, rx) = mpsc::sync_channel(2);
    tx.try_send(1).unwrap();
    tx.send(2).unwrap();
    assert!(matches!(tx.try_send(3), Err(TrySendError::Full(3))));
    let tx2 = tx.clone();
    let h = thread::spawn(move || tx2.send(3));
    thread::sleep(Duration::from_millis(2));
    assert!(!h.is_finished(), "send parks on a full channel");
    assert_eq!(rx.recv(), Ok(1));
    h.join().unwrap().unwrap();
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), [2, 3]);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    drop((tx, rx));
    assert_clean();
}

// ANCHOR: rendezvous
#[test]
fn rendezvous() {
    let (tx, rx) = mpsc::sync_channel(0);
    // No receiver waiting: try_send fails.
    assert!(matches!(tx.try_send(0), Err(TrySendError::Full(0))));
    let taken = Arc::new(AtomicUsize::new(0));
    let t2 = taken.clone();
    let sender = thread::spawn(move || {
        for i in 1..=3 {
            tx.send(i).unwrap();
            // The receiver took it before send returned.
            assert!(t2.load(Ordering::SeqCst) >= i);
        }
    });
    for i in 1..=3 {
        thread::sleep(Duration::from_millis(2));
        taken.store(i, Ordering::SeqCst);
        assert_eq!(rx.recv(), Ok(i));
    }
    sender.join().unwrap();
    assert_eq!(rx.recv(), Err(RecvError));
    assert_clean();
}
// ANCHOR_END: rendezvous

#[test]
fn rendezvous_sender_gets_its_value_back_if_receiver_leaves() {
    let (tx, rx) = mpsc::sync_channel::<String>(0);
    let sender = thread::spawn(move || tx.send("hello".to_string()));
    thread::sleep(Duration::from_millis(2));
    assert!(!sender.is_finished());
    drop(rx);
    assert_eq!(sender.join().unwrap(), Err(SendError("hello".to_string())));
    assert_clean();
}

#[test]
fn rendezvous_try_send_to_a_parked_receiver() {
    let (tx, rx) = mpsc::sync_channel(0);
    let r = thread::spawn(move || rx.recv());
    thread::sleep(Duration::from_millis(2));
    tx.try_send(5).unwrap();
    assert_eq!(r.join().unwrap(), Ok(5));
    assert_clean();
}

#[test]
fn recv_timeout() {
    let (tx, rx) = mpsc::channel::<i32>();
    let t0 = Instant::now();
    assert_eq!(
        rx.recv_timeout(Duration::from_millis(15)),
        Err(RecvTimeoutError::Timeout)
    );
    assert!(t0.elapsed() >= Duration::from_millis(15));
    let h = thread::spawn(move || {
        thread::sleep(Duration::from_millis(5));
        tx.send(9).unwrap();
    });
    assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok(9));
    h.join().unwrap();
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(5)),
        Err(RecvTimeoutError::Disconnected)
    );
    assert_clean();
}

#[test]
fn a_killed_receiver_and_sender_leave_cleanly() {
    let (tx, rx) = mpsc::channel::<i32>();
    let r = thread::spawn(move || rx.recv());
    thread::sleep(Duration::from_millis(2));
    r.kill();
    assert!(thread::is_greenlet_exit(&*r.join().unwrap_err()));
    // The receiver is gone with the killed greenlet.
    assert_eq!(tx.send(1), Err(SendError(1)));

    let (stx, srx) = mpsc::sync_channel(1);
    stx.send(0).unwrap();
    let stx2 = stx.clone();
    let s = thread::spawn(move || stx2.send(1));
    thread::sleep(Duration::from_millis(2));
    s.kill();
    assert!(s.join().is_err());
    assert_eq!(srx.recv(), Ok(0));
    stx.send(2).unwrap();
    assert_eq!(srx.recv(), Ok(2));
    assert_clean();
}

#[test]
fn across_two_hubs() {
    // Each OS thread has its own hub; greenlets on both talk.
    let (tx, rx) = mpsc::channel();
    let (btx, brx) = mpsc::channel();
    let other = std::thread::spawn(move || {
        let h = thread::spawn(move || {
            for v in rx.iter() {
                btx.send(v + 1).unwrap();
            }
        });
        h.join().unwrap();
    });
    let h = thread::spawn(move || {
        let mut v = 0;
        for _ in 0..500 {
            tx.send(v).unwrap();
            v = brx.recv().unwrap();
        }
        v
    });
    assert_eq!(h.join().unwrap(), 500);
    other.join().unwrap();
    assert_clean();
}

#[test]
fn iterators_and_messages_dropped_with_the_receiver() {
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpsc::channel();
    for _ in 0..3 {
        tx.send(Counted(drops.clone())).unwrap();
    }
    drop(rx);
    assert_eq!(drops.load(Ordering::SeqCst), 3);

    let (tx, rx) = mpsc::channel();
    for i in 0..3 {
        tx.send(i).unwrap();
    }
    drop(tx);
    let v: Vec<i32> = rx.into_iter().collect();
    assert_eq!(v, [0, 1, 2]);
}

#[test]
fn local_greenlets_sharing_a_receiver_are_all_served() {
    // Receiver is not Sync, but greenlets of one hub may share it through
    // spawn_local and Rc: every parked one must be woken.
    let (tx, rx) = mpsc::channel::<u32>();
    let rx = std::rc::Rc::new(rx);
    let hs: Vec<_> = (0..3)
        .map(|_| {
            let rx = rx.clone();
            thread::spawn_local(move || rx.recv().unwrap())
        })
        .collect();
    thread::sleep(Duration::from_millis(2));
    for i in 0..3 {
        tx.send(i).unwrap();
        thread::sleep(Duration::from_millis(1));
    }
    let mut got: Vec<u32> = hs.into_iter().map(|h| h.join().unwrap()).collect();
    got.sort();
    assert_eq!(got, [0, 1, 2]);
    assert_clean();
}

#[test]
fn a_shared_receiver_survives_one_waiter_timing_out() {
    let (tx, rx) = mpsc::channel::<u32>();
    let rx = std::rc::Rc::new(rx);
    let r1 = rx.clone();
    let impatient = thread::spawn_local(move || r1.recv_timeout(Duration::from_millis(2)));
    let r2 = rx.clone();
    let patient = thread::spawn_local(move || r2.recv());
    assert_eq!(impatient.join().unwrap(), Err(RecvTimeoutError::Timeout));
    tx.send(5).unwrap();
    assert_eq!(patient.join().unwrap(), Ok(5));
    assert_clean();
}
