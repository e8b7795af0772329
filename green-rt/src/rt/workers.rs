//! Worker hubs and the placement of `Send` greenlets on them.
//!
//! [`Builder::workers`](crate::runtime::Builder::workers) above 1 starts
//! worker threads, each with its hub; the hubs of one runtime share a
//! [`Workers`] record (in a thread-local of each of their threads), and a
//! `Send` greenlet spawned on any of them goes to the next hub in turn
//! ([`place`]). Greenlets never move once placed.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::context;
use super::task::{HubHandle, Task};
use super::wait;

/// The hubs of a runtime started with more than one worker.
#[derive(Debug)]
pub(crate) struct Workers {
    /// Every hub's handle; the first is the thread that called `run`.
    hubs: Vec<Arc<HubHandle>>,
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
pub(crate) fn place() -> Option<Arc<HubHandle>> {
    // During thread exit (a destructor spawning) the key may be gone: the
    // greenlet then stays on this thread's hub.
    WORKERS
        .try_with(|w| {
            let w = w.try_borrow().ok()?;
            let w = w.as_ref()?;
            let i = w.next.fetch_add(1, Ordering::Relaxed) % w.hubs.len();
            let target = &w.hubs[i];
            if Arc::ptr_eq(target, &context::hub().handle) {
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
pub(crate) fn start(
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
                let hub = context::hub();
                if let Some(size) = stack_size {
                    hub.set_default_stack_size(size);
                }
                let _ = report.send((i, hub.handle.clone(), hub.current_task().clone()));
                let Ok(workers) = receive.recv() else { return };
                WORKERS.with(|w| *w.borrow_mut() = Some(workers.clone()));
                // The root context runs this hub's loop until told to stop.
                while !workers.shutdown.load(Ordering::Acquire) {
                    wait::park_uninterruptible();
                }
                WORKERS.with(|w| w.borrow_mut().take());
            })
            .unwrap_or_else(|e| panic!("green: cannot start worker hub {i}: {e}"));
        threads.push(thread);
    }
    drop(report);
    let mut found: Vec<_> = reports.iter().take(n - 1).collect();
    found.sort_by_key(|(i, _, _)| *i);
    let mut hubs = vec![context::hub().handle.clone()];
    let mut roots = Vec::new();
    for (_, handle, root) in found {
        hubs.push(handle);
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
/// [`Builder::run`](crate::runtime::Builder::run)).
pub(crate) struct StopWorkers(
    pub(crate) Arc<Workers>,
    pub(crate) Vec<std::thread::JoinHandle<()>>,
);

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

/// Makes this thread a hub of `workers` (the thread that called `run`).
pub(crate) fn enter(workers: &Arc<Workers>) {
    WORKERS.with(|w| *w.borrow_mut() = Some(workers.clone()));
}

/// Number of hubs of the runtime this thread belongs to (1 outside a
/// multi-hub runtime).
pub(crate) fn count() -> usize {
    WORKERS.with(|w| w.borrow().as_ref().map_or(1, |w| w.hubs.len()))
}
