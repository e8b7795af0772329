//! Green channels: a mirror of [`std::sync::mpsc`].
//!
//! **Implements** [`channel`], [`sync_channel`] (bounded, and the
//! rendezvous `sync_channel(0)`), [`Sender`], [`SyncSender`], [`Receiver`]
//! with every stable method, and the iterators [`Iter`], [`TryIter`],
//! [`IntoIter`]. **Re-exports** std's error types unchanged:
//! [`SendError`], [`RecvError`], [`TryRecvError`], [`RecvTimeoutError`],
//! [`TrySendError`].
//!
//! A blocked `recv` (or a `send` on a full bounded channel) parks the
//! greenlet; the other side wakes it with one unpark, within a hub, across
//! hubs or from a plain OS thread. Several receivers can be waited on at
//! once with [`Select`](crate::select::Select).

use std::collections::VecDeque;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use std::sync::mpsc::{RecvError, RecvTimeoutError, SendError, TryRecvError, TrySendError};

use crate::rt::context;
use crate::rt::spin::SpinLock;
use crate::rt::task::Task;
use crate::rt::wait::{self, Wait};
use crate::rt::waiter::{self, WaitQueue};

struct State<T> {
    queue: VecDeque<T>,
    /// `None`: unbounded; `Some(0)`: rendezvous.
    cap: Option<usize>,
    senders: usize,
    receiver: bool,
    /// The task that last waited for a message (kept to save an `Arc`
    /// clone per wait), and whether it is parked waiting now.
    recv_task: Option<Arc<Task>>,
    recv_parked: bool,
    /// Other tasks parked on the same receiver (greenlets of one hub
    /// sharing it through `spawn_local`), all woken with the first.
    recv_extra: Vec<Arc<Task>>,
    /// Senders parked on a full (or rendezvous) channel.
    send_waiters: WaitQueue,
    /// Messages pushed and popped so far (for the rendezvous hand-off).
    pushed: u64,
    popped: u64,
}

struct Chan<T> {
    state: SpinLock<State<T>>,
}

impl<T> Chan<T> {
    fn new(cap: Option<usize>) -> Arc<Chan<T>> {
        Arc::new(Chan {
            state: SpinLock::new(State {
                queue: VecDeque::new(),
                cap,
                senders: 1,
                receiver: true,
                recv_task: None,
                recv_parked: false,
                recv_extra: Vec::new(),
                send_waiters: WaitQueue::new("sync_channel send"),
                pushed: 0,
                popped: 0,
            }),
        })
    }
}

impl<T> State<T> {
    #[inline]
    fn push(&mut self, t: T) {
        self.queue.push_back(t);
        self.pushed += 1;
        self.wake_receiver();
    }

    #[inline]
    fn wake_receiver(&mut self) {
        if self.recv_parked {
            self.recv_parked = false;
            if let Some(r) = &self.recv_task {
                r.unpark();
            }
            if !self.recv_extra.is_empty() {
                self.wake_extra();
            }
        }
    }

    #[cold]
    fn wake_extra(&mut self) {
        for r in self.recv_extra.drain(..) {
            r.unpark();
        }
    }

    /// A parked receiver stops waiting (timeout, unwind, end of a
    /// `Select`). Others parked on the same receiver are woken to
    /// re-register, so none is forgotten.
    fn unregister_receiver(&mut self) {
        if self.recv_extra.is_empty() {
            self.recv_parked = false;
        } else {
            self.wake_receiver();
        }
    }

    /// Registers `task` as the parked receiver.
    #[inline]
    fn park_receiver(&mut self, task: &Arc<Task>) {
        let known = self
            .recv_task
            .as_ref()
            .is_some_and(|t| Arc::ptr_eq(t, task));
        if !known {
            if self.recv_parked {
                // Another task waits on this receiver already.
                self.recv_extra.push(task.clone());
            } else {
                self.recv_task = Some(task.clone());
            }
        }
        self.recv_parked = true;
    }

    #[inline]
    fn pop(&mut self) -> Option<T> {
        let t = self.queue.pop_front()?;
        self.popped += 1;
        if self.cap.is_some() {
            self.popped_bounded();
        }
        Some(t)
    }

    /// A bounded channel made room: wake senders.
    #[cold]
    fn popped_bounded(&mut self) {
        if self.cap == Some(0) {
            self.send_waiters.notify_all();
        } else {
            self.send_waiters.notify_one();
        }
    }
}

/// Leaves the receiver's wait when a `recv` unwinds.
struct Unregister<'a, T>(&'a Chan<T>);

impl<T> Drop for Unregister<'_, T> {
    fn drop(&mut self) {
        waiter::lock(&self.0.state).unregister_receiver();
    }
}

/// Creates an unbounded channel; mirrors [`std::sync::mpsc::channel`].
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let chan = Chan::new(None);
    (
        Sender { chan: chan.clone() },
        Receiver {
            chan,
            _not_sync: PhantomData,
        },
    )
}

/// Creates a bounded channel holding at most `bound` messages; mirrors
/// [`std::sync::mpsc::sync_channel`]. With `bound == 0` it is a rendezvous
/// channel: each `send` parks until the receiver has taken its message.
pub fn sync_channel<T>(bound: usize) -> (SyncSender<T>, Receiver<T>) {
    let chan = Chan::new(Some(bound));
    (
        SyncSender { chan: chan.clone() },
        Receiver {
            chan,
            _not_sync: PhantomData,
        },
    )
}

/// The sending half of a [`channel`]; mirrors [`std::sync::mpsc::Sender`].
/// Cloneable, `Send` and `Sync`; `send` never blocks.
pub struct Sender<T> {
    chan: Arc<Chan<T>>,
}

/// The sending half of a [`sync_channel`]; mirrors
/// [`std::sync::mpsc::SyncSender`]. `send` parks while the channel is full.
pub struct SyncSender<T> {
    chan: Arc<Chan<T>>,
}

/// The receiving half of a channel; mirrors [`std::sync::mpsc::Receiver`]
/// (`Send`, not `Sync`):
///
/// ```compile_fail
/// fn sync<T: Sync>(_: &T) {}
/// let (_tx, rx) = green_rt::sync::mpsc::channel::<u8>();
/// sync(&rx);
/// ```
pub struct Receiver<T> {
    chan: Arc<Chan<T>>,
    _not_sync: PhantomData<std::cell::Cell<()>>,
}

impl<T> Sender<T> {
    /// Sends `t` without blocking.
    ///
    /// # Errors
    ///
    /// `SendError(t)` if the receiver is gone.
    #[inline]
    pub fn send(&self, t: T) -> Result<(), SendError<T>> {
        let mut s = waiter::lock(&self.chan.state);
        if !s.receiver {
            return Err(SendError(t));
        }
        s.push(t);
        drop(s);
        crate::rt::context::coop();
        Ok(())
    }
}

impl<T> SyncSender<T> {
    /// Sends `t`, parking while the channel is full (for a rendezvous
    /// channel: until the receiver has taken it).
    ///
    /// # Errors
    ///
    /// `SendError(t)` if the receiver is gone (for a rendezvous channel,
    /// also if it went away before taking `t`).
    pub fn send(&self, t: T) -> Result<(), SendError<T>> {
        let cap = waiter::lock(&self.chan.state).cap.expect("bounded");
        let mut item = Some(t);
        let r = waiter::wait_until(
            &self.chan.state,
            |s| &mut s.send_waiters,
            |s| {
                if !s.receiver {
                    return Some(Err(SendError(item.take().expect("item"))));
                }
                let room = if cap == 0 {
                    s.pushed == s.popped
                } else {
                    s.queue.len() < cap
                };
                if room {
                    s.push(item.take().expect("item"));
                    Some(Ok(s.pushed))
                } else {
                    None
                }
            },
            None,
        )
        .expect("no deadline");
        let ticket = r?;
        if cap > 0 {
            return Ok(());
        }
        // Rendezvous: wait until the receiver took our message.
        waiter::wait_until(
            &self.chan.state,
            |s| &mut s.send_waiters,
            |s| {
                if s.popped >= ticket {
                    Some(Ok(()))
                } else if !s.receiver {
                    let t = s.queue.pop_back().expect("our message");
                    s.pushed -= 1;
                    Some(Err(SendError(t)))
                } else {
                    None
                }
            },
            None,
        )
        .expect("no deadline")
    }

    /// Sends `t` if there is room now (for a rendezvous channel: if the
    /// receiver is parked in `recv`).
    ///
    /// # Errors
    ///
    /// `Full(t)` or `Disconnected(t)`.
    pub fn try_send(&self, t: T) -> Result<(), TrySendError<T>> {
        let mut s = waiter::lock(&self.chan.state);
        if !s.receiver {
            return Err(TrySendError::Disconnected(t));
        }
        let room = match s.cap {
            Some(0) => s.pushed == s.popped && s.recv_parked,
            Some(cap) => s.queue.len() < cap,
            None => true,
        };
        if !room {
            drop(s);
            context::coop();
            return Err(TrySendError::Full(t));
        }
        s.push(t);
        drop(s);
        context::coop();
        Ok(())
    }
}

impl<T> Receiver<T> {
    /// Takes a message, parking until one arrives.
    ///
    /// # Errors
    ///
    /// `RecvError` once the channel is empty and every sender is gone.
    #[inline(always)]
    pub fn recv(&self) -> Result<T, RecvError> {
        // The wait inlines into the caller's loop: a greenlet resumed where
        // it will next suspend, with no return in between, keeps the CPU's
        // return predictions right (a third of a ping-pong's cost
        // otherwise). With no deadline the timeout checks fold away.
        self.wait(None).map_err(|_| RecvError)
    }
    /// Takes a message if one is there.
    ///
    /// # Errors
    ///
    /// `Empty`, or `Disconnected` once empty with every sender gone.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        let mut s = waiter::lock(&self.chan.state);
        let r = match s.pop() {
            Some(t) => Ok(t),
            None if s.senders == 0 => Err(TryRecvError::Disconnected),
            None => Err(TryRecvError::Empty),
        };
        drop(s);
        // A loop of `try_recv` must let the sender run.
        context::coop();
        r
    }

    /// As [`recv`](Self::recv), for at most `timeout`.
    ///
    /// # Errors
    ///
    /// `Timeout`, or `Disconnected` once empty with every sender gone.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.recv_deadline(waiter::deadline_after(timeout))
    }

    /// As [`recv`](Self::recv), until `deadline` (std's unstable
    /// `recv_deadline`).
    ///
    /// # Errors
    ///
    /// `Timeout`, or `Disconnected` once empty with every sender gone.
    pub fn recv_deadline(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        self.wait(deadline)
    }

    /// The one wait of `recv` and `recv_deadline`.
    #[inline(always)]
    fn wait(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        let task = context::hub().current_task();
        let mut waited = false;
        loop {
            let mut s = waiter::lock(&self.chan.state);
            if let Some(t) = s.pop() {
                drop(s);
                if !waited {
                    context::coop();
                }
                return Ok(t);
            }
            if s.senders == 0 {
                return Err(RecvTimeoutError::Disconnected);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                s.unregister_receiver();
                return Err(RecvTimeoutError::Timeout);
            }
            s.park_receiver(task);
            drop(s);
            // Unwinding (kill, timeout) unregisters; the normal path does
            // not need to.
            let guard = Unregister(&self.chan);
            waited = true;
            wait::park_for(deadline, Wait::Queue("Receiver::recv"));
            std::mem::forget(guard);
        }
    }
    /// An iterator that parks for each message and ends when every sender
    /// is gone.
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { rx: self }
    }

    /// An iterator over the messages already there.
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter { rx: self }
    }

    /// Whether a message is waiting or every sender is gone (for `Select`).
    pub(crate) fn is_ready(&self) -> bool {
        let s = waiter::lock(&self.chan.state);
        !s.queue.is_empty() || s.senders == 0
    }

    /// Registers `task` to be woken by the next message or disconnection;
    /// returns `false` (without registering) if that already happened.
    pub(crate) fn register(&self, task: &Arc<Task>) -> bool {
        let mut s = waiter::lock(&self.chan.state);
        if !s.queue.is_empty() || s.senders == 0 {
            return false;
        }
        s.park_receiver(task);
        true
    }

    /// Undoes [`register`](Self::register).
    pub(crate) fn unregister(&self) {
        waiter::lock(&self.chan.state).unregister_receiver();
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Sender<T> {
        waiter::lock(&self.chan.state).senders += 1;
        Sender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Clone for SyncSender<T> {
    fn clone(&self) -> SyncSender<T> {
        waiter::lock(&self.chan.state).senders += 1;
        SyncSender {
            chan: self.chan.clone(),
        }
    }
}

fn drop_sender<T>(chan: &Chan<T>) {
    let mut s = waiter::lock(&chan.state);
    s.senders -= 1;
    if s.senders == 0 {
        s.wake_receiver();
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        drop_sender(&self.chan);
    }
}

impl<T> Drop for SyncSender<T> {
    fn drop(&mut self) {
        drop_sender(&self.chan);
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let dropped = {
            let mut s = waiter::lock(&self.chan.state);
            s.receiver = false;
            s.recv_task = None;
            s.recv_extra.clear();
            s.send_waiters.notify_all();
            if s.cap == Some(0) {
                // A parked rendezvous sender takes its message back.
                VecDeque::new()
            } else {
                std::mem::take(&mut s.queue)
            }
        };
        // Messages are dropped outside the lock: their destructors may use
        // the channel.
        drop(dropped);
    }
}

/// Parks for each message; see [`Receiver::iter`].
#[derive(Debug)]
pub struct Iter<'a, T> {
    rx: &'a Receiver<T>,
}

/// The messages already there; see [`Receiver::try_iter`].
#[derive(Debug)]
pub struct TryIter<'a, T> {
    rx: &'a Receiver<T>,
}

/// The owning iterator of a [`Receiver`].
#[derive(Debug)]
pub struct IntoIter<T> {
    rx: Receiver<T>,
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;
    #[inline]
    fn next(&mut self) -> Option<T> {
        self.rx.recv().ok()
    }
}

impl<T> Iterator for TryIter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.try_recv().ok()
    }
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;
    #[inline]
    fn next(&mut self) -> Option<T> {
        self.rx.recv().ok()
    }
}

impl<'a, T> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

impl<T> IntoIterator for Receiver<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;
    fn into_iter(self) -> IntoIter<T> {
        IntoIter { rx: self }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for SyncSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyncSender").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}
