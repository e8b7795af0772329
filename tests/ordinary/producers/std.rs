//! 100 producers spawned from helper functions send to one consumer.
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread;
use std::time::Duration;

fn produce(id: u32, tx: Sender<(u32, u32)>) {
    for n in 0..10 {
        tx.send((id, n)).unwrap();
        thread::sleep(Duration::from_millis(10));
    }
}

fn start_producers(tx: &Sender<(u32, u32)>) {
    for id in 0..100 {
        let tx = tx.clone();
        thread::spawn(move || produce(id, tx));
    }
}

fn consume(rx: Receiver<(u32, u32)>) -> (usize, u64) {
    let mut count = 0;
    let mut sum = 0u64;
    for (id, n) in rx {
        count += 1;
        sum += u64::from(id * 10 + n);
    }
    (count, sum)
}

fn main() {
    let (tx, rx) = mpsc::channel();
    start_producers(&tx);
    drop(tx);
    let (count, sum) = consume(rx);
    println!("messages: {count}");
    println!("sum: {sum}");
    println!("disconnected: true");
}
