//! green::fs keeps the hub running: a greenlet that reads a FIFO nobody
//! has written yet waits on the blocking-call pool while another greenlet
//! on the same hub keeps ticking every 10 ms.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::time::{Duration, Instant};

use green::{fs, thread};

mod util;

/// Ticks every 10 ms until `stop` is set; returns the worst gap.
fn ticker(stop: std::sync::Arc<std::sync::atomic::AtomicBool>) -> thread::JoinHandle<Duration> {
    thread::spawn(move || {
        let mut worst = Duration::ZERO;
        let mut last = Instant::now();
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            thread::sleep(Duration::from_millis(10));
            let now = Instant::now();
            worst = worst.max(now - last);
            last = now;
        }
        worst
    })
}

#[test]
fn fifo_read_does_not_block_the_hub() {
    let dir = std::env::temp_dir().join(format!("green-fs-blocking-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("fifo");
    let c = CString::new(fifo.as_os_str().as_bytes()).unwrap();
    // SAFETY: `c` is a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);

    let writer_path = fifo.clone();
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        // Opening for writing waits for the reader, which is on the pool.
        std::fs::write(writer_path, b"through the fifo").unwrap();
    });

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let tick = ticker(stop.clone());
    let reader_path = fifo.clone();
    let reader = thread::spawn(move || {
        let t0 = Instant::now();
        let data = fs::read(&reader_path).unwrap();
        (data, t0.elapsed())
    });
    let (data, took) = reader.join().unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let worst = tick.join().unwrap();
    writer.join().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();

    assert_eq!(data, b"through the fifo");
    assert!(
        took >= Duration::from_millis(250),
        "the read waited {took:?}"
    );
    assert!(
        worst < Duration::from_millis(50),
        "worst tick gap {worst:?}"
    );
    util::assert_clean();
}

/// The same through a green File: open (which waits for the writer on a
/// FIFO) and read_to_end are pool jobs too.
#[test]
fn fifo_file_open_and_read() {
    let dir = std::env::temp_dir().join(format!("green-fs-blocking-file-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("fifo");
    let c = CString::new(fifo.as_os_str().as_bytes()).unwrap();
    // SAFETY: `c` is a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);

    let writer_path = fifo.clone();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(writer_path)
            .unwrap();
        std::thread::sleep(Duration::from_millis(200));
        f.write_all(b"late").unwrap();
    });

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let tick = ticker(stop.clone());
    let reader = thread::spawn(move || {
        use std::io::Read;
        let mut f = fs::File::open(&fifo).unwrap();
        let mut s = String::new();
        f.read_to_string(&mut s).unwrap();
        s
    });
    assert_eq!(reader.join().unwrap(), "late");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let worst = tick.join().unwrap();
    writer.join().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        worst < Duration::from_millis(50),
        "worst tick gap {worst:?}"
    );
    util::assert_clean();
}
