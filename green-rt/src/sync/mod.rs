//! Synchronization: a mirror of [`std::sync`] whose waits park the
//! greenlet, not the OS thread.
//!
//! **Implements** green, with std's signatures and semantics (poisoning
//! included, with std's own error types): [`Mutex`] and [`MutexGuard`],
//! [`RwLock`] with [`RwLockReadGuard`] and [`RwLockWriteGuard`],
//! [`Condvar`] with [`WaitTimeoutResult`], [`Barrier`] with
//! [`BarrierWaitResult`], [`Once`] with [`OnceState`], [`OnceLock`],
//! [`LazyLock`], the deprecated [`ONCE_INIT`], and the channels of
//! [`mpsc`]. (`WaitTimeoutResult`,
//! `BarrierWaitResult` and `OnceState` are green's own types with std's
//! methods: std's cannot be constructed outside std.)
//!
//! **Adds** (gevent's `gevent.lock`): [`Semaphore`] with
//! [`SemaphoreGuard`], [`BoundedSemaphore`] with its [`ReleaseError`].
//!
//! **Re-exports** from std unchanged, because they never block:
//! [`atomic`], [`Arc`], [`Weak`], and the errors
//! [`PoisonError`], [`TryLockError`], [`LockResult`], [`TryLockResult`],
//! and [`mpsc`]'s error types.
//!
//! Every waiter is woken the same way, so all of these work between
//! greenlets of one hub, across hubs, and with plain OS threads (a std
//! thread that locks a green `Mutex` held by a greenlet simply parks until
//! the greenlet unlocks it). Locks are FIFO: an unlock hands the lock to
//! the longest waiter, so none is starved. A guard may be held across
//! another green blocking call: the hub keeps running the other greenlets.
//!
//! A greenlet killed (or timed out) while it waits leaves the wait queue
//! as it unwinds; if it had just been handed the lock or a permit, it
//! passes it on.

mod barrier;
mod condvar;
mod mutex;
mod once;
mod rwlock;
mod semaphore;

pub mod mpsc;

pub use std::sync::{Arc, LockResult, PoisonError, TryLockError, TryLockResult, Weak, atomic};

pub use barrier::{Barrier, BarrierWaitResult};
pub use condvar::{Condvar, WaitTimeoutResult};
pub use mutex::{Mutex, MutexGuard};
pub use once::{LazyLock, Once, OnceLock, OnceState};
pub use rwlock::{RwLock, RwLockReadGuard, RwLockWriteGuard};
pub use semaphore::{BoundedSemaphore, ReleaseError, Semaphore, SemaphoreGuard};

/// Initializer for a static [`Once`]; mirrors the deprecated
/// `std::sync::ONCE_INIT`.
#[deprecated(note = "the `Once::new()` function is now preferred")]
#[allow(clippy::declare_interior_mutable_const)]
pub const ONCE_INIT: Once = Once::new();
