//! The hub: one event loop per OS thread.
//!
//! A hub owns a `mio::Poll`, a ready queue of greenlets, the timers, the
//! greenlets themselves ([`Greenlet`]s: corosensei coroutines on pooled
//! stacks) and a [`Handle`] through which other OS threads wake its waiters
//! and place greenlets on it. The thread's hub is made the first time the
//! thread needs it, like gevent's `get_hub()` (see [`super::context`]).
//!
//! The loop runs on the thread's native stack, the *root context*. A greenlet
//! that waits suspends back to the loop; the root context, when it waits,
//! runs the loop itself until its own wake-up arrives. Greenlets never move
//! to another thread.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io;
use std::panic::Location;
use std::pin::Pin;
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token};

use super::greenlet::{Greenlet, Resumed, Wait};
use super::handle::{Handle, Start};
use super::locals::Locals;
use super::scheduled;
use super::stack::StackPool;
use super::task::{GreenletExit, HubHandle, PENDING, ROOT, Task};
use super::timer::{Action, TimerKey, Timers};

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
/// Default usable stack size of a greenlet.
pub(crate) const DEFAULT_STACK_SIZE: usize = 256 * 1024;

/// Whether this is the process's main thread (whose thread-local
/// destructors run only as the process exits).
fn is_main_thread() -> bool {
    // SAFETY: gettid and getpid have no preconditions.
    unsafe { libc::gettid() == libc::getpid() }
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
    /// Greenlets waiting (neither running nor ready), by what they wait
    /// for.
    pub waiting: WaitingStats,
    /// The longest time the hub's loop went without polling for events
    /// (one greenlet, or a run of them, kept it busy; a greenlet blocking
    /// the OS thread shows here once it returns).
    pub longest_stall: Duration,
    /// Jobs queued on the blocking pool ([`tpool`](crate::tpool)), not yet
    /// taken by a thread (process-wide).
    pub blocking_queued: usize,
    /// Blocking-pool threads running a job (process-wide).
    pub blocking_busy: usize,
    /// Blocking-pool threads in all (process-wide).
    pub blocking_threads: usize,
}

/// Waiting greenlets of one hub by what they wait for (see
/// [`HubStats::waiting`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WaitingStats {
    /// On a socket or another descriptor.
    pub io: usize,
    /// In a sleep or another wait with only a deadline.
    pub sleep: usize,
    /// On a lock, channel, queue, event or another primitive.
    pub primitive: usize,
    /// In `join`.
    pub join: usize,
    /// On a blocking-pool job.
    pub blocking: usize,
    /// Parked (`thread::park`) or not yet run.
    pub other: usize,
}

impl WaitingStats {
    /// All waiting greenlets.
    pub fn total(&self) -> usize {
        self.io + self.sleep + self.primitive + self.join + self.blocking + self.other
    }
}

/// Called on the root context right after a greenlet switched out to the
/// loop, if set (the `tracing` integration exits the greenlet's spans).
static SWITCH_OUT: OnceLock<fn()> = OnceLock::new();

/// Sets the switch-out hook (once per process; later calls are ignored).
#[cfg_attr(not(feature = "tracing"), allow(dead_code))]
pub(crate) fn on_switch_out(hook: fn()) {
    let _ = SWITCH_OUT.set(hook);
}

/// A blocking detector watches the hubs: they publish their switches and
/// running waiter (see [`super::handle::Monitor`]). Off, a switch costs
/// one relaxed load more.
static WATCHED: AtomicBool = AtomicBool::new(false);

/// Makes every hub publish what the blocking detector reads (from its next
/// switch on).
pub(crate) fn watch() {
    WATCHED.store(true, Ordering::Relaxed);
}

#[inline(always)]
fn watched() -> bool {
    WATCHED.load(Ordering::Relaxed)
}

/// Every hub of the process, for the monitor.
static HUBS: Mutex<Vec<Weak<HubHandle>>> = Mutex::new(Vec::new());

/// The handles of the hubs alive now.
pub(crate) fn all_hubs() -> Vec<Arc<HubHandle>> {
    let mut hubs = HUBS.lock().unwrap_or_else(|e| e.into_inner());
    hubs.retain(|h| h.strong_count() > 0);
    hubs.iter().filter_map(Weak::upgrade).collect()
}

/// One greenlet (or a root context) as [`Hub::report`] sees it.
#[derive(Debug, Clone)]
pub(crate) struct Report {
    /// Its task.
    pub(crate) task: Arc<Task>,
    /// Running (`None`), ready (`Some(Wait::Nothing)` with `ready`), or
    /// waiting.
    pub(crate) running: bool,
    /// On the ready queue.
    pub(crate) ready: bool,
    /// What it waits for, since when.
    pub(crate) wait: (Wait, Instant),
    /// When it was spawned (`None`: a root context).
    pub(crate) born: Option<Instant>,
}

/// The event loop of one OS thread.
pub(crate) struct Hub {
    poll: RefCell<Poll>,
    events: RefCell<Events>,
    ready: RefCell<VecDeque<usize>>,
    greenlets: RefCell<Vec<Option<Pin<Box<Greenlet>>>>>,
    free_slots: RefCell<Vec<usize>>,
    live: Cell<usize>,
    /// The running greenlet (null on the root context).
    current: Cell<*const Greenlet>,
    timers: RefCell<Timers>,
    due: RefCell<Vec<Action>>,
    ticks: Cell<u32>,
    /// Operations the running greenlet (or the root context) may still
    /// complete without blocking before it yields (see [`super::context::coop`]).
    budget: Cell<u32>,
    /// How long to spin for a remote wake-up before blocking (adaptive).
    spin: Cell<Duration>,
    /// The remote queue's other buffer (see `drain_remote`).
    remote_spare: Cell<Vec<Arc<Task>>>,
    /// The hub's `Send` half.
    pub(crate) handle: Arc<HubHandle>,
    /// The poll's registry, for registering from this thread.
    registry: mio::Registry,
    /// Green's panic hook is running the previous hook: the OS thread is
    /// inside std's panic hook, so no other greenlet may run (a panic in it
    /// would abort the process); waits block the thread instead.
    pub(crate) in_hook: Cell<bool>,
    /// A greenlet was installed since the teardown last killed them all.
    spawned: Cell<bool>,
    root: Arc<Task>,
    pub(crate) root_locals: Locals,
    /// What the root context waits for, since when.
    root_wait: Cell<(Wait, Instant)>,
    /// The root context is in `run_until` (waiting), not running its code.
    root_waiting: Cell<bool>,
    stacks: RefCell<StackPool>,
    /// The hub's coarse clock: the end of its last poll.
    tick: Cell<Instant>,
    /// See [`HubStats::longest_stall`].
    longest_stall: Cell<Duration>,
    /// Switches into greenlets (mirrored to the monitor).
    switches: Cell<u64>,
}

impl Hub {
    /// A hub for this thread. `late`: made during thread exit.
    pub(crate) fn new(late: bool) -> io::Result<Hub> {
        let poll = Poll::new()?;
        let waker = mio::Waker::new(poll.registry(), WAKER)?;
        let registry = poll.registry().try_clone()?;
        let handle = Arc::new(Handle::new(waker, poll.registry().try_clone()?));
        // During thread exit std's `current()` may be gone (it aborts).
        let name = if late {
            None
        } else {
            std::thread::current().name().map(Box::from)
        };
        let root = Arc::new(Task::new(handle.clone(), ROOT, name.clone(), None));
        // SAFETY: pthread_self has no preconditions.
        let _ = handle
            .monitor
            .thread
            .set((unsafe { libc::pthread_self() }, name));
        handle.monitor.running.store(root.id, Ordering::Relaxed);
        HUBS.lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::downgrade(&handle));
        let now = Instant::now();
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
            handle,
            registry,
            in_hook: Cell::new(false),
            spawned: Cell::new(false),
            root,
            root_locals: Locals::default(),
            root_wait: Cell::new((Wait::Nothing, now)),
            root_waiting: Cell::new(false),
            tick: Cell::new(now),
            longest_stall: Cell::new(Duration::ZERO),
            switches: Cell::new(0),
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
    pub(crate) fn running(&self) -> Option<&Greenlet> {
        let g = self.current.get();
        // SAFETY: set by `resume` to the running greenlet's pinned record,
        // which outlives the run, and cleared when it suspends.
        (!g.is_null()).then(|| unsafe { &*g })
    }

    /// Whether the root context (not a greenlet) is running.
    #[inline]
    pub(crate) fn in_root(&self) -> bool {
        self.current.get().is_null()
    }

    /// The greenlet in `slot`, if it is live; the reference does not hold
    /// the slab borrowed, so the greenlet may run (and spawn) meanwhile.
    fn greenlet(&self, slot: usize) -> Option<&Greenlet> {
        let gs = self.greenlets.borrow();
        let g: *const Greenlet = &**gs.get(slot)?.as_ref()?;
        // SAFETY: records are pinned in their boxes, so one does not move
        // when the slab grows; a record is freed only by `finish` (after its
        // coroutine returned) and at teardown, both on the root context of
        // the hub's own thread, never while a reference from here is used:
        // `resume` uses it for one run, which `finish` follows.
        Some(unsafe { &*g })
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
            waiting: self.waiting(),
            // Up to now: the time since the last poll counts too.
            longest_stall: self
                .longest_stall
                .get()
                .max(Instant::now().saturating_duration_since(self.tick.get())),
            blocking_queued: 0,
            blocking_busy: 0,
            blocking_threads: 0,
        }
    }

    /// The slots on the ready queue, and the running greenlet's id (for
    /// the walks of [`waiting`](Self::waiting) and [`report`](Self::report)).
    fn ready_and_running(&self) -> (std::collections::HashSet<usize>, Option<u64>) {
        let ready = self.ready.borrow().iter().copied().collect();
        (ready, self.running().map(|g| g.task.id))
    }

    /// The waiting greenlets by what they wait for (a walk of the slab).
    fn waiting(&self) -> WaitingStats {
        let (ready, running) = self.ready_and_running();
        let mut w = WaitingStats::default();
        for g in self.greenlets.borrow().iter().flatten() {
            if ready.contains(&g.task.slot()) || Some(g.task.id) == running {
                continue;
            }
            match g.wait.get().0 {
                Wait::Io { .. } => w.io += 1,
                Wait::Sleep(_) => w.sleep += 1,
                Wait::Queue(_) | Wait::Other(_) => w.primitive += 1,
                Wait::Join(_) => w.join += 1,
                Wait::Blocking => w.blocking += 1,
                Wait::Park | Wait::Nothing => w.other += 1,
            }
        }
        w
    }

    /// Every greenlet of the hub and its root context, for
    /// `runtime::dump` (on the hub's thread).
    pub(crate) fn report(&self) -> Vec<Report> {
        let (ready, running) = self.ready_and_running();
        let mut out = vec![Report {
            task: self.root.clone(),
            running: self.in_root() && !self.root_waiting.get(),
            ready: false,
            wait: self.root_wait.get(),
            born: None,
        }];
        for g in self.greenlets.borrow().iter().flatten() {
            out.push(Report {
                task: g.task.clone(),
                running: Some(g.task.id) == running,
                ready: ready.contains(&g.task.slot()),
                wait: g.wait.get(),
                born: Some(g.born),
            });
        }
        out
    }

    /// Records what the running waiter is about to wait for.
    #[inline]
    pub(crate) fn note_wait(&self, why: Wait) {
        let now = self.tick.get();
        match self.running() {
            Some(g) => g.wait.set((why, now)),
            None => self.root_wait.set((why, now)),
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
        site: &'static Location<'static>,
    ) -> io::Result<Arc<Task>> {
        self.stacks.borrow_mut().reserve(stack_size)?;
        let task = Arc::new(Task::new(self.handle.clone(), PENDING, name, Some(site)));
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
        self.greenlets.borrow_mut()[slot] =
            Some(Greenlet::new(task, start, stack_size, self.tick.get()));
        self.live.set(self.live.get() + 1);
        self.handle
            .monitor
            .live
            .store(self.live.get(), Ordering::Relaxed);
        self.spawned.set(true);
        self.ready.borrow_mut().push_back(slot);
    }

    #[inline(always)]
    fn resume(&self, slot: usize) {
        let Some(g) = self.greenlet(slot) else { return };
        self.current.set(g);
        self.budget.set(BUDGET);
        let watched = watched();
        let monitor = &self.handle.monitor;
        if watched {
            let n = self.switches.get() + 1;
            self.switches.set(n);
            monitor.switches.store(n, Ordering::Relaxed);
            monitor.running.store(g.task.id, Ordering::Relaxed);
        }
        let result = g.resume(&self.stacks);
        if watched {
            monitor.running.store(0, Ordering::Relaxed);
        }
        self.current.set(ptr::null());
        if let Some(hook) = SWITCH_OUT.get() {
            hook();
        }
        if result != Resumed::Suspended {
            self.finish(slot);
        }
    }

    fn finish(&self, slot: usize) {
        let g = self.greenlets.borrow_mut()[slot]
            .take()
            .expect("finished greenlet slot");
        self.free_slots.borrow_mut().push(slot);
        self.live.set(self.live.get() - 1);
        self.handle
            .monitor
            .live
            .store(self.live.get(), Ordering::Relaxed);
        g.task.set_done();
        if let Some(stack) = g.into_stack() {
            self.stacks.borrow_mut().put(stack);
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
        if let Some(g) = self.running() {
            g.suspend();
        }
    }

    /// Lets every other ready greenlet run once, then returns.
    #[inline(always)]
    pub(crate) fn yield_now(&self) {
        if self.in_root() {
            self.yield_root();
        } else {
            if let Some(g) = self.running() {
                self.ready.borrow_mut().push_back(g.task.slot());
                g.suspend();
            }
        }
    }

    /// `yield_now` on the root context: runs each ready greenlet once and
    /// polls without blocking.
    #[inline(never)]
    fn yield_root(&self) {
        let monitor = &self.handle.monitor;
        if watched() {
            monitor.running.store(0, Ordering::Relaxed);
        }
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
        if watched() {
            monitor.running.store(self.root.id, Ordering::Relaxed);
        }
    }

    /// Queues the greenlet in `slot` to run.
    #[inline(always)]
    pub(crate) fn push_ready(&self, slot: usize) {
        self.ready.borrow_mut().push_back(slot);
    }

    /// Spends one unit of the running waiter's budget (see
    /// [`super::context::coop`]).
    #[inline]
    pub(crate) fn spend_budget(&self) {
        let b = self.budget.get();
        if b == 0 {
            self.out_of_budget();
        } else {
            self.budget.set(b - 1);
        }
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
        let outer = self.root_waiting.replace(true);
        let monitor = &self.handle.monitor;
        if watched() {
            monitor.running.store(0, Ordering::Relaxed);
        }
        loop {
            if done() {
                self.budget.set(BUDGET);
                self.root_waiting.set(outer);
                if watched() {
                    monitor.running.store(self.root.id, Ordering::Relaxed);
                }
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
            if self.handle.wake.is_pending() {
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
        let gap = Instant::now().saturating_duration_since(self.tick.get());
        if gap > self.longest_stall.get() {
            self.longest_stall.set(gap);
        }
        self.handle.clear_released();
        let mut any = false;
        {
            let mut timeout = timeout;
            let blocking = timeout != Some(Duration::ZERO);
            if blocking {
                // See `Handle::notify`.
                if !self.handle.wake.begin_sleep() {
                    timeout = Some(Duration::ZERO);
                }
            }
            let mut events = self.events.borrow_mut();
            let result = self.poll.borrow_mut().poll(&mut events, timeout);
            if blocking {
                self.handle.wake.end_sleep();
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
                    scheduled::dispatch(event);
                    any = true;
                }
            }
            // Hand-overs made while the hub was running or spinning come
            // without a waker event.
            if (woken || self.handle.wake.is_pending()) && self.drain_remote() {
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
        self.tick.set(now);
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
        self.handle.wake.take();
        let calls = self.handle.take_calls();
        let any_call = !calls.is_empty();
        for call in calls {
            call();
        }
        let spawns = self.handle.take_spawns();
        let any_spawn = !spawns.is_empty();
        for s in spawns {
            // A greenlet that cannot get a stack fails when it would start,
            // as on its own hub.
            self.install(s.task, s.start, s.stack_size);
        }
        // Swap the queue with a spare, so that both keep their capacity
        // and a hand-over does not allocate.
        let mut tasks = self.remote_spare.take();
        self.handle.take_woken(&mut tasks);
        let any_task = !tasks.is_empty();
        let mut ready = self.ready.borrow_mut();
        for task in tasks.drain(..) {
            let slot = task.slot();
            if slot != ROOT {
                ready.push_back(slot);
            }
        }
        self.remote_spare.set(tasks);
        any_spawn || any_task || any_call
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
    pub(crate) fn shut_down(&self) {
        self.in_hook.set(false);
        if self.handle.wake.is_pending() {
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
        self.root_locals.drop_all(&self.root);
    }

    /// Frees a hub that [`shut_down`](Self::shut_down) and that is no longer
    /// installed: its handle is closed (greenlets placed on it fail), and
    /// the greenlets that did not finish unwinding in time are leaked with
    /// their stacks and greenlet-local values (their frames may still be in
    /// use by nothing but them); the rest of their records is freed.
    pub(crate) fn free(self) {
        self.handle.close();
        for g in self.greenlets.borrow_mut().drain(..).flatten() {
            g.leak();
        }
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
