//! green::websocket against tungstenite's own client (blocking, std
//! sockets, on the test's OS thread) and raw bytes: echo, pings, close
//! codes, fragments, limits, bad UTF-8, unmasked frames, bad handshakes,
//! a reader with concurrent senders, and green's own client. Servers run
//! on their own OS thread; all traffic stays on 127.0.0.1.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use green::http::server::{Body, Request, Response, Server, ServerHandle};
use green::websocket::{self, CloseCode, Config, Message};
use tungstenite::protocol::frame::Frame;
use tungstenite::protocol::frame::coding::{Data, OpCode};

fn app(req: Request<Body>) -> Response<Body> {
    match req.uri().path() {
        "/small" => websocket::accept_with(
            &req,
            Config::new()
                .max_message_size(Some(1000))
                .max_frame_size(Some(600)),
            echo,
        ),
        "/push" => websocket::accept(&req, |mut ws| {
            // A sender greenlet while this one reads and echoes.
            let tx = ws.sender();
            let pusher = green::thread::spawn(move || {
                for i in 0..100 {
                    tx.send(format!("tick {i}")).unwrap();
                }
            });
            while let Ok(m) = ws.read() {
                if m.is_close() || ws.send(m).is_err() {
                    break;
                }
            }
            pusher.join().unwrap();
        }),
        "/plain" => Response::new("not a websocket".into()),
        _ => websocket::accept(&req, echo),
    }
}

fn echo(mut ws: websocket::WebSocket) {
    while let Ok(m) = ws.read() {
        if m.is_close() || ws.send(m).is_err() {
            break;
        }
    }
}

fn server() -> (SocketAddr, ServerHandle) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let server = Server::bind("127.0.0.1:0").unwrap();
        tx.send((server.local_addr(), server.handle())).unwrap();
        server.serve_forever(app).unwrap();
    });
    rx.recv().unwrap()
}

type Client = tungstenite::WebSocket<TcpStream>;

fn client(addr: SocketAddr, path: &str) -> Client {
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let (ws, resp) = tungstenite::client(format!("ws://{addr}{path}"), tcp).unwrap();
    assert_eq!(resp.status(), 101);
    ws
}

fn close_code(ws: &mut Client) -> Option<CloseCode> {
    loop {
        match ws.read() {
            Ok(Message::Close(f)) => return f.map(|f| f.code),
            Ok(_) => {}
            Err(e) => panic!("no close frame: {e}"),
        }
    }
}

#[test]
fn echo_text_and_binary() {
    let (addr, handle) = server();
    let mut ws = client(addr, "/any/path?q=1");
    ws.send(Message::text("hello")).unwrap();
    assert_eq!(ws.read().unwrap(), Message::text("hello"));
    ws.send(Message::binary(vec![0u8, 1, 2, 255])).unwrap();
    assert_eq!(ws.read().unwrap(), Message::binary(vec![0u8, 1, 2, 255]));
    let big = "x".repeat(1 << 20);
    ws.send(Message::text(big.clone())).unwrap();
    assert_eq!(ws.read().unwrap().into_text().unwrap().as_str(), big);
    // Close handshake with a code: the server echoes the close.
    ws.close(Some(websocket::CloseFrame {
        code: CloseCode::Away,
        reason: "bye".into(),
    }))
    .unwrap();
    assert_eq!(close_code(&mut ws), Some(CloseCode::Away));
    handle.stop(Duration::from_millis(200));
}

#[test]
fn ping_is_answered() {
    let (addr, handle) = server();
    let mut ws = client(addr, "/");
    ws.send(Message::Ping(b"are you there".to_vec().into()))
        .unwrap();
    match ws.read().unwrap() {
        Message::Pong(p) => assert_eq!(&p[..], b"are you there"),
        m => panic!("expected a pong, got {m:?}"),
    }
    handle.stop(Duration::from_millis(200));
}

#[test]
fn fragments_are_reassembled() {
    let (addr, handle) = server();
    let mut ws = client(addr, "/");
    ws.write(Message::Frame(Frame::message(
        b"frag".to_vec(),
        OpCode::Data(Data::Text),
        false,
    )))
    .unwrap();
    // A ping between fragments is allowed, and answered.
    ws.write(Message::Ping(b"p".to_vec().into())).unwrap();
    ws.write(Message::Frame(Frame::message(
        b"men".to_vec(),
        OpCode::Data(Data::Continue),
        false,
    )))
    .unwrap();
    ws.send(Message::Frame(Frame::message(
        b"ted".to_vec(),
        OpCode::Data(Data::Continue),
        true,
    )))
    .unwrap();
    let mut got = Vec::new();
    while got.len() < 2 {
        got.push(ws.read().unwrap());
    }
    assert!(
        got.contains(&Message::Pong(b"p".to_vec().into())),
        "{got:?}"
    );
    assert!(got.contains(&Message::text("fragmented")), "{got:?}");
    handle.stop(Duration::from_millis(200));
}

#[test]
fn invalid_utf8_closes_with_1007() {
    let (addr, handle) = server();
    let mut ws = client(addr, "/");
    ws.send(Message::Frame(Frame::message(
        vec![b'a', 0xff, 0xfe],
        OpCode::Data(Data::Text),
        true,
    )))
    .unwrap();
    assert_eq!(close_code(&mut ws), Some(CloseCode::Invalid));
    handle.stop(Duration::from_millis(200));
}

#[test]
fn limits_close_with_1009() {
    let (addr, handle) = server();
    // One frame over the frame limit.
    let mut ws = client(addr, "/small");
    ws.send(Message::binary(vec![1u8; 500])).unwrap();
    assert_eq!(ws.read().unwrap(), Message::binary(vec![1u8; 500]));
    ws.send(Message::binary(vec![1u8; 700])).unwrap();
    assert_eq!(close_code(&mut ws), Some(CloseCode::Size));
    // Fragments each under the frame limit, the message over its limit.
    let mut ws = client(addr, "/small");
    for (i, last) in [(0, false), (1, false), (2, true)] {
        let op = if i == 0 { Data::Binary } else { Data::Continue };
        ws.send(Message::Frame(Frame::message(
            vec![2u8; 500],
            OpCode::Data(op),
            last,
        )))
        .unwrap();
    }
    assert_eq!(close_code(&mut ws), Some(CloseCode::Size));
    handle.stop(Duration::from_millis(200));
}

/// Sends a raw handshake on a std socket and returns it after the 101.
fn raw_handshake(addr: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .unwrap();
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut b).unwrap();
        head.push(b[0]);
    }
    let head = String::from_utf8(head).unwrap();
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    // RFC 6455's own example key and answer.
    assert!(
        head.to_ascii_lowercase()
            .contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="),
        "{head}"
    );
    s
}

#[test]
fn unmasked_client_frame_closes_with_1002() {
    let (addr, handle) = server();
    let mut s = raw_handshake(addr);
    s.write_all(&[0x81, 0x02, b'h', b'i']).unwrap();
    let mut frame = [0u8; 4];
    s.read_exact(&mut frame).unwrap();
    // A close frame (FIN + opcode 8), unmasked, payload: code 1002.
    assert_eq!(frame, [0x88, 0x02, 0x03, 0xea]);
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    assert!(rest.is_empty());
    handle.stop(Duration::from_millis(200));
}

#[test]
fn bytes_after_the_handshake_are_kept() {
    let (addr, handle) = server();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // The handshake and a masked "hi" in one write.
    let mut req = b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        .to_vec();
    let mask = [1u8, 2, 3, 4];
    req.extend_from_slice(&[0x81, 0x82]);
    req.extend_from_slice(&mask);
    req.extend_from_slice(&[b'h' ^ 1, b'i' ^ 2]);
    s.write_all(&req).unwrap();
    let mut all = Vec::new();
    let mut b = [0u8; 256];
    while !all.windows(4).any(|w| w == [0x81, 0x02, b'h', b'i']) {
        let n = s.read(&mut b).unwrap();
        assert!(n > 0, "closed early: {:?}", String::from_utf8_lossy(&all));
        all.extend_from_slice(&b[..n]);
    }
    handle.stop(Duration::from_millis(200));
}

/// The status line of the answer to a raw request.
fn status_of(addr: SocketAddr, request: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn bad_handshakes_get_4xx() {
    let (addr, handle) = server();
    let base = "Host: x\r\nConnection: close\r\n";
    let good_key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    let cases = [
        // A plain GET.
        (format!("GET / HTTP/1.1\r\n{base}\r\n"), "426"),
        // Wrong version.
        (
            format!(
                "GET / HTTP/1.1\r\n{base}Upgrade: websocket\r\nConnection: Upgrade\r\n{good_key}Sec-WebSocket-Version: 8\r\n\r\n"
            ),
            "426",
        ),
        // Missing key.
        (
            format!(
                "GET / HTTP/1.1\r\n{base}Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ),
            "400",
        ),
        // A key that is not 16 bytes of base64.
        (
            format!(
                "GET / HTTP/1.1\r\n{base}Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ),
            "400",
        ),
        // Not a GET.
        (
            format!(
                "POST / HTTP/1.1\r\n{base}Content-Length: 0\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n{good_key}Sec-WebSocket-Version: 13\r\n\r\n"
            ),
            "405",
        ),
    ];
    for (req, want) in cases {
        let got = status_of(addr, &req);
        assert!(
            got.starts_with(&format!("HTTP/1.1 {want} ")),
            "{req:?} -> {got}"
        );
        if want == "426" && req.contains("Version: 8") {
            assert!(
                got.to_ascii_lowercase()
                    .contains("sec-websocket-version: 13")
            );
        }
    }
    // The server goes on.
    let mut ws = client(addr, "/");
    ws.send(Message::text("still here")).unwrap();
    assert_eq!(ws.read().unwrap(), Message::text("still here"));
    handle.stop(Duration::from_millis(200));
}

#[test]
fn reader_and_sender_greenlets() {
    let (addr, handle) = server();
    let mut ws = client(addr, "/push");
    for i in 0..50 {
        ws.send(Message::text(format!("echo {i}"))).unwrap();
    }
    let (mut ticks, mut echoes) = (0, 0);
    while ticks < 100 || echoes < 50 {
        let m = ws.read().unwrap().into_text().unwrap();
        if m.starts_with("tick ") {
            assert_eq!(m.as_str(), format!("tick {ticks}"));
            ticks += 1;
        } else {
            assert_eq!(m.as_str(), format!("echo {echoes}"));
            echoes += 1;
        }
    }
    handle.stop(Duration::from_millis(200));
}

#[test]
fn green_client() {
    let (addr, handle) = server();
    // Many green clients at once on this thread's hub.
    let clients: Vec<_> = (0..50)
        .map(|i| {
            green::thread::spawn(move || {
                let mut ws = websocket::connect(&format!("ws://{addr}/c{i}")).unwrap();
                ws.send(format!("hi {i}")).unwrap();
                let m = ws.read().unwrap();
                ws.close(None).unwrap();
                assert!(ws.read().unwrap().is_close());
                m.into_text().unwrap().to_string()
            })
        })
        .collect();
    for (i, c) in clients.into_iter().enumerate() {
        assert_eq!(c.join().unwrap(), format!("hi {i}"));
    }
    // A plain resource is an HTTP error with its status.
    match websocket::connect(&format!("ws://{addr}/plain")) {
        Err(websocket::Error::Http(resp)) => assert_eq!(resp.status(), 200),
        other => panic!("{other:?}"),
    }
    handle.stop(Duration::from_millis(200));
}
