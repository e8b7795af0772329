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

pub use crate::rt::hub::HubStats;
use crate::rt::{context, workers};

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
        let hub = context::hub();
        if let Some(size) = self.stack_size {
            hub.set_default_stack_size(size);
        }
        if self.workers <= 1 {
            return f();
        }
        let (hubs, threads) = workers::start(self.workers, self.stack_size);
        workers::enter(&hubs);
        let _stop = workers::StopWorkers(hubs, threads);
        f()
    }
}

/// Number of hubs of the runtime this thread belongs to (1 outside a
/// multi-hub [`Builder::run`]).
pub fn hubs() -> usize {
    workers::count()
}

/// Counters of the current thread's hub.
pub fn stats() -> HubStats {
    context::hub().stats()
}
