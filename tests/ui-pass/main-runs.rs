// `#[green::main]` on a real `main` that returns `Result`: the program
// runs 1000 sleepers as greenlets and exits successfully.

use std::time::{Duration, Instant};

#[green::main(workers = 1, stack_size = 32768)]
fn main() -> Result<(), String> {
    let t0 = Instant::now();
    let handles: Vec<_> = (0..1000u64)
        .map(|i| {
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                i
            })
        })
        .collect();
    let mut sum = 0;
    for h in handles {
        sum += h.join().map_err(|_| "a greenlet panicked".to_string())?;
    }
    if sum != 999 * 1000 / 2 {
        return Err(format!("wrong sum {sum}"));
    }
    if t0.elapsed() > Duration::from_secs(10) {
        return Err("the sleepers did not sleep concurrently".into());
    }
    Ok(())
}
