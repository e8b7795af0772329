//! Time: a mirror of [`std::time`].
//!
//! **Implements** nothing: every type of `std::time` is plain data.
//! **Adds** [`sleep`] and [`sleep_until`] (the green sleeps of
//! [`crate::thread`], here too as gevent has `gevent.sleep`).
//! **Re-exports** all of `std::time`: `Duration`, `Instant`, `SystemTime`,
//! `UNIX_EPOCH`, `SystemTimeError`, `TryFromFloatSecsError`.

pub use std::time::*;

pub use crate::thread::{sleep, sleep_until};
