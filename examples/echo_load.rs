//! Load generator for the echo benchmark: `CONNS` connections each sending
//! `SIZE`-byte messages and waiting for the echo (ping-pong), for `SECS`
//! seconds. Prints the number of round trips. Runs on tokio's
//! current-thread runtime, the same for every server measured.
//!
//! ```text
//! echo_load ADDR [CONNS=50] [SECS=5] [SIZE=64]
//! ```

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:9000".to_string());
    let conns: usize = args.next().map_or(50, |a| a.parse().expect("CONNS"));
    let secs: f64 = args.next().map_or(5.0, |a| a.parse().expect("SECS"));
    let size: usize = args.next().map_or(64, |a| a.parse().expect("SIZE"));
    // Wait for the server to listen.
    let t0 = Instant::now();
    loop {
        match TcpStream::connect(&addr).await {
            Ok(_) => break,
            Err(e) if t0.elapsed() < Duration::from_secs(10) => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => return Err(e),
        }
    }
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let addr = addr.clone();
        tasks.push(tokio::spawn(async move {
            let mut s = TcpStream::connect(&addr).await?;
            s.set_nodelay(true)?;
            let msg = vec![7u8; size];
            let mut back = vec![0u8; size];
            let mut n = 0u64;
            while Instant::now() < deadline {
                s.write_all(&msg).await?;
                s.read_exact(&mut back).await?;
                n += 1;
            }
            Ok::<u64, std::io::Error>(n)
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.expect("client task")?;
    }
    println!("{total}");
    Ok(())
}
