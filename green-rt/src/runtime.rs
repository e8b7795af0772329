//! Starting the runtime and looking at it.
//!
//! Nothing needs starting: every OS thread gets its hub the first time it
//! makes a green call. [`Builder`] (what `#[green::main]` expands to) sets
//! the options and runs a closure as the root context of the current thread.

use crate::hub;
pub use crate::hub::HubStats;

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

    /// Number of hubs (OS threads running greenlets). Accepted and
    /// validated (at least 1); today every greenlet runs on the hub of the
    /// thread that spawns it, as in gevent, and `workers` above 1 does not
    /// start more hubs yet.
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
    /// result. Greenlets that `f` spawns run whenever `f` makes a green
    /// blocking call; those still running when `f` returns are left as
    /// they are (as std leaves threads when `main` returns).
    pub fn run<F, R>(self, f: F) -> R
    where
        F: FnOnce() -> R,
    {
        let hub = hub::hub();
        if let Some(size) = self.stack_size {
            hub.set_default_stack_size(size);
        }
        f()
    }
}

/// Counters of the current thread's hub.
pub fn stats() -> HubStats {
    hub::hub().stats()
}
