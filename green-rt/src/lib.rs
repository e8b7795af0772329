//! The runtime behind [`green`](https://docs.rs/green): hubs, greenlets on
//! pooled guarded stacks, and the green mirrors of std's blocking modules.
//!
//! Use it through the `green` crate, which re-exports these modules and
//! adds the macros. The architecture (one hub per OS thread, greenlets that
//! never migrate, a stack pool per hub) is described in the repository's
//! `ARCHITECTURE.md` and in the book.

#![cfg_attr(test, deny(warnings))]

mod rt;

pub mod event;
pub mod fs;
pub mod http;
pub mod io;
pub mod net;
pub mod os;
pub mod pool;
pub mod process;
pub mod queue;
pub mod runtime;
pub mod select;
pub mod server;
pub mod signal;
pub mod sync;
pub mod thread;
pub mod time;
pub mod timeout;
pub mod tpool;
#[cfg(feature = "tracing")]
pub mod tracing;
pub mod websocket;
