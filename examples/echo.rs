//! An echo server: one greenlet per client, echoing what it reads.
//!
//! ```text
//! cargo run --release --example echo -- 127.0.0.1:9000
//! ```
//!
//! An ordinary std program — `std::net`, `std::thread`, a module file —
//! with `#[green::main]` above `main`: every thread it spawns is a
//! greenlet. It serves until killed. `scripts/bench-echo.sh` measures it
//! against tokio and std threads.

// ANCHOR: main
use std::env;
use std::io;
use std::net::TcpListener;

#[path = "common/echo_server.rs"]
mod echo_server;

#[green::main]
fn main() -> io::Result<()> {
    let addr = env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9000".to_string());
    let listener = TcpListener::bind(&addr)?;
    eprintln!("echo: listening on {}", listener.local_addr()?);
    echo_server::serve(listener)
}
// ANCHOR_END: main
