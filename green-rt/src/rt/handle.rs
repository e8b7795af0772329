//! A hub's `Send` half: what other OS threads may touch.
//!
//! A [`Hub`](super::hub::Hub) lives on its thread and is neither `Send` nor
//! `Sync`. Its [`Handle`] is shared (`Arc<Handle>`) by every task the hub
//! owns and by every thread that wakes one of them or places a greenlet on
//! the hub: a queue of woken tasks, a queue of greenlets to install, the
//! hand-over handshake ([`super::wake`]) and the `mio::Waker` that wakes
//! the hub's poll, and a clone of the hub's registry for deregistering
//! sockets from anywhere. tokio's runtime splits its `Core` and `Handle`
//! the same way.
//!
//! The handle knows nothing of what it carries: the woken tasks are `T`
//! (the runtime's [`Task`](super::task::Task)), a greenlet to install is a
//! [`Start`] with its task, and how to wake a task of this hub *from its
//! own thread* (a push onto the hub's ready queue) is the [`WakeHere`]
//! trait, which the hub's context implements for the task. So this file
//! sits below the task and the hub in the runtime's layers (see
//! [`super`]).

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use super::spin::SpinLock;
use super::wake::Handshake;

/// What a greenlet runs: its body, or, if it cannot get a stack, what
/// reports that instead.
pub(crate) trait Start {
    /// Runs the greenlet's body on its own stack.
    fn run(self: Box<Self>);
    /// The greenlet could not start: no stack could be mapped, or the hub
    /// it was handed to is gone.
    fn fail(self: Box<Self>, err: io::Error);
}

/// A greenlet made on one thread to run on another thread's hub.
pub(crate) struct Spawn<T> {
    /// Its task, not yet installed in a slot of the hub.
    pub(crate) task: Arc<T>,
    /// Its body.
    pub(crate) start: Box<dyn Start + Send>,
    /// Its stack size.
    pub(crate) stack_size: Option<usize>,
}

impl<T: std::fmt::Debug> std::fmt::Debug for Spawn<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spawn")
            .field("task", &self.task)
            .finish_non_exhaustive()
    }
}

/// How a handle's tasks are woken on their hub's own thread.
///
/// Implemented for the runtime's task by the hub's context
/// ([`super::context`]), the one place that knows the current thread's
/// hub; resolved at compile time, so a wake-up costs no indirect call.
pub(crate) trait WakeHere: Sized {
    /// Wakes `task` (of this handle's hub) if the caller runs on that
    /// hub's thread; `false` otherwise.
    fn wake_here(task: &Arc<Self>) -> bool;
}

/// What a hub publishes for the monitor on another thread (the blocking
/// detector, `runtime::dump`): plain relaxed stores on the hub's side.
#[derive(Debug, Default)]
pub(crate) struct Monitor {
    /// Switches into greenlets so far (a greenlet stalls its hub when this
    /// stops moving while `running` is not 0).
    pub(crate) switches: AtomicU64,
    /// The id of the waiter running user code (a greenlet, or the root
    /// context between its waits); 0 while the hub's own loop runs or
    /// sleeps in its poll.
    pub(crate) running: AtomicU64,
    /// Live greenlets on the hub.
    pub(crate) live: AtomicUsize,
    /// The hub's OS thread (`pthread_t`) and its name, set once.
    pub(crate) thread: OnceLock<(libc::pthread_t, Option<Box<str>>)>,
}

/// A call to run on a hub's loop, on its own thread (between two polls,
/// on the root context; it must not block).
pub(crate) type Call = Box<dyn FnOnce() + Send>;

/// The `Send + Sync` half of a hub.
pub(crate) struct Handle<T> {
    queue: SpinLock<Vec<Arc<T>>>,
    /// Whether work was handed over since the hub last drained its remote
    /// side, and whether the hub is blocked in (or about to enter) its poll,
    /// in which case a hand-over must wake it through `waker`. While it runs
    /// or spins it checks for pending work itself, so a hand-over then costs
    /// no system call. See [`super::wake`].
    pub(crate) wake: Handshake,
    /// Wakes the hub's poll; `None` once the hub is gone (its descriptor is
    /// closed then, though tasks may keep this handle alive).
    waker: RwLock<Option<mio::Waker>>,
    /// The hub's registry, for deregistering from any thread.
    pub(crate) registry: Registry,
    /// The hub is gone: greenlets handed to it fail instead of waiting
    /// forever.
    closed: AtomicBool,
    /// Registrations dropped on other threads, kept alive until the hub's
    /// current poll batch is over (their tokens may be in it).
    released: Mutex<Vec<Arc<dyn Send + Sync>>>,
    /// Greenlets placed on this hub by other threads.
    spawns: Mutex<Vec<Spawn<T>>>,
    /// Calls to run on the hub's loop (see [`Call`]).
    calls: Mutex<Vec<Call>>,
    /// See [`Monitor`].
    pub(crate) monitor: Monitor,
}

impl<T> std::fmt::Debug for Handle<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle")
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

/// A clone of a hub's `mio::Registry` that other threads may use while the
/// hub lives, and that is closed with the hub.
#[derive(Debug)]
pub(crate) struct Registry(RwLock<Option<mio::Registry>>);

impl Registry {
    /// Removes `source` from the hub's poll; nothing to do once the hub (and
    /// its poll) is gone.
    pub(crate) fn deregister(&self, source: &mut impl mio::event::Source) -> io::Result<()> {
        match &*self.0.read().unwrap_or_else(|e| e.into_inner()) {
            Some(r) => r.deregister(source),
            None => Ok(()),
        }
    }
}

/// The error of a greenlet handed to a hub whose thread has exited.
fn hub_gone() -> io::Error {
    io::Error::other("the hub (OS thread) it was placed on has exited")
}

impl<T> Handle<T> {
    /// The handle of a hub whose poll has `registry`, woken by `waker`.
    pub(crate) fn new(waker: mio::Waker, registry: mio::Registry) -> Handle<T> {
        Handle {
            queue: SpinLock::new(Vec::new()),
            wake: Handshake::new(),
            waker: RwLock::new(Some(waker)),
            registry: Registry(RwLock::new(Some(registry))),
            closed: AtomicBool::new(false),
            released: Mutex::new(Vec::new()),
            spawns: Mutex::new(Vec::new()),
            calls: Mutex::new(Vec::new()),
            monitor: Monitor::default(),
        }
    }

    /// Runs `call` on the hub's loop, on its thread; `false` (and `call`
    /// dropped) if the hub is gone.
    pub(crate) fn push_call(&self, call: Call) -> bool {
        {
            let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
            if self.closed.load(Ordering::Acquire) {
                return false;
            }
            calls.push(call);
        }
        self.notify();
        true
    }

    /// Takes the calls handed to the hub.
    pub(crate) fn take_calls(&self) -> Vec<Call> {
        std::mem::take(&mut *self.calls.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Wakes `task`, a parked task of this hub, from any thread.
    #[inline(always)]
    pub(crate) fn schedule(&self, task: &Arc<T>)
    where
        T: WakeHere,
    {
        if !T::wake_here(task) {
            self.push(task.clone());
        }
    }

    /// Keeps `io` alive until the hub's current poll batch is over.
    pub(crate) fn release(&self, io: Arc<dyn Send + Sync>) {
        self.released
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(io);
    }

    /// Drops what [`release`](Self::release) kept (the hub, between polls).
    pub(crate) fn clear_released(&self) {
        let mut released = self.released.lock().unwrap_or_else(|e| e.into_inner());
        if !released.is_empty() {
            released.clear();
        }
    }

    /// Hands `task` (parked on this hub) to the hub from another thread.
    #[cold]
    #[inline(never)]
    fn push(&self, task: Arc<T>) {
        self.queue.lock().push(task);
        self.notify();
    }

    /// Swaps the queue of woken tasks with `spare` (empty): the hub drains
    /// it without allocating.
    pub(crate) fn take_woken(&self, spare: &mut Vec<Arc<T>>) {
        std::mem::swap(&mut *self.queue.lock(), spare);
    }

    /// Takes the greenlets placed on this hub.
    pub(crate) fn take_spawns(&self) -> Vec<Spawn<T>> {
        std::mem::take(&mut *self.spawns.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Hands a new greenlet to this hub from another thread. If the hub is
    /// gone, the greenlet fails at once (its `join` says why).
    pub(crate) fn push_spawn(&self, spawn: Spawn<T>) {
        {
            let mut spawns = self.spawns.lock().unwrap_or_else(|e| e.into_inner());
            if !self.closed.load(Ordering::Acquire) {
                spawns.push(spawn);
                drop(spawns);
                self.notify();
                return;
            }
        }
        spawn.start.fail(hub_gone());
    }

    /// Closes the handle of a hub that is going away: greenlets handed
    /// over and not installed fail, later ones fail at once, and the
    /// descriptors are closed.
    pub(crate) fn close(&self) {
        let spawns = {
            let mut spawns = self.spawns.lock().unwrap_or_else(|e| e.into_inner());
            self.closed.store(true, Ordering::Release);
            std::mem::take(&mut *spawns)
        };
        for s in spawns {
            s.start.fail(hub_gone());
        }
        self.queue.lock().clear();
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).clear();
        self.released
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        *self.waker.write().unwrap_or_else(|e| e.into_inner()) = None;
        *self.registry.0.write().unwrap_or_else(|e| e.into_inner()) = None;
    }

    fn notify(&self) {
        // Paired with `Hub::poll` (`begin_sleep`): either it sees our work
        // before it blocks or we see it asleep.
        if self.wake.notify() {
            // A failed (or missing) waker means the hub's thread is gone
            // with its poll; nothing is left to wake.
            if let Some(w) = &*self.waker.read().unwrap_or_else(|e| e.into_inner()) {
                let _ = w.wake();
            }
        }
    }
}
