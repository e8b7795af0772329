//! Greenlet-local storage: `thread_local!` where every greenlet is a thread.
//!
//! Under std, each thread sees its own value of a `thread_local!`. Under
//! green many "threads" share one OS thread, so [`thread_local!`] and
//! [`LocalKey`] keep one value per greenlet (and one for each OS thread's
//! root context), created on first access and dropped when the greenlet
//! ends, on the greenlet, as gevent's `local` does.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;

use crate::rt::context;

/// A key to greenlet-local storage, made by [`thread_local!`]; mirrors
/// [`std::thread::LocalKey`].
pub struct LocalKey<T: 'static> {
    init: fn() -> T,
}

impl<T: 'static> fmt::Debug for LocalKey<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalKey").finish_non_exhaustive()
    }
}

/// The error of [`LocalKey::try_with`]; mirrors [`std::thread::AccessError`].
///
/// green creates a value on first access at any time, so this error is
/// returned only if the value's own initializer is running (a recursive
/// first access).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessError;

impl fmt::Display for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("already destroyed")
    }
}

impl std::error::Error for AccessError {}

impl<T: 'static> LocalKey<T> {
    #[doc(hidden)]
    pub const fn new(init: fn() -> T) -> LocalKey<T> {
        LocalKey { init }
    }

    fn value(&'static self) -> Rc<dyn Any> {
        let key = self as *const Self as usize;
        let locals = context::hub().current_locals();
        if let Some(v) = locals.get(key) {
            return v;
        }
        let v: Rc<dyn Any> = Rc::new((self.init)());
        // The initializer may have touched other keys (or this one): the
        // first value stored wins, as with std.
        if let Some(existing) = locals.get(key) {
            return existing;
        }
        locals.insert(key, v.clone());
        v
    }

    /// Runs `f` with a reference to the current greenlet's value, creating
    /// it first if needed.
    pub fn with<F, R>(&'static self, f: F) -> R
    where
        F: FnOnce(&T) -> R,
    {
        let v = self.value();
        f(v.downcast_ref::<T>()
            .expect("local value of the key's type"))
    }

    /// As [`with`](Self::with), in std's shape. It never returns `Err`:
    /// std fails once the thread's locals are being destroyed, but a
    /// greenlet's locals live until the greenlet ends, and a key touched
    /// by another key's destructor then gets a fresh value that is dropped
    /// in a later round (see the runtime chapter's "Thread exit").
    pub fn try_with<F, R>(&'static self, f: F) -> Result<R, AccessError>
    where
        F: FnOnce(&T) -> R,
    {
        Ok(self.with(f))
    }
}

impl<T: 'static> LocalKey<Cell<T>> {
    /// Sets the value.
    pub fn set(&'static self, value: T) {
        self.with(|c| c.set(value));
    }

    /// Returns a copy of the value.
    pub fn get(&'static self) -> T
    where
        T: Copy,
    {
        self.with(Cell::get)
    }

    /// Takes the value, leaving `Default::default()`.
    pub fn take(&'static self) -> T
    where
        T: Default,
    {
        self.with(Cell::take)
    }

    /// Replaces the value, returning the old one.
    pub fn replace(&'static self, value: T) -> T {
        self.with(|c| c.replace(value))
    }
}

impl<T: 'static> LocalKey<RefCell<T>> {
    /// Runs `f` with a shared borrow of the value.
    pub fn with_borrow<F, R>(&'static self, f: F) -> R
    where
        F: FnOnce(&T) -> R,
    {
        self.with(|c| f(&c.borrow()))
    }

    /// Runs `f` with a mutable borrow of the value.
    pub fn with_borrow_mut<F, R>(&'static self, f: F) -> R
    where
        F: FnOnce(&mut T) -> R,
    {
        self.with(|c| f(&mut c.borrow_mut()))
    }

    /// Sets the value.
    pub fn set(&'static self, value: T) {
        self.with(|c| *c.borrow_mut() = value);
    }

    /// Takes the value, leaving `Default::default()`.
    pub fn take(&'static self) -> T
    where
        T: Default,
    {
        self.with(RefCell::take)
    }

    /// Replaces the value, returning the old one.
    pub fn replace(&'static self, value: T) -> T {
        self.with(|c| c.replace(value))
    }
}

/// Declares greenlet-local storage with [`std::thread_local!`]'s syntax.
///
/// `#[green::patch]` rewrites `thread_local!` to this macro. Each greenlet
/// (and each OS thread's root context) sees its own value.
///
/// ```
/// use std::cell::Cell;
/// green_rt::thread_local!(static COUNT: Cell<u32> = Cell::new(0));
///
/// COUNT.set(1);
/// let h = green_rt::thread::spawn(|| COUNT.get());
/// assert_eq!(h.join().unwrap(), 0);
/// assert_eq!(COUNT.get(), 1);
/// ```
#[macro_export]
macro_rules! thread_local {
    () => {};
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = const { $init:expr }; $($rest:tt)*) => (
        $crate::thread_local!($(#[$attr])* $vis static $name: $t = $init; $($rest)*);
    );
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = const { $init:expr }) => (
        $crate::thread_local!($(#[$attr])* $vis static $name: $t = $init);
    );
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = $init:expr; $($rest:tt)*) => (
        $crate::thread_local!($(#[$attr])* $vis static $name: $t = $init);
        $crate::thread_local!($($rest)*);
    );
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = $init:expr) => (
        $(#[$attr])* $vis static $name: $crate::thread::LocalKey<$t> = {
            fn __green_init() -> $t { $init }
            $crate::thread::LocalKey::new(__green_init)
        };
    );
}
