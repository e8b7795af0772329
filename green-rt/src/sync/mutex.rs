//! The green `Mutex`: a FIFO hand-off lock around a `std::sync::Mutex`.
//!
//! The green part ([`RawMutex`]) decides who holds the lock: an atomic word
//! for the uncontended path and a wait queue for the rest. Unlocking with
//! waiters hands the lock directly to the first one, and newcomers do not
//! barge past queued waiters, so a waiter is never starved. The data lives
//! in a `std::sync::Mutex` that is locked only by the green holder, so it
//! is always free when taken (it never blocks the OS thread), without any
//! `unsafe`. Poisoning is green's own ([`PoisonFlag`]): std's poison flag
//! asks `std::thread::panicking()`, which is per OS thread and so says
//! `true` in every greenlet while one of them unwinds; green asks
//! [`crate::thread::panicking`], per greenlet, and ignores std's flag.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{LockResult, PoisonError, TryLockError, TryLockResult};

use crate::rt::spin::SpinLock;
use crate::rt::waiter::{self, WaitQueue, Waiter};

/// A lock's poison flag, set when a guard is dropped by a greenlet that
/// is unwinding (per greenlet: [`crate::thread::panicking`]); std's
/// `poison::Flag`. Green locks keep their data in std locks and ignore
/// the std lock's own flag, which follows the OS thread's panic count.
#[derive(Debug, Default)]
pub(crate) struct PoisonFlag(AtomicBool);

impl PoisonFlag {
    /// A clear flag.
    pub(crate) const fn new() -> PoisonFlag {
        PoisonFlag(AtomicBool::new(false))
    }

    /// Whether the flag is set.
    #[inline]
    pub(crate) fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// Clears the flag.
    pub(crate) fn clear(&self) {
        self.0.store(false, Ordering::Relaxed);
    }

    /// Whether the caller is unwinding as it takes a guard (a guard taken
    /// during an unwind does not poison when that unwind drops it).
    #[inline]
    pub(crate) fn guard(&self) -> bool {
        crate::thread::panicking()
    }

    /// Poisons if the guard's owner started unwinding while it held it.
    #[inline]
    pub(crate) fn done(&self, panicking_at_guard: bool) {
        if !panicking_at_guard && crate::thread::panicking() {
            self.0.store(true, Ordering::Relaxed);
        }
    }

    /// `Ok(t)`, or `Err` holding `t` if the flag is set.
    #[inline]
    pub(crate) fn result<G>(&self, t: G) -> LockResult<G> {
        if self.get() {
            Err(PoisonError::new(t))
        } else {
            Ok(t)
        }
    }
}

const LOCKED: u8 = 1;
/// Set while waiters may be queued: the fast paths step aside.
const QUEUED: u8 = 2;

/// The lock word and wait queue of a green mutex.
#[derive(Debug)]
pub(crate) struct RawMutex {
    state: AtomicU8,
    waiters: SpinLock<WaitQueue>,
}

impl RawMutex {
    pub(crate) const fn new() -> RawMutex {
        RawMutex {
            state: AtomicU8::new(0),
            waiters: SpinLock::new(WaitQueue::new("Mutex")),
        }
    }

    #[inline]
    pub(crate) fn try_lock(&self) -> bool {
        self.state
            .compare_exchange(0, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    #[inline]
    pub(crate) fn lock(&self) {
        if !self.try_lock() {
            self.lock_slow();
        }
    }

    #[cold]
    fn lock_slow(&self) {
        let mut q = waiter::lock(&self.waiters);
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s & LOCKED == 0 && q.is_empty() {
                match self.state.compare_exchange(
                    s,
                    s | LOCKED,
                    Ordering::Acquire,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => return,
                    Err(x) => s = x,
                }
            } else {
                match self.state.compare_exchange(
                    s,
                    s | QUEUED,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => break,
                    Err(x) => s = x,
                }
            }
        }
        let w = q.push_current();
        drop(q);
        waiter::wait_grant(&w, None, &|| self.abandon(&w), &|| self.unlock());
    }

    /// Leaves the queue; returns whether `w` had been handed the lock.
    fn abandon(&self, w: &std::sync::Arc<Waiter>) -> bool {
        let mut q = waiter::lock(&self.waiters);
        if q.remove(w) {
            if q.is_empty() {
                self.state.fetch_and(!QUEUED, Ordering::Relaxed);
            }
            false
        } else {
            true
        }
    }

    #[inline]
    pub(crate) fn unlock(&self) {
        if self
            .state
            .compare_exchange(LOCKED, 0, Ordering::Release, Ordering::Relaxed)
            .is_err()
        {
            self.unlock_slow();
        }
    }

    #[cold]
    fn unlock_slow(&self) {
        let mut q = waiter::lock(&self.waiters);
        match q.pop() {
            Some(w) => {
                // Hand-off: the lock stays LOCKED, now on w's behalf.
                if q.is_empty() {
                    self.state.store(LOCKED, Ordering::Release);
                }
                drop(q);
                w.wake();
            }
            None => self.state.store(0, Ordering::Release),
        }
    }
}

/// A mutual exclusion lock whose `lock` parks the greenlet instead of the
/// OS thread; mirrors [`std::sync::Mutex`], including poisoning.
///
/// Waiters are served in FIFO order: an unlock hands the lock to the
/// longest waiter, so no waiter is starved. It works between greenlets of
/// one hub, across hubs and with plain OS threads, and a guard may be held
/// across other green blocking calls (the hub keeps running).
///
/// ```
/// use green_rt::sync::{Arc, Mutex};
///
/// let m = Arc::new(Mutex::new(0));
/// let hs: Vec<_> = (0..10)
///     .map(|_| {
///         let m = m.clone();
///         green_rt::thread::spawn(move || *m.lock().unwrap() += 1)
///     })
///     .collect();
/// hs.into_iter().for_each(|h| h.join().unwrap());
/// assert_eq!(*m.lock().unwrap(), 10);
/// ```
pub struct Mutex<T: ?Sized> {
    raw: RawMutex,
    poison: PoisonFlag,
    data: std::sync::Mutex<T>,
}

/// The RAII guard of a locked [`Mutex`]; mirrors [`std::sync::MutexGuard`].
/// Dropping it unlocks (and poisons the mutex if the holder is panicking).
///
/// As std's, it is not `Send`:
///
/// ```compile_fail
/// fn send<T: Send>(_: T) {}
/// let m = green_rt::sync::Mutex::new(0);
/// send(m.lock().unwrap());
/// ```
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MutexGuard<'a, T: ?Sized> {
    lock: &'a Mutex<T>,
    inner: Option<std::sync::MutexGuard<'a, T>>,
    /// Whether the holder was unwinding when it took the lock.
    panicking: bool,
}

impl<T> Mutex<T> {
    /// A new unlocked mutex. `const`, so it can be a `static`.
    pub const fn new(t: T) -> Mutex<T> {
        Mutex {
            raw: RawMutex::new(),
            poison: PoisonFlag::new(),
            data: std::sync::Mutex::new(t),
        }
    }

    /// Consumes the mutex and returns the data.
    ///
    /// # Errors
    ///
    /// If the mutex is poisoned; the error holds the data.
    pub fn into_inner(self) -> LockResult<T> {
        let t = self
            .data
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        self.poison.result(t)
    }
}

impl<T: ?Sized> Mutex<T> {
    fn guard(&self) -> LockResult<MutexGuard<'_, T>> {
        let inner = match self.data.try_lock() {
            Ok(g) => g,
            // std's flag (it follows the OS thread's panic count): ignored.
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => {
                unreachable!("green::sync::Mutex: data locked without the green lock")
            }
        };
        self.poison.result(MutexGuard {
            lock: self,
            inner: Some(inner),
            panicking: self.poison.guard(),
        })
    }

    /// Acquires the mutex, parking the current greenlet until it is free.
    ///
    /// # Errors
    ///
    /// If a holder panicked (the mutex is poisoned); the error still holds
    /// the guard, as with std.
    pub fn lock(&self) -> LockResult<MutexGuard<'_, T>> {
        // The budget is spent before the lock is taken, so that a greenlet
        // never yields while it holds the lock.
        crate::rt::context::coop();
        self.raw.lock();
        self.guard()
    }

    /// Acquires the mutex if it is free (and no one is queued for it).
    ///
    /// # Errors
    ///
    /// `WouldBlock` if it is held, `Poisoned` as with [`lock`](Self::lock).
    pub fn try_lock(&self) -> TryLockResult<MutexGuard<'_, T>> {
        crate::rt::context::coop();
        if self.raw.try_lock() {
            Ok(self.guard()?)
        } else {
            Err(TryLockError::WouldBlock)
        }
    }

    /// Whether a holder panicked.
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
    /// If the mutex is poisoned; the error holds the reference.
    pub fn get_mut(&mut self) -> LockResult<&mut T> {
        let t = self.data.get_mut().unwrap_or_else(PoisonError::into_inner);
        self.poison.result(t)
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Mutex<T> {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(t: T) -> Mutex<T> {
        Mutex::new(t)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Ok(g) => d.field("data", &&*g),
            Err(TryLockError::Poisoned(e)) => d.field("data", &&**e.get_ref()),
            Err(TryLockError::WouldBlock) => d.field("data", &format_args!("<locked>")),
        };
        d.field("poisoned", &self.is_poisoned());
        d.finish_non_exhaustive()
    }
}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// The mutex this guard locks (for `Condvar`).
    pub(crate) fn mutex(&self) -> &'a Mutex<T> {
        self.lock
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        self.inner.as_ref().expect("live guard")
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        self.inner.as_mut().expect("live guard")
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        // Poison (per greenlet), release the data, then the green lock.
        self.lock.poison.done(self.panicking);
        drop(self.inner.take());
        self.lock.raw.unlock();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}
