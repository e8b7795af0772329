//! Traits, helpers and types for I/O: a mirror of [`std::io`] whose
//! standard-input reads suspend only the calling greenlet.

pub use std::io::*;
