//! The `ws_echo` and `chat` examples, run as programs, against clients
//! nobody here wrote: Python's `websockets` (100 chat clients), curl (the
//! bad handshakes), tungstenite (a stalled client does not hold up the
//! others), and a real browser — headless Chromium driven by selenium,
//! two windows of the chat page. Each test says `SKIPPED: ...` and passes
//! where its tool is absent (see the README for installing them). All
//! traffic stays on 127.0.0.1.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tungstenite::Message;

/// A running example, killed on drop.
struct Example {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The example's binary: beside this test's (as `cargo test` builds
/// examples), else built now.
fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap().join("examples");
    let path = dir.join(name);
    if !path.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--quiet", "--example", name])
            .status()
            .unwrap();
        assert!(status.success(), "could not build example {name}");
    }
    path
}

/// Starts an example on 127.0.0.1:0 and reads its address from the line
/// it prints.
fn start(name: &str) -> Example {
    let mut child = Command::new(binary(name))
        .arg("127.0.0.1:0")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .rsplit("//")
        .next()
        .unwrap()
        .trim()
        .trim_end_matches('/')
        .parse()
        .unwrap_or_else(|_| panic!("no address in {line:?}"));
    Example { child, addr }
}

fn have(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn python(script: &str, args: &[String]) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const PY_CHAT: &str = r#"
import asyncio, sys
from websockets.asyncio.client import connect

URL, N = sys.argv[1], 100

async def client(i, ready, go):
    async with connect(URL) as ws:
        ready.append(i)
        await go.wait()
        await ws.send(f"message {i}")
        got = set()
        while len(got) < N:
            got.add(await asyncio.wait_for(ws.recv(), 30))
        return got

async def main():
    ready, go = [], asyncio.Event()
    tasks = [asyncio.create_task(client(i, ready, go)) for i in range(N)]
    while len(ready) < N:
        await asyncio.sleep(0.01)
    go.set()
    results = await asyncio.gather(*tasks)
    want = {f"message {i}" for i in range(N)}
    assert all(r == want for r in results), "a client missed messages"
    print("ok", len(results))

asyncio.run(main())
"#;

#[test]
fn python_websockets_100_chat_clients() {
    if !have("python3", &["-c", "import websockets.asyncio.client"]) {
        eprintln!("SKIPPED: python3 with `websockets` (pip install websockets) is not installed");
        return;
    }
    let chat = start("chat");
    let out = python(PY_CHAT, &[format!("ws://{}/ws", chat.addr)]);
    assert_eq!(out.trim(), "ok 100");
}

const PY_ECHO: &str = r#"
import sys
from websockets.sync.client import connect

with connect(sys.argv[1]) as ws:
    ws.send("hello")
    assert ws.recv() == "hello"
    ws.send(b"\x00\x01\xff")
    assert ws.recv() == b"\x00\x01\xff"
    big = "y" * 300000
    ws.send(big)
    assert ws.recv() == big
    ws.ping(b"x").wait(5)
print("ok")
"#;

#[test]
fn python_websockets_echo() {
    if !have("python3", &["-c", "import websockets.sync.client"]) {
        eprintln!("SKIPPED: python3 with `websockets` (pip install websockets) is not installed");
        return;
    }
    let echo = start("ws_echo");
    let out = python(PY_ECHO, &[format!("ws://{}/some/path", echo.addr)]);
    assert_eq!(out.trim(), "ok");
}

#[test]
fn curl_bad_handshakes() {
    if !have("curl", &["--version"]) {
        eprintln!("SKIPPED: curl is not installed (apt-get install -y curl)");
        return;
    }
    let echo = start("ws_echo");
    let url = format!("http://{}/", echo.addr);
    let up = ["-H", "Upgrade: websocket", "-H", "Connection: Upgrade"];
    let key = ["-H", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="];
    let v13 = ["-H", "Sec-WebSocket-Version: 13"];
    let v8 = ["-H", "Sec-WebSocket-Version: 8"];
    let bad_key = ["-H", "Sec-WebSocket-Key: not-a-key"];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec![], "426"),
        ([&up[..], &key, &v8].concat(), "426"),
        ([&up[..], &v13].concat(), "400"),
        ([&up[..], &bad_key, &v13].concat(), "400"),
        ([&up[..], &key, &v13, &["-X", "POST"]].concat(), "405"),
    ];
    for (args, want) in cases {
        let out = Command::new("curl")
            .args([
                "-s",
                "--noproxy",
                "*",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
            ])
            .args(["--max-time", "10"])
            .args(&args)
            .arg(&url)
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), want, "curl {args:?}");
    }
}

fn tungstenite_client(addr: SocketAddr) -> tungstenite::WebSocket<TcpStream> {
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    tungstenite::client(format!("ws://{addr}/ws"), tcp)
        .unwrap()
        .0
}

#[test]
fn tungstenite_clients_and_a_stalled_one() {
    let chat = start("chat");
    let mut a = tungstenite_client(chat.addr);
    let mut b = tungstenite_client(chat.addr);
    // A client that does not read (until the end).
    let mut stalled = tungstenite_client(chat.addr);
    a.send(Message::text("hello from a")).unwrap();
    assert_eq!(a.read().unwrap(), Message::text("hello from a"));
    assert_eq!(b.read().unwrap(), Message::text("hello from a"));
    assert_eq!(stalled.read().unwrap(), Message::text("hello from a"));
    // Enough traffic to fill the stalled client's queue and socket
    // buffers many times over: a and b keep up regardless.
    let text = "z".repeat(8000);
    let n = 3000;
    let b_reader = std::thread::spawn(move || {
        for j in 0..n {
            let m = b.read().unwrap().into_text().unwrap();
            assert!(m.starts_with(&format!("{j} ")), "b got {}", &m[..20]);
        }
    });
    let start = Instant::now();
    for i in 0..n {
        a.send(Message::text(format!("{i} {text}"))).unwrap();
        if i % 64 == 63 {
            // Keep a's own socket drained while sending.
            for j in i - 63..=i {
                let m = a.read().unwrap().into_text().unwrap();
                assert!(m.starts_with(&format!("{j} ")));
            }
        }
    }
    for j in n - n % 64..n {
        let m = a.read().unwrap().into_text().unwrap();
        assert!(m.starts_with(&format!("{j} ")));
    }
    b_reader.join().unwrap();
    assert!(start.elapsed() < Duration::from_secs(60));
    // The stalled client was dropped: it gets what its buffers held, then
    // the connection ends well before the last message.
    let mut got = 0;
    while let Ok(m) = stalled.read() {
        if m.is_close() {
            break;
        }
        got += 1;
    }
    assert!(got < n, "the stalled client got all {got} messages");
}

const PY_BROWSER: &str = r#"
import sys, time
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

url, shot = sys.argv[1], sys.argv[2]
opts = webdriver.ChromeOptions()
for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
          "--window-size=800,600", "--no-proxy-server"):
    opts.add_argument(a)
driver = webdriver.Chrome(options=opts, service=Service("/usr/bin/chromedriver"))
try:
    driver.get(url)
    first = driver.current_window_handle
    driver.switch_to.new_window("window")
    driver.get(url)
    second = driver.current_window_handle
    for w in (first, second):
        driver.switch_to.window(w)
        WebDriverWait(driver, 20).until(
            lambda d: d.find_element(By.ID, "state").text == "connected")
    driver.switch_to.window(first)
    driver.find_element(By.ID, "msg").send_keys("hello from window one")
    driver.find_element(By.ID, "send").click()
    driver.switch_to.window(second)
    WebDriverWait(driver, 20).until(
        lambda d: "hello from window one" in d.find_element(By.ID, "log").text)
    driver.find_element(By.ID, "msg").send_keys("and hello back from window two")
    driver.find_element(By.ID, "send").click()
    driver.switch_to.window(first)
    WebDriverWait(driver, 20).until(
        lambda d: "hello back from window two" in d.find_element(By.ID, "log").text)
    if shot:
        driver.save_screenshot(shot)
    print("ok")
finally:
    driver.quit()
"#;

#[test]
fn chromium_two_windows() {
    let chromedriver = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .into_iter()
        .any(|p| std::path::Path::new(p).exists());
    if !chromedriver || !have("python3", &["-c", "import selenium"]) {
        eprintln!(
            "SKIPPED: headless Chromium needs `apt-get install -y chromium chromium-driver` \
             and `pip install selenium`"
        );
        return;
    }
    let chat = start("chat");
    // GREEN_CHAT_SCREENSHOT=path saves the page (the book's picture).
    let shot = std::env::var("GREEN_CHAT_SCREENSHOT").unwrap_or_default();
    let out = python(PY_BROWSER, &[format!("http://{}/", chat.addr), shot]);
    assert_eq!(out.trim(), "ok");
}
