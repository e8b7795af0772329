//! # green
//!
//! gevent and eventlet for Rust: ordinary blocking code written against
//! `std::net`, `std::thread`, `std::sync` and `std::time` runs on green
//! threads ("greenlets") multiplexed on an event loop ("hub") per OS thread.
//!
//! Put [`macro@main`] on `main` and the paths into those std modules are
//! rewritten at compile time to the green mirrors below, in `main`, in the
//! items beside it and in the module files of the crate. Nothing else in the
//! program changes. In a library, [`macro@patch`] goes on the modules that
//! do I/O; [`macro@unpatched`] keeps an item on std.
//!
//! ```
//! use std::time::Duration;
//!
//! #[green::main]
//! fn main() {
//!     let handles: Vec<_> = (0..1000)
//!         .map(|i| std::thread::spawn(move || {
//!             std::thread::sleep(Duration::from_millis(10));
//!             i
//!         }))
//!         .collect();
//!     let sum: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
//!     assert_eq!(sum, 999 * 1000 / 2);
//! }
//! ```
//!
//! The modules can also be used directly, without the macros.
//!
//! **std mirrors** (std's items, same signatures and semantics, green
//! inside): [`thread`], [`time`], [`sync`] (with [`sync::mpsc`]), [`net`],
//! [`fs`], [`io`] (standard input), [`process`], [`os::unix::net`],
//! [`os::unix::process`].
//!
//! **gevent/eventlet toolkit**: [`pool`] (`Pool`, `Group`, `joinall`),
//! [`event`] (`Event`, `AsyncResult`), [`queue`], [`timeout`]
//! (`Timeout`, `with_timeout`), [`select`], [`tpool`] (run blocking code on
//! an OS-thread pool while the greenlet waits), [`signal`] (wait for
//! `SIGINT`, `SIGTERM`, ... in a greenlet; gevent's `signal_handler`).
//!
//! **Runtime**: [`runtime`] (options, statistics) and
//! [`thread_local!`] (greenlet-local storage).
//!
//! **Feature `tracing`**: `tracing` (`green::tracing`: `tracing` spans
//! that follow their greenlet across switches, and log lines that name the
//! greenlet).

pub use green_macros::{main, patch, test, unpatched};
pub use green_rt::*;

/// Support items for the code the macros generate. Not public API: it may
/// change in any release, in step with `green-macros`.
#[doc(hidden)]
pub mod __private {
    pub use green_rt::runtime::Builder;
}
