//! The blocking-call pool: run code that can only block on OS threads while
//! the calling greenlet waits greenly (eventlet's `tpool.execute`, gevent's
//! `threadpool`).
//!
//! Green code must never block its hub: a blocking system call there
//! stops every greenlet of that OS thread. Code green cannot patch (a
//! library's own `std::fs` calls, a C library, a blocking client from
//! another crate) goes through [`execute`]:
//!
//! ```
//! let len = green_rt::tpool::execute(|| std::fs::read("Cargo.toml").map(|b| b.len()));
//! assert!(len.unwrap() > 0);
//! ```
//!
//! The pool is bounded: at most [`max_threads`] OS threads run jobs at once
//! (default 20, or the `GREEN_TPOOL_SIZE` environment variable read at first
//! use, or [`set_max_threads`]). Threads start lazily and end after 10 s
//! without work. As many threads as the machine has cores, less one, start
//! as soon as jobs need them; beyond those, a thread starts for a job that
//! has waited 1 ms in the queue (its threads are then blocked, not busy).
//! So short jobs (a file read from the page cache) do not crowd the cores
//! with threads that only take turns, and blocking ones (a slow disk, a
//! name lookup) still get up to the bound. Jobs beyond the bound queue in
//! order. `green::net` resolves host names here.
//!
//! Jobs are for code that blocks, not for green code: a green socket that
//! waited in a job is served by the pool thread's hub, which does not run
//! between jobs, so return plain data (addresses, bytes), not green sockets.

use std::collections::VecDeque;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use crate::rt::task::Task;
use crate::rt::wait::{self, Wait};

/// Threads of the pool when neither `GREEN_TPOOL_SIZE` nor
/// [`set_max_threads`] says otherwise.
pub const DEFAULT_MAX_THREADS: usize = 20;

/// How long an idle pool thread waits for work before it ends.
const IDLE_TIMEOUT: Duration = Duration::from_secs(10);

type Job = Box<dyn FnOnce() + Send>;

struct Threads {
    state: Mutex<State>,
    work: Condvar,
    /// Threads started as soon as a job waits: one less than the cores
    /// (at least one), so that the hub that hands out the jobs keeps a core.
    eager: usize,
}

struct State {
    queue: VecDeque<Job>,
    threads: usize,
    /// Workers asleep on `work`.
    idle: usize,
    max: usize,
}

thread_local! {
    static IN_POOL: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn pool() -> &'static Threads {
    static POOL: OnceLock<Threads> = OnceLock::new();
    POOL.get_or_init(|| {
        let max = std::env::var("GREEN_TPOOL_SIZE")
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|&n| n > 0)
            .unwrap_or(DEFAULT_MAX_THREADS);
        let cores = thread::available_parallelism().map_or(1, |n| n.get());
        Threads {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                threads: 0,
                idle: 0,
                max,
            }),
            work: Condvar::new(),
            eager: cores.saturating_sub(1).max(1),
        }
    })
}

fn lock(pool: &Threads) -> std::sync::MutexGuard<'_, State> {
    pool.state.lock().unwrap_or_else(|e| e.into_inner())
}

/// The bound on the pool's OS threads.
pub fn max_threads() -> usize {
    lock(pool()).max
}

/// Sets the bound on the pool's OS threads (at least 1). Running threads
/// above a lowered bound finish their job and end when idle.
///
/// # Panics
///
/// If `n` is 0.
pub fn set_max_threads(n: usize) {
    assert!(n >= 1, "green::tpool: the pool needs at least 1 thread");
    let pool = pool();
    let mut s = lock(pool);
    s.max = n;
    while s.threads < s.max && s.queue.len() > s.idle {
        if !start_thread(&mut s) {
            break;
        }
    }
}

/// OS threads the pool runs now (busy or idle).
pub fn threads() -> usize {
    lock(pool()).threads
}

/// The pool's load now: jobs queued (not yet taken by a thread), threads
/// running a job, and threads in all.
pub(crate) fn load() -> (usize, usize, usize) {
    let s = lock(pool());
    (s.queue.len(), s.threads - s.idle.min(s.threads), s.threads)
}

/// Runs `f` on a pool thread and returns its value; the calling greenlet
/// waits greenly meanwhile, so its hub keeps running the others.
///
/// A panic in `f` resumes in the caller (as [`std::thread::JoinHandle::join`]
/// would return it, but unwound at once). Called from a pool thread, `f`
/// runs inline. If the calling greenlet is killed while it waits, it
/// unwinds at once and `f` finishes on its thread unobserved.
///
/// # Panics
///
/// If `f` panics, or if the pool has no thread and cannot start one.
pub fn execute<F, T>(f: F) -> T
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    if IN_POOL.with(|p| p.get()) {
        return f();
    }
    let slot = Arc::new(Slot {
        result: Mutex::new(None),
        started: AtomicBool::new(false),
        waiter: wait::current(),
    });
    let job_slot = slot.clone();
    submit(Box::new(move || {
        job_slot.started.store(true, Ordering::Release);
        let result = panic::catch_unwind(AssertUnwindSafe(f));
        *job_slot.result.lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
        job_slot.waiter.unpark();
    }));
    let mut grow_at = Instant::now() + GROW_AFTER;
    loop {
        let done = slot.result.lock().unwrap_or_else(|e| e.into_inner()).take();
        match done {
            Some(Ok(value)) => return value,
            Some(Err(payload)) => panic::resume_unwind(payload),
            None if slot.started.load(Ordering::Acquire) => wait::park_on(Wait::Blocking),
            None => {
                // Still queued: the threads are busy. If they still are
                // after GROW_AFTER, they are blocked rather than working,
                // and another thread is worth starting.
                if Instant::now() >= grow_at {
                    grow();
                    grow_at = Instant::now() + GROW_AFTER;
                }
                wait::park_until_on(grow_at, Wait::Blocking);
            }
        }
    }
}

struct Slot<T> {
    result: Mutex<Option<thread::Result<T>>>,
    /// Set when a pool thread begins the job.
    started: AtomicBool,
    waiter: Arc<Task>,
}

/// How long a job may wait in the queue before its caller starts another
/// pool thread (up to [`max_threads`]). The first threads (one less than
/// the cores) start as soon as a job needs one.
const GROW_AFTER: Duration = Duration::from_millis(1);

/// Starts one more thread if jobs are waiting and the bound allows.
fn grow() {
    let pool = pool();
    let mut s = lock(pool);
    if s.queue.len() > s.idle && s.threads < s.max {
        start_thread(&mut s);
    }
    if s.idle > 0 {
        pool.work.notify_one();
    }
}

fn submit(job: Job) {
    let pool = pool();
    let mut s = lock(pool);
    s.queue.push_back(job);
    if s.queue.len() <= s.idle {
        pool.work.notify_one();
        return;
    }
    // Threads beyond `eager` start only when jobs wait ([`grow`]): for
    // short jobs (a file in the page cache) more runnable threads than
    // cores only take turns with each other and with the hub.
    if s.threads < s.max.min(pool.eager) && !start_thread(&mut s) && s.threads == 0 {
        s.queue.pop_back();
        drop(s);
        panic!("green::tpool: cannot start a pool thread and none is running");
    }
    if s.idle > 0 {
        pool.work.notify_one();
    }
}

/// Starts one pool thread; `false` if the OS refused.
fn start_thread(s: &mut State) -> bool {
    let spawned = thread::Builder::new()
        .name("green-tpool".into())
        .spawn(worker);
    match spawned {
        Ok(_) => {
            s.threads += 1;
            true
        }
        Err(_) => false,
    }
}

fn worker() {
    IN_POOL.with(|p| p.set(true));
    let pool = pool();
    let mut s = lock(pool);
    loop {
        if s.threads > s.max {
            break;
        }
        if let Some(job) = s.queue.pop_front() {
            drop(s);
            job();
            s = lock(pool);
            continue;
        }
        s.idle += 1;
        let (guard, timeout) = pool
            .work
            .wait_timeout(s, IDLE_TIMEOUT)
            .unwrap_or_else(|e| e.into_inner());
        s = guard;
        s.idle -= 1;
        if timeout.timed_out() && s.queue.is_empty() {
            break;
        }
    }
    s.threads -= 1;
}
