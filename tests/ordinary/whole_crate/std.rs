//! Everything the ordinary shape has: imports at the top, a file module
//! with a child, an inline module, statics, a `macro_rules!` with `$crate`,
//! `crate::` paths, a trait, a thread-local, and `main` returning a custom
//! error.
use std::cell::Cell;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::Duration;

mod net;

static LOG: Mutex<Vec<String>> = Mutex::new(Vec::new());
static STARTED: AtomicUsize = AtomicUsize::new(0);
static CONFIG: OnceLock<Config> = OnceLock::new();

thread_local! {
    static WORKER: Cell<u32> = const { Cell::new(0) };
}

macro_rules! record {
    ($($arg:tt)*) => { $crate::push_log(format!($($arg)*)) };
}

struct Config {
    workers: u32,
}

#[derive(Debug)]
enum AppError {
    Wrong(String),
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppError::Wrong(s) => write!(f, "wrong: {s}"),
        }
    }
}

impl std::error::Error for AppError {}

trait Task {
    fn run(&self) -> u32;
}

struct Nap(u32);

impl Task for Nap {
    fn run(&self) -> u32 {
        WORKER.with(|w| w.set(self.0));
        thread::sleep(Duration::from_millis(50));
        // Another greenlet on the same hub ran meanwhile: a green
        // thread-local keeps this one's value.
        WORKER.with(|w| w.get())
    }
}

fn push_log(line: String) {
    LOG.lock().unwrap().push(line);
}

fn start<T: Task + Send + 'static>(task: T) -> JoinHandle<u32> {
    STARTED.fetch_add(1, Ordering::SeqCst);
    thread::spawn(move || task.run())
}

mod stats {
    use std::sync::Mutex;

    pub static TOTALS: Mutex<Vec<u32>> = Mutex::new(Vec::new());

    pub fn add(n: u32) {
        TOTALS.lock().unwrap().push(n);
        crate::push_log(format!("added {n}"));
    }
}

fn main() -> Result<(), AppError> {
    CONFIG.get_or_init(|| Config { workers: 6 });
    let workers = CONFIG.get().unwrap().workers;
    let handles: Vec<_> = (0..workers).map(|i| start(Nap(i))).collect();
    let ids: Vec<u32> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    record!("ids {:?}", ids);
    for id in &ids {
        stats::add(*id);
    }
    let echoed = net::round_trip("ping")?;
    record!("echoed {echoed}");
    let mut log = LOG.lock().unwrap().clone();
    log.sort();
    for line in &log {
        println!("{line}");
    }
    println!("started: {}", STARTED.load(Ordering::SeqCst));
    println!(
        "totals: {}",
        stats::TOTALS.lock().unwrap().iter().sum::<u32>()
    );
    if ids != (0..workers).collect::<Vec<_>>() {
        return Err(AppError::Wrong(format!("{ids:?}")));
    }
    Ok(())
}
