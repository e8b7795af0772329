//! The client figure of issue 12: 2 000 GETs over keep-alive to a local
//! server, 200 at a time; process CPU (user + system, `getrusage`) of
//! green's client against reqwest's on tokio, in the same run.
//!
//! The server runs in a child process (this binary, re-run with
//! `--server`), so the CPU measured here is the clients' alone. It is a
//! small green HTTP/1.1 server (keep-alive, a 13-byte body), pinned to the
//! last core; the clients are pinned to the first. Both clients run on one
//! OS thread: green on the main thread's hub (`Pool::new(200).map`),
//! reqwest on a current-thread tokio runtime (a semaphore of 200 and a
//! task per request). Each client first warms its pool with one round
//! (200 connections), then the rounds alternate and the median is shown.
//!
//! `cargo bench --bench http_client [-- ROUNDS]`

use std::io::{self, BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const REQUESTS: usize = 2000;
const CONCURRENCY: usize = 200;
const BODY: &[u8] = b"Hello, World!";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--server") {
        server();
        return;
    }
    let rounds: usize = args
        .iter()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(7);
    let cores = available_cores();
    pin(0);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .arg("--server")
        .arg((cores - 1).to_string())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the server process");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = format!("http://{}/", line.trim());
    println!(
        "http client: {REQUESTS} GETs, {CONCURRENCY} at a time, keep-alive, to a server \
         process on core {}; clients on core 0; {rounds} rounds each (median)",
        cores - 1
    );

    // `green` or `reqwest` as an argument runs that client alone (for a
    // profiler).
    let only = |name: &str| {
        !args.iter().any(|a| a == "green" || a == "reqwest") || args.iter().any(|a| a == name)
    };
    let green = GreenBench::new(&url);
    let tokio = TokioBench::new(&url);
    green.round();
    tokio.round();
    let (mut g, mut t) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        if only("green") {
            g.push(measure(|| green.round()));
        }
        if only("reqwest") {
            t.push(measure(|| tokio.round()));
        }
    }
    if g.is_empty() || t.is_empty() {
        for (name, v) in [("green", g), ("reqwest", t)] {
            if !v.is_empty() {
                report(name, median(v));
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        return;
    }
    let g = median(g);
    let t = median(t);
    report("green (ureq on green sockets)", g);
    report("reqwest (tokio current_thread)", t);
    println!(
        "CPU green/reqwest: {:.2}x (target ≤ 0.8x), user CPU {:.2}x",
        g.cpu.as_secs_f64() / t.cpu.as_secs_f64(),
        g.user.as_secs_f64() / t.user.as_secs_f64()
    );
    let _ = child.kill();
    let _ = child.wait();
}

fn report(name: &str, m: Measure) {
    println!(
        "{name:32} wall {:7.1} ms  CPU {:7.1} ms  ({:5.1} µs CPU, {:5.1} µs user per request)",
        m.wall.as_secs_f64() * 1e3,
        m.cpu.as_secs_f64() * 1e3,
        m.cpu.as_secs_f64() * 1e6 / REQUESTS as f64,
        m.user.as_secs_f64() * 1e6 / REQUESTS as f64
    );
}

/// One round: wall time, process CPU time (user + system) and its user
/// part.
#[derive(Clone, Copy)]
struct Measure {
    wall: Duration,
    cpu: Duration,
    user: Duration,
}

/// The round with the median CPU time, and the median user time (each
/// its own median).
fn median(mut v: Vec<Measure>) -> Measure {
    v.sort_by_key(|m| m.user);
    let user = v[v.len() / 2].user;
    v.sort_by_key(|m| m.cpu);
    Measure {
        user,
        ..v[v.len() / 2]
    }
}

fn measure(f: impl FnOnce()) -> Measure {
    let (c0, t0) = (cpu_time(), Instant::now());
    f();
    let wall = t0.elapsed();
    let c1 = cpu_time();
    Measure {
        wall,
        cpu: (c1.0 + c1.1) - (c0.0 + c0.1),
        user: c1.0 - c0.0,
    }
}

/// The process's (user, system) CPU time.
fn cpu_time() -> (Duration, Duration) {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a whole `rusage` into the pointer it is
    // given, which points to one.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) };
    assert_eq!(rc, 0, "getrusage");
    // SAFETY: getrusage returned 0, so it initialised the struct (and the
    // struct was zeroed, a valid rusage, before).
    let usage = unsafe { usage.assume_init() };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    (tv(usage.ru_utime), tv(usage.ru_stime))
}

fn available_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Pins the calling thread (and the threads it starts later) to `core`.
fn pin(core: usize) {
    // SAFETY: a zeroed cpu_set_t is an empty set; CPU_SET writes inside it.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `core` is below the number of CPUs, well within the set.
    unsafe { libc::CPU_SET(core, &mut set) };
    // SAFETY: the set is initialised and its size is passed with it.
    let rc = unsafe { libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set) };
    if rc != 0 {
        eprintln!(
            "could not pin to core {core}: {}",
            io::Error::last_os_error()
        );
    }
}

struct GreenBench {
    client: green::http::Client,
    pool: green::pool::Pool,
    url: Arc<str>,
}

impl GreenBench {
    fn new(url: &str) -> GreenBench {
        GreenBench {
            client: green::http::Client::new(),
            pool: green::pool::Pool::new(CONCURRENCY),
            url: url.into(),
        }
    }

    fn round(&self) {
        let (client, url) = (self.client.clone(), self.url.clone());
        let sizes = self.pool.map(
            move |_| {
                let body = client.get(&url).send().unwrap().bytes().unwrap();
                body.len()
            },
            0..REQUESTS,
        );
        assert!(sizes.iter().all(|&n| n == BODY.len()));
    }
}

struct TokioBench {
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
    url: Arc<str>,
}

impl TokioBench {
    fn new(url: &str) -> TokioBench {
        TokioBench {
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            client: reqwest::Client::new(),
            url: url.into(),
        }
    }

    fn round(&self) {
        self.rt.block_on(async {
            let permits = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
            let mut tasks = tokio::task::JoinSet::new();
            for _ in 0..REQUESTS {
                let permit = permits.clone().acquire_owned().await.unwrap();
                let (client, url) = (self.client.clone(), self.url.clone());
                tasks.spawn(async move {
                    let body = client
                        .get(&*url)
                        .send()
                        .await
                        .unwrap()
                        .bytes()
                        .await
                        .unwrap();
                    drop(permit);
                    body.len()
                });
            }
            while let Some(n) = tasks.join_next().await {
                assert_eq!(n.unwrap(), BODY.len());
            }
        });
    }
}

/// The server process: green, one greenlet per connection, keep-alive,
/// `Hello, World!` to every request; prints its address, serves until
/// killed.
fn server() {
    let core: usize = std::env::args()
        .skip_while(|a| a != "--server")
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    pin(core);
    let listener = green::net::TcpListener::bind("127.0.0.1:0").unwrap();
    println!("{}", listener.local_addr().unwrap());
    io::stdout().flush().unwrap();
    for conn in listener.incoming() {
        let Ok(conn) = conn else { continue };
        green::thread::spawn(move || {
            let _ = serve(conn);
        });
    }
}

fn serve(conn: green::net::TcpStream) -> io::Result<()> {
    conn.set_nodelay(true)?;
    let mut out = conn.try_clone()?;
    let mut reader = BufReader::with_capacity(4096, conn);
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{}",
        BODY.len(),
        std::str::from_utf8(BODY).unwrap()
    );
    let mut line = String::new();
    loop {
        // Read one request head (GETs carry no body).
        let mut blank = false;
        let mut any = false;
        while !blank {
            line.clear();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            any = true;
            blank = line == "\r\n";
        }
        if any {
            out.write_all(response.as_bytes())?;
        }
    }
}
