//! `crate::sync` of the models that need only the spin lock: the runtime's
//! own `src/sync/spin.rs`.

#[allow(dead_code)]
#[path = "../../src/sync/spin.rs"]
pub(crate) mod spin;
