//! The Rust book's ThreadPool (chapter 21), as a plain `mod pool;` file.
mod pool;

use pool::ThreadPool;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

#[green::main]
fn main() {
    let results = Arc::new(Mutex::new(Vec::new()));
    {
        let pool = ThreadPool::new(8);
        for job in 0..40u32 {
            let results = Arc::clone(&results);
            pool.execute(move || {
                thread::sleep(Duration::from_millis(20));
                results.lock().unwrap().push(job * job);
            });
        }
    }
    let mut results = results.lock().unwrap().clone();
    results.sort();
    println!("jobs: {}", results.len());
    println!("sum of squares: {}", results.iter().sum::<u32>());
    println!("largest: {:?}", results.last());
}
