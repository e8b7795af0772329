//! An inline module that uses its parent's imports and helpers through
//! `use super::*` beside imports of its own: under the attributes, the
//! module and the helper beside `main` must agree on `TcpStream`.
use std::io::{Read, Write};
use std::net::TcpStream;

fn echo(mut s: TcpStream) -> usize {
    let mut b = [0u8; 16];
    let n = s.read(&mut b).unwrap();
    s.write_all(&b[..n]).unwrap();
    n
}

#[green::patch]
mod server {
    use super::*;
    use std::net::TcpListener;
    use std::thread;

    pub fn serve(l: TcpListener, clients: usize) -> usize {
        let mut handlers = Vec::new();
        for _ in 0..clients {
            let (s, _) = l.accept().unwrap();
            handlers.push(thread::spawn(move || echo(s)));
        }
        handlers.into_iter().map(|h| h.join().unwrap()).sum()
    }
}

#[green::main]
fn main() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let a = l.local_addr().unwrap();
    let clients: Vec<_> = (0..20)
        .map(|i| {
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(a).unwrap();
                let msg = format!("ping {i:02}");
                s.write_all(msg.as_bytes()).unwrap();
                let mut b = vec![0u8; msg.len()];
                s.read_exact(&mut b).unwrap();
                std::thread::sleep(std::time::Duration::from_millis(50));
                String::from_utf8(b).unwrap() == msg
            })
        })
        .collect();
    let echoed = server::serve(l, 20);
    let ok = clients
        .into_iter()
        .map(|c| c.join().unwrap())
        .filter(|&ok| ok)
        .count();
    println!("echoed bytes: {echoed}");
    println!("clients: {ok}");
    println!("done");
}
