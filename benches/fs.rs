//! File reads on the blocking-call pool against std threads: 100 greenlets
//! each read 1 000 small files (1 KiB) with `green::fs::read`, against 100
//! OS threads doing the same with `std::fs::read`.
//!
//! ```text
//! cargo bench --bench fs
//! ```
//!
//! Each figure is the best of several rounds (the machine is shared and
//! noisy); the ratio is throughput green / std (above 1 means green read
//! more files per second). The files live in a fresh directory under the
//! temp dir, removed at the end.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

const ROUNDS: usize = 5;
const WORKERS: usize = 100;
const FILES: usize = 1_000;
const SIZE: usize = 1024;

fn best(mut f: impl FnMut()) -> Duration {
    (0..ROUNDS)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap()
}

fn main() {
    let dir = std::env::temp_dir().join(format!("green-bench-fs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let paths: Arc<Vec<PathBuf>> = Arc::new(
        (0..FILES)
            .map(|i| {
                let p = dir.join(format!("f{i:04}"));
                std::fs::write(&p, vec![i as u8; SIZE]).unwrap();
                p
            })
            .collect(),
    );

    let green = best(|| {
        let hs: Vec<_> = (0..WORKERS)
            .map(|_| {
                let paths = paths.clone();
                green::thread::spawn(move || {
                    paths
                        .iter()
                        .map(|p| green::fs::read(p).unwrap().len())
                        .sum::<usize>()
                })
            })
            .collect();
        for h in hs {
            assert_eq!(h.join().unwrap(), FILES * SIZE);
        }
    });
    // `-- green` measures green only (for a profiler).
    if std::env::args().any(|a| a == "green") {
        std::fs::remove_dir_all(&dir).unwrap();
        println!("green::fs::read: {green:?}");
        return;
    }
    let std = best(|| {
        let hs: Vec<_> = (0..WORKERS)
            .map(|_| {
                let paths = paths.clone();
                std::thread::spawn(move || {
                    paths
                        .iter()
                        .map(|p| std::fs::read(p).unwrap().len())
                        .sum::<usize>()
                })
            })
            .collect();
        for h in hs {
            assert_eq!(h.join().unwrap(), FILES * SIZE);
        }
    });
    std::fs::remove_dir_all(&dir).unwrap();

    let reads = (WORKERS * FILES) as f64;
    println!(
        "{WORKERS} workers x {FILES} reads of {SIZE} B files (best of {ROUNDS}; pool of {} threads)",
        green::tpool::max_threads()
    );
    println!(
        "green::fs::read, greenlets   {:>9.1} ms  {:>9.0} reads/s",
        green.as_secs_f64() * 1e3,
        reads / green.as_secs_f64()
    );
    println!(
        "std::fs::read, OS threads    {:>9.1} ms  {:>9.0} reads/s",
        std.as_secs_f64() * 1e3,
        reads / std.as_secs_f64()
    );
    println!(
        "throughput green / std       {:>9.2}x",
        std.as_secs_f64() / green.as_secs_f64()
    );
}
