//! `tracing` and `log` on greenlets: spans that follow their greenlet, and
//! log lines that name the greenlet (feature `tracing`).
//!
//! **The problem.** A `tracing` subscriber keeps "the span this thread is
//! in" per OS thread: tracing-subscriber's `Registry` has one span stack
//! per OS thread (a `thread_local::ThreadLocal`), and so do the layers that
//! follow enters and exits (fmt's busy/idle timings, `EnvFilter`'s span
//! filters). Greenlets share their hub's OS thread, so a greenlet that
//! enters a span and blocks leaves the span entered for every greenlet that
//! runs on the hub until it comes back: their events are filed under its
//! span, and their spans get its span as parent.
//!
//! **The fix.** [`Greenlets`] wraps the whole subscriber (the `Registry`
//! with its layers) and keeps each greenlet's stack of entered spans
//! itself. The hub tells it when a greenlet switches out (a hook the
//! wrapper installs), and it notices which greenlet runs at every call that can look at the current span (`enter`, `exit`,
//! `event`, `new_span`, `current_span`, `enabled`, `event_enabled`) first
//! checks which greenlet is running on this OS thread; if it is not the one
//! whose spans are entered on the inner subscriber, it exits those (top
//! first) and enters the running greenlet's (bottom first), then forwards
//! the call. Everything that asks through the dispatcher —
//! `Span::current()`, a new span's contextual parent, fmt's
//! `lookup_current`, `in_scope`, `#[instrument]` on a function that
//! blocks, `EnvFilter`'s span filters — then sees the running greenlet's
//! spans, as it would see the running thread's under std.
//!
//! ```
//! use tracing_subscriber::layer::SubscriberExt;
//! use tracing_subscriber::util::SubscriberInitExt;
//!
//! green_rt::tracing::Greenlets::new(
//!     tracing_subscriber::registry().with(tracing_subscriber::fmt::layer()),
//! )
//! .init();
//! ```
//!
//! **What the inner subscriber sees.** A switch reaches it as ordinary
//! exits and enters (`on_exit`/`on_enter` of every layer), as tokio's
//! `Instrumented` does at each `poll`: so fmt's `FmtSpan::CLOSE` counts
//! the time a greenlet was switched out as the span's idle time, and
//! `FmtSpan::ENTER | FmtSpan::EXIT` print a line at each switch. (The
//! choice is forced: the `Registry`'s stack can only be changed through
//! `enter`/`exit`, and a layer below the wrapper that kept per-thread state
//! — `EnvFilter`'s scope, fmt's timings — would be wrong if it did not see
//! the switch.) The spans of a greenlet are exited the moment it switches
//! out (the hub calls the wrapper's hook then), so a span's busy time stops
//! when its greenlet stops running; they are entered again at its first
//! subscriber call after it resumes, so busy time restarts then, not at
//! the resume itself. The attribution of events and parents is exact.
//!
//! **Limits.**
//! - Wrap the outermost subscriber (`Greenlets::new(registry().with(…))`),
//!   so that every layer's per-thread state is switched; a layer put
//!   *around* the wrapper sees interleaved enters and exits.
//! - Install it as the global default (`init`,
//!   `tracing::subscriber::set_global_default`). `tracing`'s scoped
//!   defaults (`with_default`, `set_default`) are per OS thread in
//!   `tracing-core`: a greenlet that blocks inside `with_default` lends its
//!   subscriber to every greenlet of its hub, and greenlets that set and
//!   restore defaults in turn restore each other's.
//! - A subscriber call must not block on a green call (a layer writing to a
//!   green socket or file): write logs with std I/O or a non-blocking
//!   writer on an OS thread.
//! - A greenlet that ends with spans still entered (a guard given to
//!   `mem::forget`) leaves them entered for no one else: they are exited on
//!   the inner subscriber at the next switch and stay in the wrapper's
//!   record of that greenlet, never entered again (under std they would
//!   stay entered on the thread).
//!
//! **Log lines.** std-style formatters name the thread with
//! `std::thread::current()`, which under green is the hub's OS thread.
//! [`current_greenlet`] names the running greenlet instead, and
//! [`WithGreenlet`] puts it at the head of each line of tracing-subscriber's
//! fmt; for `log`, write [`current_greenlet`] in the logger's format (see
//! `examples/tracing.rs` and the book's "tracing and log").

use std::any::TypeId;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::num::NonZeroU64;
use std::sync::Arc;

use thread_local::ThreadLocal;
use tracing_core::span::{Attributes, Current, Id, Record};
use tracing_core::subscriber::{Interest, Subscriber};
use tracing_core::{Dispatch, Event, LevelFilter, Metadata};
use tracing_subscriber::fmt::FmtContext;
use tracing_subscriber::fmt::format::{FormatEvent, FormatFields, Writer};
use tracing_subscriber::registry::LookupSpan;

use crate::rt::{context, hub};

/// The key of the root context of an OS thread (with or without a hub);
/// greenlets are keyed by their id, which starts at 1.
const ROOT: u64 = 0;

/// The owner while no waiter's spans are entered ([`suspended`]).
const NOBODY: u64 = u64::MAX;

/// The waiter running on this OS thread: the greenlet's id, or [`ROOT`].
/// Never creates a hub (subscriber calls come from any thread).
#[inline]
fn running() -> u64 {
    match context::try_hub() {
        Some(hub) if !hub.in_root() => hub.current_task().id,
        _ => ROOT,
    }
}

/// A `tracing` subscriber whose entered spans follow greenlets: wraps a
/// subscriber (usually `tracing_subscriber::registry().with(layers)`) and
/// switches the spans it has entered on this OS thread to the running
/// greenlet's before each call that can look at them (see the [module
/// documentation](self)).
///
/// Everything else is forwarded: `register_callsite`, `max_level_hint`,
/// `record`, `clone_span`, `try_close`, `on_register_dispatch`, and
/// `downcast_raw` (so `dispatch.downcast_ref::<Registry>()` and the
/// layers' own downcasts still find the inner types).
pub struct Greenlets<S> {
    shared: Arc<Shared<S>>,
    /// The same, for the runtime's switch hook ([`suspended`]), which does
    /// not know `S`: found through `downcast_raw`.
    hook: Hook,
}

struct Shared<S> {
    inner: S,
    threads: ThreadLocal<RefCell<Entered>>,
}

/// A [`Greenlets`] of any inner subscriber, as [`suspended`] finds it.
struct Hook(Arc<dyn SwitchOut>);

trait SwitchOut: Send + Sync {
    /// Exits the entered spans of the waiter that was running on this OS
    /// thread: no waiter is running.
    fn switch_out(&self);
}

/// What one [`Greenlets`] has entered on one OS thread.
#[derive(Default)]
struct Entered {
    /// The waiter whose spans are entered on the inner subscriber.
    owner: u64,
    /// Its entered spans, innermost last: exactly what is entered on the
    /// inner subscriber for this thread.
    spans: Vec<Id>,
    /// The entered spans of the other waiters of this thread that are in a
    /// span (none empty).
    parked: HashMap<u64, Vec<Id>>,
}

impl<S: Subscriber + Send + Sync + 'static> Greenlets<S> {
    /// Wraps `inner`, the subscriber that would otherwise be installed.
    pub fn new(inner: S) -> Greenlets<S> {
        let shared = Arc::new(Shared {
            inner,
            threads: ThreadLocal::new(),
        });
        hub::on_switch_out(suspended);
        Greenlets {
            hook: Hook(shared.clone()),
            shared,
        }
    }
}

impl<S> Greenlets<S> {
    /// The wrapped subscriber.
    pub fn inner(&self) -> &S {
        &self.shared.inner
    }
}

/// Called by the runtime right after a greenlet switched out to the loop
/// (the one call a switch hook needs): exits the running waiter's spans on
/// the inner subscriber of the default dispatcher's [`Greenlets`] now,
/// instead of at the next subscriber call on the thread, so that a span's
/// busy time stops when its greenlet stops running. They are entered again
/// at the greenlet's first subscriber call once it runs.
///
/// [`Greenlets::new`] installs it as the hubs' switch-out hook.
pub(crate) fn suspended() {
    tracing_core::dispatcher::get_default(|dispatch| {
        if let Some(hook) = dispatch.downcast_ref::<Hook>() {
            hook.0.switch_out();
        }
    });
}

impl<S: Subscriber + Send + Sync> SwitchOut for Shared<S> {
    fn switch_out(&self) {
        let cell = self.entered();
        if cell.borrow().owner != NOBODY {
            self.switch(cell, NOBODY);
        }
    }
}

impl<S> Shared<S> {
    fn entered(&self) -> &RefCell<Entered> {
        self.threads.get_or_default()
    }
}

impl<S: Subscriber> Shared<S> {
    /// Makes the inner subscriber's entered spans on this OS thread those
    /// of the running waiter.
    #[inline]
    fn follow(&self) {
        let now = running();
        let cell = self.entered();
        if cell.borrow().owner != now {
            self.switch(cell, now);
        }
    }

    /// Exits the spans of the previous owner (innermost first), enters
    /// those of `now` (outermost first). No borrow is held while the inner
    /// subscriber runs: a layer's `on_exit`/`on_enter` may call back
    /// through the dispatcher, and those calls find `now` the owner.
    #[cold]
    fn switch(&self, cell: &RefCell<Entered>, now: u64) {
        let (before, left) = {
            let mut e = cell.borrow_mut();
            let before = std::mem::replace(&mut e.owner, now);
            let spans = e.parked.remove(&now).unwrap_or_default();
            (before, std::mem::replace(&mut e.spans, spans))
        };
        for id in left.iter().rev() {
            self.inner.exit(id);
        }
        let mut i = 0;
        loop {
            let Some(id) = cell.borrow().spans.get(i).cloned() else {
                break;
            };
            self.inner.enter(&id);
            i += 1;
        }
        if !left.is_empty() {
            cell.borrow_mut().parked.insert(before, left);
        }
    }
}

impl<S> fmt::Debug for Greenlets<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Greenlets")
            .field("inner", &std::any::type_name::<S>())
            .finish_non_exhaustive()
    }
}

impl<S: Subscriber + Send + Sync + 'static> Subscriber for Greenlets<S> {
    fn on_register_dispatch(&self, subscriber: &Dispatch) {
        self.shared.inner.on_register_dispatch(subscriber);
    }

    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        self.shared.inner.register_callsite(metadata)
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.shared.follow();
        self.shared.inner.enabled(metadata)
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        self.shared.inner.max_level_hint()
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        self.shared.follow();
        self.shared.inner.new_span(span)
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        self.shared.inner.record(span, values);
    }

    fn record_follows_from(&self, span: &Id, follows: &Id) {
        self.shared.inner.record_follows_from(span, follows);
    }

    fn event_enabled(&self, event: &Event<'_>) -> bool {
        self.shared.follow();
        self.shared.inner.event_enabled(event)
    }

    fn event(&self, event: &Event<'_>) {
        self.shared.follow();
        self.shared.inner.event(event);
    }

    fn enter(&self, span: &Id) {
        self.shared.follow();
        self.shared.entered().borrow_mut().spans.push(span.clone());
        self.shared.inner.enter(span);
    }

    fn exit(&self, span: &Id) {
        self.shared.follow();
        let forward = {
            let mut e = self.shared.entered().borrow_mut();
            if let Some(i) = e.spans.iter().rposition(|s| s == span) {
                e.spans.remove(i);
                true
            } else {
                // Entered by another waiter of this thread (a greenlet's
                // guard dropped elsewhere): it is not entered on the inner
                // subscriber now, so only the record goes.
                let found = e.parked.iter_mut().find_map(|(&key, spans)| {
                    let i = spans.iter().rposition(|s| s == span)?;
                    spans.remove(i);
                    Some((key, spans.is_empty()))
                });
                match found {
                    Some((key, empty)) => {
                        if empty {
                            e.parked.remove(&key);
                        }
                        false
                    }
                    // Never entered here: forwarded, as without the wrapper.
                    None => true,
                }
            }
        };
        if forward {
            self.shared.inner.exit(span);
        }
    }

    fn clone_span(&self, id: &Id) -> Id {
        self.shared.inner.clone_span(id)
    }

    fn try_close(&self, id: Id) -> bool {
        self.shared.inner.try_close(id)
    }

    fn current_span(&self) -> Current {
        self.shared.follow();
        self.shared.inner.current_span()
    }

    // SAFETY: the contract of `downcast_raw` is that a returned pointer
    // points to a value of the type `id` names: `self` for our own type,
    // our `hook` field for `Hook`; otherwise whatever the inner subscriber
    // returns under its own contract.
    unsafe fn downcast_raw(&self, id: TypeId) -> Option<*const ()> {
        if id == TypeId::of::<Self>() {
            return Some(self as *const Self as *const ());
        }
        if id == TypeId::of::<Hook>() {
            return Some(&self.hook as *const Hook as *const ());
        }
        // SAFETY: forwarded with the caller's `id`; the inner subscriber
        // upholds the same contract for its own types.
        unsafe { self.shared.inner.downcast_raw(id) }
    }
}

/// The running greenlet, as a log line names it; made by
/// [`current_greenlet`].
///
/// Displays as `name#id` (`handler#12`), `<unnamed>#id` for a greenlet
/// without a name (std's word for an unnamed thread), and just the OS
/// thread's name on an OS thread that has no hub (green was never used on
/// it, e.g. a `tpool` thread).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentGreenlet {
    name: Option<Box<str>>,
    id: Option<NonZeroU64>,
}

impl CurrentGreenlet {
    /// The greenlet's name: `green::thread::current().name()`, or the OS
    /// thread's name where there is no hub.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The greenlet's id (`green::thread::current().id()`); `None` on an
    /// OS thread that has no hub.
    pub fn id(&self) -> Option<NonZeroU64> {
        self.id
    }
}

impl fmt::Display for CurrentGreenlet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name.as_deref().unwrap_or("<unnamed>"))?;
        match self.id {
            Some(id) => write!(f, "#{id}"),
            None => Ok(()),
        }
    }
}

/// Names the running greenlet for a log line, as std-style formatters name
/// the thread with `std::thread::current()`: its name and id (the root
/// context of an OS thread has the thread's name). Unlike
/// [`thread::current`](crate::thread::current) it never starts a hub, so a
/// logger may call it on any thread.
///
/// ```
/// let h = green_rt::thread::Builder::new()
///     .name("handler".into())
///     .spawn(|| green_rt::tracing::current_greenlet().to_string())
///     .unwrap();
/// assert!(h.join().unwrap().starts_with("handler#"));
/// ```
pub fn current_greenlet() -> CurrentGreenlet {
    match context::try_hub() {
        Some(hub) => {
            let task = hub.current_task();
            CurrentGreenlet {
                name: task.name.clone(),
                id: NonZeroU64::new(task.id),
            }
        }
        None => CurrentGreenlet {
            name: std::thread::current().name().map(Box::from),
            id: None,
        },
    }
}

/// A tracing-subscriber fmt event format that begins each line with the
/// running greenlet ([`current_greenlet`]), then formats the event with
/// the format it wraps: fmt's `with_thread_names` names the OS thread,
/// which every greenlet of a hub shares.
///
/// ```
/// use green_rt::tracing::WithGreenlet;
/// use tracing_subscriber::fmt::format;
///
/// let layer = tracing_subscriber::fmt::layer::<tracing_subscriber::Registry>()
///     .event_format(WithGreenlet::new(format()));
/// # drop(layer);
/// ```
///
/// prints `handler#12 2026-01-01T00:00:00.000000Z  INFO req{id=7}: app: done`.
#[derive(Debug, Clone, Default)]
pub struct WithGreenlet<F> {
    inner: F,
}

impl<F> WithGreenlet<F> {
    /// Wraps `inner`, e.g. `tracing_subscriber::fmt::format()` or its
    /// `.compact()`.
    pub fn new(inner: F) -> WithGreenlet<F> {
        WithGreenlet { inner }
    }
}

impl<S, N, F> FormatEvent<S, N> for WithGreenlet<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        write!(writer, "{} ", current_greenlet())?;
        self.inner.format_event(ctx, writer, event)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use tracing_core::dispatcher;

    use super::*;
    use crate::sync::mpsc;

    /// An inner subscriber that writes down enters and exits.
    struct Recorder(Arc<Mutex<Vec<String>>>);

    impl Subscriber for Recorder {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &Attributes<'_>) -> Id {
            Id::from_u64(1)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, _: &Event<'_>) {}
        fn enter(&self, span: &Id) {
            self.0
                .lock()
                .unwrap()
                .push(format!("enter {}", span.into_u64()));
        }
        fn exit(&self, span: &Id) {
            self.0
                .lock()
                .unwrap()
                .push(format!("exit {}", span.into_u64()));
        }
    }

    /// The hub's switch-out hook: `suspended` right after a greenlet
    /// switched out exits its spans then, not at the next call.
    #[test]
    fn suspended_exits_the_spans_of_the_greenlet_that_switched_out() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let dispatch = Dispatch::new(Greenlets::new(Recorder(log.clone())));
        let seen = |log: &Arc<Mutex<Vec<String>>>| log.lock().unwrap().join(", ");
        dispatcher::with_default(&dispatch, || {
            let (entered, wait) = mpsc::channel();
            let (go, resume) = mpsc::channel();
            let h = crate::thread::spawn(move || {
                dispatcher::get_default(|d| d.enter(&Id::from_u64(7)));
                entered.send(()).unwrap();
                resume.recv().unwrap();
                dispatcher::get_default(|d| d.exit(&Id::from_u64(7)));
            });
            wait.recv().unwrap();
            // The greenlet parked in `recv`: the hub's switch-out hook
            // (installed by `Greenlets::new`) exited its span then.
            assert_eq!(seen(&log), "enter 7, exit 7");
            // Called again with nothing entered, it does nothing.
            suspended();
            assert_eq!(seen(&log), "enter 7, exit 7");
            go.send(()).unwrap();
            h.join().unwrap();
        });
        // Entered again at its next call, then exited by it.
        assert_eq!(seen(&log), "enter 7, exit 7, enter 7, exit 7");
    }
}
