//! The echo server of `examples/echo.rs` with no runtime at all: one
//! io_uring, one loop, each connection's receive and send submitted as
//! ring entries, all of a batch in one `io_uring_enter`. It spends almost
//! nothing in user space and makes fewer system calls than any
//! readiness-based server, so `scripts/bench-echo.sh` runs it as the floor:
//! what the kernel's loopback TCP costs per message on this machine.
//!
//! ```text
//! echo_uring [ADDR=127.0.0.1:9003]
//! ```

use std::net::TcpListener;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use io_uring::{IoUring, cqueue, opcode, types};

const BUF: usize = 4096;
const OP_RECV: u64 = 0;
const OP_SEND: u64 = 1;
const ACCEPT: u64 = u64::MAX;

/// A connection: its socket and the buffer its one operation in flight
/// (a receive, or the send of what was received) uses.
struct Conn {
    fd: OwnedFd,
    buf: Box<[u8; BUF]>,
    /// Bytes received and not yet sent back, and how many of them went.
    len: usize,
    sent: usize,
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9003".to_string());
    let listener = TcpListener::bind(&addr)?;
    eprintln!("echo_uring: listening on {}", listener.local_addr()?);
    let mut ring = IoUring::builder()
        .setup_single_issuer()
        .setup_defer_taskrun()
        .build(4096)?;
    let mut conns: Vec<Option<Conn>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut done: Vec<(u64, i32, u32)> = Vec::new();
    let accept = opcode::AcceptMulti::new(types::Fd(listener.as_raw_fd()))
        .build()
        .user_data(ACCEPT);
    // SAFETY: the entry refers to the listener only, which outlives the ring.
    unsafe { ring.submission().push(&accept) }.expect("room for accept");
    loop {
        ring.submit_and_wait(1)?;
        done.extend(
            ring.completion()
                .map(|c: cqueue::Entry| (c.user_data(), c.result(), c.flags())),
        );
        for (data, res, flags) in done.drain(..) {
            if data == ACCEPT {
                if !cqueue::more(flags) {
                    // SAFETY: as above.
                    unsafe { ring.submission().push(&accept) }.expect("room for accept");
                }
                if res < 0 {
                    continue;
                }
                // SAFETY: a successful accept completion is a new
                // descriptor that nothing else owns.
                let fd = unsafe { OwnedFd::from_raw_fd(res) };
                let conn = Conn {
                    fd,
                    buf: Box::new([0; BUF]),
                    len: 0,
                    sent: 0,
                };
                let i = match free.pop() {
                    Some(i) => {
                        conns[i] = Some(conn);
                        i
                    }
                    None => {
                        conns.push(Some(conn));
                        conns.len() - 1
                    }
                };
                push_recv(&mut ring, i, conns[i].as_mut().expect("new"));
                continue;
            }
            let i = (data >> 1) as usize;
            let conn = conns[i].as_mut().expect("connection with an operation");
            let next = match data & 1 {
                OP_RECV if res > 0 => {
                    conn.len = res as usize;
                    conn.sent = 0;
                    OP_SEND
                }
                OP_SEND if res >= 0 => {
                    conn.sent += res as usize;
                    if conn.sent < conn.len {
                        OP_SEND
                    } else {
                        OP_RECV
                    }
                }
                // EOF or an error: nothing is in flight for this
                // connection any more, so its buffer can go.
                _ => {
                    conns[i] = None;
                    free.push(i);
                    continue;
                }
            };
            if next == OP_SEND {
                push_send(&mut ring, i, conn);
            } else {
                push_recv(&mut ring, i, conn);
            }
        }
    }
}

fn push_recv(ring: &mut IoUring, i: usize, conn: &mut Conn) {
    let e = opcode::Recv::new(
        types::Fd(conn.fd.as_raw_fd()),
        conn.buf.as_mut_ptr(),
        BUF as u32,
    )
    .build()
    .user_data((i as u64) << 1 | OP_RECV);
    submit(ring, &e);
}

fn push_send(ring: &mut IoUring, i: usize, conn: &mut Conn) {
    let rest = &conn.buf[conn.sent..conn.len];
    let e = opcode::Send::new(
        types::Fd(conn.fd.as_raw_fd()),
        rest.as_ptr(),
        rest.len() as u32,
    )
    .build()
    .user_data((i as u64) << 1 | OP_SEND);
    submit(ring, &e);
}

fn submit(ring: &mut IoUring, e: &io_uring::squeue::Entry) {
    loop {
        // SAFETY: the entry's socket and buffer belong to a connection
        // that is dropped only once this, its one operation in flight, has
        // completed (see the EOF/error arm in `main`); the boxed buffer
        // does not move when `conns` grows.
        if unsafe { ring.submission().push(e) }.is_ok() {
            return;
        }
        // The submission queue is full: hand it to the kernel first.
        ring.submit().expect("io_uring_enter");
    }
}
