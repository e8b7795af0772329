//! An echo server with a free `handle_client`, and 100 clients.
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;

fn handle_client(mut stream: TcpStream) {
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => stream.write_all(&buf[..n]).unwrap(),
            Err(e) => panic!("read: {e}"),
        }
    }
}

fn serve(listener: TcpListener, clients: usize) {
    let mut handlers = Vec::new();
    for stream in listener.incoming().take(clients) {
        let stream = stream.unwrap();
        handlers.push(thread::spawn(move || handle_client(stream)));
    }
    for h in handlers {
        h.join().unwrap();
    }
}

fn client(addr: std::net::SocketAddr, i: usize) -> usize {
    let mut s = TcpStream::connect(addr).unwrap();
    let msg = format!("hello from client {i}\n");
    let mut echoed = 0;
    for _ in 0..20 {
        s.write_all(msg.as_bytes()).unwrap();
        let mut back = vec![0u8; msg.len()];
        s.read_exact(&mut back).unwrap();
        assert_eq!(back, msg.as_bytes());
        echoed += back.len();
        thread::sleep(std::time::Duration::from_millis(5));
    }
    echoed
}

fn main() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || serve(listener, 100));
    let clients: Vec<_> = (0..100)
        .map(|i| thread::spawn(move || client(addr, i)))
        .collect();
    let total: usize = clients.into_iter().map(|c| c.join().unwrap()).sum();
    server.join().unwrap();
    println!("clients: 100");
    println!("bytes echoed: {total}");
    println!("server: done");
}
