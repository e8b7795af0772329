//! Filesystem manipulation: a mirror of [`std::fs`] whose calls run on the
//! blocking pool ([`crate::tpool`]) while the calling greenlet waits.

pub use std::fs::*;
