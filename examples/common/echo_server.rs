//! The echo server of `examples/echo.rs`, in a module of its own so that
//! `tests/net_echo.rs` runs the very same code.

use std::io::{self, Read, Write};

use green::net::{TcpListener, TcpStream};
use green::thread;

// ANCHOR: serve
/// Accepts connections forever, one greenlet per client.
pub(crate) fn serve(listener: TcpListener) -> io::Result<()> {
    for stream in listener.incoming() {
        let stream = stream?;
        thread::spawn(move || {
            // A client that goes away mid-echo ends its greenlet only.
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
