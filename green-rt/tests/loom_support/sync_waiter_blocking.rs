//! `crate::sync` of the wait-queue models with three or more threads on
//! one lock: the runtime's own `src/rt/waiter.rs` over the blocking
//! stand-in lock of `blocking_lock.rs`.

#[allow(dead_code)]
#[path = "blocking_lock.rs"]
pub(crate) mod spin;

#[allow(dead_code)]
#[path = "../../src/rt/waiter.rs"]
pub(crate) mod waiter;

/// `waiter.rs` reaches its neighbours in the runtime's `rt` as
/// `super::loom`, `super::task` and `super::wait`; here the stand-in task
/// module plays both of the latter.
pub(crate) use crate::loom;
pub(crate) use crate::task;
pub(crate) use crate::task as wait;
