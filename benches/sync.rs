//! green::sync and the toolkit side by side with tokio and std, in one run.
//!
//! `cargo bench --bench sync` prints one table: channel ping-pong, a
//! contended mutex, and `Pool::map` over 100 000 trivial jobs, each against
//! tokio (current_thread runtime) and std on OS threads where that makes
//! sense. Each figure is the best of several runs.

use std::hint::black_box;
use std::time::{Duration, Instant};

use green::pool::Pool;
use green::sync::{Arc, Mutex, mpsc};
use green::thread;

const RUNS: usize = 7;
const PINGS: u32 = 100_000;
const TASKS: usize = 100;
const INCREMENTS: usize = 1_000;
const JOBS: u64 = 100_000;

/// Best times of `RUNS` rounds, each running every contender once in turn
/// (so load from other processes hits them alike).
fn best<const N: usize>(mut fs: [&mut dyn FnMut() -> Duration; N]) -> [Duration; N] {
    let mut best = [Duration::MAX; N];
    for _ in 0..RUNS {
        for (f, b) in fs.iter_mut().zip(best.iter_mut()) {
            *b = (*b).min(f());
        }
    }
    best
}

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// A ping-pong between two greenlets over a pair of channels; `send` is
/// `Sender::send` or `SyncSender::send`.
fn green_pong<S: Send + 'static>(
    (tx1, rx1): (S, mpsc::Receiver<u32>),
    (tx2, rx2): (S, mpsc::Receiver<u32>),
    send: fn(&S, u32),
) -> Duration {
    let echo = thread::spawn(move || {
        for v in rx1.iter() {
            send(&tx2, v);
        }
    });
    let driver = thread::spawn(move || {
        let t0 = Instant::now();
        for i in 0..PINGS {
            send(&tx1, i);
            black_box(rx2.recv().unwrap());
        }
        t0.elapsed()
    });
    let d = driver.join().unwrap();
    echo.join().unwrap();
    d
}

fn green_ping_pong() -> Duration {
    green_pong(mpsc::channel(), mpsc::channel(), |s, v| s.send(v).unwrap())
}

/// The same with the two greenlets on two hubs (consecutive spawns are
/// placed on different hubs): every hand-over wakes the other hub.
fn green_ping_pong_two_hubs() -> Duration {
    green::runtime::Builder::new()
        .workers(2)
        .run(green_ping_pong)
}

/// The same round trip over bounded channels of capacity 1.
fn green_bounded_ping_pong() -> Duration {
    green_pong(mpsc::sync_channel(1), mpsc::sync_channel(1), |s, v| {
        s.send(v).unwrap()
    })
}

/// The same between two OS threads (a tenth of the rounds, scaled: each
/// costs a futex wake-up and sleep).
fn std_pong<S: Send + 'static>(
    (tx1, rx1): (S, std::sync::mpsc::Receiver<u32>),
    (tx2, rx2): (S, std::sync::mpsc::Receiver<u32>),
    send: fn(&S, u32),
) -> Duration {
    let echo = std::thread::spawn(move || {
        for v in rx1.iter() {
            send(&tx2, v);
        }
    });
    let n = PINGS / 10;
    let t0 = Instant::now();
    for i in 0..n {
        send(&tx1, i);
        black_box(rx2.recv().unwrap());
    }
    let d = t0.elapsed() * 10;
    drop(tx1);
    echo.join().unwrap();
    d
}

fn std_ping_pong() -> Duration {
    use std::sync::mpsc::channel;
    std_pong(channel(), channel(), |s, v| s.send(v).unwrap())
}

fn std_bounded_ping_pong() -> Duration {
    use std::sync::mpsc::sync_channel;
    std_pong(sync_channel(1), sync_channel(1), |s, v| s.send(v).unwrap())
}

/// The runtime's floor under a ping-pong: two greenlets handing a turn
/// back and forth with bare `park`/`unpark`, no channel.
fn green_park_pong() -> Duration {
    use green::sync::atomic::{AtomicU32, Ordering};
    let turn = Arc::new(AtomicU32::new(0));
    let (to_driver, from_echo) = mpsc::channel::<thread::Thread>();
    let t2 = turn.clone();
    let echo = thread::spawn(move || {
        let driver = from_echo.recv().unwrap();
        for i in 0..PINGS {
            while t2.load(Ordering::Acquire) != 2 * i + 1 {
                thread::park();
            }
            t2.store(2 * i + 2, Ordering::Release);
            driver.unpark();
        }
    });
    let echo_thread = echo.thread().clone();
    let driver = thread::spawn(move || {
        to_driver.send(thread::current()).unwrap();
        let t0 = Instant::now();
        for i in 0..PINGS {
            turn.store(2 * i + 1, Ordering::Release);
            echo_thread.unpark();
            while turn.load(Ordering::Acquire) != 2 * i + 2 {
                thread::park();
            }
        }
        t0.elapsed()
    });
    let d = driver.join().unwrap();
    echo.join().unwrap();
    d
}

fn tokio_ping_pong(rt: &tokio::runtime::Runtime) -> Duration {
    rt.block_on(async {
        let (tx1, mut rx1) = tokio::sync::mpsc::unbounded_channel::<u32>();
        let (tx2, mut rx2) = tokio::sync::mpsc::unbounded_channel::<u32>();
        let echo = tokio::spawn(async move {
            while let Some(v) = rx1.recv().await {
                tx2.send(v).unwrap();
            }
        });
        let driver = tokio::spawn(async move {
            let t0 = Instant::now();
            for i in 0..PINGS {
                tx1.send(i).unwrap();
                black_box(rx2.recv().await.unwrap());
            }
            t0.elapsed()
        });
        let d = driver.await.unwrap();
        echo.await.unwrap();
        d
    })
}

fn tokio_bounded_ping_pong(rt: &tokio::runtime::Runtime) -> Duration {
    rt.block_on(async {
        let (tx1, mut rx1) = tokio::sync::mpsc::channel::<u32>(1);
        let (tx2, mut rx2) = tokio::sync::mpsc::channel::<u32>(1);
        let echo = tokio::spawn(async move {
            while let Some(v) = rx1.recv().await {
                tx2.send(v).await.unwrap();
            }
        });
        let driver = tokio::spawn(async move {
            let t0 = Instant::now();
            for i in 0..PINGS {
                tx1.send(i).await.unwrap();
                black_box(rx2.recv().await.unwrap());
            }
            t0.elapsed()
        });
        let d = driver.await.unwrap();
        echo.await.unwrap();
        d
    })
}

fn green_mutex() -> Duration {
    let m = Arc::new(Mutex::new(0usize));
    let t0 = Instant::now();
    let hs: Vec<_> = (0..TASKS)
        .map(|_| {
            let m = m.clone();
            thread::spawn(move || {
                for _ in 0..INCREMENTS {
                    let mut g = m.lock().unwrap();
                    *g += 1;
                    // Switch while holding it: every other task queues.
                    thread::yield_now();
                }
            })
        })
        .collect();
    hs.into_iter().for_each(|h| h.join().unwrap());
    let d = t0.elapsed();
    assert_eq!(*m.lock().unwrap(), TASKS * INCREMENTS);
    d
}

fn tokio_mutex(rt: &tokio::runtime::Runtime) -> Duration {
    rt.block_on(async {
        let m = Arc::new(tokio::sync::Mutex::new(0usize));
        let t0 = Instant::now();
        let hs: Vec<_> = (0..TASKS)
            .map(|_| {
                let m = m.clone();
                tokio::spawn(async move {
                    for _ in 0..INCREMENTS {
                        let mut g = m.lock().await;
                        *g += 1;
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        for h in hs {
            h.await.unwrap();
        }
        let d = t0.elapsed();
        assert_eq!(*m.lock().await, TASKS * INCREMENTS);
        d
    })
}

fn std_mutex() -> Duration {
    let threads = 4;
    let per = TASKS * INCREMENTS / threads;
    let m = Arc::new(std::sync::Mutex::new(0usize));
    let t0 = Instant::now();
    let hs: Vec<_> = (0..threads)
        .map(|_| {
            let m = m.clone();
            std::thread::spawn(move || {
                for _ in 0..per {
                    *m.lock().unwrap() += 1;
                }
            })
        })
        .collect();
    hs.into_iter().for_each(|h| h.join().unwrap());
    t0.elapsed()
}

fn green_pool_map(pool: &Pool) -> Duration {
    let t0 = Instant::now();
    let out = pool.map(|x: u64| black_box(x * 2), 0..JOBS);
    let d = t0.elapsed();
    assert_eq!(out.len() as u64, JOBS);
    d
}

fn green_pool_spawn(pool: &Pool) -> Duration {
    let t0 = Instant::now();
    for x in 0..JOBS {
        pool.spawn(move || black_box(x * 2));
    }
    pool.join();
    t0.elapsed()
}

fn tokio_joinset(rt: &tokio::runtime::Runtime) -> Duration {
    rt.block_on(async {
        let t0 = Instant::now();
        let mut set = tokio::task::JoinSet::new();
        for x in 0..JOBS {
            set.spawn(async move { black_box(x * 2) });
        }
        let mut n = 0;
        while let Some(r) = set.join_next().await {
            black_box(r.unwrap());
            n += 1;
        }
        assert_eq!(n, JOBS);
        t0.elapsed()
    })
}

fn per(d: Duration, n: u64) -> String {
    format!("{:>10.1} ns", d.as_nanos() as f64 / n as f64)
}

fn row(name: &str, green: Duration, tokio: Duration, std: Option<Duration>, n: u64, unit: &str) {
    println!(
        "{name:<36} {} {} {} {:>8.2}x   per {unit}",
        per(green, n),
        per(tokio, n),
        std.map(|s| per(s, n))
            .unwrap_or_else(|| format!("{:>13}", "-")),
        green.as_secs_f64() / tokio.as_secs_f64(),
    );
}

fn main() {
    // `SYNC_BENCH=ping|mutex|map` runs one green benchmark alone (for
    // profiling under callgrind).
    if let Ok(which) = std::env::var("SYNC_BENCH") {
        let pool = Pool::new(1000);
        let d = match which.as_str() {
            "ping" => green_ping_pong(),
            "mutex" => green_mutex(),
            "map" => green_pool_map(&pool),
            _ => panic!("SYNC_BENCH: expected ping, mutex or map"),
        };
        println!("{which}: {d:?}");
        return;
    }
    let rt = tokio_rt();
    println!(
        "{:<36} {:>13} {:>13} {:>13} {:>9}",
        "benchmark (best of 7, interleaved)", "green", "tokio", "std", "green/tokio"
    );
    let [g, t, s, floor] = best([
        &mut green_ping_pong,
        &mut || tokio_ping_pong(&rt),
        &mut std_ping_pong,
        &mut green_park_pong,
    ]);
    let n = PINGS as u64;
    row(
        "channel ping-pong round trip",
        g,
        t,
        Some(s),
        n,
        "round trip",
    );
    row(
        "  floor: bare park/unpark pong",
        floor,
        t,
        None,
        n,
        "round trip",
    );

    let mt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let [g, t] = best([&mut green_ping_pong_two_hubs, &mut || tokio_ping_pong(&mt)]);
    row("ping-pong, 2 hubs / 2 workers", g, t, None, n, "round trip");
    drop(mt);

    let [g, t, s] = best([
        &mut green_bounded_ping_pong,
        &mut || tokio_bounded_ping_pong(&rt),
        &mut std_bounded_ping_pong,
    ]);
    row(
        "bounded (capacity 1) ping-pong",
        g,
        t,
        Some(s),
        n,
        "round trip",
    );

    let [g, t, s] = best([&mut green_mutex, &mut || tokio_mutex(&rt), &mut std_mutex]);
    let n = (TASKS * INCREMENTS) as u64;
    row("contended Mutex, 100 tasks", g, t, Some(s), n, "increment");

    let pool = Pool::new(1000);
    let [g, g2, t] = best([
        &mut || green_pool_map(&pool),
        &mut || green_pool_spawn(&pool),
        &mut || tokio_joinset(&rt),
    ]);
    row("Pool::map vs JoinSet, 100k jobs", g, t, None, JOBS, "job");
    let g = g2;
    row("Pool::spawn per job vs JoinSet", g, t, None, JOBS, "job");
    println!(
        "\nfloor: the same round trip with bare park/unpark, no channel (the\n\
         runtime's two switches through the hub); compared with tokio's channel.\n\
         2 hubs: the greenlets on two hubs (OS threads), each hand-over a\n\
         wake-up of the other; tokio: multi_thread runtime with 2 workers, which\n\
         usually runs the two tasks on one worker (its LIFO slot).\n\
         std: ping-pong between two OS threads; Mutex: 4 OS threads, no yield.\n\
         Pool::map runs at most `size` (1000) jobs at once on worker greenlets;\n\
         Pool::spawn per job spawns one greenlet per job through the pool."
    );
}
