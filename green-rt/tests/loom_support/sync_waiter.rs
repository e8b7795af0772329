//! `crate::sync` of the wait-queue models: the runtime's own
//! `src/sync/spin.rs` and `src/sync/waiter.rs` (which reaches the runtime
//! through `crate::task`, the stand-in of `loom_support/task.rs`).

#[allow(dead_code)]
#[path = "../../src/sync/spin.rs"]
pub(crate) mod spin;

#[allow(dead_code)]
#[path = "../../src/sync/waiter.rs"]
pub(crate) mod waiter;
