//! Runtime benchmarks: greenlets against tokio current_thread tasks and std
//! threads, in one run, reported as ratios.
//!
//! ```text
//! cargo bench --bench runtime            # the comparisons
//! cargo bench --bench runtime -- million # 1 000 000 sleeping greenlets
//! ```
//!
//! `million` raises `vm.max_map_count` to 2 100 000 (it must run as root)
//! and puts the old value back at the end; it says so when it does.
//!
//! The last row runs CPU-bound jobs on one hub per core against tokio's
//! multi-thread runtime with as many workers; green's figure includes
//! starting and stopping the worker hubs each round.
//!
//! When Python has gevent (`pip install gevent`), the bench also runs
//! `scripts/gevent_peer.py` (the same cases in gevent) and prints
//! green/gevent.
//!
//! Each figure is the best of several rounds: the machine is shared and
//! noisy, so compare the ratios, not the absolute times.

use std::time::{Duration, Instant};

const ROUNDS: usize = 5;

/// Best time per operation over `ROUNDS` rounds of `f`, which performs `n`
/// operations.
fn per_op(n: usize, mut f: impl FnMut()) -> Duration {
    (0..ROUNDS)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed() / n as u32
        })
        .min()
        .unwrap()
}

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    // SAFETY: sysconf has no preconditions.
    pages * unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize
}

fn fmt(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns >= 10_000 {
        format!("{:.1} µs", ns as f64 / 1000.0)
    } else {
        format!("{ns} ns")
    }
}

fn row(what: &str, green: Duration, tokio: Duration, std: Option<Duration>) {
    let ratio = green.as_secs_f64() / tokio.as_secs_f64();
    let std = std.map(fmt).unwrap_or_else(|| "-".into());
    println!(
        "{what:<34} {:>10} {:>10} {:>10} {:>8.2}x",
        fmt(green),
        fmt(tokio),
        std,
        ratio
    );
}

fn spawn_join_one_at_a_time() -> f64 {
    let n = 100_000;
    let green = per_op(n, || {
        for i in 0..n {
            let h = green::thread::spawn(move || i);
            assert_eq!(h.join().unwrap(), i);
        }
    });
    let rt = tokio_rt();
    let tokio = per_op(n, || {
        rt.block_on(async {
            for i in 0..n {
                let h = tokio::spawn(async move { i });
                assert_eq!(h.await.unwrap(), i);
            }
        })
    });
    let m = 2_000;
    let std = per_op(m, || {
        for i in 0..m {
            let h = std::thread::spawn(move || i);
            assert_eq!(h.join().unwrap(), i);
        }
    });
    row("spawn+join, one at a time", green, tokio, Some(std));
    green.as_nanos() as f64
}

/// Raises `vm.max_map_count` to at least `want` until dropped, saying so.
struct MapCountRaised(Option<String>);

const MAP_COUNT: &str = "/proc/sys/vm/max_map_count";

fn raise_map_count(want: usize) -> MapCountRaised {
    let old = std::fs::read_to_string(MAP_COUNT)
        .unwrap()
        .trim()
        .to_string();
    if old.parse::<usize>().unwrap() >= want {
        return MapCountRaised(None);
    }
    println!("(raising vm.max_map_count from {old} to {want} for this case; needs root)");
    std::fs::write(MAP_COUNT, want.to_string()).expect("raise vm.max_map_count (run as root)");
    MapCountRaised(Some(old))
}

impl Drop for MapCountRaised {
    fn drop(&mut self) {
        if let Some(old) = self.0.take() {
            std::fs::write(MAP_COUNT, &old).unwrap();
            println!("(vm.max_map_count restored to {old})");
        }
    }
}

fn spawn_all_then_join() -> f64 {
    let n = 100_000;
    let green = per_op(n, || {
        let hs: Vec<_> = (0..n).map(|i| green::thread::spawn(move || i)).collect();
        for (i, h) in hs.into_iter().enumerate() {
            assert_eq!(h.join().unwrap(), i);
        }
    });
    let rt = tokio_rt();
    let tokio = per_op(n, || {
        rt.block_on(async {
            let hs: Vec<_> = (0..n).map(|i| tokio::spawn(async move { i })).collect();
            for (i, h) in hs.into_iter().enumerate() {
                assert_eq!(h.await.unwrap(), i);
            }
        })
    });
    let m = 2_000;
    let std = per_op(m, || {
        let hs: Vec<_> = (0..m).map(|i| std::thread::spawn(move || i)).collect();
        for (i, h) in hs.into_iter().enumerate() {
            assert_eq!(h.join().unwrap(), i);
        }
    });
    row("spawn 100k, then join all", green, tokio, Some(std));
    green.as_nanos() as f64
}

fn yield_switch() -> f64 {
    let n = 1_000_000;
    // Two greenlets each yield n times: 2n switches.
    let green = per_op(2 * n, || {
        let a = green::thread::spawn(move || {
            for _ in 0..n {
                green::thread::yield_now();
            }
        });
        let b = green::thread::spawn(move || {
            for _ in 0..n {
                green::thread::yield_now();
            }
        });
        a.join().unwrap();
        b.join().unwrap();
    });
    let rt = tokio_rt();
    let tokio = per_op(2 * n, || {
        rt.block_on(async {
            let a = tokio::spawn(async move {
                for _ in 0..n {
                    tokio::task::yield_now().await;
                }
            });
            let b = tokio::spawn(async move {
                for _ in 0..n {
                    tokio::task::yield_now().await;
                }
            });
            a.await.unwrap();
            b.await.unwrap();
        })
    });
    row("yield switch (2 yielding)", green, tokio, None);
    green.as_nanos() as f64
}

/// `runtime::dump()` and `runtime::stats()` over 100 000 sleeping
/// greenlets (200 000 memory maps: needs the raised `vm.max_map_count`):
/// how long they take and how long the printed dump is.
fn dump_100k() {
    let n = 100_000;
    let hs: Vec<_> = (0..n)
        .map(|_| green::thread::spawn(|| green::thread::sleep(Duration::from_secs(3600))))
        .collect();
    green::thread::yield_now();
    let start = Instant::now();
    let dump = green::runtime::dump();
    let took = start.elapsed();
    let text = dump.to_string();
    let start = Instant::now();
    let stats = green::runtime::stats();
    let stats_took = start.elapsed();
    println!(
        "dump of {n} greenlets: {took:.1?} to collect, {} lines printed ({} with {{:#}}); \
         stats() {stats_took:.1?} ({} sleeping)",
        text.lines().count(),
        format!("{dump:#}").lines().count(),
        stats.waiting.sleep
    );
    for line in text.lines().take(9) {
        println!("    {line}");
    }
    for h in &hs {
        h.kill();
    }
    for h in hs {
        let _ = h.join();
    }
}

fn idle_memory() -> f64 {
    let n = 10_000;
    // tokio first: its tasks live on the heap, which must not be able to
    // reuse memory the others freed.
    let rt = tokio_rt();
    let tokio = rt.block_on(async {
        let before = rss_bytes();
        let hs: Vec<_> = (0..n)
            .map(|_| tokio::spawn(tokio::time::sleep(Duration::from_secs(3600))))
            .collect();
        tokio::task::yield_now().await;
        let per = (rss_bytes() - before) / n;
        for h in hs {
            h.abort();
        }
        per
    });
    drop(rt);

    let before = rss_bytes();
    let hs: Vec<_> = (0..n)
        .map(|_| green::thread::spawn(|| green::thread::sleep(Duration::from_secs(3600))))
        .collect();
    green::thread::yield_now(); // every greenlet is now asleep
    let green = (rss_bytes() - before) / n;
    for h in &hs {
        h.kill();
    }
    for h in hs {
        let _ = h.join();
    }

    let m = 2_000;
    let stop = std::sync::Arc::new(std::sync::Barrier::new(m + 1));
    let before = rss_bytes();
    let hs: Vec<_> = (0..m)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                stop.wait();
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let std = (rss_bytes() - before) / m;
    stop.wait();
    for h in hs {
        h.join().unwrap();
    }
    println!(
        "{:<34} {:>10} {:>10} {:>10} {:>8.2}x",
        "RSS per idle sleeper (10k; std 2k)",
        format!("{:.1} KiB", green as f64 / 1024.0),
        format!("{:.1} KiB", tokio as f64 / 1024.0),
        format!("{:.1} KiB", std as f64 / 1024.0),
        green as f64 / tokio.max(1) as f64
    );
    green as f64
}

fn timers() {
    let n = 100_000;
    // Every sleeper wakes within 0..100 ms; the cost is arming, holding and
    // firing 100k timers plus the 100 ms itself, the same for both.
    let green = per_op(n, || {
        let hs: Vec<_> = (0..n)
            .map(|i| {
                green::thread::spawn(move || {
                    green::thread::sleep(Duration::from_millis((i % 100) as u64))
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
    });
    let rt = tokio_rt();
    let tokio = per_op(n, || {
        rt.block_on(async {
            let hs: Vec<_> = (0..n)
                .map(|i| tokio::spawn(tokio::time::sleep(Duration::from_millis((i % 100) as u64))))
                .collect();
            for h in hs {
                h.await.unwrap();
            }
        })
    });
    row("100k concurrent timers (per timer)", green, tokio, None);

    // The same 100 000 sleepers, each sleeping 10 times: after the first
    // round their stacks exist, so this is the steady-state cost of a timer.
    let rounds = 10;
    let green = per_op(n * rounds, || {
        let hs: Vec<_> = (0..n)
            .map(|i| {
                green::thread::spawn(move || {
                    for r in 0..rounds {
                        green::thread::sleep(Duration::from_millis(((i + r) % 10) as u64));
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
    });
    let tokio = per_op(n * rounds, || {
        rt.block_on(async {
            let hs: Vec<_> = (0..n)
                .map(|i| {
                    tokio::spawn(async move {
                        for r in 0..rounds {
                            tokio::time::sleep(Duration::from_millis(((i + r) % 10) as u64)).await;
                        }
                    })
                })
                .collect();
            for h in hs {
                h.await.unwrap();
            }
        })
    });
    row("100k sleepers x 10 sleeps (per sleep)", green, tokio, None);
}

/// Some CPU work: rounds of an xorshift.
fn work(seed: u64) -> u64 {
    let mut x = seed | 1;
    for _ in 0..200_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    x
}

fn all_cores() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let jobs = 256u64;
    let green = per_op(jobs as usize, || {
        green::runtime::Builder::new().workers(cores).run(|| {
            let hs: Vec<_> = (0..jobs)
                .map(|i| green::thread::spawn(move || work(i)))
                .collect();
            let x = hs.into_iter().fold(0, |a, h| a ^ h.join().unwrap());
            std::hint::black_box(x);
        })
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores)
        .build()
        .unwrap();
    let tokio = per_op(jobs as usize, || {
        rt.block_on(async {
            let hs: Vec<_> = (0..jobs)
                .map(|i| tokio::spawn(async move { work(i) }))
                .collect();
            let mut x = 0;
            for h in hs {
                x ^= h.await.unwrap();
            }
            std::hint::black_box(x);
        })
    });
    let name = format!("CPU jobs on {cores} hubs / threads");
    row(&name, green, tokio, None);
}

/// gevent's figures for the same cases, from `scripts/gevent_peer.py`, if
/// Python has gevent (`pip install gevent`).
fn gevent_peer(green: &[(&str, &str, f64)]) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/gevent_peer.py");
    let out = match std::process::Command::new("python3").arg(script).output() {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).into_owned(),
        _ => {
            println!("\n(gevent not measured: `pip install gevent` to compare with it)");
            return;
        }
    };
    let value = |key: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(key)?.trim().parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    println!(
        "\n{:<34} {:>10} {:>10} {:>12}",
        "same cases, gevent (Python)", "green", "gevent", "green/gevent"
    );
    for (what, key, g) in green {
        let peer = value(key);
        let (a, b) = if key.ends_with("bytes") {
            (
                format!("{:.1} KiB", g / 1024.0),
                format!("{:.1} KiB", peer / 1024.0),
            )
        } else {
            (
                fmt(Duration::from_nanos(*g as u64)),
                fmt(Duration::from_nanos(peer as u64)),
            )
        };
        println!("{what:<34} {a:>10} {b:>10} {:>11.3}x", g / peer);
    }
}

fn million() {
    let n = 1_000_000;
    let _raised = raise_map_count(2 * n + 100_000);
    let t = Instant::now();
    let before = rss_bytes();
    let hs: Vec<_> = (0..n)
        .map(|_| green::thread::spawn(|| green::thread::sleep(Duration::from_secs(3600))))
        .collect();
    green::thread::yield_now();
    let rss = rss_bytes() - before;
    let spawned = t.elapsed();
    println!(
        "{} greenlets asleep at once: spawned in {:.2?}, {:.1} KiB RSS each, {:.2} GiB in all",
        hs.len(),
        spawned,
        rss as f64 / n as f64 / 1024.0,
        rss as f64 / (1u64 << 30) as f64
    );
    let t = Instant::now();
    for h in &hs {
        h.kill();
    }
    for h in hs {
        let _ = h.join();
    }
    println!("killed and joined them in {:.2?}", t.elapsed());
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "million") {
        million();
        return;
    }
    // `cargo test --benches` runs this with --bench absent: keep it quick.
    if !args.iter().any(|a| a == "--bench") {
        println!("runtime bench: run with `cargo bench --bench runtime`");
        return;
    }
    // 100 000 sleeping greenlets need 200 000 memory maps; raised before the
    // hub starts, so its stack pool is sized for them too.
    let _raised = raise_map_count(250_000);
    println!(
        "{:<34} {:>10} {:>10} {:>10} {:>9}",
        "", "green", "tokio", "std", "green/tokio"
    );
    // Memory first, while the allocator holds no freed memory of the others.
    let rss = idle_memory();
    let spawn_one = spawn_join_one_at_a_time();
    let spawn_all = spawn_all_then_join();
    let switch = yield_switch();
    timers();
    all_cores();
    dump_100k();
    gevent_peer(&[
        ("RSS per idle sleeper", "idle_rss_bytes", rss),
        ("spawn+join, one at a time", "spawn_join_one_ns", spawn_one),
        (
            "spawn all, then join all",
            "spawn_all_then_join_ns",
            spawn_all,
        ),
        ("yield switch / sleep(0)", "yield_switch_ns", switch),
    ]);
}
