//! The green `Once`, `OnceLock` and `LazyLock`.
//!
//! They block only while another party runs the initializer: that wait
//! parks the greenlet. `OnceLock` and `LazyLock` keep their value in a
//! `std::sync::OnceLock` (which then never blocks) and use a green [`Once`]
//! to decide who initializes it.

use std::fmt;
use std::ops::Deref;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::rt::spin::SpinLock;
use crate::rt::waiter::{self, WaitQueue};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Incomplete,
    Running,
    Poisoned,
    Complete,
}

#[derive(Debug)]
struct State {
    phase: Phase,
    waiters: WaitQueue,
}

/// Runs a one-time initialization; mirrors [`std::sync::Once`]. Parties
/// that arrive while it runs park their greenlet until it is done.
pub struct Once {
    done: AtomicBool,
    state: SpinLock<State>,
}

/// The state passed to [`Once::call_once_force`]'s closure; mirrors
/// [`std::sync::OnceState`] (whose values cannot be built outside std).
#[derive(Debug)]
pub struct OnceState {
    poisoned: bool,
}

impl OnceState {
    /// Whether an earlier initializer panicked.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }
}

impl Once {
    /// A new `Once`. `const`.
    pub const fn new() -> Once {
        Once {
            done: AtomicBool::new(false),
            state: SpinLock::new(State {
                phase: Phase::Incomplete,
                waiters: WaitQueue::new("Once"),
            }),
        }
    }

    /// Runs `f` if no call has completed yet; otherwise waits for the
    /// running one or returns.
    ///
    /// # Panics
    ///
    /// If an earlier initializer panicked (the `Once` is poisoned), or if
    /// `f` panics.
    pub fn call_once<F: FnOnce()>(&self, f: F) {
        if self.is_completed() {
            return;
        }
        let mut f = Some(f);
        self.call(false, &mut |_| (f.take().expect("called once"))());
    }

    /// As [`call_once`](Self::call_once), but runs `f` even when poisoned,
    /// telling it so.
    pub fn call_once_force<F: FnOnce(&OnceState)>(&self, f: F) {
        if self.is_completed() {
            return;
        }
        let mut f = Some(f);
        self.call(true, &mut |s| (f.take().expect("called once"))(s));
    }

    /// Whether a call has completed.
    pub fn is_completed(&self) -> bool {
        crate::rt::context::coop();
        self.done.load(Ordering::Acquire)
    }

    /// Waits until a call has completed.
    ///
    /// # Panics
    ///
    /// If the `Once` is poisoned.
    pub fn wait(&self) {
        self.wait_inner(false);
    }

    /// Waits until a call has completed, ignoring poison.
    pub fn wait_force(&self) {
        self.wait_inner(true);
    }

    fn wait_inner(&self, force: bool) {
        if self.is_completed() {
            return;
        }
        let poisoned = waiter::wait_until(
            &self.state,
            |s| &mut s.waiters,
            |s| match s.phase {
                Phase::Complete => Some(false),
                Phase::Poisoned if !force => Some(true),
                _ => None,
            },
            None,
        );
        if poisoned == Some(true) {
            panic!("Once instance has previously been poisoned");
        }
    }

    fn call(&self, force: bool, f: &mut dyn FnMut(&OnceState)) {
        // `Err`: poisoned. The panic is raised after the lock is released
        // (the panic hook is user code).
        let poisoned = waiter::wait_until(
            &self.state,
            |s| &mut s.waiters,
            |s| match s.phase {
                Phase::Complete => Some(Ok(None)),
                Phase::Poisoned if !force => Some(Err(())),
                Phase::Incomplete | Phase::Poisoned => {
                    let poisoned = s.phase == Phase::Poisoned;
                    s.phase = Phase::Running;
                    Some(Ok(Some(poisoned)))
                }
                Phase::Running => None,
            },
            None,
        )
        .expect("no deadline");
        let Ok(poisoned) = poisoned else {
            panic!("Once instance has previously been poisoned")
        };
        let Some(poisoned) = poisoned else { return };
        let r = panic::catch_unwind(AssertUnwindSafe(|| f(&OnceState { poisoned })));
        let mut s = waiter::lock(&self.state);
        s.phase = if r.is_ok() {
            self.done.store(true, Ordering::Release);
            Phase::Complete
        } else {
            Phase::Poisoned
        };
        s.waiters.notify_all();
        drop(s);
        if let Err(p) = r {
            panic::resume_unwind(p);
        }
    }
}

impl Default for Once {
    fn default() -> Once {
        Once::new()
    }
}

impl fmt::Debug for Once {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Once").finish_non_exhaustive()
    }
}

/// A cell written once; mirrors [`std::sync::OnceLock`]. Parties that ask
/// for the value while another initializes it park their greenlet.
pub struct OnceLock<T> {
    once: Once,
    cell: std::sync::OnceLock<T>,
}

impl<T> OnceLock<T> {
    /// An empty cell. `const`.
    pub const fn new() -> OnceLock<T> {
        OnceLock {
            once: Once::new(),
            cell: std::sync::OnceLock::new(),
        }
    }

    /// The value, if initialized.
    pub fn get(&self) -> Option<&T> {
        crate::rt::context::coop();
        self.cell.get()
    }

    /// A mutable reference to the value, if initialized.
    pub fn get_mut(&mut self) -> Option<&mut T> {
        self.cell.get_mut()
    }

    /// Waits until the value is initialized and returns it.
    pub fn wait(&self) -> &T {
        self.once.wait_force();
        self.cell.get().expect("initialized")
    }

    /// Initializes the cell with `value` if it is empty.
    ///
    /// # Errors
    ///
    /// `Err(value)` if it was already initialized.
    pub fn set(&self, value: T) -> Result<(), T> {
        let mut value = Some(value);
        self.once.call_once_force(|_| {
            let _ = self.cell.set(value.take().expect("once"));
        });
        match value {
            None => Ok(()),
            Some(v) => Err(v),
        }
    }

    /// The value, initializing it with `f` if empty. If `f` panics the
    /// panic propagates and the cell stays empty.
    pub fn get_or_init<F: FnOnce() -> T>(&self, f: F) -> &T {
        if let Some(v) = self.cell.get() {
            return v;
        }
        self.once.call_once_force(|_| {
            let _ = self.cell.set(f());
        });
        self.cell.get().expect("initialized")
    }

    /// Consumes the cell and returns its value.
    pub fn into_inner(self) -> Option<T> {
        self.cell.into_inner()
    }

    /// Takes the value out, leaving the cell empty.
    pub fn take(&mut self) -> Option<T> {
        self.once = Once::new();
        self.cell.take()
    }
}

impl<T> Default for OnceLock<T> {
    fn default() -> OnceLock<T> {
        OnceLock::new()
    }
}

impl<T> From<T> for OnceLock<T> {
    fn from(value: T) -> OnceLock<T> {
        let cell = OnceLock::new();
        let _ = cell.set(value);
        cell
    }
}

impl<T: Clone> Clone for OnceLock<T> {
    fn clone(&self) -> OnceLock<T> {
        match self.get() {
            Some(v) => OnceLock::from(v.clone()),
            None => OnceLock::new(),
        }
    }
}

impl<T: PartialEq> PartialEq for OnceLock<T> {
    fn eq(&self, other: &OnceLock<T>) -> bool {
        self.get() == other.get()
    }
}

impl<T: Eq> Eq for OnceLock<T> {}

impl<T: fmt::Debug> fmt::Debug for OnceLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_tuple("OnceLock");
        match self.get() {
            Some(v) => d.field(v),
            None => d.field(&format_args!("<uninit>")),
        };
        d.finish()
    }
}

/// A value initialized on first access; mirrors [`std::sync::LazyLock`].
/// Parties arriving during initialization park their greenlet.
pub struct LazyLock<T, F = fn() -> T> {
    cell: OnceLock<T>,
    init: std::sync::Mutex<Option<F>>,
}

impl<T, F: FnOnce() -> T> LazyLock<T, F> {
    /// A new lazy value with the initializer `f`. `const`.
    pub const fn new(f: F) -> LazyLock<T, F> {
        LazyLock {
            cell: OnceLock::new(),
            init: std::sync::Mutex::new(Some(f)),
        }
    }

    /// Forces evaluation and returns the value.
    ///
    /// # Panics
    ///
    /// If the initializer panics, here and on every later access, as std.
    pub fn force(this: &LazyLock<T, F>) -> &T {
        this.cell.get_or_init(|| {
            let f = this.init.lock().unwrap_or_else(|e| e.into_inner()).take();
            match f {
                Some(f) => f(),
                None => panic!("LazyLock instance has previously been poisoned"),
            }
        })
    }
}

impl<T, F: FnOnce() -> T> LazyLock<T, F> {
    /// Forces evaluation and returns a mutable reference to the value;
    /// mirrors [`std::sync::LazyLock::force_mut`]. No other party can
    /// access the lock, so nothing waits.
    ///
    /// # Panics
    ///
    /// If the initializer panics, here and on every later access, as std.
    ///
    /// ```
    /// use green_rt::sync::LazyLock;
    ///
    /// let mut lazy = LazyLock::new(|| vec![1]);
    /// LazyLock::force_mut(&mut lazy).push(2);
    /// assert_eq!(*lazy, [1, 2]);
    /// ```
    pub fn force_mut(this: &mut LazyLock<T, F>) -> &mut T {
        if this.cell.get().is_none() {
            let f = this
                .init
                .get_mut()
                .unwrap_or_else(|e| e.into_inner())
                .take();
            let Some(f) = f else {
                panic!("LazyLock instance has previously been poisoned")
            };
            // If `f` panics, `init` stays empty: poisoned, as std.
            let value = f();
            if this.cell.set(value).is_err() {
                unreachable!("LazyLock: initialized behind a &mut");
            }
        }
        this.cell.get_mut().expect("initialized")
    }
}

impl<T, F> LazyLock<T, F> {
    /// The value if it has been initialized, without forcing it; mirrors
    /// [`std::sync::LazyLock::get`]. `None` also after the initializer
    /// panicked.
    pub fn get(this: &LazyLock<T, F>) -> Option<&T> {
        this.cell.get()
    }

    /// A mutable reference to the value if it has been initialized,
    /// without forcing it; mirrors [`std::sync::LazyLock::get_mut`].
    pub fn get_mut(this: &mut LazyLock<T, F>) -> Option<&mut T> {
        this.cell.get_mut()
    }
}

impl<T, F: FnOnce() -> T> Deref for LazyLock<T, F> {
    type Target = T;
    fn deref(&self) -> &T {
        LazyLock::force(self)
    }
}

impl<T: Default> Default for LazyLock<T> {
    fn default() -> LazyLock<T> {
        LazyLock::new(T::default)
    }
}

impl<T: fmt::Debug, F> fmt::Debug for LazyLock<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_tuple("LazyLock");
        match self.cell.get() {
            Some(v) => d.field(v),
            None => d.field(&format_args!("<uninit>")),
        };
        d.finish()
    }
}
