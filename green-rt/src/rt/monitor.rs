//! Watching the hubs from outside: the blocking detector, the greenlet
//! dump's collection, and the dump on SIGUSR1.
//!
//! Every hub publishes, with relaxed stores on its own thread, how many
//! switches it made, which waiter runs user code (0 while its loop runs or
//! sleeps) and how many greenlets it has ([`Monitor`]). The detector
//! thread (gevent's monitor thread, `max_blocking_time`) samples those
//! every quarter of its threshold: a hub whose running waiter and switch
//! count have not moved for the threshold, with greenlets to run, is
//! blocked by that waiter. It is reported once per stall, with a sample of
//! the stalled thread taken by the thread itself ([`super::sample`]).
//!
//! A dump asks each hub for its table through a call run on the hub's own
//! loop ([`Handle::push_call`]); a hub that does not answer in time is
//! stalled, and is sampled instead. (The public side, `runtime::dump`, the
//! environment switches and the dump on SIGUSR1, is `runtime/dump.rs`.)
//!
//! [`Monitor`]: super::handle::Monitor
//! [`Handle::push_call`]: super::handle::Handle::push_call

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::context;
use super::hub::{self, Report};
use super::sample::{self, Sample};
use super::task::HubHandle;

/// How long a hub has to answer a dump before it counts as stalled.
const ANSWER: Duration = Duration::from_millis(500);
/// How long a stalled thread has to take its sample.
const SAMPLE: Duration = Duration::from_millis(500);

/// One hub as a dump found it.
#[derive(Debug)]
pub(crate) struct HubSnapshot {
    /// The hub's thread name.
    pub(crate) thread: Option<String>,
    /// Its table; `None`: it did not answer in time (it is blocked).
    pub(crate) report: Option<Vec<Report>>,
    /// When it did not answer: a sample of its thread (`None` if the
    /// thread did not take it either).
    pub(crate) sample: Option<Sample>,
    /// When the table was taken (the hub's clock base for `since`).
    pub(crate) at: Instant,
}

/// Collects every hub's table (the calling thread's own directly).
pub(crate) fn collect() -> Vec<HubSnapshot> {
    let me = context::try_hub();
    let mut pending = Vec::new();
    let mut out = Vec::new();
    for h in hub::all_hubs() {
        let thread = h
            .monitor
            .thread
            .get()
            .and_then(|(_, n)| n.as_deref().map(String::from));
        if let Some(me) = me
            && Arc::ptr_eq(&me.handle, &h)
        {
            out.push(HubSnapshot {
                thread,
                report: Some(me.report()),
                sample: None,
                at: Instant::now(),
            });
            continue;
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let sent = h.push_call(Box::new(move || {
            if let Some(hub) = context::try_hub() {
                let _ = tx.send((hub.report(), Instant::now()));
            }
        }));
        if sent {
            pending.push((h, thread, rx));
        }
    }
    let deadline = Instant::now() + ANSWER;
    for (h, thread, rx) in pending {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok((report, at)) => out.push(HubSnapshot {
                thread,
                report: Some(report),
                sample: None,
                at,
            }),
            Err(_) => {
                let sample = h
                    .monitor
                    .thread
                    .get()
                    .and_then(|(t, _)| sample::sample(*t, SAMPLE));
                out.push(HubSnapshot {
                    thread,
                    report: None,
                    sample,
                    at: Instant::now(),
                });
            }
        }
    }
    out
}

/// Whether a detector runs.
static DETECTING: AtomicBool = AtomicBool::new(false);

/// Starts the blocking detector with `threshold` (once per process; a
/// later call with another threshold is ignored).
pub(crate) fn start_detector(threshold: Duration) {
    if DETECTING.swap(true, Ordering::AcqRel) {
        return;
    }
    hub::watch();
    let spawned = std::thread::Builder::new()
        .name("green-monitor".into())
        .spawn(move || detect(threshold));
    if let Err(e) = spawned {
        DETECTING.store(false, Ordering::Release);
        eprintln!("green: cannot start the blocking detector's thread: {e}");
    }
}

/// Where a hub was at the last look.
struct Seen {
    switches: u64,
    running: u64,
    since: Instant,
    reported: bool,
}

fn detect(threshold: Duration) {
    // Load the symbols meanwhile (parsing the debug info can take a good
    // part of a second), so that a report comes out while the stall lasts.
    let _ = std::thread::Builder::new()
        .name("green-symbols".into())
        .spawn(sample::warm_up);
    let period = (threshold / 4).max(Duration::from_millis(1));
    let mut seen: HashMap<usize, Seen> = HashMap::new();
    loop {
        std::thread::sleep(period);
        let now = Instant::now();
        let hubs = hub::all_hubs();
        seen.retain(|k, _| hubs.iter().any(|h| Arc::as_ptr(h) as usize == *k));
        for h in hubs {
            let m = &h.monitor;
            let switches = m.switches.load(Ordering::Relaxed);
            let running = m.running.load(Ordering::Relaxed);
            let live = m.live.load(Ordering::Relaxed);
            let e = seen.entry(Arc::as_ptr(&h) as usize).or_insert(Seen {
                switches,
                running,
                since: now,
                reported: false,
            });
            if running == 0 || live == 0 || switches != e.switches || running != e.running {
                *e = Seen {
                    switches,
                    running,
                    since: now,
                    reported: false,
                };
                continue;
            }
            let stalled = now.saturating_duration_since(e.since);
            if !e.reported && stalled >= threshold {
                e.reported = true;
                report_stall(&h, stalled, live);
            }
        }
    }
}

/// Prints what blocks `h`.
fn report_stall(h: &HubHandle, stalled: Duration, live: usize) {
    let (thread, name) = match h.monitor.thread.get() {
        Some((t, n)) => (Some(*t), n.as_deref()),
        None => (None, None),
    };
    let sample = thread.and_then(|t| sample::sample(t, SAMPLE));
    // The greenlet first (symbols take a while; the stall may end and
    // the program with it), then its frames.
    let (head, tail) = stall_text(name, stalled, live, sample.as_ref());
    eprint!("{head}");
    let frames = sample.as_ref().map(Sample::frames).unwrap_or_default();
    eprint!("{}", frames_text(&frames, sample.is_some()));
    eprint!("{tail}");
}

/// The detector's report: its first line (which waiter blocks which hub)
/// and its last (the advice); the frames go between (see
/// [`frames_text`]).
pub(crate) fn stall_text(
    thread: Option<&str>,
    stalled: Duration,
    live: usize,
    sample: Option<&Sample>,
) -> (String, String) {
    let mut head = String::new();
    let hub = thread.unwrap_or("<unnamed>");
    let _ = write!(
        head,
        "\ngreen: hub '{hub}' has not switched for {} ms ({live} greenlets on it)",
        stalled.as_millis()
    );
    match sample {
        Some(s) => {
            let name = s.name.as_deref().unwrap_or("<unnamed>");
            let _ = write!(head, ": greenlet {} '{name}'", s.id);
            if let Some(site) = s.site {
                let _ = write!(head, " (spawned at {site})");
            } else {
                head.push_str(" (the thread's root context)");
            }
            let _ = writeln!(head, " blocks it");
        }
        None => {
            head.push_str(": its thread did not answer the sample signal in time\n");
        }
    }
    let tail = "  note: a call that blocks the OS thread (std or another crate's blocking I/O, a \
         std lock, a long computation) stops every greenlet of its hub; run it with \
         green::tpool::execute, or make it green (#[green::patch])\n"
        .to_string();
    (head, tail)
}

/// The backtrace part of the report.
pub(crate) fn frames_text(frames: &[String], sampled: bool) -> String {
    let mut out = String::new();
    if !sampled {
        return out;
    }
    if frames.is_empty() {
        out.push_str("  (no backtrace: the stack could not be walked)\n");
    } else {
        out.push_str("  backtrace of the blocking code, innermost first:\n");
        for (i, f) in frames.iter().enumerate() {
            let _ = writeln!(out, "  {i:>4}: {f}");
        }
    }
    out
}
