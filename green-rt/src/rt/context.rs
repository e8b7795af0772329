//! The current thread's hub: made on first use, torn down at thread exit.
//!
//! Each OS thread has at most one [`Hub`], reached through [`hub`] (which
//! makes it) or [`try_hub`]. Making it also installs the process-wide
//! handlers that must know the running greenlet: the stack-overflow handler
//! ([`super::overflow`]) and green's panic hook ([`super::hook`]); both are
//! given the lookups of this file rather than importing it, so they sit
//! below it. For the same reason this file implements the handle's
//! [`WakeHere`] for the task: how a task is woken on its own hub's thread.
//!
//! At thread exit the owner in a thread-local destructor shuts the hub
//! down while it is still installed (greenlets left on it are killed and
//! unwound, see [`Hub::shut_down`]), then frees it.

use std::cell::{Cell, RefCell};
use std::ptr;
use std::sync::Arc;

use super::handle::WakeHere;
use super::hook;
use super::hub::Hub;
use super::overflow;
use super::task::{ROOT, Task};

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
        // SAFETY: the pointer came from Box::into_raw in `init` and is freed
        // only below, once; the hub is still installed in HUB, so green
        // calls made while it shuts down use it.
        unsafe { (*self.0).shut_down() };
        HUB.with(|h| h.set(DEAD as *const Hub));
        // SAFETY: as above; HUB no longer points to the hub, so no new
        // reference to it can be made.
        let hub = unsafe { Box::from_raw(self.0) };
        hub.free();
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

/// The current thread's hub if it has one.
#[inline]
pub(crate) fn try_hub() -> Option<&'static Hub> {
    let p = HUB.with(|h| h.get());
    // SAFETY: as in `hub`.
    (p as usize > DEAD).then(|| unsafe { &*p })
}

/// Spends one unit of the running greenlet's budget: called by every
/// green operation that completed without blocking. When the budget is
/// spent, the greenlet yields once (every other ready greenlet runs, and
/// the poller with them) and gets a new budget; switching resets it too.
/// Call it with no internal lock held. Free on a thread without a hub.
#[inline]
pub(crate) fn coop() {
    if let Some(hub) = try_hub() {
        hub.spend_budget();
    }
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
    overflow::install(running_guard);
    hook::install(try_hub);
    // SAFETY: just made, and owned by an owner until thread exit (or never
    // freed); see `hub`.
    unsafe { &*p }
}

impl WakeHere for Task {
    /// Wakes `task`, whose state just went from parked to notified, if it
    /// belongs to this thread's hub: a push onto the ready queue. `false`
    /// sends the task through its handle's remote queue.
    #[inline(always)]
    fn wake_here(task: &Arc<Task>) -> bool {
        match try_hub() {
            Some(hub) if Arc::ptr_eq(&hub.handle, &task.home) => {
                let slot = task.slot();
                if slot != ROOT {
                    hub.push_ready(slot);
                }
                true
            }
            _ => false,
        }
    }
}

/// The guard region and task of the greenlet running on this thread, for
/// the overflow handler. Async-signal-safe: plain reads.
fn running_guard() -> Option<((usize, usize), *const Task)> {
    let g = try_hub()?.running()?;
    Some((g.guard(), Arc::as_ptr(&g.task)))
}
