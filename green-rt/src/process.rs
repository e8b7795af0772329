//! Processes: a mirror of [`std::process`] whose waits and pipe I/O suspend
//! only the calling greenlet.

pub use std::process::*;
