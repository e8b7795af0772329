//! `crate::sync` of the wait-queue models: the runtime's own
//! `src/rt/spin.rs` and `src/rt/waiter.rs` (which reaches the runtime
//! through `crate::task`, the stand-in of `loom_support/task.rs`).

#[allow(dead_code)]
#[path = "../../src/rt/spin.rs"]
pub(crate) mod spin;

#[allow(dead_code)]
#[path = "../../src/rt/waiter.rs"]
pub(crate) mod waiter;

/// `spin.rs` and `waiter.rs` reach their neighbours in the runtime's `rt`
/// as `super::loom`, `super::task` and `super::wait`; here the stand-in
/// task module plays both of the latter.
pub(crate) use crate::loom;
pub(crate) use crate::task;
pub(crate) use crate::task as wait;
