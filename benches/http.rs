//! The HTTP server figure: hello world served by green (the ordinary
//! handler, and `green-raw` the raw one), hyper (tokio
//! current_thread), actix-web (1 worker) and may_minihttp (1 worker), each
//! pinned to CPU 0, loaded from CPU 1 by the same generator (50 keep-alive
//! connections; requests one at a time, then pipelined 16 deep). The
//! server's user and system CPU (utime, stime from /proc/PID/stat) over a
//! fixed run is divided by the requests answered.
//!
//! ```text
//! cargo bench --bench http            # or scripts/bench-http.sh
//! HTTP_BENCH_SECS=5 HTTP_BENCH_ROUNDS=3 HTTP_BENCH_CONNS=50 HTTP_BENCH_PORT=19300
//! HTTP_BENCH_PEERS=green,hyper HTTP_BENCH_DEPTHS=1   # a quicker subset
//! ```
//!
//! The same binary is every server (`http serve NAME ADDR`) and the load
//! generator (`http load ADDR CONNS SECS DEPTH`), so all are built in the
//! same run with the same profile.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const HELLO: &[u8] = b"Hello, World!";
const PEERS: &[&str] = &["green", "green-raw", "hyper", "actix", "may"];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("serve") => serve(&args[2], &args[3]),
        Some("load") => {
            let n = load(
                args[2].parse().expect("addr"),
                args[3].parse().expect("conns"),
                Duration::from_secs_f64(args[4].parse().expect("secs")),
                args[5].parse().expect("depth"),
            );
            println!("{n}");
        }
        _ => orchestrate(),
    }
}

// ---------------------------------------------------------------- servers

fn serve(name: &str, addr: &str) {
    match name {
        "green" => serve_green(addr),
        "green-raw" => serve_green_raw(addr),
        "hyper" => serve_hyper(addr),
        "actix" => serve_actix(addr),
        "may" => serve_may(addr),
        _ => panic!("unknown server {name}; expected one of {PEERS:?}"),
    }
}

/// The handler of examples/http_hello.rs.
fn serve_green(addr: &str) {
    use green::http::server::{Body, Request, Response, Server, header};
    fn hello(_req: Request<Body>) -> Response<&'static str> {
        Response::builder()
            .header(header::CONTENT_TYPE, "text/plain")
            .body("Hello, World!")
            .unwrap()
    }
    green::runtime::Builder::new().run(|| {
        Server::bind(addr)
            .expect("bind")
            .serve_forever(hello)
            .expect("serve")
    });
}

/// The handler of examples/http_raw.rs: hello world through the raw API
/// (as may_minihttp's bench: the head borrowed, the response written into
/// the output buffer).
fn serve_green_raw(addr: &str) {
    use green::http::server::{HeaderValue, RawRequest, RawResponse, Server, header};
    const TEXT_PLAIN: HeaderValue = HeaderValue::from_static("text/plain");
    fn hello(_req: &mut RawRequest<'_>, res: &mut RawResponse<'_>) {
        res.typed_header(&header::CONTENT_TYPE, &TEXT_PLAIN);
        res.body(HELLO);
    }
    green::runtime::Builder::new().run(|| {
        Server::bind(addr)
            .expect("bind")
            .serve_raw_forever(hello)
            .expect("serve")
    });
}

fn serve_hyper(addr: &str) {
    use http_body_util::Full;
    use hyper::body::Bytes;
    use hyper::service::service_fn;
    let addr: SocketAddr = addr.parse().expect("addr");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let io = hyper_util::rt::TokioIo::new(stream);
            tokio::task::spawn(async move {
                let svc = service_fn(|_req| async {
                    Ok::<_, std::convert::Infallible>(
                        hyper::Response::builder()
                            .header("content-type", "text/plain")
                            .body(Full::new(Bytes::from_static(HELLO)))
                            .unwrap(),
                    )
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .pipeline_flush(true)
                    .serve_connection(io, svc)
                    .await;
            });
        }
    });
}

fn serve_actix(addr: &str) {
    use actix_web::{App, HttpResponse, HttpServer, web};
    let addr = addr.to_string();
    actix_web::rt::System::new()
        .block_on(async move {
            HttpServer::new(|| {
                App::new().default_service(web::to(|| async {
                    HttpResponse::Ok().content_type("text/plain").body(HELLO)
                }))
            })
            .workers(1)
            .bind(addr)?
            .run()
            .await
        })
        .expect("actix");
}

fn serve_may(addr: &str) {
    use may_minihttp::{HttpServer, HttpService, Request, Response};
    #[derive(Clone)]
    struct Hello;
    impl HttpService for Hello {
        fn call(&mut self, _req: Request<'_, '_, '_>, rsp: &mut Response<'_>) -> io::Result<()> {
            rsp.header("Content-Type: text/plain");
            rsp.body("Hello, World!");
            Ok(())
        }
    }
    may::config().set_workers(1);
    let server = HttpServer(Hello).start(addr).expect("may_minihttp");
    server.wait();
}

// ------------------------------------------------------------ load generator

/// `conns` keep-alive connections, each sending `depth` requests at a time
/// and reading their responses, for `dur`; returns the responses read.
fn load(addr: SocketAddr, conns: usize, dur: Duration, depth: usize) -> u64 {
    let total = Arc::new(AtomicU64::new(0));
    green::runtime::Builder::new().run(|| {
        let deadline = Instant::now() + dur;
        let handles: Vec<_> = (0..conns)
            .map(|_| {
                let total = total.clone();
                green::thread::spawn(move || {
                    let n = client(addr, deadline, depth).unwrap_or_else(|e| {
                        eprintln!("load: {e}");
                        0
                    });
                    total.fetch_add(n, Ordering::Relaxed);
                })
            })
            .collect();
        for h in handles {
            let _ = h.join();
        }
    });
    total.load(Ordering::Relaxed)
}

fn client(addr: SocketAddr, deadline: Instant, depth: usize) -> io::Result<u64> {
    let mut s = green::net::TcpStream::connect(addr)?;
    s.set_nodelay(true)?;
    let req = format!("GET / HTTP/1.1\r\nHost: {addr}\r\n\r\n").repeat(depth);
    let mut buf = vec![0u8; 64 * 1024];
    let (mut start, mut end) = (0, 0);
    let mut done = 0u64;
    while Instant::now() < deadline {
        s.write_all(req.as_bytes())?;
        let mut got = 0;
        while got < depth {
            // Parse what is buffered; read more when a response is partial.
            let mut hs = [httparse::EMPTY_HEADER; 16];
            let mut r = httparse::Response::new(&mut hs);
            match r.parse(&buf[start..end]) {
                Ok(httparse::Status::Complete(head)) => {
                    let len = r
                        .headers
                        .iter()
                        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                        .and_then(|h| std::str::from_utf8(h.value).ok()?.parse::<usize>().ok())
                        .ok_or_else(|| io::Error::other("no content-length"))?;
                    if r.code != Some(200) {
                        return Err(io::Error::other(format!("status {:?}", r.code)));
                    }
                    if end - start >= head + len {
                        start += head + len;
                        got += 1;
                        continue;
                    }
                }
                Ok(httparse::Status::Partial) => {}
                Err(e) => return Err(io::Error::other(e)),
            }
            if start > 0 {
                buf.copy_within(start..end, 0);
                end -= start;
                start = 0;
            }
            let n = s.read(&mut buf[end..])?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            end += n;
        }
        done += depth as u64;
    }
    Ok(done)
}

// --------------------------------------------------------------- the figure

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// (utime, stime) of `pid`, in clock ticks.
fn cpu_ticks(pid: u32) -> (u64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/PID/stat");
    let after = &stat[stat.rfind(')').expect("comm") + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat(5); `after` starts at field 3.
    (f[11].parse().unwrap(), f[12].parse().unwrap())
}

fn clk_tck() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok()?.trim().parse().ok())
        .unwrap_or(100.0)
}

fn pinned(cpu: &str, pin: bool, args: &[&str]) -> Command {
    let exe = std::env::current_exe().expect("current_exe");
    if pin {
        let mut c = Command::new("taskset");
        c.arg("-c").arg(cpu).arg(exe).args(args);
        c
    } else {
        let mut c = Command::new(exe);
        c.args(args);
        c
    }
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[derive(Clone, Copy)]
struct Sample {
    user_us: f64,
    total_us: f64,
    rps: f64,
}

fn measure(name: &str, port: u16, depth: usize, pin: bool) -> Option<Sample> {
    let conns: usize = env("HTTP_BENCH_CONNS", 50);
    let secs: f64 = env("HTTP_BENCH_SECS", 5.0);
    let addr = format!("127.0.0.1:{port}");
    let child = pinned("0", pin, &["serve", name, &addr])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let server = Server(child);
    let pid = server.0.id();
    // Wait until it listens.
    let t0 = Instant::now();
    while std::net::TcpStream::connect(&addr).is_err() {
        if t0.elapsed() > Duration::from_secs(10) {
            eprintln!("bench http: {name} did not listen on {addr}");
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let run = |secs: f64| -> Option<u64> {
        let out = pinned(
            "1",
            pin,
            &[
                "load",
                &addr,
                &conns.to_string(),
                &secs.to_string(),
                &depth.to_string(),
            ],
        )
        .stderr(Stdio::inherit())
        .output()
        .ok()?;
        String::from_utf8(out.stdout).ok()?.trim().parse().ok()
    };
    run(1.0)?; // warm-up
    let (u0, s0) = cpu_ticks(pid);
    let n = run(secs)?;
    let (u1, s1) = cpu_ticks(pid);
    drop(server);
    if n == 0 {
        return None;
    }
    let tck = clk_tck();
    let us = |ticks: u64| ticks as f64 / tck * 1e6 / n as f64;
    Some(Sample {
        user_us: us(u1 - u0),
        total_us: us((u1 - u0) + (s1 - s0)),
        rps: n as f64 / secs,
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn orchestrate() {
    let rounds: usize = env("HTTP_BENCH_ROUNDS", 3);
    let port: u16 = env("HTTP_BENCH_PORT", 19300);
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let pin = cpus >= 2
        && Command::new("taskset")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success());
    if !pin {
        eprintln!("bench http: not pinned (needs taskset and 2 CPUs); figures are noisier");
    }
    println!(
        "# HTTP hello world, {} keep-alive connections, {} s x {rounds} rounds; server on CPU 0, load on CPU 1",
        env("HTTP_BENCH_CONNS", 50),
        env("HTTP_BENCH_SECS", 5.0)
    );
    println!("# depth server   user-us/req  total-us/req     req/s   (medians)");
    let peers: Vec<String> = std::env::var("HTTP_BENCH_PEERS")
        .map(|v| v.split(',').map(str::to_string).collect())
        .unwrap_or_else(|_| PEERS.iter().map(|p| p.to_string()).collect());
    let depths: Vec<usize> = std::env::var("HTTP_BENCH_DEPTHS")
        .ok()
        .map(|v| v.split(',').filter_map(|d| d.parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 16]);
    for depth in depths {
        let mut results: Vec<(&str, Vec<Sample>)> =
            peers.iter().map(|p| (p.as_str(), Vec::new())).collect();
        for _ in 0..rounds {
            for (i, (name, samples)) in results.iter_mut().enumerate() {
                if let Some(s) = measure(name, port + i as u16, depth, pin) {
                    samples.push(s);
                }
            }
        }
        let mut med = Vec::new();
        for (name, samples) in &results {
            if samples.is_empty() {
                println!("{depth:>7} {name:<9} did not run");
                continue;
            }
            let u = median(samples.iter().map(|s| s.user_us).collect());
            let t = median(samples.iter().map(|s| s.total_us).collect());
            let r = median(samples.iter().map(|s| s.rps).collect());
            println!("{depth:>7} {name:<9} {u:>11.3} {t:>13.3} {r:>10.0}");
            med.push((*name, u, t));
        }
        for mine in ["green", "green-raw"] {
            let Some((_, gu, gt)) = med.iter().find(|m| m.0 == mine).copied() else {
                continue;
            };
            for (name, u, t) in &med {
                if !name.starts_with("green") {
                    println!(
                        "{depth:>7} {mine}/{name:<6} user {:.2}x  total {:.2}x",
                        gu / u,
                        gt / t
                    );
                }
            }
        }
    }
}
