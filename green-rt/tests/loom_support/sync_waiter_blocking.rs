//! `crate::sync` of the wait-queue models with three or more threads on
//! one lock: the runtime's own `src/sync/waiter.rs` over the blocking
//! stand-in lock of `blocking_lock.rs`.

#[allow(dead_code)]
#[path = "blocking_lock.rs"]
pub(crate) mod spin;

#[allow(dead_code)]
#[path = "../../src/sync/waiter.rs"]
pub(crate) mod waiter;
