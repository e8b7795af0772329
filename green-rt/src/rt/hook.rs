//! The panic hook: greenlet panics reported as std reports a thread's,
//! and the per-greenlet unwinding state it records.

use std::panic;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use super::hub::Hub;
use super::task::GreenletExit;
use super::unwind;

/// Reports greenlet panics as std reports thread panics, naming the
/// greenlet; panics elsewhere go to the hook that was installed before.
/// `current` finds the thread's hub, if it has one (given by the hub's
/// context, which installs the hook when it makes the first hub).
pub(crate) fn install(current: fn() -> Option<&'static Hub>) {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let hub = current();
            if let Some(hub) = hub {
                // The running waiter starts to unwind (for `panicking`).
                unwind::begin(hub.current_task());
            }
            if info.payload().is::<GreenletExit>() {
                return;
            }
            let Some(hub) = hub else {
                return previous(info);
            };
            if hub.in_root() {
                // std's hook state is per OS thread: a greenlet that ran
                // while this hook waited and panicked would abort the
                // process, so a wait in the hook blocks the thread instead.
                let outer = hub.in_hook.replace(true);
                previous(info);
                hub.in_hook.set(outer);
                return;
            }
            let task = hub.current_task();
            let name = task.name.as_deref().unwrap_or("<unnamed>");
            let msg = info.payload_as_str().unwrap_or("Box<dyn Any>");
            let location = info.location().map(|l| l.to_string()).unwrap_or_default();
            let backtrace = std::backtrace::Backtrace::capture();
            let mut out = format!("\nthread '{name}' ({}) panicked at {location}:\n{msg}\n", task.id);
            if backtrace.status() == std::backtrace::BacktraceStatus::Captured {
                out.push_str(&format!("stack backtrace:\n{backtrace}\n"));
            } else {
                static NOTE: AtomicBool = AtomicBool::new(true);
                if NOTE.swap(false, Ordering::Relaxed) {
                    out.push_str(
                        "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n",
                    );
                }
            }
            eprint!("{out}");
        }));
    });
}
