//! `crate::sync` of the models that need only the spin lock: the runtime's
//! own `src/rt/spin.rs`.

#[allow(dead_code)]
#[path = "../../src/rt/spin.rs"]
pub(crate) mod spin;

/// `spin.rs` reaches the primitives as `super::loom`.
pub(crate) use crate::loom;
