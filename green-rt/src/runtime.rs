//! Starting the runtime and looking at it.
//!
//! Nothing needs starting: every OS thread gets its hub the first time it
//! makes a green call. [`Builder`] (what `#[green::main]` expands to) sets
//! the options and runs a closure as the root context of the current thread.
//!
//! With [`Builder::workers`] above 1, `run` starts that many hubs in all:
//! the calling thread's and `workers - 1` worker threads (`green-hub-1`,
//! …). Greenlets spawned with [`spawn`](crate::thread::spawn) (whose
//! closures are `Send`, as std's) on any of them are placed on the hubs in
//! turn and stay there; [`spawn_local`](crate::thread::spawn_local) and
//! scoped greenlets stay on the spawning hub.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

pub use crate::hub::HubStats;
use crate::hub::{self, Remote};
use crate::task::{self, Task};

/// The hubs of a runtime started with more than one worker.
#[derive(Debug)]
struct Workers {
    /// Every hub's remote side; the first is the thread that called `run`.
    hubs: Vec<Arc<Remote>>,
    /// The root contexts of the worker threads, woken to stop them.
    roots: Vec<Arc<Task>>,
    next: AtomicUsize,
    shutdown: AtomicBool,
}

thread_local! {
    /// The multi-hub runtime this thread's hub belongs to, if any.
    static WORKERS: RefCell<Option<Arc<Workers>>> = const { RefCell::new(None) };
}

/// The hub a `Send` greenlet spawned on this thread goes to: `None` for
/// this thread's own hub.
pub(crate) fn place() -> Option<Arc<Remote>> {
    // During thread exit (a destructor spawning) the key may be gone: the
    // greenlet then stays on this thread's hub.
    WORKERS
        .try_with(|w| {
            let w = w.try_borrow().ok()?;
            let w = w.as_ref()?;
            let i = w.next.fetch_add(1, Ordering::Relaxed) % w.hubs.len();
            let target = &w.hubs[i];
            if Arc::ptr_eq(target, &hub::hub().remote) {
                None
            } else {
                Some(target.clone())
            }
        })
        .ok()
        .flatten()
}

/// Starts `n - 1` worker hubs beside the current thread's; returns them and
/// their threads.
fn start_workers(
    n: usize,
    stack_size: Option<usize>,
) -> (Arc<Workers>, Vec<std::thread::JoinHandle<()>>) {
    let (report, reports) = std::sync::mpsc::channel();
    let mut handoffs = Vec::new();
    let mut threads = Vec::new();
    for i in 1..n {
        let report = report.clone();
        let (handoff, receive) = std::sync::mpsc::channel::<Arc<Workers>>();
        handoffs.push(handoff);
        let thread = std::thread::Builder::new()
            .name(format!("green-hub-{i}"))
            .spawn(move || {
                let hub = hub::hub();
                if let Some(size) = stack_size {
                    hub.set_default_stack_size(size);
                }
                let _ = report.send((i, hub.remote.clone(), hub.current_task().clone()));
                let Ok(workers) = receive.recv() else { return };
                WORKERS.with(|w| *w.borrow_mut() = Some(workers.clone()));
                // The root context runs this hub's loop until told to stop.
                while !workers.shutdown.load(Ordering::Acquire) {
                    task::park_uninterruptible();
                }
                WORKERS.with(|w| w.borrow_mut().take());
            })
            .unwrap_or_else(|e| panic!("green: cannot start worker hub {i}: {e}"));
        threads.push(thread);
    }
    drop(report);
    let mut found: Vec<_> = reports.iter().take(n - 1).collect();
    found.sort_by_key(|(i, _, _)| *i);
    let mut hubs = vec![hub::hub().remote.clone()];
    let mut roots = Vec::new();
    for (_, remote, root) in found {
        hubs.push(remote);
        roots.push(root);
    }
    let workers = Arc::new(Workers {
        hubs,
        roots,
        next: AtomicUsize::new(0),
        shutdown: AtomicBool::new(false),
    });
    for h in handoffs {
        let _ = h.send(workers.clone());
    }
    (workers, threads)
}

/// Stops the worker hubs when `run` returns (or unwinds) and waits for
/// their threads to end. Each worker's hub is torn down as its thread
/// exits: the greenlets still on it are killed and unwound (see
/// [`Builder::run`]).
struct StopWorkers(Arc<Workers>, Vec<std::thread::JoinHandle<()>>);

impl Drop for StopWorkers {
    fn drop(&mut self) {
        let _ = WORKERS.try_with(|w| w.borrow_mut().take());
        self.0.shutdown.store(true, Ordering::Release);
        for root in &self.0.roots {
            root.unpark();
        }
        for t in self.1.drain(..) {
            let _ = t.join();
        }
    }
}

/// Options of the runtime, applied to the current thread's hub.
///
/// ```
/// let answer = green_rt::runtime::Builder::new()
///     .stack_size(128 * 1024)
///     .run(|| {
///         let h = green_rt::thread::spawn(|| 6 * 7);
///         h.join().unwrap()
///     });
/// assert_eq!(answer, 42);
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    workers: usize,
    stack_size: Option<usize>,
}

impl Default for Builder {
    fn default() -> Builder {
        Builder::new()
    }
}

impl Builder {
    /// The defaults: one hub, 256 KiB greenlet stacks.
    pub fn new() -> Builder {
        Builder {
            workers: 1,
            stack_size: None,
        }
    }

    /// Number of hubs (OS threads running greenlets), at least 1; the
    /// default 1 is gevent's model. With more, [`run`](Self::run) starts
    /// `n - 1` worker threads and [`spawn`](crate::thread::spawn) places
    /// each new greenlet on the hubs in turn (see the module doc).
    ///
    /// # Panics
    ///
    /// If `n` is 0.
    pub fn workers(mut self, n: usize) -> Builder {
        assert!(n >= 1, "green: `workers` must be at least 1, got 0");
        self.workers = n;
        self
    }

    /// The configured number of hubs.
    pub fn worker_count(&self) -> usize {
        self.workers
    }

    /// Default usable stack size of greenlets, in bytes (rounded up to
    /// whole pages, at least 16 KiB; default 256 KiB). Only touched pages
    /// use memory, so a large size costs address space, not RSS.
    pub fn stack_size(mut self, bytes: usize) -> Builder {
        self.stack_size = Some(bytes);
        self
    }

    /// Runs `f` on the current thread as its root context and returns its
    /// result. Greenlets that `f` spawns on this hub run whenever `f` makes
    /// a green blocking call; those on worker hubs run at once.
    ///
    /// When `f` returns, greenlets on this thread's hub are left as they
    /// are (they run at the thread's next green blocking call, and are
    /// killed when the thread exits, unless it is the main thread, whose
    /// exit ends the process). The worker threads are stopped and
    /// `run` waits for them to end: the greenlets still on a worker hub are
    /// killed there, as on any exiting thread — they unwind from their
    /// blocking point with [`GreenletExit`](crate::thread::GreenletExit),
    /// running their destructors, and their `join` returns that — so no
    /// greenlet is left frozen on a hub that no longer runs, and no
    /// descriptor or stack is left behind. (std's process ends at `main`'s
    /// return, taking its threads without unwinding them; `run` is not the
    /// end of the process, so green unwinds them instead.) A greenlet that
    /// is still unwinding a second after the kill is left behind.
    pub fn run<F, R>(self, f: F) -> R
    where
        F: FnOnce() -> R,
    {
        let hub = hub::hub();
        if let Some(size) = self.stack_size {
            hub.set_default_stack_size(size);
        }
        if self.workers <= 1 {
            return f();
        }
        let (workers, threads) = start_workers(self.workers, self.stack_size);
        WORKERS.with(|w| *w.borrow_mut() = Some(workers.clone()));
        let _stop = StopWorkers(workers, threads);
        f()
    }
}

/// Number of hubs of the runtime this thread belongs to (1 outside a
/// multi-hub [`Builder::run`]).
pub fn hubs() -> usize {
    WORKERS.with(|w| w.borrow().as_ref().map_or(1, |w| w.hubs.len()))
}

/// Counters of the current thread's hub.
pub fn stats() -> HubStats {
    hub::hub().stats()
}
