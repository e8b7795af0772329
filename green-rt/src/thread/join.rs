//! The join core: the packet a greenlet's result travels in, shared by
//! [`JoinHandle`] and [`ScopedJoinHandle`], and
//! `JoinHandle`'s methods.

use super::builder::{run_link, run_links};
use super::*;

pub(super) struct Packet<'scope, T> {
    pub(super) state: Mutex<PacketState<T>>,
    pub(super) done: AtomicBool,
    pub(super) scope: Option<Arc<ScopeData>>,
    pub(super) _marker: PhantomData<Option<&'scope ScopeData>>,
}

pub(super) struct PacketState<T> {
    pub(super) result: Option<Result<T>>,
    pub(super) joiner: Option<Joiner>,
    /// Callbacks of [`JoinHandle::link`], run when the greenlet finishes.
    pub(super) links: Vec<Box<dyn FnOnce() + Send>>,
}

/// Who is told when a greenlet finishes.
pub(super) enum Joiner {
    /// A waiter in `join`.
    Task(Arc<Task>),
    /// A [`FinishLog`] watching many greenlets, with this one's index.
    Log(Arc<FinishLog>, usize),
}

impl Joiner {
    fn notify(self) {
        match self {
            Joiner::Task(t) => t.unpark(),
            Joiner::Log(log, i) => log.push(i),
        }
    }
}

/// Where greenlets watched together (`pool::joinall`) record that they
/// finished, so the watcher visits each once instead of scanning them all
/// at every wake-up.
#[derive(Debug)]
pub(crate) struct FinishLog {
    pub(super) finished: SpinLock<Vec<usize>>,
    pub(super) watcher: Arc<Task>,
}

impl FinishLog {
    /// A log whose pushes wake the current waiter.
    pub(crate) fn new() -> Arc<FinishLog> {
        Arc::new(FinishLog {
            finished: SpinLock::new(Vec::new()),
            watcher: wait::current(),
        })
    }

    fn push(&self, i: usize) {
        self.finished.lock().push(i);
        self.watcher.unpark();
    }

    /// Moves the indices recorded since the last call into `out`.
    pub(crate) fn drain_into(&self, out: &mut Vec<usize>) {
        out.append(&mut self.finished.lock());
    }
}

impl<T> Packet<'_, T> {
    pub(super) fn complete(&self, result: Result<T>) {
        let (joiner, links) = {
            let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
            s.result = Some(result);
            (s.joiner.take(), std::mem::take(&mut s.links))
        };
        self.done.store(true, Ordering::Release);
        if let Some(j) = joiner {
            j.notify();
        }
        run_links(links);
    }

    /// The join core of [`JoinHandle`] and
    /// [`ScopedJoinHandle`]: panics as std's on a
    /// self-join (`thread` is the greenlet this packet belongs to), else
    /// parks until the result is there and takes it.
    pub(super) fn join(&self, thread: &Thread) -> Result<T> {
        check_self_join(&thread.task);
        loop {
            {
                let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(r) = s.result.take() {
                    return r;
                }
                s.joiner = Some(Joiner::Task(wait::current()));
            }
            wait::park_on(Wait::Join(thread.task.id));
        }
    }
}

impl<T> Drop for Packet<'_, T> {
    fn drop(&mut self) {
        if let Some(scope) = &self.scope {
            let unhandled_panic = matches!(
                self.state
                    .get_mut()
                    .unwrap_or_else(|e| e.into_inner())
                    .result,
                Some(Err(_))
            );
            // Drop the result (it may borrow from the scope) before telling
            // the scope this greenlet is done with it.
            *self.state.get_mut().unwrap_or_else(|e| e.into_inner()) = PacketState {
                result: None,
                joiner: None,
                links: Vec::new(),
            };
            if unhandled_panic {
                scope.a_greenlet_panicked.store(true, Ordering::Relaxed);
            }
            scope.decrement();
        }
    }
}

/// An owned permission to join a greenlet; mirrors
/// [`std::thread::JoinHandle`]. Dropping it detaches the greenlet.
pub struct JoinHandle<T> {
    pub(super) packet: Arc<Packet<'static, T>>,
    pub(super) thread: Thread,
}

impl<T> JoinHandle<T> {
    /// Waits for the greenlet to finish, running others meanwhile, and
    /// returns its result, or `Err` with the panic payload (a
    /// [`GreenletExit`] if it was killed).
    ///
    /// # Panics
    ///
    /// As std's, when a greenlet joins its own handle: "failed to join
    /// thread: Resource deadlock avoided (os error 35)".
    pub fn join(self) -> Result<T> {
        self.packet.join(&self.thread)
    }

    /// Whether the greenlet has finished running its closure.
    pub fn is_finished(&self) -> bool {
        self.packet.done.load(Ordering::Acquire)
    }

    /// The greenlet's handle.
    pub fn thread(&self) -> &Thread {
        &self.thread
    }

    /// Kills the greenlet (gevent's `Greenlet.kill(block=False)`): it
    /// unwinds from its current or next blocking call, running its
    /// destructors, and `join` returns `Err` holding [`GreenletExit`]. A
    /// greenlet that has not started yet never runs. Killing a finished
    /// greenlet does nothing.
    pub fn kill(&self) {
        if !self.is_finished() {
            self.thread.task.interrupt(Box::new(GreenletExit));
        }
    }

    /// Calls `f` once the greenlet has finished, however it ended: returned,
    /// panicked or killed (gevent's `Greenlet.link`). `f` runs on the
    /// finishing greenlet, after its result is ready for `join`; if the
    /// greenlet has finished already, `f` runs at once, on the caller.
    /// Several callbacks run in the order they were linked. A callback
    /// that panics is reported like any greenlet panic and does not stop
    /// the others.
    ///
    /// ```
    /// # green_rt::runtime::Builder::new().run(|| {
    /// use green_rt::sync::mpsc;
    /// let (tx, rx) = mpsc::channel();
    /// let h = green_rt::thread::spawn(|| 6 * 7);
    /// h.link(move || tx.send("done").unwrap());
    /// assert_eq!(rx.recv().unwrap(), "done");
    /// assert_eq!(h.join().unwrap(), 42);
    /// # });
    /// ```
    pub fn link<F: FnOnce() + Send + 'static>(&self, f: F) {
        {
            let mut s = self.packet.state.lock().unwrap_or_else(|e| e.into_inner());
            if s.result.is_none() && !self.packet.done.load(Ordering::Acquire) {
                s.links.push(Box::new(f));
                return;
            }
        }
        run_link(f);
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("thread", &self.thread)
            .finish_non_exhaustive()
    }
}

// Crate-private hooks for the toolkit (green::pool's Group/Pool, joinall).
impl<T> JoinHandle<T> {
    /// The greenlet's task (to kill it from a `Group`).
    pub(crate) fn task(&self) -> &Arc<Task> {
        &self.thread.task
    }

    /// Records the greenlet's `index` in `log` when it finishes, unless it
    /// has finished already; returns whether it has. Replaces an earlier
    /// registration (one watcher at a time, as `join`).
    pub(crate) fn watch(&self, log: &Arc<FinishLog>, index: usize) -> bool {
        let mut s = self.packet.state.lock().unwrap_or_else(|e| e.into_inner());
        if s.result.is_some() {
            return true;
        }
        s.joiner = Some(Joiner::Log(log.clone(), index));
        false
    }
}
