//! What every greenlet is doing: [`dump`], its types, and the switches
//! that turn on the dump on SIGUSR1 and the blocking detector.

use std::collections::BTreeMap;
use std::fmt;
use std::panic::Location;
use std::sync::Once;
use std::time::{Duration, Instant};

use crate::rt::greenlet::Wait;
use crate::rt::monitor;

/// Every greenlet on every hub of the process, as [`dump`] found them
/// (gevent's `print_run_info`).
///
/// `Display` prints, per hub, a summary by state and by spawn site, then
/// the first [`DETAILS`] greenlets; the alternate form (`{:#}`) prints
/// every greenlet.
#[derive(Debug, Clone)]
pub struct Dump {
    /// The hubs, the caller's first when it has one.
    pub hubs: Vec<HubDump>,
}

/// Greenlets listed per hub by `Dump`'s plain `Display`.
pub const DETAILS: usize = 50;

/// One hub in a [`Dump`].
#[derive(Debug, Clone)]
pub struct HubDump {
    /// The name of the hub's OS thread.
    pub thread: Option<String>,
    /// Its greenlets, the root context of its thread first. Empty when the
    /// hub did not answer ([`stalled`](Self::stalled)).
    pub greenlets: Vec<GreenletInfo>,
    /// Set when the hub did not answer within half a second: it is blocked
    /// by the waiter running on it, which its thread sampled itself.
    pub stalled: Option<Stalled>,
}

/// A hub that did not answer a [`dump`]: the waiter blocking it.
#[derive(Debug, Clone)]
pub struct Stalled {
    /// The running waiter's id (a greenlet's, or the thread's root
    /// context's); `None` if its thread did not take the sample either.
    pub id: Option<u64>,
    /// Its name.
    pub name: Option<String>,
    /// Where it was spawned (`None` for a root context).
    pub spawned_at: Option<&'static Location<'static>>,
    /// The backtrace of the code it runs, innermost frame first.
    pub backtrace: Vec<String>,
}

/// One greenlet (or an OS thread's root context) in a [`Dump`].
#[derive(Debug, Clone)]
pub struct GreenletInfo {
    /// Its id ([`Thread::id`](crate::thread::Thread::id)'s number).
    pub id: u64,
    /// Its name.
    pub name: Option<String>,
    /// Whether it is the OS thread's root context rather than a greenlet.
    pub root: bool,
    /// What it does.
    pub state: State,
    /// How long it has been waiting (for [`State::Waiting`] and
    /// [`State::Ready`]: since it parked), to the hub's clock, which ticks
    /// at each poll of its loop.
    pub waiting_for: Duration,
    /// Where it was spawned.
    pub spawned_at: Option<&'static Location<'static>>,
    /// How long ago it was spawned.
    pub age: Option<Duration>,
}

/// What a greenlet does, in a [`Dump`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// It runs (it is the caller of `dump`, or a root context between its
    /// waits).
    Running,
    /// It is on the ready queue.
    Ready,
    /// It waits.
    Waiting(WaitingOn),
}

/// What a waiting greenlet waits for, in a [`Dump`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitingOn {
    /// A descriptor becoming readable (a socket read or accept, a pipe).
    Read(i32),
    /// A descriptor becoming writable (a socket write or connect).
    Write(i32),
    /// A sleep or a timeout, for this much longer.
    Sleep(Duration),
    /// A primitive: "Mutex", "RwLock::write", "Condvar",
    /// "Receiver::recv", "Queue::get", "Event", "AsyncResult", ...
    Primitive(&'static str),
    /// The end of the greenlet with this id (`join`).
    Join(u64),
    /// A job on the blocking pool ([`tpool`](crate::tpool)).
    Blocking,
    /// `thread::park`, or not run yet.
    Parked,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            State::Running => f.write_str("running"),
            State::Ready => f.write_str("ready"),
            State::Waiting(w) => write!(f, "waiting: {w}"),
        }
    }
}

impl fmt::Display for WaitingOn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WaitingOn::Read(fd) => write!(f, "read on fd {fd}"),
            WaitingOn::Write(fd) => write!(f, "write on fd {fd}"),
            WaitingOn::Sleep(left) => write!(f, "sleep ({} left)", Short(*left)),
            WaitingOn::Primitive(p) => write!(f, "{p}"),
            WaitingOn::Join(id) => write!(f, "join of greenlet {id}"),
            WaitingOn::Blocking => f.write_str("blocking-pool job"),
            WaitingOn::Parked => f.write_str("parked"),
        }
    }
}

impl WaitingOn {
    /// The kind, without its numbers (for the summary).
    fn kind(&self) -> String {
        match self {
            WaitingOn::Read(_) => "read".into(),
            WaitingOn::Write(_) => "write".into(),
            WaitingOn::Sleep(_) => "sleep".into(),
            WaitingOn::Primitive(p) => (*p).into(),
            WaitingOn::Join(_) => "join".into(),
            WaitingOn::Blocking => "blocking-pool job".into(),
            WaitingOn::Parked => "parked".into(),
        }
    }
}

/// A duration in one short unit.
struct Short(Duration);

impl fmt::Display for Short {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        if d >= Duration::from_secs(1) {
            write!(f, "{:.1} s", d.as_secs_f64())
        } else if d >= Duration::from_millis(1) {
            write!(f, "{} ms", d.as_millis())
        } else {
            write!(f, "{} µs", d.as_micros())
        }
    }
}

/// Lists every greenlet on every hub: id, name, state (running, ready, or
/// what it waits for — a descriptor for read or write, a sleep until when,
/// a lock, a channel, a join, an event, a queue, a blocking-pool job), for
/// how long, and where it was spawned.
///
/// Each hub makes its own list on its own thread (between two polls), so
/// the call waits for the other hubs, up to half a second each, blocking
/// the caller's OS thread meanwhile: a debugging call, not one for a hot
/// path. A hub that does not answer in time is blocked: its entry says by
/// which greenlet, with the backtrace of the code that blocks it (see
/// [`Builder::blocking_detector`](super::Builder::blocking_detector) for
/// how that sample is taken). With `GREEN_DUMP_SIGNAL=1` in the
/// environment (or [`Builder::dump_on_sigusr1`](super::Builder::dump_on_sigusr1)),
/// a SIGUSR1 prints the dump on stderr, from a thread of its own.
///
/// ```
/// green_rt::runtime::Builder::new().run(|| {
///     let h = green_rt::thread::Builder::new()
///         .name("sleeper".into())
///         .spawn(|| green_rt::thread::sleep(std::time::Duration::from_millis(50)))
///         .unwrap();
///     green_rt::thread::yield_now();
///     let dump = green_rt::runtime::dump();
///     let me = &dump.hubs[0];
///     let sleeper = me.greenlets.iter().find(|g| g.name.as_deref() == Some("sleeper")).unwrap();
///     assert!(matches!(
///         sleeper.state,
///         green_rt::runtime::State::Waiting(green_rt::runtime::WaitingOn::Sleep(_))
///     ));
///     println!("{dump}");
///     h.join().unwrap();
/// });
/// ```
pub fn dump() -> Dump {
    let mut hubs = Vec::new();
    for snap in monitor::collect() {
        let blocked = snap.report.is_none();
        let greenlets = snap
            .report
            .unwrap_or_default()
            .into_iter()
            .map(|r| {
                let since = snap.at.saturating_duration_since(r.wait.1);
                let state = if r.running {
                    State::Running
                } else if r.ready {
                    State::Ready
                } else {
                    State::Waiting(match r.wait.0 {
                        Wait::Io { fd, write: false } => WaitingOn::Read(fd),
                        Wait::Io { fd, write: true } => WaitingOn::Write(fd),
                        Wait::Sleep(until) => {
                            WaitingOn::Sleep(until.saturating_duration_since(Instant::now()))
                        }
                        Wait::Queue(p) | Wait::Other(p) => WaitingOn::Primitive(p),
                        Wait::Join(id) => WaitingOn::Join(id),
                        Wait::Blocking => WaitingOn::Blocking,
                        Wait::Park | Wait::Nothing => WaitingOn::Parked,
                    })
                };
                GreenletInfo {
                    id: r.task.id,
                    name: r.task.name.as_deref().map(String::from),
                    root: r.born.is_none(),
                    state,
                    waiting_for: if state == State::Running {
                        Duration::ZERO
                    } else {
                        since
                    },
                    spawned_at: r.task.site,
                    age: r.born.map(|b| snap.at.saturating_duration_since(b)),
                }
            })
            .collect();
        let stalled = blocked.then(|| match snap.sample {
            Some(s) => Stalled {
                backtrace: s.frames(),
                id: Some(s.id),
                name: s.name,
                spawned_at: s.site,
            },
            None => Stalled {
                id: None,
                name: None,
                spawned_at: None,
                backtrace: Vec::new(),
            },
        });
        hubs.push(HubDump {
            thread: snap.thread,
            greenlets,
            stalled,
        });
    }
    Dump { hubs }
}

impl fmt::Display for Dump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let all: usize = self.hubs.iter().map(|h| h.greenlets.len()).sum();
        writeln!(
            f,
            "green: {} hub{}, {all} greenlets and root contexts",
            self.hubs.len(),
            if self.hubs.len() == 1 { "" } else { "s" }
        )?;
        for h in &self.hubs {
            h.write(f, f.alternate())?;
        }
        Ok(())
    }
}

impl HubDump {
    fn write(&self, f: &mut fmt::Formatter<'_>, all: bool) -> fmt::Result {
        let name = self.thread.as_deref().unwrap_or("<unnamed>");
        if let Some(s) = &self.stalled {
            writeln!(f, "hub '{name}': BLOCKED, it did not answer")?;
            match s.id {
                Some(id) => {
                    write!(
                        f,
                        "  running: {id} '{}'",
                        s.name.as_deref().unwrap_or("<unnamed>")
                    )?;
                    match s.spawned_at {
                        Some(site) => writeln!(f, ", spawned at {site}")?,
                        None => writeln!(f, " (root context)")?,
                    }
                    for (i, fr) in s.backtrace.iter().enumerate() {
                        writeln!(f, "  {i:>4}: {fr}")?;
                    }
                }
                None => writeln!(f, "  (its thread did not answer the sample signal)")?,
            }
            return Ok(());
        }
        let mut by_state: BTreeMap<String, usize> = BTreeMap::new();
        let mut by_site: BTreeMap<String, usize> = BTreeMap::new();
        for g in &self.greenlets {
            let state = match g.state {
                State::Running => "running".to_string(),
                State::Ready => "ready".to_string(),
                State::Waiting(w) => format!("waiting: {}", w.kind()),
            };
            *by_state.entry(state).or_default() += 1;
            let site = match (g.root, g.spawned_at) {
                (true, _) => "(root context)".to_string(),
                (false, Some(s)) => s.to_string(),
                (false, None) => "(unknown)".to_string(),
            };
            *by_site.entry(site).or_default() += 1;
        }
        writeln!(
            f,
            "hub '{name}': {} greenlets",
            self.greenlets.len().saturating_sub(1)
        )?;
        writeln!(f, "  by state:")?;
        let mut states: Vec<_> = by_state.into_iter().collect();
        states.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        for (s, n) in states {
            writeln!(f, "  {n:>9}  {s}")?;
        }
        writeln!(f, "  by spawn site:")?;
        let mut sites: Vec<_> = by_site.into_iter().collect();
        sites.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        for (s, n) in sites {
            writeln!(f, "  {n:>9}  {s}")?;
        }
        let shown = if all {
            self.greenlets.len()
        } else {
            DETAILS.min(self.greenlets.len())
        };
        writeln!(f, "  greenlets:")?;
        for g in &self.greenlets[..shown] {
            write!(
                f,
                "  {:>9}  '{}' {}",
                g.id,
                g.name.as_deref().unwrap_or("<unnamed>"),
                g.state
            )?;
            if g.state != State::Running {
                write!(f, " for {}", Short(g.waiting_for))?;
            }
            match (g.root, g.spawned_at) {
                (true, _) => write!(f, " (root context)")?,
                (false, Some(site)) => write!(f, ", spawned at {site}")?,
                (false, None) => {}
            }
            if let Some(age) = g.age {
                write!(f, " {} ago", Short(age))?;
            }
            writeln!(f)?;
        }
        if shown < self.greenlets.len() {
            writeln!(
                f,
                "  ... and {} more (print the dump with {{:#}} for all)",
                self.greenlets.len() - shown
            )?;
        }
        Ok(())
    }
}

/// Starts what the environment asks for, once per process:
/// `GREEN_BLOCKING_MS=N` the blocking detector with a threshold of N ms
/// (0: off; not a number: a line on stderr says so), `GREEN_DUMP_SIGNAL=1`
/// the dump on SIGUSR1.
pub(crate) fn start_from_env() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if let Ok(v) = std::env::var("GREEN_BLOCKING_MS") {
            match v.trim().parse::<u64>() {
                Ok(0) => {}
                Ok(ms) => monitor::start_detector(Duration::from_millis(ms)),
                Err(_) => eprintln!(
                    "green: GREEN_BLOCKING_MS={v:?} is not a whole number of milliseconds \
                     (e.g. GREEN_BLOCKING_MS=100); the blocking detector is off"
                ),
            }
        }
        if std::env::var("GREEN_DUMP_SIGNAL").is_ok_and(|v| !v.is_empty() && v != "0") {
            dump_on_sigusr1();
        }
    });
}

/// Prints [`dump`] on stderr at each SIGUSR1, from a thread of its own (so
/// a blocked hub is still reported). Once per process.
pub(crate) fn dump_on_sigusr1() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let signals = match signal_hook::iterator::Signals::new([libc::SIGUSR1]) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("green: cannot listen for SIGUSR1 (the greenlet dump): {e}");
                return;
            }
        };
        let spawned = std::thread::Builder::new()
            .name("green-dump".into())
            .spawn(move || {
                let mut signals = signals;
                for _ in signals.forever() {
                    eprint!("{}", dump());
                }
            });
        if let Err(e) = spawned {
            eprintln!("green: cannot start the dump's thread: {e}");
        }
    });
}
