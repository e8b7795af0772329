//! Drives the echo server of `examples/echo.rs` (the same module, included
//! here) with 50 clients doing 64-byte ping-pong, as the benchmark does.

use std::io::{Read, Write};

use green::net::{TcpListener, TcpStream};
use green::thread;

// The module is written against std; `#[green::patch]` (its file-module
// form) makes it green, as `#[green::main]` does in the example.
#[green::patch]
#[path = "../examples/common/echo_server.rs"]
mod echo_server {}

#[test]
fn echo_example_serves_many_clients() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || echo_server::serve(listener));
    let clients: Vec<_> = (0..50u8)
        .map(|i| {
            thread::spawn(move || {
                let mut c = TcpStream::connect(addr).unwrap();
                let msg = [i; 64];
                let mut back = [0u8; 64];
                for _ in 0..200 {
                    c.write_all(&msg).unwrap();
                    c.read_exact(&mut back).unwrap();
                    assert_eq!(back, msg);
                }
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    // The server serves until killed.
    assert!(!server.is_finished());
    server.kill();
    assert!(thread::is_greenlet_exit(&*server.join().unwrap_err()));
}
