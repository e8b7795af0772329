//! The hub: one event loop per OS thread.
//!
//! A hub owns a `mio::Poll`, a ready queue of greenlets, the timers, the
//! greenlets themselves (corosensei coroutines on pooled stacks) and a remote
//! queue through which other OS threads wake its waiters. It is created the
//! first time its thread needs it, like gevent's `get_hub()`.
//!
//! The loop runs on the thread's native stack, the *root context*. A greenlet
//! that waits suspends back to the loop; the root context, when it waits,
//! runs the loop itself until its own wake-up arrives. Greenlets never move
//! to another thread.

mod wake;

use std::cell::{Cell, RefCell, UnsafeCell};
use std::collections::VecDeque;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use corosensei::{Coroutine, CoroutineResult, Yielder};
use mio::{Events, Poll, Token};

use crate::local::Locals;
use crate::readiness::ScheduledIo;
use crate::overflow;
use crate::stack::{GreenStack, StackPool};
use crate::sync::spin::SpinLock;
use crate::task::{GreenletExit, PENDING, ROOT, Task};
use crate::timer::{Action, TimerKey, Timers};

/// Token of the hub's `mio::Waker`.
const WAKER: Token = Token(usize::MAX);
/// Greenlets resumed between two non-blocking polls while the ready queue
/// stays busy (tokio's `event_interval`).
const EVENT_INTERVAL: u32 = 61;
/// Operations a greenlet may complete without blocking (a send, a receive
/// or a read that found data, a lock taken at once, ...) before it yields
/// to the others, as tokio's coop budget does: a greenlet that never has to
/// wait cannot starve the others or the poller.
const BUDGET: u32 = 128;
/// Longest a hub with nothing to run spins waiting for a wake-up from
/// another thread before it blocks in its poll. Waking a thread blocked in
/// `epoll_wait` costs tens of microseconds (on a virtual machine, where an
/// idle vCPU is halted, about 30 µs here); a spinning hub takes the
/// wake-up in a fraction of one. See [`Hub::spin_for_remote`].
const SPIN_MAX: Duration = Duration::from_micros(50);
/// Spins shorter than this are not tried.
const SPIN_MIN: Duration = Duration::from_micros(2);
/// How long a hub being torn down (its thread exits) waits for the
/// greenlets it killed to finish unwinding; those still running then are
/// leaked (see [`Hub::shut_down`]).
const TEARDOWN_GRACE: Duration = Duration::from_secs(1);
/// Rounds of dropping greenlet-local values whose destructors touch other
/// keys (and so create new values), as std bounds its TLS destructor loop.
const LOCALS_ROUNDS: usize = 8;
/// Default usable stack size of a greenlet.
pub(crate) const DEFAULT_STACK_SIZE: usize = 256 * 1024;

/// The part of a hub other threads may touch.
#[derive(Debug)]
pub(crate) struct Remote {
    queue: SpinLock<Vec<Arc<Task>>>,
    /// Whether work was handed over since the hub last drained its remote
    /// side, and whether the hub is blocked in (or about to enter) its poll,
    /// in which case a hand-over must wake it through `waker`. While it runs
    /// or spins it checks for pending work itself, so a hand-over then costs
    /// no system call. See [`wake`].
    wake: wake::Handshake,
    /// Wakes the hub's poll; `None` once the hub is gone (its descriptor is
    /// closed then, though tasks may keep this `Remote` alive).
    waker: RwLock<Option<mio::Waker>>,
    /// The hub's registry, for deregistering from any thread.
    pub(crate) registry: RemoteRegistry,
    /// The hub is gone: greenlets handed to it fail instead of waiting
    /// forever.
    closed: AtomicBool,
    /// Registrations dropped on other threads, released between polls.
    released: Mutex<Vec<Arc<ScheduledIo>>>,
    /// Greenlets spawned for this hub by other threads.
    spawns: Mutex<Vec<RemoteSpawn>>,
}

/// A clone of a hub's `mio::Registry` that other threads may use while the
/// hub lives, and that is closed with the hub.
#[derive(Debug)]
pub(crate) struct RemoteRegistry(RwLock<Option<mio::Registry>>);

impl RemoteRegistry {
    /// Removes `source` from the hub's poll; nothing to do once the hub (and
    /// its poll) is gone.
    pub(crate) fn deregister(&self, source: &mut impl mio::event::Source) -> io::Result<()> {
        match &*self.0.read().unwrap_or_else(|e| e.into_inner()) {
            Some(r) => r.deregister(source),
            None => Ok(()),
        }
    }
}

impl std::fmt::Debug for RemoteSpawn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteSpawn")
            .field("task", &self.task)
            .finish_non_exhaustive()
    }
}

/// A greenlet made on one thread to run on another thread's hub.
pub(crate) struct RemoteSpawn {
    /// Its task, made with slot [`PENDING`].
    pub(crate) task: Arc<Task>,
    /// Its body.
    pub(crate) start: Box<dyn Start + Send>,
    /// Its stack size.
    pub(crate) stack_size: Option<usize>,
}

impl Remote {
    /// Keeps `io` alive until the hub's current poll batch is over.
    pub(crate) fn release(&self, io: Arc<ScheduledIo>) {
        self.released
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(io);
    }

    /// Hands `task` (parked on this hub) to the hub from another thread.
    fn push(&self, task: Arc<Task>) {
        self.queue.lock().push(task);
        self.notify();
    }

    /// Hands a new greenlet to this hub from another thread. If the hub is
    /// gone, the greenlet fails at once (its `join` says why).
    pub(crate) fn push_spawn(&self, spawn: RemoteSpawn) {
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

    /// Closes the remote side of a hub that is going away: greenlets handed
    /// over and not installed fail, later ones fail at once, and the
    /// descriptors are closed.
    fn close(&self) {
        let spawns = {
            let mut spawns = self.spawns.lock().unwrap_or_else(|e| e.into_inner());
            self.closed.store(true, Ordering::Release);
            std::mem::take(&mut *spawns)
        };
        for s in spawns {
            s.start.fail(hub_gone());
        }
        self.queue.lock().clear();
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

fn hub_gone() -> io::Error {
    io::Error::other("the hub (OS thread) it was placed on has exited")
}

type Co = Coroutine<(), (), (), GreenStack>;

/// What a greenlet runs: its body, or, if it cannot get a stack, what
/// reports that instead.
pub(crate) trait Start {
    /// Runs the greenlet's body on its own stack.
    fn run(self: Box<Self>);
    /// The greenlet could not start: no stack could be mapped.
    fn fail(self: Box<Self>, err: io::Error);
}

/// A greenlet's body and stack size, until it starts.
type Pending = (Box<dyn Start>, Option<usize>);

/// A greenlet as its hub holds it.
pub(crate) struct Greenlet {
    /// The coroutine, once the greenlet has started.
    co: UnsafeCell<Option<Co>>,
    /// The body and stack size, until the greenlet starts.
    start: Cell<Option<Pending>>,
    pub(crate) task: Arc<Task>,
    yielder: Cell<*const Yielder<(), ()>>,
    pub(crate) locals: Locals,
    guard: Cell<(usize, usize)>,
    /// Index in the hub's greenlets.
    slot: usize,
}

/// Whether this is the process's main thread (whose thread-local
/// destructors run only as the process exits).
fn is_main_thread() -> bool {
    // SAFETY: gettid and getpid have no preconditions.
    unsafe { libc::gettid() == libc::getpid() }
}

/// Drops every greenlet-local value of `locals`, in rounds: a destructor
/// that touches another key creates a value that the next round drops. A
/// destructor that keeps creating values is cut off after
/// [`LOCALS_ROUNDS`] rounds (the rest is leaked), as std bounds its own
/// thread-local destructor loop. Panics in destructors are contained.
fn drop_locals(locals: &Locals) {
    for _ in 0..LOCALS_ROUNDS {
        let values = locals.take();
        if values.is_empty() {
            return;
        }
        let _ = crate::thread::catch_unwind(move || drop(values));
    }
    std::mem::forget(locals.take());
}

/// Counters of one hub, for tests and monitoring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HubStats {
    /// Greenlets spawned on this hub and not finished.
    pub greenlets: usize,
    /// Greenlets ready to run.
    pub ready: usize,
    /// Armed timers.
    pub timers: usize,
    /// Stacks in the pool, ready for reuse.
    pub pooled_stacks: usize,
    /// Stacks mapped by this hub since it started.
    pub mapped_stacks: usize,
    /// Usable size of a greenlet stack spawned without `stack_size`.
    pub stack_size: usize,
}

/// The event loop of one OS thread.
pub(crate) struct Hub {
    poll: RefCell<Poll>,
    events: RefCell<Events>,
    ready: RefCell<VecDeque<usize>>,
    greenlets: RefCell<Vec<Option<Box<Greenlet>>>>,
    free_slots: RefCell<Vec<usize>>,
    live: Cell<usize>,
    /// The running greenlet (null on the root context).
    current: Cell<*const Greenlet>,
    timers: RefCell<Timers>,
    due: RefCell<Vec<Action>>,
    ticks: Cell<u32>,
    /// Operations the running greenlet (or the root context) may still
    /// complete without blocking before it yields (see [`coop`]).
    budget: Cell<u32>,
    /// How long to spin for a remote wake-up before blocking (adaptive).
    spin: Cell<Duration>,
    /// The remote queue's other buffer (see `drain_remote`).
    remote_spare: Cell<Vec<Arc<Task>>>,
    pub(crate) remote: Arc<Remote>,
    /// The poll's registry, for registering from this thread.
    registry: mio::Registry,
    /// Waiters on this hub recorded as unwinding (see
    /// [`task::is_unwinding`](crate::task::is_unwinding)).
    pub(crate) unwinding: Cell<usize>,
    /// Green's panic hook is running the previous hook: the OS thread is
    /// inside std's panic hook, so no other greenlet may run (a panic in it
    /// would abort the process); waits block the thread instead.
    pub(crate) in_hook: Cell<bool>,
    /// A greenlet was installed since the teardown last killed them all.
    spawned: Cell<bool>,
    root: Arc<Task>,
    pub(crate) root_locals: Locals,
    stacks: RefCell<StackPool>,
}

/// What `HUB` holds once this thread's hub has been torn down.
const DEAD: usize = 1;

thread_local! {
    /// This thread's hub: null before it exists, [`DEAD`] once torn down.
    /// It has no destructor, so it can be read during thread exit.
    static HUB: Cell<*const Hub> = const { Cell::new(ptr::null()) };
    static OWNER: RefCell<Option<HubOwner>> = const { RefCell::new(None) };
    /// Owns a hub made during thread exit, after the first one was torn
    /// down (a later thread-local destructor made a green call).
    static LATE_OWNER: RefCell<Option<HubOwner>> = const { RefCell::new(None) };
}

/// Owns the thread's hub and tears it down at thread exit.
struct HubOwner(*mut Hub);

impl Drop for HubOwner {
    fn drop(&mut self) {
        // SAFETY: the pointer came from Box::into_raw in `install` and is
        // freed only below, once; the hub is still installed in HUB, so
        // green calls made while it shuts down use it.
        unsafe { (*self.0).shut_down() };
        HUB.with(|h| h.set(DEAD as *const Hub));
        // SAFETY: as above; HUB no longer points to the hub, so no new
        // reference to it can be made.
        let hub = unsafe { Box::from_raw(self.0) };
        hub.remote.close();
        // Greenlets that did not finish unwinding in time: their stacks and
        // greenlet-local values are leaked (their frames may still be in
        // use by nothing but them), the rest of their records is freed.
        for g in hub.greenlets.borrow_mut().drain(..).flatten() {
            let Greenlet {
                co, start, locals, ..
            } = *g;
            std::mem::forget(co);
            std::mem::forget(locals);
            std::mem::forget(start);
        }
        drop(hub);
    }
}

/// The current thread's hub, created on first use.
#[inline]
pub(crate) fn hub() -> &'static Hub {
    let p = HUB.with(|h| h.get());
    if p as usize <= DEAD {
        return init(!p.is_null());
    }
    // SAFETY: a pointer above DEAD in HUB points to this thread's hub, which
    // lives until its owner is dropped at thread exit, and that resets HUB
    // first. `Hub` is neither Send nor Sync, so the reference cannot leave
    // this thread.
    unsafe { &*p }
}

/// Spends one unit of the running greenlet's budget: called by every
/// green operation that completed without blocking. When the budget is
/// spent, the greenlet yields once (every other ready greenlet runs, and
/// the poller with them) and gets a new budget; switching resets it too.
/// Call it with no internal lock held. Free on a thread without a hub.
#[inline]
pub(crate) fn coop() {
    if let Some(hub) = try_hub() {
        let b = hub.budget.get();
        if b == 0 {
            hub.out_of_budget();
        } else {
            hub.budget.set(b - 1);
        }
    }
}

/// The current thread's hub if it has one.
#[inline]
pub(crate) fn try_hub() -> Option<&'static Hub> {
    let p = HUB.with(|h| h.get());
    // SAFETY: as in `hub`.
    (p as usize > DEAD).then(|| unsafe { &*p })
}

/// Makes the thread's hub. `late`: the first one was torn down already
/// (the thread is exiting and a thread-local destructor made a green call);
/// the new one is torn down by a later destructor, or, if none can be
/// registered any more, leaked.
#[cold]
fn init(late: bool) -> &'static Hub {
    let hub = Hub::new(late).unwrap_or_else(|e| {
        panic!("green: cannot create the hub (event loop) of this thread: {e}")
    });
    let p = Box::into_raw(Box::new(hub));
    let key = if late { &LATE_OWNER } else { &OWNER };
    let owned = key
        .try_with(|o| match o.try_borrow_mut() {
            Ok(mut o) if o.is_none() => {
                *o = Some(HubOwner(p));
                true
            }
            _ => false,
        })
        .unwrap_or(false);
    // Not owned: the thread is past the point where a destructor can be
    // registered; the hub is leaked with the thread.
    let _ = owned;
    HUB.with(|h| h.set(p));
    overflow::install();
    crate::thread::install_panic_hook();
    // SAFETY: just made, and owned by an owner until thread exit (or never
    // freed); see `hub`.
    unsafe { &*p }
}

/// Wakes a task whose state just went from parked to notified.
#[inline]
pub(crate) fn schedule(task: &Arc<Task>) {
    if let Some(hub) = try_hub()
        && Arc::ptr_eq(&hub.remote, &task.hub)
    {
        let slot = task.slot();
        if slot != ROOT {
            hub.ready.borrow_mut().push_back(slot);
        }
        return;
    }
    schedule_remote(task);
}

/// Wakes a task parked on another thread's hub.
#[cold]
#[inline(never)]
fn schedule_remote(task: &Arc<Task>) {
    task.hub.push(task.clone());
}

impl Hub {
    fn new(late: bool) -> io::Result<Hub> {
        let poll = Poll::new()?;
        let waker = mio::Waker::new(poll.registry(), WAKER)?;
        let registry = poll.registry().try_clone()?;
        let remote = Arc::new(Remote {
            queue: SpinLock::new(Vec::new()),
            wake: wake::Handshake::new(),
            waker: RwLock::new(Some(waker)),
            registry: RemoteRegistry(RwLock::new(Some(poll.registry().try_clone()?))),
            closed: AtomicBool::new(false),
            released: Mutex::new(Vec::new()),
            spawns: Mutex::new(Vec::new()),
        });
        // During thread exit std's `current()` may be gone (it aborts).
        let name = if late {
            None
        } else {
            std::thread::current().name().map(Box::from)
        };
        let root = Arc::new(Task::new(remote.clone(), ROOT, name));
        Ok(Hub {
            poll: RefCell::new(poll),
            events: RefCell::new(Events::with_capacity(1024)),
            ready: RefCell::new(VecDeque::with_capacity(64)),
            greenlets: RefCell::new(Vec::new()),
            free_slots: RefCell::new(Vec::new()),
            live: Cell::new(0),
            current: Cell::new(ptr::null()),
            timers: RefCell::new(Timers::default()),
            due: RefCell::new(Vec::new()),
            ticks: Cell::new(0),
            budget: Cell::new(BUDGET),
            spin: Cell::new(Duration::ZERO),
            remote_spare: Cell::new(Vec::new()),
            remote,
            registry,
            unwinding: Cell::new(0),
            in_hook: Cell::new(false),
            spawned: Cell::new(false),
            root,
            root_locals: Locals::default(),
            stacks: RefCell::new(StackPool::new(DEFAULT_STACK_SIZE)),
        })
    }

    /// The registry sockets register with.
    pub(crate) fn registry(&self) -> &mio::Registry {
        &self.registry
    }

    /// The running waiter.
    #[inline]
    pub(crate) fn current_task(&self) -> &Arc<Task> {
        match self.running() {
            Some(g) => &g.task,
            None => &self.root,
        }
    }

    /// The running greenlet, `None` on the root context.
    #[inline]
    fn running(&self) -> Option<&Greenlet> {
        let g = self.current.get();
        // SAFETY: set by `resume` to the running greenlet's boxed record,
        // which outlives the run, and cleared when it suspends.
        (!g.is_null()).then(|| unsafe { &*g })
    }

    /// Whether the root context (not a greenlet) is running.
    #[inline]
    pub(crate) fn in_root(&self) -> bool {
        self.current.get().is_null()
    }

    /// The greenlet in `slot`.
    pub(crate) fn greenlet(&self, slot: usize) -> &Greenlet {
        let gs = self.greenlets.borrow();
        let g: *const Greenlet = &**gs[slot].as_ref().expect("live greenlet slot");
        // SAFETY: greenlets are boxed, so the record does not move when the
        // slab grows; a record is freed only by `finish`, after its coroutine
        // returned, and callers only ask for the running greenlet or one
        // they know to be live, on the hub's own thread.
        unsafe { &*g }
    }

    /// The greenlet-local storage of the running waiter.
    pub(crate) fn current_locals(&self) -> &Locals {
        match self.running() {
            Some(g) => &g.locals,
            None => &self.root_locals,
        }
    }

    /// Statistics.
    pub(crate) fn stats(&self) -> HubStats {
        let stacks = self.stacks.borrow();
        HubStats {
            greenlets: self.live.get(),
            ready: self.ready.borrow().len(),
            timers: self.timers.borrow().len(),
            pooled_stacks: stacks.pooled(),
            mapped_stacks: stacks.mapped(),
            stack_size: stacks.default_size(),
        }
    }

    pub(crate) fn set_default_stack_size(&self, size: usize) {
        self.stacks.borrow_mut().set_default_size(size);
    }

    /// Queues a greenlet that will run `start`.
    ///
    /// Its stack is taken from the pool when it first runs, so greenlets
    /// spawned in a burst and run one after another share a few stacks. So
    /// that running out of memory maps is still reported here, a stack is
    /// mapped now when the pool has none of the right size.
    pub(crate) fn spawn(
        &self,
        name: Option<Box<str>>,
        stack_size: Option<usize>,
        start: Box<dyn Start>,
    ) -> io::Result<Arc<Task>> {
        self.stacks.borrow_mut().reserve(stack_size)?;
        let task = Arc::new(Task::new(self.remote.clone(), PENDING, name));
        self.install(task.clone(), start, stack_size);
        Ok(task)
    }

    /// Installs a greenlet whose task (with slot [`PENDING`]) was made
    /// elsewhere, and queues it to run.
    fn install(&self, task: Arc<Task>, start: Box<dyn Start>, stack_size: Option<usize>) {
        let slot = match self.free_slots.borrow_mut().pop() {
            Some(slot) => slot,
            None => {
                let mut gs = self.greenlets.borrow_mut();
                gs.push(None);
                gs.len() - 1
            }
        };
        task.set_slot(slot);
        self.greenlets.borrow_mut()[slot] = Some(Box::new(Greenlet {
            co: UnsafeCell::new(None),
            start: Cell::new(Some((start, stack_size))),
            task,
            yielder: Cell::new(ptr::null()),
            locals: Locals::default(),
            guard: Cell::new((0, 0)),
            slot,
        }));
        self.live.set(self.live.get() + 1);
        self.spawned.set(true);
        self.ready.borrow_mut().push_back(slot);
    }

    /// Makes the coroutine of a greenlet that runs for the first time.
    /// `false` if no stack could be had (the greenlet has then failed).
    fn start(&self, slot: usize, g: &Greenlet) -> bool {
        let Some((start, stack_size)) = g.start.take() else {
            return true;
        };
        let stack = match self.stacks.borrow_mut().get(stack_size) {
            Ok(stack) => stack,
            Err(e) => {
                start.fail(e);
                return false;
            }
        };
        g.guard.set(stack.guard());
        let co = Coroutine::with_stack(stack, move |y: &Yielder<(), ()>, ()| {
            let hub = hub();
            hub.greenlet(slot).yielder.set(y);
            // The thread layer catches the user's panics itself; this guard
            // keeps anything else from unwinding into the hub.
            let _ = panic::catch_unwind(AssertUnwindSafe(move || start.run()));
            // Greenlet-local values are dropped here, on the greenlet, as
            // std drops thread-locals on their thread; all of them, so that
            // none is left for `finish` to drop on the root context.
            drop_locals(&hub.greenlet(slot).locals);
        });
        // SAFETY: only the loop touches `co`, and the greenlet is not
        // running (it never ran).
        unsafe { *g.co.get() = Some(co) };
        true
    }

    #[inline]
    fn resume(&self, slot: usize) {
        let g: *const Greenlet = match self.greenlets.borrow().get(slot) {
            Some(Some(g)) => &**g,
            _ => return,
        };
        // SAFETY: see `greenlet`; the record stays until `finish` below.
        let g = unsafe { &*g };
        // SAFETY: only the loop, on the root context, touches `co`, and it
        // resumes one greenlet at a time, so this is the only reference.
        let co = match unsafe { &mut *g.co.get() } {
            Some(co) => co,
            None => {
                if !self.first_run(slot, g) {
                    return;
                }
                // SAFETY: as above; `first_run` stored the coroutine.
                match unsafe { &mut *g.co.get() } {
                    Some(co) => co,
                    None => return,
                }
            }
        };
        self.current.set(g);
        self.budget.set(BUDGET);
        let result = co.resume(());
        self.current.set(ptr::null());
        if let CoroutineResult::Return(()) = result {
            self.finish(slot);
        }
    }

    /// Makes the coroutine of a greenlet about to run for the first time;
    /// `false` if it could not get a stack (it has then failed and is gone).
    #[cold]
    #[inline(never)]
    fn first_run(&self, slot: usize, g: &Greenlet) -> bool {
        if !self.start(slot, g) {
            self.finish(slot);
            return false;
        }
        true
    }

    /// The guard region and task of the greenlet running on this thread,
    /// for the overflow handler. Async-signal-safe: plain reads.
    pub(crate) fn running_guard() -> Option<((usize, usize), *const Task)> {
        let hub = try_hub()?;
        let g = hub.running()?;
        Some((g.guard.get(), Arc::as_ptr(&g.task)))
    }

    fn finish(&self, slot: usize) {
        let g = self.greenlets.borrow_mut()[slot]
            .take()
            .expect("finished greenlet slot");
        self.free_slots.borrow_mut().push(slot);
        self.live.set(self.live.get() - 1);
        g.task.set_done();
        if let Some(co) = g.co.into_inner() {
            self.stacks.borrow_mut().put(co.into_stack());
        }
    }

    /// Suspends the running waiter until it is scheduled again: a greenlet
    /// switches to the loop; the root context runs the loop until notified.
    #[inline(always)]
    pub(crate) fn suspend_current(&self) {
        if self.in_root() {
            self.run_root();
        } else {
            self.suspend_greenlet();
        }
    }

    /// The root context waits: runs the loop until the root is notified.
    #[inline(never)]
    fn run_root(&self) {
        let root = &self.root;
        self.run_until(|| root.is_notified());
    }

    /// Switches from the running greenlet back to the loop.
    #[inline(always)]
    fn suspend_greenlet(&self) {
        let g = self.current.get();
        // SAFETY: called on a greenlet, so `current` is its record (see
        // `running`); its yielder was set by the greenlet's entry before any
        // of its code ran, and lives as long as its coroutine, which is
        // running.
        unsafe { (*(*g).yielder.get()).suspend(()) };
    }

    /// Lets every other ready greenlet run once, then returns.
    #[inline(always)]
    pub(crate) fn yield_now(&self) {
        if self.in_root() {
            self.yield_root();
        } else {
            // SAFETY: not on the root context, so `current` is the running
            // greenlet's record (see `running`).
            let slot = unsafe { (*self.current.get()).slot };
            self.ready.borrow_mut().push_back(slot);
            self.suspend_greenlet();
        }
    }

    /// `yield_now` on the root context: runs each ready greenlet once and
    /// polls without blocking.
    #[inline(never)]
    fn yield_root(&self) {
        let n = self.ready.borrow().len();
        for _ in 0..n {
            let next = self.ready.borrow_mut().pop_front();
            match next {
                Some(slot) => self.resume(slot),
                None => break,
            }
        }
        self.ticks.set(0);
        self.poll(Some(Duration::ZERO));
        self.budget.set(BUDGET);
    }

    /// The budget of the running greenlet is spent: let the others run.
    /// Not an interruption point (a kill waits for a blocking call), so it
    /// may be called wherever an operation completes.
    #[cold]
    #[inline(never)]
    fn out_of_budget(&self) {
        self.budget.set(BUDGET);
        self.yield_now();
    }

    /// Runs the loop on the root context until `done` holds.
    fn run_until(&self, done: impl Fn() -> bool) {
        loop {
            if done() {
                self.budget.set(BUDGET);
                return;
            }
            let next = self.ready.borrow_mut().pop_front();
            match next {
                Some(slot) => {
                    self.resume(slot);
                    let t = self.ticks.get() + 1;
                    if t >= EVENT_INTERVAL {
                        self.ticks.set(0);
                        self.poll(Some(Duration::ZERO));
                    } else {
                        self.ticks.set(t);
                    }
                }
                None => {
                    self.ticks.set(0);
                    let deadline = self.timers.borrow_mut().next_deadline();
                    if !self.spin.get().is_zero() && self.spin_for_remote(deadline) {
                        continue;
                    }
                    let timeout = deadline.map(|d| d.saturating_duration_since(Instant::now()));
                    self.poll(timeout);
                }
            }
        }
    }

    /// With nothing to run, waits a little for work from another thread
    /// before blocking: returns whether some came (it is then drained).
    ///
    /// Greenlets on two hubs handing work back and forth (a channel between
    /// them, a lock they share) would otherwise pay a thread wake-up per
    /// hand-over. The spin is adaptive: it is armed by a wake-up from
    /// another thread that found the hub blocked, kept at its full length
    /// while wake-ups arrive within it, and halved each time one does not,
    /// so a hub whose remote traffic stops spins for about twice
    /// [`SPIN_MAX`] in all before it blocks again for good. A hub that only
    /// does I/O and timers of its own never spins. Sockets are polled
    /// before the spin, and an event that comes during it waits for its end
    /// (at most [`SPIN_MAX`]); the spin ends at the next timer's deadline.
    fn spin_for_remote(&self, deadline: Option<Instant>) -> bool {
        // Whatever came (an event, a timer, work from another thread, a
        // wake-up of the root context, which is not queued), the loop must
        // look again before it blocks.
        if self.poll(Some(Duration::ZERO)) {
            return true;
        }
        let limit = self.spin.get();
        let start = Instant::now();
        let end = match deadline {
            Some(d) => d.min(start + limit),
            None => start + limit,
        };
        let mut spins = 0u32;
        loop {
            if self.remote.wake.is_pending() {
                self.drain_remote();
                self.spin.set(SPIN_MAX);
                return true;
            }
            std::hint::spin_loop();
            spins += 1;
            if spins.is_multiple_of(64) && Instant::now() >= end {
                break;
            }
        }
        let next = limit / 2;
        self.spin.set(if next < SPIN_MIN {
            Duration::ZERO
        } else {
            next
        });
        false
    }

    /// Polls for events (blocking for at most `timeout`), takes work
    /// handed over by other threads and fires due timers. Returns whether
    /// any of that happened.
    fn poll(&self, timeout: Option<Duration>) -> bool {
        {
            let mut released = self
                .remote
                .released
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if !released.is_empty() {
                released.clear();
            }
        }
        let mut any = false;
        {
            let mut timeout = timeout;
            let blocking = timeout != Some(Duration::ZERO);
            if blocking {
                // See `Remote::notify`.
                if !self.remote.wake.begin_sleep() {
                    timeout = Some(Duration::ZERO);
                }
            }
            let mut events = self.events.borrow_mut();
            let result = self.poll.borrow_mut().poll(&mut events, timeout);
            if blocking {
                self.remote.wake.end_sleep();
            }
            if let Err(e) = result
                && e.kind() != io::ErrorKind::Interrupted
            {
                panic!("green: the hub's poll failed: {e}");
            }
            let mut woken = false;
            for event in events.iter() {
                if event.token() == WAKER {
                    woken = true;
                } else {
                    crate::readiness::dispatch(event);
                    any = true;
                }
            }
            // Hand-overs made while the hub was running or spinning come
            // without a waker event.
            if (woken || self.remote.wake.is_pending()) && self.drain_remote() {
                any = true;
                if blocking {
                    // Another thread had to wake this hub: spin for the
                    // next hand-over before blocking again.
                    self.spin.set(SPIN_MAX);
                }
            }
        }
        let mut due = std::mem::take(&mut *self.due.borrow_mut());
        let now = Instant::now();
        self.timers.borrow_mut().expire_into(now, &mut due);
        self.stacks.borrow_mut().maybe_trim(now);
        any |= !due.is_empty();
        for action in due.drain(..) {
            match action {
                Action::Unpark(task) => task.unpark(),
                Action::Call(f) => f(),
            }
        }
        *self.due.borrow_mut() = due;
        any
    }

    /// Takes the work other threads handed over; returns whether there was
    /// any.
    fn drain_remote(&self) -> bool {
        self.remote.wake.take();
        let spawns =
            std::mem::take(&mut *self.remote.spawns.lock().unwrap_or_else(|e| e.into_inner()));
        let any_spawn = !spawns.is_empty();
        for s in spawns {
            // A greenlet that cannot get a stack fails when it would start,
            // as on its own hub.
            self.install(s.task, s.start, s.stack_size);
        }
        // Swap the queue with a spare, so that both keep their capacity
        // and a hand-over does not allocate.
        let mut tasks = self.remote_spare.take();
        std::mem::swap(&mut *self.remote.queue.lock(), &mut tasks);
        let any_task = !tasks.is_empty();
        let mut ready = self.ready.borrow_mut();
        for task in tasks.drain(..) {
            let slot = task.slot();
            if slot != ROOT {
                ready.push_back(slot);
            }
        }
        self.remote_spare.set(tasks);
        any_spawn || any_task
    }

    /// Waits for `task`'s notification without running any greenlet (see
    /// `in_hook`): polls, takes remote work and fires timers only.
    #[cold]
    #[inline(never)]
    pub(crate) fn wait_in_hook(&self, task: &Task) {
        while !task.is_notified() {
            let deadline = self.timers.borrow_mut().next_deadline();
            let timeout = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            self.poll(timeout);
        }
    }

    /// Tears the hub down, at thread exit, while it is still installed:
    /// kills every greenlet (gevent's `GreenletExit`) and runs the loop
    /// until they have unwound, for at most [`TEARDOWN_GRACE`] (greenlets
    /// spawned meanwhile are killed too), so their destructors run, their
    /// joiners get `Err(GreenletExit)` and their stacks return to the pool.
    /// Then the root context's greenlet-local values are dropped.
    ///
    /// On the main thread these destructors run inside `exit` (the process
    /// ends as `main` returns): there the greenlets are left as they are,
    /// as std leaves its other threads when `main` returns.
    fn shut_down(&self) {
        self.in_hook.set(false);
        if self.remote.wake.is_pending() {
            self.drain_remote();
        }
        if self.live.get() > 0 && !is_main_thread() {
            let root = self.root.clone();
            let deadline = Instant::now() + TEARDOWN_GRACE;
            let timer = self.add_timer(deadline, root.clone());
            loop {
                root.clear_notification();
                self.spawned.set(false);
                self.kill_all();
                self.run_until(|| self.live.get() == 0 || root.is_notified() || self.spawned.get());
                if self.live.get() == 0 || Instant::now() >= deadline {
                    break;
                }
            }
            self.cancel_timer(timer);
        }
        drop_locals(&self.root_locals);
    }

    /// Interrupts every live greenlet with [`GreenletExit`], except those
    /// already interrupted or unwinding.
    fn kill_all(&self) {
        let tasks: Vec<Arc<Task>> = self
            .greenlets
            .borrow()
            .iter()
            .flatten()
            .map(|g| g.task.clone())
            .collect();
        for t in tasks {
            if !t.is_interrupted() {
                t.interrupt(Box::new(GreenletExit));
            }
        }
    }

    /// Arms a timer that unparks `task` at `deadline`.
    pub(crate) fn add_timer(&self, deadline: Instant, task: Arc<Task>) -> TimerKey {
        self.timers.borrow_mut().add(deadline, Action::Unpark(task))
    }

    /// Arms a timer that runs `f` on this hub's root context at `deadline`
    /// (it must not block).
    pub(crate) fn add_timer_fn(&self, deadline: Instant, f: Box<dyn FnOnce()>) -> TimerKey {
        self.timers.borrow_mut().add(deadline, Action::Call(f))
    }

    /// Disarms a timer.
    pub(crate) fn cancel_timer(&self, key: TimerKey) {
        self.timers.borrow_mut().cancel(key);
    }
}
