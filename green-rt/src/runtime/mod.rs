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

mod dump;

use std::time::Duration;

pub use crate::rt::hub::{HubStats, WaitingStats};
use crate::rt::{context, monitor, workers};
pub(crate) use dump::start_from_env;
pub use dump::{DETAILS, Dump, GreenletInfo, HubDump, Stalled, State, WaitingOn, dump};

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
    blocking: Option<Duration>,
    dump_on_sigusr1: bool,
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
            blocking: None,
            dump_on_sigusr1: false,
        }
    }

    /// Turns on the blocking detector (gevent's monitor thread with
    /// `max_blocking_time`, eventlet's `hub_blocking_detection`): when a
    /// hub runs one greenlet (or its thread's root context) for `threshold`
    /// without switching while other greenlets wait on it, a line on stderr
    /// names that greenlet (id, name, where it was spawned, how long it has
    /// blocked the hub) with the backtrace of the code that blocks, once
    /// per stall. `GREEN_BLOCKING_MS=N` in the environment does the same
    /// for any program (it is read when the runtime starts or a first
    /// greenlet is spawned).
    ///
    /// A thread (`green-monitor`) looks at every hub each quarter of
    /// `threshold`, reading counters the hubs publish with relaxed stores
    /// (which they do whether the detector runs or not). The backtrace is
    /// taken by the stalled thread itself, in a handler of SIGURG that the
    /// monitor sends it: it walks its own stack into a static buffer, and
    /// the monitor symbolizes it. Limits: a thread stalled inside the
    /// dynamic loader cannot walk its stack (the report then has no
    /// backtrace); a system call the signal interrupts is restarted.
    /// Once per process: a later call with another threshold is ignored.
    pub fn blocking_detector(mut self, threshold: Duration) -> Builder {
        self.blocking = Some(threshold);
        self
    }

    /// Prints [`dump()`] on stderr at each SIGUSR1 (from a thread of its
    /// own, so a blocked hub is reported too); `GREEN_DUMP_SIGNAL=1` in the
    /// environment does the same. Once per process.
    pub fn dump_on_sigusr1(mut self) -> Builder {
        self.dump_on_sigusr1 = true;
        self
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
        start_from_env();
        if let Some(threshold) = self.blocking {
            monitor::start_detector(threshold);
        }
        if self.dump_on_sigusr1 {
            dump::dump_on_sigusr1();
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

/// Counters of the current thread's hub, and of the blocking pool.
///
/// [`HubStats::waiting`] walks the hub's greenlets: cheap for a monitoring
/// call (3 ms for 100 000), not for a hot loop.
pub fn stats() -> HubStats {
    let mut stats = context::hub().stats();
    let (queued, busy, threads) = crate::tpool::load();
    stats.blocking_queued = queued;
    stats.blocking_busy = busy;
    stats.blocking_threads = threads;
    stats
}
