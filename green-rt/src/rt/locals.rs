//! The greenlet-local values of one waiter (a greenlet or a root context),
//! behind the public [`LocalKey`](crate::thread::LocalKey).

use std::any::Any;
use std::cell::RefCell;
use std::rc::Rc;

use super::task::Task;
use super::unwind;

/// Rounds of dropping greenlet-local values whose destructors touch other
/// keys (and so create new values), as std bounds its TLS destructor loop.
const ROUNDS: usize = 8;

/// The values of one waiter, keyed by the address of their `LocalKey`.
#[derive(Default)]
pub(crate) struct Locals {
    values: RefCell<Vec<(usize, Rc<dyn Any>)>>,
}

impl Locals {
    /// The value of `key`, if it has one.
    pub(crate) fn get(&self, key: usize) -> Option<Rc<dyn Any>> {
        self.values
            .borrow()
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.clone())
    }

    /// Stores the value of `key`.
    pub(crate) fn insert(&self, key: usize, value: Rc<dyn Any>) {
        self.values.borrow_mut().push((key, value));
    }

    /// Drops every value, in rounds, on the waiter `task` that owns them: a
    /// destructor that touches another key creates a value that the next
    /// round drops. A destructor that keeps creating values is cut off
    /// after [`ROUNDS`] rounds (the rest is leaked), as std bounds its own
    /// thread-local destructor loop. Panics in destructors are contained.
    pub(crate) fn drop_all(&self, task: &Task) {
        for _ in 0..ROUNDS {
            let values = std::mem::take(&mut *self.values.borrow_mut());
            if values.is_empty() {
                return;
            }
            let _ = unwind::catch_unwind(task, move || drop(values));
        }
        std::mem::forget(std::mem::take(&mut *self.values.borrow_mut()));
    }

    /// Leaks every value (their owner's frames may still refer to them).
    pub(crate) fn leak(&self) {
        std::mem::forget(std::mem::take(&mut *self.values.borrow_mut()));
    }
}
