//! An echo server: one greenlet per client, echoing what it reads.
//!
//! ```text
//! cargo run --release --example echo -- 127.0.0.1:9000
//! ```
//!
//! It serves until killed. `scripts/bench-echo.sh` measures it against
//! tokio and std threads.

// ANCHOR: main
#[path = "common/echo_server.rs"]
mod echo_server;

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9000".to_string());
    let listener = green::net::TcpListener::bind(&addr)?;
    eprintln!("echo: listening on {}", listener.local_addr()?);
    echo_server::serve(listener)
}
// ANCHOR_END: main
