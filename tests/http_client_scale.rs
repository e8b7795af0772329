//! 100 concurrent GETs from greenlets on one OS thread: they overlap (each
//! waits 100 ms on the server, all finish in well under 100 × 100 ms), no
//! OS thread is added, and a second round reuses the pooled connections.
//! Alone in its file so that the thread count is this test's.

mod http_client_util;

use std::time::{Duration, Instant};

use green::http::Client;

mod util;

#[test]
fn hundred_concurrent_gets_on_one_os_thread() {
    let server = http_client_util::start();
    let client = Client::new();
    let url = server.url("/slow/100");
    let before = util::os_threads();
    let round = || {
        let t0 = Instant::now();
        let handles: Vec<_> = (0..100)
            .map(|_| {
                let (client, url) = (client.clone(), url.clone());
                green::thread::spawn(move || client.get(&url).send().unwrap().text().unwrap())
            })
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap(), "slow");
        }
        t0.elapsed()
    };
    let first = round();
    assert!(
        first < Duration::from_secs(3),
        "100 GETs of 100 ms each took {first:?}: they did not overlap"
    );
    assert_eq!(server.accepted(), 100);
    assert_eq!(util::os_threads(), before, "no OS thread was started");

    let second = round();
    assert!(second < Duration::from_secs(3), "{second:?}");
    assert_eq!(
        server.accepted(),
        100,
        "the second round reused the 100 pooled connections"
    );
    println!("100 concurrent GETs: {first:?}, again over kept-alive connections: {second:?}");
}
