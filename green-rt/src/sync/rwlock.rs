//! The green `RwLock`: FIFO-fair readers-writer lock around a
//! `std::sync::RwLock`.
//!
//! As with [`Mutex`](super::Mutex), the green state decides who may enter
//! and the std lock holds the data (never contended, so never blocking the
//! OS thread, and it provides std's poisoning). A reader enters at once only
//! if no writer holds the lock and no one is queued; a release grants the
//! queue's head (a writer alone, or every reader up to the next writer), so
//! neither readers nor writers starve.

use std::collections::VecDeque;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, LockResult, PoisonError, TryLockError, TryLockResult};

use super::mutex::PoisonFlag;
use crate::rt::spin::SpinLock;
use crate::rt::waiter::{self, Waiter};

#[derive(Debug, Default)]
struct State {
    readers: usize,
    writer: bool,
    /// Queued waiters; `true` marks a writer.
    queue: VecDeque<(Arc<Waiter>, bool)>,
}

impl State {
    /// Grants the head of the queue what it waits for, if it can enter.
    fn grant(&mut self) {
        while let Some((w, is_writer)) = self.queue.front() {
            if *is_writer {
                if self.readers == 0 && !self.writer {
                    self.writer = true;
                    w.wake();
                    self.queue.pop_front();
                }
                return;
            }
            if self.writer {
                return;
            }
            self.readers += 1;
            w.wake();
            self.queue.pop_front();
        }
    }
}

#[derive(Debug, Default)]
struct RawRwLock {
    state: SpinLock<State>,
}

impl RawRwLock {
    const fn new() -> RawRwLock {
        RawRwLock {
            state: SpinLock::new(State {
                readers: 0,
                writer: false,
                queue: VecDeque::new(),
            }),
        }
    }

    fn try_read(&self) -> bool {
        let mut s = waiter::lock(&self.state);
        if !s.writer && s.queue.is_empty() {
            s.readers += 1;
            true
        } else {
            false
        }
    }

    fn try_write(&self) -> bool {
        let mut s = waiter::lock(&self.state);
        if !s.writer && s.readers == 0 && s.queue.is_empty() {
            s.writer = true;
            true
        } else {
            false
        }
    }

    fn acquire(&self, write: bool) {
        let w = {
            let mut s = waiter::lock(&self.state);
            let free = !s.writer && s.queue.is_empty() && (!write || s.readers == 0);
            if free {
                if write {
                    s.writer = true;
                } else {
                    s.readers += 1;
                }
                return;
            }
            let w = Arc::new(Waiter::current(if write {
                "RwLock::write"
            } else {
                "RwLock::read"
            }));
            s.queue.push_back((w.clone(), write));
            w
        };
        waiter::wait_grant(
            &w,
            None,
            &|| {
                let mut s = waiter::lock(&self.state);
                match s.queue.iter().position(|(x, _)| Arc::ptr_eq(x, &w)) {
                    Some(i) => {
                        s.queue.remove(i);
                        // Readers queued behind a departed writer may enter.
                        s.grant();
                        false
                    }
                    None => true,
                }
            },
            &|| self.release(write),
        );
    }

    /// Turns the writer's hold into a reader's, atomically: no writer can
    /// enter in between, and the readers queued at the head (up to the
    /// next writer) enter with it.
    fn downgrade(&self) {
        let mut s = waiter::lock(&self.state);
        debug_assert!(s.writer, "downgrade without the write lock");
        s.writer = false;
        s.readers += 1;
        s.grant();
    }

    fn release(&self, write: bool) {
        let mut s = waiter::lock(&self.state);
        if write {
            s.writer = false;
        } else {
            s.readers -= 1;
        }
        s.grant();
    }
}

/// A readers-writer lock whose waits park the greenlet; mirrors
/// [`std::sync::RwLock`], including poisoning. Fair: waiters enter in FIFO
/// order (consecutive readers together).
pub struct RwLock<T: ?Sized> {
    raw: RawRwLock,
    /// Green's poison flag, per greenlet (see [`PoisonFlag`]); std's flag
    /// on `data` follows the OS thread's panic count and is ignored.
    poison: PoisonFlag,
    data: std::sync::RwLock<T>,
}

/// Shared access to a [`RwLock`]; mirrors [`std::sync::RwLockReadGuard`].
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    raw: &'a RawRwLock,
    inner: Option<std::sync::RwLockReadGuard<'a, T>>,
}

/// Exclusive access to a [`RwLock`]; mirrors
/// [`std::sync::RwLockWriteGuard`].
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    raw: &'a RawRwLock,
    poison: &'a PoisonFlag,
    /// Whether the holder was unwinding when it took the guard.
    panicking: bool,
    inner: Option<std::sync::RwLockWriteGuard<'a, T>>,
}

impl<T> RwLock<T> {
    /// A new unlocked lock. `const`.
    pub const fn new(t: T) -> RwLock<T> {
        RwLock {
            raw: RawRwLock::new(),
            poison: PoisonFlag::new(),
            data: std::sync::RwLock::new(t),
        }
    }

    /// Consumes the lock and returns the data.
    ///
    /// # Errors
    ///
    /// If the lock is poisoned; the error holds the data.
    pub fn into_inner(self) -> LockResult<T> {
        let poisoned = self.poison.get();
        let t = self
            .data
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        if poisoned {
            Err(PoisonError::new(t))
        } else {
            Ok(t)
        }
    }
}

const INVARIANT: &str = "green::sync::RwLock: data locked without the green lock";

impl<T: ?Sized> RwLock<T> {
    fn read_guard(&self) -> LockResult<RwLockReadGuard<'_, T>> {
        let inner = match self.data.try_read() {
            Ok(g) => g,
            // std's flag (it follows the OS thread's panic count): ignored.
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => unreachable!("{INVARIANT}"),
        };
        self.poison.result(RwLockReadGuard {
            raw: &self.raw,
            inner: Some(inner),
        })
    }

    fn write_guard(&self) -> LockResult<RwLockWriteGuard<'_, T>> {
        let inner = match self.data.try_write() {
            Ok(g) => g,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => unreachable!("{INVARIANT}"),
        };
        self.poison.result(RwLockWriteGuard {
            raw: &self.raw,
            poison: &self.poison,
            panicking: self.poison.guard(),
            inner: Some(inner),
        })
    }

    /// Acquires shared access, parking the greenlet while a writer holds
    /// the lock or waits for it.
    ///
    /// # Errors
    ///
    /// If the lock is poisoned; the error holds the guard.
    pub fn read(&self) -> LockResult<RwLockReadGuard<'_, T>> {
        crate::rt::context::coop();
        self.raw.acquire(false);
        self.read_guard()
    }

    /// Acquires exclusive access, parking the greenlet until it is free.
    ///
    /// # Errors
    ///
    /// If the lock is poisoned; the error holds the guard.
    pub fn write(&self) -> LockResult<RwLockWriteGuard<'_, T>> {
        crate::rt::context::coop();
        self.raw.acquire(true);
        self.write_guard()
    }

    /// Shared access if it is available now.
    ///
    /// # Errors
    ///
    /// `WouldBlock` or `Poisoned`.
    pub fn try_read(&self) -> TryLockResult<RwLockReadGuard<'_, T>> {
        crate::rt::context::coop();
        if self.raw.try_read() {
            Ok(self.read_guard()?)
        } else {
            Err(TryLockError::WouldBlock)
        }
    }

    /// Exclusive access if it is available now.
    ///
    /// # Errors
    ///
    /// `WouldBlock` or `Poisoned`.
    pub fn try_write(&self) -> TryLockResult<RwLockWriteGuard<'_, T>> {
        crate::rt::context::coop();
        if self.raw.try_write() {
            Ok(self.write_guard()?)
        } else {
            Err(TryLockError::WouldBlock)
        }
    }

    /// Whether a writer panicked while holding the lock.
    pub fn is_poisoned(&self) -> bool {
        self.poison.get()
    }

    /// Clears the poisoned state.
    pub fn clear_poison(&self) {
        self.poison.clear();
    }

    /// A mutable reference to the data; no locking is needed.
    ///
    /// # Errors
    ///
    /// If the lock is poisoned; the error holds the reference.
    pub fn get_mut(&mut self) -> LockResult<&mut T> {
        let poisoned = self.poison.get();
        let t = self.data.get_mut().unwrap_or_else(PoisonError::into_inner);
        if poisoned {
            Err(PoisonError::new(t))
        } else {
            Ok(t)
        }
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> RwLock<T> {
        RwLock::new(T::default())
    }
}

impl<T> From<T> for RwLock<T> {
    fn from(t: T) -> RwLock<T> {
        RwLock::new(t)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        match self.try_read() {
            Ok(g) => d.field("data", &&*g),
            Err(TryLockError::Poisoned(e)) => d.field("data", &&**e.get_ref()),
            Err(TryLockError::WouldBlock) => d.field("data", &format_args!("<locked>")),
        };
        d.field("poisoned", &self.is_poisoned());
        d.finish_non_exhaustive()
    }
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.inner.as_ref().expect("live guard")
    }
}

impl<T: ?Sized> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        drop(self.inner.take());
        self.raw.release(false);
    }
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.inner.as_ref().expect("live guard")
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.inner.as_mut().expect("live guard")
    }
}

impl<'a, T: ?Sized> RwLockWriteGuard<'a, T> {
    /// Turns this write guard into a read guard without releasing the
    /// lock; mirrors [`std::sync::RwLockWriteGuard::downgrade`]. No writer
    /// can take the lock in between, and readers waiting for the lock
    /// (those queued before the next waiting writer) are let in with the
    /// caller.
    ///
    /// ```
    /// use green_rt::sync::{RwLock, RwLockWriteGuard};
    ///
    /// let lock = RwLock::new(1);
    /// let mut w = lock.write().unwrap();
    /// *w += 1;
    /// let r = RwLockWriteGuard::downgrade(w);
    /// assert_eq!(*r, 2);
    /// assert!(lock.try_read().is_ok());
    /// assert!(lock.try_write().is_err());
    /// ```
    pub fn downgrade(s: Self) -> RwLockReadGuard<'a, T> {
        // The write guard's Drop (which releases the write lock) must not
        // run: its hold becomes the read guard's.
        let mut s = std::mem::ManuallyDrop::new(s);
        let raw = s.raw;
        let inner = s.inner.take().expect("live guard");
        // The std lock first (it is only ever taken by green holders, so
        // nobody waits on it), then the green state lets readers in.
        let inner = std::sync::RwLockWriteGuard::downgrade(inner);
        raw.downgrade();
        RwLockReadGuard {
            raw,
            inner: Some(inner),
        }
    }
}

impl<T: ?Sized> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        // Poison (per greenlet: a writer that panicked), then release.
        self.poison.done(self.panicking);
        drop(self.inner.take());
        self.raw.release(true);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}
