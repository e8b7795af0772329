//! A web crawler in the shape of eventlet's `webcrawler.py`: a `Pool` of
//! 200 greenlets fetches many URLs with `imap`, each fetch a plain blocking
//! `green::http::get(url)` (eventlet's `urlopen(url).read()`). No internet
//! is needed: the example starts its own HTTP/1.1 server on `127.0.0.1:0`
//! (one thread per connection, keep-alive, 20 ms of "work" per page) and
//! crawls it; the client keeps its connections alive between pages.
//!
//! An ordinary std program under `#[green::main]`: only what std does not
//! have is named `green::`: the pool and the HTTP client.
//!
//! `cargo run --release --example crawler [PAGES]`

use std::env;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use green::pool::Pool;

// ANCHOR: server
/// Serves `GET /page/N` with a small page after a 20 ms pause, one
/// thread (a greenlet) per connection.
fn serve(listener: TcpListener) {
    for conn in listener.incoming() {
        let Ok(conn) = conn else { continue };
        thread::spawn(move || {
            let _ = handle(conn);
        });
    }
}

fn handle(conn: TcpStream) -> io::Result<()> {
    let mut out = conn.try_clone()?;
    let mut reader = BufReader::new(conn);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line)? == 0 {
            return Ok(()); // The client closed its kept-alive connection.
        }
        // Skip the headers.
        let mut line = String::new();
        while reader.read_line(&mut line)? > 2 {
            line.clear();
        }
        let path = request_line.split_whitespace().nth(1).unwrap_or("/");
        thread::sleep(Duration::from_millis(20));
        let body = format!(
            "<html><body><h1>{path}</h1>{}</body></html>\n",
            "lorem ipsum ".repeat(50)
        );
        // One write per response: pieces would meet Nagle's algorithm and
        // the client's delayed ACK on a kept-alive connection (40 ms).
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        out.write_all(response.as_bytes())?;
    }
}
// ANCHOR_END: server

// ANCHOR: fetch
/// Fetches `url` and returns its status and body size: eventlet's
/// `urlopen(url).read()`, green underneath.
fn fetch(url: String) -> io::Result<(u16, usize)> {
    let mut response = green::http::get(&url)?;
    let mut body = Vec::new();
    response.read_to_end(&mut body)?;
    Ok((response.status().as_u16(), body.len()))
}
// ANCHOR_END: fetch

#[green::main]
fn main() -> io::Result<()> {
    let pages: usize = env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(2000);
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr: SocketAddr = listener.local_addr()?;
    // The server runs until the process ends, as a std thread would.
    thread::spawn(move || serve(listener));
    println!("server on http://{addr}/, crawling {pages} pages with a pool of 200");

    // ANCHOR: crawl
    let urls: Vec<String> = (0..pages)
        .map(|i| format!("http://{addr}/page/{i}"))
        .collect();
    let pool = Pool::new(200);
    let t0 = Instant::now();
    let (mut ok, mut bytes) = (0, 0);
    for result in pool.imap(fetch, urls) {
        match result {
            Ok((200, body)) => {
                ok += 1;
                bytes += body;
            }
            Ok((status, _)) => eprintln!("unexpected status: {status}"),
            Err(e) => eprintln!("fetch failed: {e}"),
        }
    }
    let took = t0.elapsed();
    // ANCHOR_END: crawl
    println!(
        "fetched {ok}/{pages} pages, {bytes} bytes, in {took:?} \
         ({:.0} pages/s; one at a time would take {:?})",
        ok as f64 / took.as_secs_f64(),
        Duration::from_millis(20) * pages as u32,
    );
    assert_eq!(ok, pages, "every page was fetched");
    Ok(())
}
