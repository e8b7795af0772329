//! The Rust book's multithreaded web server (chapter 21), as a std program:
//! a `ThreadPool` of workers that take jobs from an
//! `Arc<Mutex<mpsc::Receiver<Job>>>` (holding the lock while they wait in
//! `recv`), a TCP server that hands each connection to the pool, and a
//! graceful shutdown that drops the sender and joins every worker.
//!
//! `main` asserts the behaviour and returns a transcript of it, one line per
//! observable result, that must not depend on timing or scheduling (which
//! worker served which request does not go in).

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;

macro_rules! say {
    ($out:expr, $($arg:tt)*) => {
        writeln!($out, $($arg)*).unwrap()
    };
}

type Job = Box<dyn FnOnce() + Send + 'static>;

struct ThreadPool {
    workers: Vec<Worker>,
    sender: Option<mpsc::Sender<Job>>,
}

impl ThreadPool {
    fn new(size: usize) -> ThreadPool {
        assert!(size > 0);
        let (sender, receiver) = mpsc::channel();
        let receiver = Arc::new(Mutex::new(receiver));
        let workers = (0..size)
            .map(|id| Worker::new(id, Arc::clone(&receiver)))
            .collect();
        ThreadPool {
            workers,
            sender: Some(sender),
        }
    }

    fn execute<F: FnOnce() + Send + 'static>(&self, f: F) {
        self.sender.as_ref().unwrap().send(Box::new(f)).unwrap();
    }
}

impl Drop for ThreadPool {
    fn drop(&mut self) {
        drop(self.sender.take());
        for worker in self.workers.drain(..) {
            worker.thread.join().unwrap();
        }
    }
}

struct Worker {
    thread: thread::JoinHandle<usize>,
}

impl Worker {
    fn new(id: usize, receiver: Arc<Mutex<mpsc::Receiver<Job>>>) -> Worker {
        let thread = thread::Builder::new()
            .name(format!("worker-{id}"))
            .spawn(move || {
                let mut done = 0;
                loop {
                    // As in the book: the guard lives until the end of the
                    // statement, so the lock is held while `recv` waits.
                    let message = receiver.lock().unwrap().recv();
                    match message {
                        Ok(job) => {
                            job();
                            done += 1;
                        }
                        Err(_) => return done,
                    }
                }
            })
            .unwrap();
        Worker { thread }
    }
}

fn handle_connection(mut stream: TcpStream) {
    let mut reader = BufReader::new(&stream);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).unwrap();
    let (status, body) = if request_line.starts_with("GET / ") {
        ("HTTP/1.1 200 OK", "hello")
    } else {
        ("HTTP/1.1 404 NOT FOUND", "oops")
    };
    let response = format!("{status}\r\nContent-Length: {}\r\n\r\n{body}", body.len());
    stream.write_all(response.as_bytes()).unwrap();
}

pub(crate) fn main() -> String {
    let mut out = String::new();
    let requests = 64;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();

    let server = thread::spawn(move || {
        let pool = ThreadPool::new(4);
        let workers = pool.workers.len();
        let mut accepted = 0;
        for stream in listener.incoming().take(requests) {
            let stream = stream.unwrap();
            accepted += 1;
            pool.execute(|| handle_connection(stream));
        }
        // Dropping the pool shuts it down and joins the workers.
        drop(pool);
        (workers, accepted)
    });

    let clients: Vec<_> = (0..requests)
        .map(|i| {
            thread::spawn(move || {
                let mut s = TcpStream::connect(addr).unwrap();
                let path = if i % 2 == 0 { "/" } else { "/missing" };
                write!(s, "GET {path} HTTP/1.1\r\n\r\n").unwrap();
                let mut response = String::new();
                s.read_to_string(&mut response).unwrap();
                response
            })
        })
        .collect();
    for (i, c) in clients.into_iter().enumerate() {
        let response = c.join().unwrap();
        if i % 2 == 0 {
            assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
            assert!(response.ends_with("hello"), "{response}");
        } else {
            assert!(response.starts_with("HTTP/1.1 404"), "{response}");
        }
        say!(out, "request {i}: {response:?}");
    }
    let (workers, accepted) = server.join().unwrap();
    assert_eq!(accepted, requests);
    say!(
        out,
        "server: pool of {workers} workers served {accepted} connections and shut down"
    );
    out
}
