//! `#[green::patch]` and `#[green::main]` over `std::sync`: `use` groups
//! that mix patched and unpatched modules, channels, mutexes.

use std::collections::HashMap;

#[green::patch]
mod m {
    use std::sync::{Arc, Mutex, mpsc};
    use std::thread;
    use std::{collections::HashMap, time::Duration};

    pub(crate) fn shared() -> Arc<Mutex<HashMap<u8, u8>>> {
        let map = Arc::new(Mutex::new(HashMap::new()));
        let m2 = Arc::clone(&map);
        thread::spawn(move || m2.lock().unwrap().insert(1, 2))
            .join()
            .unwrap();
        assert_eq!(map.lock().unwrap().get(&1), Some(&2));
        map
    }

    /// `n` greenlets send on one channel; the receiver sums.
    pub(crate) fn fan_in(n: usize) -> usize {
        let (tx, rx) = mpsc::channel();
        for i in 0..n {
            let tx = tx.clone();
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(10));
                tx.send(i).unwrap();
            });
        }
        drop(tx);
        rx.iter().sum()
    }

    pub(crate) fn in_macros() -> bool {
        let (_tx, rx) = mpsc::channel::<u8>();
        matches!(
            rx.recv_timeout(Duration::from_millis(1)),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout)
        )
    }
}

#[green::main]
fn run(n: usize) -> Result<usize, std::sync::mpsc::RecvError> {
    let (tx, rx) = std::sync::mpsc::channel();
    for i in 0..n {
        let tx = tx.clone();
        std::thread::spawn(move || tx.send(i).unwrap());
    }
    drop(tx);
    let mut sum = 0;
    for _ in 0..n {
        sum += rx.recv()?;
    }
    rx.recv()?; // every sender is gone: `?` returns the error
    Ok(sum)
}

#[green::test]
fn patched_sync_is_green_sync() {
    let map: std::sync::Arc<green::sync::Mutex<HashMap<u8, u8>>> = m::shared();
    assert_eq!(map.lock().unwrap().len(), 1);
    assert_eq!(m::fan_in(1000), 999 * 1000 / 2);
    assert!(m::in_macros());
}

#[test]
fn main_returns_the_body_error() {
    let err: green::sync::mpsc::RecvError = run(100).unwrap_err();
    let _ = err;
}
