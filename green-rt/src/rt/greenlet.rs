//! A greenlet as its hub holds it: the coroutine lifecycle.
//!
//! A [`Greenlet`] is made with its body (a [`Start`]) and no stack. The
//! first [`resume`](Greenlet::resume) takes a stack from the hub's pool and
//! makes the corosensei coroutine; each resume runs the greenlet until it
//! [`suspend`](Greenlet::suspend)s (it waits) or its body returns; then its
//! stack goes back to the pool ([`Greenlet::into_stack`]).
//!
//! The unsafe code of switching stacks lives here, behind that safe API:
//! the record is pinned in a box from birth (`!Unpin`, so its address is
//! stable and the coroutine's entry may keep a pointer to it), a `running`
//! flag makes a second resume of a
//! running greenlet, or a suspend from anywhere but the greenlet itself, a
//! panic instead of undefined behaviour.

use std::cell::{Cell, RefCell, UnsafeCell};
use std::marker::PhantomPinned;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr;
use std::sync::Arc;
use std::time::Instant;

use corosensei::{Coroutine, CoroutineResult, Yielder};

use super::handle::Start;
use super::locals::Locals;
use super::stack::{GreenStack, StackPool};
use super::task::Task;

type Co = Coroutine<(), (), (), GreenStack>;

/// A greenlet's body and stack size, until it starts.
type Pending = (Box<dyn Start>, Option<usize>);

/// What a waiter waits for, recorded when it parks, for
/// [`runtime::dump`](crate::runtime::dump) and the stats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wait {
    /// It has not waited yet.
    Nothing,
    /// `thread::park`, or a wait that did not say.
    Park,
    /// A sleep (or another wait with only a deadline), until then.
    Sleep(Instant),
    /// A descriptor becoming readable (`write == false`) or writable.
    Io {
        /// The descriptor.
        fd: i32,
        /// Waiting to write.
        write: bool,
    },
    /// A primitive's wait queue, by the primitive's name ("Mutex", ...).
    Queue(&'static str),
    /// The end of the greenlet with this id (`join`).
    Join(u64),
    /// A job on the blocking pool (`tpool`).
    Blocking,
    /// A wait named by its primitive.
    Other(&'static str),
}

/// What a [`Greenlet::resume`] came back with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resumed {
    /// The greenlet waits (it suspended).
    Suspended,
    /// Its body returned: the greenlet is finished.
    Finished,
    /// It never ran: no stack could be had, and its [`Start::fail`] said so.
    Failed,
}

/// A greenlet: its task, its greenlet-local values, and its coroutine once
/// it has started.
pub(crate) struct Greenlet {
    /// The coroutine, once the greenlet has started.
    co: UnsafeCell<Option<Co>>,
    /// The body and stack size, until the greenlet starts.
    start: Cell<Option<Pending>>,
    /// The coroutine's yielder, set by its entry before any of the body
    /// runs.
    yielder: Cell<*const Yielder<(), ()>>,
    /// Inside [`resume`](Self::resume): the greenlet runs.
    running: Cell<bool>,
    /// Its stack's guard region, for the overflow handler.
    guard: Cell<(usize, usize)>,
    /// Its identity and wake-up state.
    pub(crate) task: Arc<Task>,
    /// Its greenlet-local values.
    pub(crate) locals: Locals,
    /// What it waits for since when (the hub's coarse clock), when it does.
    pub(crate) wait: Cell<(Wait, Instant)>,
    /// When it was spawned (the hub's coarse clock).
    pub(crate) born: Instant,
    /// The coroutine's entry points to the record.
    _pinned: PhantomPinned,
}

impl Greenlet {
    /// A greenlet that will run `start` on a stack of `stack_size` (or the
    /// pool's default).
    pub(crate) fn new(
        task: Arc<Task>,
        start: Box<dyn Start>,
        stack_size: Option<usize>,
        now: Instant,
    ) -> Pin<Box<Greenlet>> {
        Box::pin(Greenlet {
            co: UnsafeCell::new(None),
            start: Cell::new(Some((start, stack_size))),
            yielder: Cell::new(ptr::null()),
            running: Cell::new(false),
            guard: Cell::new((0, 0)),
            task,
            locals: Locals::default(),
            wait: Cell::new((Wait::Nothing, now)),
            born: now,
            _pinned: PhantomPinned,
        })
    }

    /// The guard region of its stack (`(0, 0)` before it starts). Plain
    /// reads, so the overflow handler may call it.
    pub(crate) fn guard(&self) -> (usize, usize) {
        self.guard.get()
    }

    /// Makes the coroutine of a greenlet about to run for the first time;
    /// `false` if it could not get a stack (it has then failed).
    #[cold]
    #[inline(never)]
    fn begin(&self, stacks: &RefCell<StackPool>) -> bool {
        let Some((start, stack_size)) = self.start.take() else {
            return true;
        };
        let stack = stacks.borrow_mut().get(stack_size);
        let stack = match stack {
            Ok(stack) => stack,
            Err(e) => {
                start.fail(e);
                return false;
            }
        };
        self.guard.set(stack.guard());
        let this: *const Greenlet = self;
        let co = Coroutine::with_stack(stack, move |y: &Yielder<(), ()>, ()| {
            // SAFETY: every record is pinned in the box `new` made (it is
            // `!Unpin` and cannot be made otherwise), so `this` stays valid
            // while the box lives; the box is freed only after the coroutine
            // returned (`into_stack`) or after its coroutine was taken out
            // and forgotten, never to be resumed (`leak`), so whenever this
            // code runs, the record is there.
            let g = unsafe { &*this };
            g.yielder.set(y);
            // The thread layer catches the user's panics itself; this guard
            // keeps anything else from unwinding into the hub.
            let _ = panic::catch_unwind(AssertUnwindSafe(move || start.run()));
            // Greenlet-local values are dropped here, on the greenlet, as
            // std drops thread-locals on their thread; all of them, so that
            // none is left to drop on the root context.
            g.locals.drop_all(&g.task);
        });
        // SAFETY: the greenlet is not running (it never ran), so nothing
        // else refers to `co`.
        unsafe { *self.co.get() = Some(co) };
        true
    }

    /// Runs the greenlet until it suspends or finishes. Called by its hub's
    /// loop on the root context; its stack comes from `stacks` the first
    /// time (borrowed only then: the greenlet may spawn while it runs).
    ///
    /// # Panics
    ///
    /// If the greenlet is running already (a greenlet cannot resume itself).
    #[inline(always)]
    pub(crate) fn resume(&self, stacks: &RefCell<StackPool>) -> Resumed {
        assert!(!self.running.get(), "green: resumed a running greenlet");
        // SAFETY: not running, so no other reference to `co` exists: only
        // `begin`, `resume`, `into_stack` and `leak` touch it, none of them
        // while it runs, and `&self` is not `Sync`.
        let co = match unsafe { &mut *self.co.get() } {
            Some(co) => co,
            None => {
                if !self.begin(stacks) {
                    return Resumed::Failed;
                }
                // SAFETY: as above; `begin` stored the coroutine.
                match unsafe { &mut *self.co.get() } {
                    Some(co) => co,
                    None => return Resumed::Failed,
                }
            }
        };
        self.running.set(true);
        let result = co.resume(());
        self.running.set(false);
        match result {
            CoroutineResult::Return(()) => Resumed::Finished,
            CoroutineResult::Yield(()) => Resumed::Suspended,
        }
    }

    /// Switches from this greenlet back to the loop that resumed it.
    ///
    /// # Panics
    ///
    /// If the greenlet is not running. A running greenlet is the code that
    /// executes (only one greenlet of a thread runs at a time, and the
    /// record is not `Sync`), so this is called on its own stack.
    #[inline(always)]
    pub(crate) fn suspend(&self) {
        assert!(
            self.running.get(),
            "green: suspended a greenlet that is not running"
        );
        // SAFETY: the greenlet runs, so its entry set the yielder before any
        // of its code ran, and the yielder lives as long as the coroutine,
        // which is running; suspending from its own stack (see above) is
        // what corosensei requires.
        unsafe { (*self.yielder.get()).suspend(()) };
    }

    /// The stack of a greenlet whose body returned (or that never started),
    /// for the pool.
    pub(crate) fn into_stack(self: Pin<Box<Self>>) -> Option<GreenStack> {
        assert!(!self.running.get(), "green: finished a running greenlet");
        // SAFETY: not running, so nothing else refers to `co` (see `resume`).
        let co = unsafe { (*self.co.get()).take() };
        co.map(|co| co.into_stack())
    }

    /// Frees the record of a greenlet that did not finish, leaking its
    /// coroutine, stack and greenlet-local values: its frames may still
    /// refer to them, and it is never resumed again.
    pub(crate) fn leak(self: Pin<Box<Self>>) {
        // SAFETY: the greenlet is suspended (its hub is being torn down, on
        // the root context), so nothing else refers to `co`.
        std::mem::forget(unsafe { (*self.co.get()).take() });
        std::mem::forget(self.start.take());
        self.locals.leak();
    }
}
