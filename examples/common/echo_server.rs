//! The echo server of `examples/echo.rs`, in a module file of its own so
//! that `tests/net_echo.rs` runs the very same code. It is written against
//! `std` only: `#[green::main]` in `echo.rs` patches it with the rest of
//! the crate, and the test includes it with `#[green::patch]`.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;

// ANCHOR: serve
/// Accepts connections forever, one thread (a greenlet) per client.
pub(crate) fn serve(listener: TcpListener) -> io::Result<()> {
    for stream in listener.incoming() {
        let stream = stream?;
        thread::spawn(move || {
            // A client that goes away mid-echo ends its thread only.
            let _ = echo(stream);
        });
    }
    Ok(())
}

/// Echoes what `stream` reads until EOF.
pub(crate) fn echo(mut stream: TcpStream) -> io::Result<()> {
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n])?;
    }
}
// ANCHOR_END: serve
