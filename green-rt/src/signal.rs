//! Unix signals, waited for greenly (gevent's `gevent.signal_handler`,
//! Python's `signal.sigwait`).
//!
//! A signal handler proper may do almost nothing (no lock, no allocation,
//! no I/O but a raw `write`). Here the handler only marks the signal
//! pending and writes a byte to a socket; the code that reacts runs in a
//! greenlet, where it may do anything: log, lock, stop a server.
//!
//! ```no_run
//! use green_rt::signal::{SIGINT, SIGTERM, Signals};
//!
//! let mut signals = Signals::new([SIGINT, SIGTERM])?;
//! green_rt::thread::spawn(move || {
//!     let sig = signals.wait().unwrap();
//!     eprintln!("got {}, stopping", green_rt::signal::signal_name(sig).unwrap_or("a signal"));
//!     // handle.stop(timeout) ...
//! });
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! std has no signal module, so nothing is patched to this one: it is
//! green's own, as gevent's `signal_handler` is.
//!
//! **Provides**: [`Signals`] (a subscription to some signals: [`wait`],
//! [`wait_timeout`], [`pending`], [`forever`]), [`wait`](fn@wait) (one
//! wait, no subscription to keep), [`signal_handler`] (gevent's: runs a
//! function in a new greenlet on each delivery, until the returned
//! [`SignalHandler`] is dropped or cancelled), [`raise`], [`signal_name`],
//! and the signal numbers ([`SIGINT`], [`SIGTERM`], [`SIGHUP`], ...) so
//! that a program need not depend on `libc`.
//!
//! **Semantics.**
//!
//! - A wait blocks the calling greenlet only (or, on an OS thread's root
//!   context, runs that thread's hub meanwhile); it works on any hub and
//!   on any thread.
//! - Every [`Signals`] listening to a signal sees each delivery of it:
//!   two greenlets that each made one both wake.
//! - Deliveries of one signal that arrive before the subscriber takes
//!   them count as one, as the kernel's own pending signals do.
//! - A signal delivered while a [`Signals`] listens does not take its
//!   default action (a `SIGTERM` no longer ends the process). Once the
//!   last green subscription to it is dropped, the action it had before
//!   green first listened comes back: the default action (terminate for
//!   `SIGINT`, `SIGTERM`, `SIGHUP`, `SIGUSR1`; nothing for `SIGCHLD`,
//!   `SIGWINCH`; stop for `SIGTSTP`), or, if the signal was ignored or
//!   handled by someone else then, that. So a server that stops listening
//!   after its first `SIGINT` is ended by a second one. (Real-time signals
//!   are not restored: after the last subscription they are ignored.)
//! - The process-wide handler is [signal-hook]'s, which chains the
//!   handlers of a signal: other libraries that use it (or that installed
//!   a handler before green) keep working. A library that later replaces
//!   the handler with its own `sigaction` takes the signal from green.
//!
//! **Forbidden signals**: `SIGKILL` and `SIGSTOP` cannot be caught;
//! `SIGSEGV`, `SIGBUS`, `SIGILL` and `SIGFPE` report a fault of the thread
//! that raised them, which must be handled there and then (green's
//! stack-overflow handler owns `SIGSEGV` and `SIGBUS`). Asking for one of
//! them, or for a number that is not a signal, is an error of kind
//! [`InvalidInput`](io::ErrorKind::InvalidInput) that names it.
//!
//! [`wait`]: Signals::wait
//! [`wait_timeout`]: Signals::wait_timeout
//! [`pending`]: Signals::pending
//! [`forever`]: Signals::forever
//! [signal-hook]: https://docs.rs/signal-hook

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Read};
use std::os::unix::net as stdnet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use signal_hook::iterator::backend::{Handle, Pending, SignalDelivery};
use signal_hook::iterator::exfiltrator::SignalOnly;

pub use libc::{
    SIGABRT, SIGALRM, SIGBUS, SIGCHLD, SIGCONT, SIGFPE, SIGHUP, SIGILL, SIGINT, SIGIO, SIGKILL,
    SIGPIPE, SIGPROF, SIGQUIT, SIGSEGV, SIGSTOP, SIGSYS, SIGTERM, SIGTRAP, SIGTSTP, SIGTTIN,
    SIGTTOU, SIGURG, SIGUSR1, SIGUSR2, SIGVTALRM, SIGWINCH, SIGXCPU, SIGXFSZ,
};

use crate::os::unix::net::UnixStream;
use crate::thread::{self, JoinHandle};

/// A subscription to some signals: each delivery of one of them can be
/// waited for, greenly. Dropping it unsubscribes; see the
/// [module](self) for what then happens to the signal.
///
/// A `Signals` has one consumer (its methods take `&mut self`): two
/// greenlets that each want every delivery make one each.
pub struct Signals {
    /// `None` only while dropping (it must go before the bookkeeping).
    delivery: Option<SignalDelivery<UnixStream, SignalOnly>>,
    /// The signals taken from the last drain and not returned yet.
    pending: Pending<SignalOnly>,
    signals: Vec<i32>,
}

impl Signals {
    /// Subscribes to `signals` (e.g. `[SIGINT, SIGTERM]`). From now on,
    /// their deliveries are kept for [`wait`](Self::wait) instead of
    /// taking the signals' actions.
    ///
    /// # Errors
    ///
    /// [`InvalidInput`](io::ErrorKind::InvalidInput) for a forbidden
    /// signal (`SIGKILL`, `SIGSTOP`, `SIGSEGV`, `SIGBUS`, `SIGILL`,
    /// `SIGFPE`) or a number that is not a signal; the error of
    /// `sigaction` or of creating the socket pair otherwise.
    pub fn new<I, S>(signals: I) -> io::Result<Signals>
    where
        I: IntoIterator<Item = S>,
        S: Borrow<i32>,
    {
        let mut wanted = Vec::new();
        for sig in signals {
            let sig = *sig.borrow();
            check(sig)?;
            if !wanted.contains(&sig) {
                wanted.push(sig);
            }
        }
        let (read, write) = stdnet::UnixStream::pair()?;
        let read = UnixStream::from_std(read)?;
        let mut delivery = SignalDelivery::with_pipe(read, write, SignalOnly, None::<i32>)?;
        let handle = delivery.handle();
        let mut me = Signals {
            pending: delivery.pending(),
            delivery: Some(delivery),
            signals: Vec::with_capacity(wanted.len()),
        };
        for sig in wanted {
            subscribe(sig)?;
            // Pushed first: on an error, `me`'s drop unsubscribes it too.
            me.signals.push(sig);
            handle.add_signal(sig)?;
        }
        Ok(me)
    }

    /// The signals this subscription listens to.
    pub fn signals(&self) -> &[i32] {
        &self.signals
    }

    /// Waits for one of the signals and returns its number. Blocks the
    /// calling greenlet only. A signal that arrived since the last wait
    /// (or since [`new`](Self::new)) is returned at once; when several
    /// are pending, the lowest number comes first.
    ///
    /// # Errors
    ///
    /// An I/O error of the internal socket (not expected).
    pub fn wait(&mut self) -> io::Result<i32> {
        loop {
            if let Some(sig) = self.next(None)? {
                return Ok(sig);
            }
        }
    }

    /// As [`wait`](Self::wait), for at most `timeout`; `Ok(None)` if no
    /// signal came.
    ///
    /// # Errors
    ///
    /// As [`wait`](Self::wait).
    pub fn wait_timeout(&mut self, timeout: Duration) -> io::Result<Option<i32>> {
        let deadline = Instant::now().checked_add(timeout);
        match deadline {
            Some(d) => self.next(Some(d)),
            None => self.wait().map(Some),
        }
    }

    /// The signals that arrived since the last wait, without waiting.
    pub fn pending(&mut self) -> impl Iterator<Item = i32> + '_ {
        std::iter::from_fn(move || self.try_next())
    }

    /// Each delivery, forever ([`wait`](Self::wait) in a loop; the
    /// iterator ends only if the internal socket fails).
    ///
    /// ```no_run
    /// use green_rt::signal::{SIGHUP, Signals};
    ///
    /// let mut signals = Signals::new([SIGHUP])?;
    /// green_rt::thread::spawn(move || {
    ///     for _ in signals.forever() {
    ///         eprintln!("reloading the configuration");
    ///     }
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn forever(&mut self) -> Forever<'_> {
        Forever { signals: self }
    }

    /// The next pending signal, draining the socket for more; never waits.
    fn try_next(&mut self) -> Option<i32> {
        if let Some(sig) = self.pending.next() {
            return Some(sig);
        }
        self.pending = self.delivery().pending();
        self.pending.next()
    }

    /// The next signal, waiting until `deadline`; `None` at the deadline
    /// or once the delivery is closed (by a [`SignalHandler`]).
    fn next(&mut self, deadline: Option<Instant>) -> io::Result<Option<i32>> {
        loop {
            // Taken before the read: the handler marks the signal, then
            // writes its byte, so a signal whose byte the drain ate is
            // seen here.
            if let Some(sig) = self.pending.next() {
                return Ok(Some(sig));
            }
            if self.delivery().handle().is_closed() {
                return Ok(None);
            }
            let timeout = match deadline {
                None => None,
                Some(d) => match d.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => Some(left),
                    _ => return Ok(self.try_next()),
                },
            };
            let stream = self.delivery().get_read();
            stream.set_read_timeout(timeout)?;
            let mut buf = [0u8; 64];
            match (&*stream).read(&mut buf) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "green::signal: the delivery socket closed",
                    ));
                }
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => return Err(e),
            }
            self.pending = self.delivery().pending();
        }
    }

    fn delivery(&mut self) -> &mut SignalDelivery<UnixStream, SignalOnly> {
        self.delivery.as_mut().expect("present until drop")
    }

    /// A handle that can close the delivery (wakes `next` for good) and
    /// keeps the registrations alive while it lives.
    fn closer(&self) -> Handle {
        self.delivery.as_ref().expect("present until drop").handle()
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        // Unregisters the actions (unless a `SignalHandler`'s closer still
        // holds them; it drops its own right after).
        drop(self.delivery.take());
        for &sig in &self.signals {
            unsubscribe(sig);
        }
    }
}

impl fmt::Debug for Signals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<_> = self
            .signals
            .iter()
            .map(|&s| signal_name(s).map_or_else(|| s.to_string(), str::to_string))
            .collect();
        f.debug_struct("Signals")
            .field("signals", &names)
            .finish_non_exhaustive()
    }
}

impl<'a> IntoIterator for &'a mut Signals {
    type Item = i32;
    type IntoIter = Forever<'a>;

    fn into_iter(self) -> Forever<'a> {
        self.forever()
    }
}

/// The iterator of [`Signals::forever`]: each delivery's signal number.
#[derive(Debug)]
pub struct Forever<'a> {
    signals: &'a mut Signals,
}

impl Iterator for Forever<'_> {
    type Item = i32;

    fn next(&mut self) -> Option<i32> {
        loop {
            match self.signals.next(None) {
                Ok(Some(sig)) => return Some(sig),
                Ok(None) if self.signals.delivery().handle().is_closed() => return None,
                Ok(None) => {}
                Err(_) => return None,
            }
        }
    }
}

/// Waits for one of `signals` (a [`Signals`] made for this one wait).
/// Deliveries before the call are not seen.
///
/// ```no_run
/// use green_rt::signal::{self, SIGINT, SIGTERM};
///
/// let sig = signal::wait(&[SIGINT, SIGTERM])?;
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Errors
///
/// As [`Signals::new`].
pub fn wait(signals: &[i32]) -> io::Result<i32> {
    Signals::new(signals)?.wait()
}

/// Runs `f` in a new greenlet each time `signal` is delivered (gevent's
/// `gevent.signal_handler(signum, handler)`), until the returned
/// [`SignalHandler`] is dropped or [cancelled](SignalHandler::cancel).
///
/// ```no_run
/// use green_rt::signal::{SIGUSR1, signal_handler};
///
/// let _dump = signal_handler(SIGUSR1, || eprintln!("{:?}", green_rt::runtime::stats()))?;
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Errors
///
/// As [`Signals::new`].
pub fn signal_handler<F>(signal: i32, f: F) -> io::Result<SignalHandler>
where
    F: Fn() + Send + Sync + 'static,
{
    let mut signals = Signals::new([signal])?;
    let closer = signals.closer();
    let f = Arc::new(f);
    let listener = thread::spawn(move || {
        for _ in signals.forever() {
            let f = f.clone();
            drop(thread::spawn(move || f()));
        }
    });
    Ok(SignalHandler {
        signal,
        closer: Some(closer),
        listener: Some(listener),
    })
}

/// The registration of a [`signal_handler`]: dropping it (or
/// [`cancel`](Self::cancel)) unregisters the handler.
pub struct SignalHandler {
    signal: i32,
    closer: Option<Handle>,
    listener: Option<JoinHandle<()>>,
}

impl SignalHandler {
    /// The signal it handles.
    pub fn signal(&self) -> i32 {
        self.signal
    }

    /// Unregisters the handler (gevent's `cancel()`): once this returns,
    /// no new greenlet runs `f`. Greenlets already running it go on.
    pub fn cancel(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(closer) = &self.closer {
            closer.close();
        }
        if let Some(listener) = self.listener.take() {
            let _ = listener.join();
        }
        // The last holder of the registrations: dropping it unregisters.
        drop(self.closer.take());
    }
}

impl Drop for SignalHandler {
    fn drop(&mut self) {
        self.stop();
    }
}

impl fmt::Debug for SignalHandler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignalHandler")
            .field("signal", &signal_name(self.signal).unwrap_or("?"))
            .finish_non_exhaustive()
    }
}

/// Sends `signal` to the calling thread of this process (C's `raise`);
/// its handler, or a waiting [`Signals`], sees it as any delivery.
///
/// # Errors
///
/// If `signal` is not a signal number.
pub fn raise(signal: i32) -> io::Result<()> {
    signal_hook::low_level::raise(signal)
}

/// The name of a signal (`"SIGTERM"`), if it is one of the named ones.
pub fn signal_name(signal: i32) -> Option<&'static str> {
    signal_hook::low_level::signal_name(signal)
}

/// Refuses the signals a greenlet cannot wait for.
fn check(sig: i32) -> io::Result<()> {
    let why = match sig {
        SIGKILL | SIGSTOP => "cannot be caught (the kernel does not let any handler see it)",
        SIGSEGV | SIGBUS | SIGILL | SIGFPE => {
            "reports a fault of the thread that raised it, which must be handled there and \
             then, not waited for (green's stack-overflow handler owns SIGSEGV and SIGBUS)"
        }
        s if s <= 0 || s > libc::SIGRTMAX() => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("green::signal: {sig} is not a signal number"),
            ));
        }
        _ => return Ok(()),
    };
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "green::signal: {} {why}",
            signal_name(sig).unwrap_or("this signal")
        ),
    ))
}

/// Per signal, the green subscriptions to it and, if its action before
/// green listened was the default one, the flag that makes signal-hook
/// take that default action again while none listens.
struct Listeners {
    count: usize,
    idle: Option<Arc<AtomicBool>>,
}

static LISTENERS: Mutex<BTreeMap<i32, Listeners>> = Mutex::new(BTreeMap::new());

fn listeners() -> std::sync::MutexGuard<'static, BTreeMap<i32, Listeners>> {
    LISTENERS.lock().unwrap_or_else(|e| e.into_inner())
}

fn subscribe(sig: i32) -> io::Result<()> {
    let mut map = listeners();
    let entry = match map.entry(sig) {
        std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
        std::collections::btree_map::Entry::Vacant(e) => {
            // First use of this signal: before signal-hook installs its
            // handler, note whether the action is the default one.
            let idle = if is_default(sig)? && signal_name(sig).is_some() {
                let flag = Arc::new(AtomicBool::new(false));
                signal_hook::flag::register_conditional_default(sig, flag.clone())?;
                Some(flag)
            } else {
                None
            };
            e.insert(Listeners { count: 0, idle })
        }
    };
    entry.count += 1;
    if let Some(idle) = &entry.idle {
        idle.store(false, Ordering::SeqCst);
    }
    Ok(())
}

fn unsubscribe(sig: i32) {
    let mut map = listeners();
    if let Some(entry) = map.get_mut(&sig) {
        entry.count -= 1;
        if entry.count == 0
            && let Some(idle) = &entry.idle
        {
            idle.store(true, Ordering::SeqCst);
        }
    }
}

/// Whether `sig`'s action is the default one.
fn is_default(sig: i32) -> io::Result<bool> {
    let mut old = std::mem::MaybeUninit::<libc::sigaction>::zeroed();
    // SAFETY: a null new action only reads the current one into `old`,
    // which is valid for writes of a `sigaction`.
    let r = unsafe { libc::sigaction(sig, std::ptr::null(), old.as_mut_ptr()) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `sigaction` succeeded, so it filled `old` (and all-zero is a
    // valid `sigaction` anyway).
    let old = unsafe { old.assume_init() };
    Ok(old.sa_sigaction == libc::SIG_DFL)
}
