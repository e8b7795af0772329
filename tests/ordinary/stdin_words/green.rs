//! Counts the words of standard input, line by line, while another thread
//! keeps ticking.
use std::io::{self, BufRead};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::thread;
use std::time::Duration;

fn count_words(line: &str) -> usize {
    line.split_whitespace().count()
}

#[green::main]
fn main() {
    let stop = Arc::new(AtomicBool::new(false));
    let ticks = Arc::new(AtomicU32::new(0));
    let ticker = {
        let (stop, ticks) = (stop.clone(), ticks.clone());
        thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                thread::sleep(Duration::from_millis(10));
                ticks.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    let mut lines = 0;
    let mut words = 0;
    let stdin = io::stdin();
    for line in stdin.lock().lines() {
        let line = line.unwrap();
        lines += 1;
        words += count_words(&line);
    }
    let seen = ticks.load(Ordering::SeqCst);
    stop.store(true, Ordering::SeqCst);
    ticker.join().unwrap();
    println!("lines: {lines}");
    println!("words: {words}");
    println!("ticker kept running: {}", seen >= 40);
}
