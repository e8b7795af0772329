//! The lock inside every green primitive.
//!
//! A primitive's state (its wait queues, a channel's messages) is touched
//! for a few instructions at a time and never across a park, so the lock
//! around it is a spin lock: taking it is one compare-and-swap and releasing it
//! a plain store, where `std::sync::Mutex` spends an atomic operation on
//! each (its unlock must look for sleepers). On a channel ping-pong that is
//! a third of the atomic operations.
//!
//! Greenlets of one hub never contend for it: a holder runs to its unlock
//! before anything else on its thread runs. Across OS threads a contender
//! spins briefly and then yields its thread, so a holder that the kernel
//! preempted gets the CPU back.
//!
//! Its atomics, cell and spin hints come from [`super::loom`], so the loom
//! models (`green-rt/tests/loom_spin.rs`) check this very code.

use std::ops::{Deref, DerefMut};

use super::loom::{AtomicBool, Ordering, UnsafeCell, spin_loop, yield_now};

/// A spin lock around `T`; see the module docs.
#[derive(Debug, Default)]
pub(crate) struct SpinLock<T: ?Sized> {
    locked: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the lock hands out access to `value` to one holder at a time
// (see `lock`), which is what `Mutex<T>` needs `T: Send` for.
unsafe impl<T: ?Sized + Send> Send for SpinLock<T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send> Sync for SpinLock<T> {}

// As std's `Mutex`: green's own code never leaves the state half-updated
// when it panics under the lock (it does not panic there), so a reference
// may cross `catch_unwind`.
impl<T: ?Sized> std::panic::UnwindSafe for SpinLock<T> {}
impl<T: ?Sized> std::panic::RefUnwindSafe for SpinLock<T> {}

/// Access to a [`SpinLock`]'s value; unlocks when dropped.
#[derive(Debug)]
pub(crate) struct SpinGuard<'a, T: ?Sized> {
    lock: &'a SpinLock<T>,
}

impl<T> SpinLock<T> {
    /// An unlocked lock around `value`.
    #[cfg(not(all(loom, test)))]
    pub(crate) const fn new(value: T) -> SpinLock<T> {
        SpinLock {
            locked: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// An unlocked lock around `value` (loom's constructors are not
    /// `const`).
    #[cfg(all(loom, test))]
    pub(crate) fn new(value: T) -> SpinLock<T> {
        SpinLock {
            locked: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }
}

impl<T: ?Sized> SpinLock<T> {
    /// Takes the lock, spinning (then yielding the OS thread) while another
    /// thread holds it.
    #[inline]
    pub(crate) fn lock(&self) -> SpinGuard<'_, T> {
        if !self.try_acquire() {
            self.lock_contended();
        }
        SpinGuard { lock: self }
    }

    /// Unlocked -> locked; fails, without writing, if it is held.
    ///
    /// A compare-and-swap rather than a swap: a swap that finds the lock
    /// held writes `true` over `true`, which makes contenders write to the
    /// holder's cache line, and which loom (whose modification order leaves
    /// that write unordered with the holder's unlock) lets a spinner read
    /// back forever.
    #[inline(always)]
    fn try_acquire(&self) -> bool {
        self.locked
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    #[cold]
    #[inline(never)]
    fn lock_contended(&self) {
        let mut round = 0u32;
        loop {
            while self.locked.load(Ordering::Relaxed) {
                if round < 7 {
                    for _ in 0..1u32 << round {
                        spin_loop();
                    }
                    round += 1;
                } else {
                    yield_now();
                }
            }
            if self.try_acquire() {
                return;
            }
        }
    }
}

impl<T: ?Sized> Deref for SpinGuard<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock, so no other reference to the
        // value exists.
        unsafe { &*self.lock.value.get_mut_ptr() }
    }
}

impl<T: ?Sized> DerefMut for SpinGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this the only access.
        unsafe { &mut *self.lock.value.get_mut_ptr() }
    }
}

impl<T: ?Sized> Drop for SpinGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.locked.store(false, Ordering::Release);
    }
}

// Not in the loom models, which compile this file with loom's atomics.
#[cfg(all(test, not(loom)))]
mod tests {
    use super::SpinLock;
    use std::sync::Arc;

    #[test]
    fn counts_across_threads() {
        // Miri runs every interleaving slowly: fewer rounds there.
        const ROUNDS: u64 = if cfg!(miri) { 200 } else { 100_000 };
        let lock = Arc::new(SpinLock::new(0u64));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let lock = lock.clone();
                std::thread::spawn(move || {
                    for _ in 0..ROUNDS {
                        *lock.lock() += 1;
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(*lock.lock(), 4 * ROUNDS);
    }
}
