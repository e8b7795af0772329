//! A file module with a child module of its own (`net/codec.rs`).
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;

mod codec;

pub fn round_trip(msg: &str) -> Result<String, crate::AppError> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(|e| crate::AppError::Wrong(e.to_string()))?;
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let mut stream = stream;
        stream.write_all(codec::shout(&line).as_bytes()).unwrap();
    });
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.write_all(format!("{msg}\n").as_bytes()).unwrap();
    let mut reply = String::new();
    BufReader::new(stream).read_line(&mut reply).unwrap();
    server.join().unwrap();
    Ok(reply.trim().to_string())
}
