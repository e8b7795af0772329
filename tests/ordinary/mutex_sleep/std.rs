//! A std Mutex held across a sleep, contended by many threads.
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

struct Account {
    balance: Mutex<i64>,
}

impl Account {
    fn deposit_slowly(&self, amount: i64) {
        let mut balance = self.balance.lock().unwrap();
        let read = *balance;
        thread::sleep(Duration::from_millis(2));
        *balance = read + amount;
    }
}

fn main() {
    let account = Arc::new(Account {
        balance: Mutex::new(0),
    });
    let handles: Vec<_> = (1..=50)
        .map(|i| {
            let account = Arc::clone(&account);
            thread::spawn(move || account.deposit_slowly(i))
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let balance = *account.balance.lock().unwrap();
    println!("deposits: 50");
    println!("balance: {balance}");
    println!("no update lost: {}", balance == 50 * 51 / 2);
}
