//! The runtime's core: everything under the std mirrors.
//!
//! Nothing here is public, and nothing here imports a public module. Each
//! file imports only files of lower layers; `tests/runtime_layers.rs`
//! fails on an import that goes sideways, up, out of `rt`, or anywhere in
//! a circle in the whole crate (`scripts/layers.py` prints the graph).
//!
//! ```text
//!  12  monitor               the blocking detector, the dump's collection
//!  11  io  waiter  workers   waiting for I/O; the primitives' wait queues;
//!      sample                worker hubs and placement; sampling a thread
//!  10  wait                  parking the current waiter, interrupts
//!   9  context               the thread's hub: made, found, torn down
//!   8  hook                  the panic hook
//!   7  hub                   the event loop: ready queue, poll, timers, slab
//!   6  greenlet              a greenlet's coroutine lifecycle (the unsafe)
//!   5  locals                greenlet-local values
//!   4  timer  scheduled      timers; readiness, waiters and event dispatch;
//!      unwind  overflow      per-greenlet `panicking`; the overflow handler
//!   3  task                  a waiter's identity, park state, interrupts
//!   2  handle                a hub's Send half (knows no task type)
//!   1  spin  park  wake      spin lock; park state machine; hand-over
//!   0  loom  stack           std's atomics (loom's under --cfg loom); stacks
//! ```
//!
//! Three seams point upward without an import. The handle wakes a task
//! on its own hub's thread through the trait [`handle::WakeHere`], which
//! the context implements for the task (resolved at compile time). The
//! overflow handler and the panic hook are given, as function pointers,
//! the context's lookups of the running greenlet when it makes the first
//! hub. The std mirrors (`thread`, `sync`, `net`, ...) stand on
//! `context`, `wait`, `io`, `waiter` and `workers`; the toolkit (`pool`,
//! `queue`, `event`, ...) on the mirrors and the same few files.

pub(crate) mod context;
pub(crate) mod greenlet;
pub(crate) mod handle;
pub(crate) mod hook;
pub(crate) mod hub;
pub(crate) mod io;
pub(crate) mod locals;
pub(crate) mod loom;
pub(crate) mod monitor;
pub(crate) mod overflow;
pub(crate) mod park;
pub(crate) mod sample;
pub(crate) mod scheduled;
pub(crate) mod spin;
pub(crate) mod stack;
pub(crate) mod task;
pub(crate) mod timer;
pub(crate) mod unwind;
pub(crate) mod wait;
pub(crate) mod waiter;
pub(crate) mod wake;
pub(crate) mod workers;
