//! Groups and pools of greenlets (gevent's `gevent.pool.Group` and
//! `Pool`, eventlet's `GreenPool`), and [`joinall`] / [`killall`] for any
//! set of greenlets.
//!
//! A [`Group`] tracks the greenlets it spawned: [`join`](Group::join)
//! waits for all of them, [`kill`](Group::kill) kills them all. A [`Pool`]
//! is a group with a size limit: [`spawn`](Pool::spawn) parks while the
//! pool is full, and [`map`](Pool::map), [`imap`](Pool::imap) (results in
//! input order, lazily) and [`imap_unordered`](Pool::imap_unordered) run a
//! function over many items with at most `size` running at once.
//!
//! Both are handles: cloning gives another handle to the same group.
//!
//! `map`, `imap` and `imap_unordered` run jobs on worker greenlets (each
//! takes a pool slot) that pull items from the input and send back
//! results. A worker that takes a job while no other worker is idle starts
//! one more, up to `size`: jobs that block get up to `size` of them
//! running at once, as with one greenlet per item, and jobs that never
//! block run on one worker without a spawn per item. As in a thread pool,
//! jobs run by one worker share its greenlet: a greenlet-local
//! (`thread_local!`) value set by one job is seen by the next. Use
//! [`spawn`](Pool::spawn) per item when each job needs a fresh greenlet. A job that panics is reported and its
//! panic re-raised in the caller when its result is due.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::rt::spin::SpinLock;
use crate::rt::task::{GreenletExit, Task};
use crate::rt::wait::{self, Wait};
use crate::rt::waiter::{self, WaitQueue};
use crate::sync::mpsc::{self, Receiver};
use crate::thread::{self, FinishLog, JoinHandle};

struct Inner {
    size: Option<usize>,
    state: SpinLock<State>,
}

struct State {
    members: HashMap<u64, Option<Arc<Task>>>,
    next_id: u64,
    slot_waiters: WaitQueue,
    idle_waiters: WaitQueue,
}

impl Inner {
    fn new(size: Option<usize>) -> Arc<Inner> {
        Arc::new(Inner {
            size,
            state: SpinLock::new(State {
                members: HashMap::new(),
                next_id: 0,
                slot_waiters: WaitQueue::new("Pool::spawn"),
                idle_waiters: WaitQueue::new("Pool::join"),
            }),
        })
    }

    fn try_enter(&self, s: &mut State) -> Option<u64> {
        if self.size.is_some_and(|n| s.members.len() >= n) {
            return None;
        }
        let id = s.next_id;
        s.next_id += 1;
        s.members.insert(id, None);
        Some(id)
    }

    #[track_caller]
    fn spawn_member<F, T>(self: &Arc<Self>, id: u64, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        // The membership leaves with the closure, whether it runs, panics,
        // is killed, or is dropped unrun (killed before it started).
        let member = Member {
            inner: self.clone(),
            id,
        };
        let h = thread::spawn(move || {
            let _member = member;
            f()
        });
        if let Some(slot) = waiter::lock(&self.state).members.get_mut(&id) {
            *slot = Some(h.task().clone());
        }
        h
    }

    #[track_caller]
    fn spawn<F, T>(self: &Arc<Self>, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let id = waiter::wait_until(
            &self.state,
            |s| &mut s.slot_waiters,
            |s| self.try_enter(s),
            None,
        )
        .expect("no deadline");
        self.spawn_member(id, f)
    }

    fn try_spawn<F, T>(self: &Arc<Self>, f: F) -> Option<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let id = self.try_enter(&mut waiter::lock(&self.state))?;
        Some(self.spawn_member(id, f))
    }

    fn len(&self) -> usize {
        waiter::lock(&self.state).members.len()
    }

    fn join(&self, timeout: Option<Duration>) -> bool {
        waiter::wait_until(
            &self.state,
            |s| &mut s.idle_waiters,
            |s| s.members.is_empty().then_some(()),
            timeout.and_then(waiter::deadline_after),
        )
        .is_some()
    }

    fn kill(&self, timeout: Option<Duration>) -> bool {
        let tasks: Vec<Arc<Task>> = waiter::lock(&self.state)
            .members
            .values()
            .flatten()
            .cloned()
            .collect();
        for t in tasks {
            t.interrupt(Box::new(GreenletExit));
        }
        self.join(timeout)
    }
}

struct Member {
    inner: Arc<Inner>,
    id: u64,
}

impl Drop for Member {
    fn drop(&mut self) {
        let mut s = waiter::lock(&self.inner.state);
        s.members.remove(&self.id);
        s.slot_waiters.notify_one();
        if s.members.is_empty() {
            s.idle_waiters.notify_all();
        }
    }
}

/// A set of greenlets that can be joined or killed together (gevent's
/// `Group`). No size limit.
#[derive(Clone)]
pub struct Group {
    inner: Arc<Inner>,
}

impl Group {
    /// An empty group.
    pub fn new() -> Group {
        Group {
            inner: Inner::new(None),
        }
    }

    /// Spawns a greenlet in the group.
    #[track_caller]
    pub fn spawn<F, T>(&self, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.inner.spawn(f)
    }

    /// Adds a greenlet spawned elsewhere (gevent's `Group.add`): the group
    /// now joins and kills it with the others, and lets it go when it
    /// finishes. Adding a finished greenlet does nothing.
    pub fn add<T>(&self, handle: &JoinHandle<T>) {
        let id = {
            let mut s = waiter::lock(&self.inner.state);
            let id = s.next_id;
            s.next_id += 1;
            s.members.insert(id, Some(handle.task().clone()));
            id
        };
        let member = Member {
            inner: self.inner.clone(),
            id,
        };
        handle.link(move || drop(member));
    }

    /// Removes a greenlet from the group without killing it (gevent's
    /// `Group.discard`); it keeps running. Returns whether it was a member.
    pub fn discard<T>(&self, handle: &JoinHandle<T>) -> bool {
        let mut s = waiter::lock(&self.inner.state);
        let before = s.members.len();
        s.members
            .retain(|_, t| !t.as_ref().is_some_and(|t| Arc::ptr_eq(t, handle.task())));
        let removed = s.members.len() < before;
        if removed && s.members.is_empty() {
            s.idle_waiters.notify_all();
        }
        removed
    }
}

/// The membership methods `Group` and `Pool` share (a `Pool` is gevent's
/// `Group` with a size limit): both keep their greenlets in an `Inner`.
macro_rules! membership {
    ($t:ident, $what:literal) => {
        impl $t {
            #[doc = concat!("Greenlets of the ", $what, " that have not finished (eventlet's `running()`).")]
            pub fn len(&self) -> usize {
                self.inner.len()
            }

            #[doc = concat!("Whether every greenlet of the ", $what, " has finished.")]
            pub fn is_empty(&self) -> bool {
                self.len() == 0
            }

            #[doc = concat!("Parks until every greenlet of the ", $what, " has finished (eventlet's `waitall`).")]
            pub fn join(&self) {
                self.inner.join(None);
            }

            #[doc = concat!("As [`join`](Self::join), for at most `timeout`; returns whether the ", $what, " is empty.")]
            pub fn join_timeout(&self, timeout: Duration) -> bool {
                self.inner.join(Some(timeout))
            }

            #[doc = concat!("Kills every greenlet of the ", $what, " and waits until they are gone (gevent's `kill(block=True)`).")]
            pub fn kill(&self) {
                self.inner.kill(None);
            }

            #[doc = concat!("As [`kill`](Self::kill), waiting at most `timeout`; returns whether the ", $what, " is empty.")]
            pub fn kill_timeout(&self, timeout: Duration) -> bool {
                self.inner.kill(Some(timeout))
            }
        }
    };
}

membership!(Group, "group");
membership!(Pool, "pool");

impl Default for Group {
    fn default() -> Group {
        Group::new()
    }
}

impl fmt::Debug for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Group")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

/// A group of at most `size` greenlets (gevent's `Pool`, eventlet's
/// `GreenPool`); see the [module](self).
///
/// ```
/// use green_rt::pool::Pool;
///
/// let pool = Pool::new(10);
/// let squares = pool.map(|x: u64| x * x, 0..100);
/// assert_eq!(squares[9], 81);
/// ```
#[derive(Clone)]
pub struct Pool {
    inner: Arc<Inner>,
}

/// A job's outcome as the workers send it back.
type Outcome<R> = (usize, thread::Result<R>);

impl Pool {
    /// A pool running at most `size` greenlets at once.
    ///
    /// # Panics
    ///
    /// If `size` is 0.
    pub fn new(size: usize) -> Pool {
        assert!(size > 0, "green::pool::Pool needs size >= 1");
        Pool {
            inner: Inner::new(Some(size)),
        }
    }

    /// The size limit.
    pub fn size(&self) -> usize {
        self.inner.size.expect("pools are bounded")
    }

    /// Spawns a greenlet, parking first while the pool is full.
    #[track_caller]
    pub fn spawn<F, T>(&self, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.inner.spawn(f)
    }

    /// Runs `f` in the pool and waits for its result (gevent's
    /// `Pool.apply`): it parks first while the pool is full.
    ///
    /// # Errors
    ///
    /// The panic payload if `f` panicked (or was killed), as `join`.
    pub fn apply<F, T>(&self, f: F) -> thread::Result<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.spawn(f).join()
    }

    /// Spawns a greenlet if a slot is free now.
    pub fn try_spawn<F, T>(&self, f: F) -> Option<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.inner.try_spawn(f)
    }

    /// Free slots (gevent's `free_count()`, eventlet's `free()`).
    pub fn free_count(&self) -> usize {
        self.size().saturating_sub(self.len())
    }

    /// Whether `spawn` would park.
    pub fn is_full(&self) -> bool {
        self.free_count() == 0
    }

    /// Parks until a slot is free (gevent's `wait_available`).
    pub fn wait_available(&self) {
        waiter::wait_until(
            &self.inner.state,
            |s| &mut s.slot_waiters,
            |s| (s.members.len() < self.size()).then_some(()),
            None,
        );
        // Our wake-up may have been meant for a spawner: pass it on.
        waiter::lock(&self.inner.state).slot_waiters.notify_one();
    }

    /// Runs `f` over `items` with at most `size` jobs at once and returns
    /// the results in input order.
    ///
    /// # Panics
    ///
    /// Re-raises the panic of the first job (in input order) that
    /// panicked, once every job is done; panics if the pool was killed
    /// before every job ran.
    pub fn map<I, F, R>(&self, f: F, items: I) -> Vec<R>
    where
        I: IntoIterator,
        I::IntoIter: Send + 'static,
        F: Fn(I::Item) -> R + Send + Sync + 'static,
        R: Send + 'static,
    {
        let items = items.into_iter();
        let (lo, _) = items.size_hint();
        let (rx, total) = self.start(f, items, false);
        let mut out: Vec<Option<thread::Result<R>>> = Vec::with_capacity(lo);
        for (i, r) in rx.iter() {
            if i >= out.len() {
                out.resize_with(i + 1, || None);
            }
            out[i] = Some(r);
        }
        // Every worker is gone: the input was exhausted (`total` says how
        // long it was), or the workers were killed.
        match total.load(Ordering::Acquire) {
            UNKNOWN => out.push(None),
            n => out.resize_with(n, || None),
        }
        out.into_iter()
            .map(|r| match r {
                Some(Ok(v)) => v,
                Some(Err(p)) => panic::resume_unwind(p),
                None => panic!("green::pool::Pool::map: the pool was killed before every job ran"),
            })
            .collect()
    }

    /// Runs `f` over `items` with at most `size` jobs at once; the
    /// iterator yields results in input order, as they become available.
    /// Items are pulled lazily, so `items` may be endless.
    pub fn imap<I, F, R>(&self, f: F, items: I) -> IMap<R>
    where
        I: IntoIterator,
        I::IntoIter: Send + 'static,
        F: Fn(I::Item) -> R + Send + Sync + 'static,
        R: Send + 'static,
    {
        let (rx, total) = self.start(f, items.into_iter(), true);
        IMap {
            rx,
            total,
            next: 0,
            early: BTreeMap::new(),
        }
    }

    /// As [`imap`](Self::imap), yielding results as jobs finish.
    pub fn imap_unordered<I, F, R>(&self, f: F, items: I) -> IMapUnordered<R>
    where
        I: IntoIterator,
        I::IntoIter: Send + 'static,
        F: Fn(I::Item) -> R + Send + Sync + 'static,
        R: Send + 'static,
    {
        let (rx, total) = self.start(f, items.into_iter(), true);
        IMapUnordered { rx, total, seen: 0 }
    }

    /// Starts the workers of a map; they stop when the input ends or the
    /// results' receiver is dropped. With `lazy`, results go through a
    /// channel of `size` slots, so workers park until the consumer catches
    /// up (an endless input is only pulled as far as it is consumed).
    /// Also returns where the number of items is stored once the input is
    /// exhausted.
    fn start<It, F, R>(
        &self,
        f: F,
        items: It,
        lazy: bool,
    ) -> (Receiver<Outcome<R>>, Arc<AtomicUsize>)
    where
        It: Iterator + Send + 'static,
        F: Fn(It::Item) -> R + Send + Sync + 'static,
        R: Send + 'static,
    {
        let shared = Arc::new(MapShared {
            state: crate::sync::Mutex::new(MapState {
                next: 0,
                items,
                idle: 1,
                workers: 1,
            }),
            f,
            pool: self.clone(),
            total: Arc::new(AtomicUsize::new(UNKNOWN)),
        });
        let total = shared.total.clone();
        let (tx, rx) = if lazy {
            let (tx, rx) = mpsc::sync_channel(self.size());
            (Tx::Bounded(tx), rx)
        } else {
            let (tx, rx) = mpsc::channel();
            (Tx::Unbounded(tx), rx)
        };
        // One worker to start with (parking for a slot if the pool is
        // full); each worker that takes a job while no other is idle
        // starts another, up to the pool's size. Jobs that never block
        // thus run on one worker, and blocking ones on up to `size`.
        self.spawn(move || shared.work(&tx));
        (rx, total)
    }
}

/// Where workers send results.
enum Tx<R> {
    Unbounded(mpsc::Sender<Outcome<R>>),
    Bounded(mpsc::SyncSender<Outcome<R>>),
}

impl<R> Clone for Tx<R> {
    fn clone(&self) -> Self {
        match self {
            Tx::Unbounded(t) => Tx::Unbounded(t.clone()),
            Tx::Bounded(t) => Tx::Bounded(t.clone()),
        }
    }
}

impl<R> Tx<R> {
    fn send(&self, o: Outcome<R>) -> bool {
        match self {
            Tx::Unbounded(t) => t.send(o).is_ok(),
            Tx::Bounded(t) => t.send(o).is_ok(),
        }
    }
}

struct MapShared<It, F> {
    state: crate::sync::Mutex<MapState<It>>,
    f: F,
    pool: Pool,
    /// The number of items, once the input is exhausted.
    total: Arc<AtomicUsize>,
}

/// `MapShared::total` before the input is exhausted.
const UNKNOWN: usize = usize::MAX;

struct MapState<It> {
    next: usize,
    items: It,
    /// Workers started and not running a job.
    idle: usize,
    workers: usize,
}

impl<It, F, R> MapShared<It, F>
where
    It: Iterator + Send + 'static,
    F: Fn(It::Item) -> R + Send + Sync + 'static,
    R: Send + 'static,
{
    fn work(self: &Arc<Self>, tx: &Tx<R>) {
        let mut busy = false;
        loop {
            // The items' lock is green: pulling from `items` may block.
            let (i, item, grow) = {
                let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
                if busy {
                    s.idle += 1;
                }
                busy = true;
                let Some(item) = s.items.next() else {
                    self.total.store(s.next, Ordering::Release);
                    s.idle -= 1;
                    s.workers -= 1;
                    return;
                };
                let i = s.next;
                s.next += 1;
                s.idle -= 1;
                let grow = s.idle == 0 && s.workers < self.pool.size();
                if grow {
                    s.idle += 1;
                    s.workers += 1;
                }
                (i, item, grow)
            };
            if grow {
                let (me, tx2) = (self.clone(), tx.clone());
                if self.pool.try_spawn(move || me.work(&tx2)).is_none() {
                    let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
                    s.idle -= 1;
                    s.workers -= 1;
                }
            }
            let r = panic::catch_unwind(AssertUnwindSafe(|| (self.f)(item)));
            if let Err(p) = &r
                && p.is::<GreenletExit>()
            {
                // Killed: stop this worker, do not report it as the job's
                // result.
                let Err(p) = r else { unreachable!() };
                panic::resume_unwind(p);
            }
            if !tx.send((i, r)) {
                return;
            }
        }
    }
}

impl Default for Pool {
    /// eventlet's default `GreenPool` size, 1000.
    fn default() -> Pool {
        Pool::new(1000)
    }
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("size", &self.size())
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

/// The results of [`Pool::imap`], in input order.
pub struct IMap<R> {
    rx: Receiver<Outcome<R>>,
    total: Arc<AtomicUsize>,
    next: usize,
    early: BTreeMap<usize, thread::Result<R>>,
}

impl<R> Iterator for IMap<R> {
    type Item = R;

    /// The next result in input order.
    ///
    /// # Panics
    ///
    /// Re-raises the job's panic; panics if the pool was killed before
    /// every job ran.
    fn next(&mut self) -> Option<R> {
        let r = match self.early.remove(&self.next) {
            Some(r) => r,
            None => loop {
                let Ok((i, r)) = self.rx.recv() else {
                    return finished(&self.total, self.next);
                };
                if i == self.next {
                    break r;
                }
                self.early.insert(i, r);
            },
        };
        self.next += 1;
        Some(r.unwrap_or_else(|p| panic::resume_unwind(p)))
    }
}

impl<R> fmt::Debug for IMap<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IMap")
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

/// The results of [`Pool::imap_unordered`], as jobs finish.
pub struct IMapUnordered<R> {
    rx: Receiver<Outcome<R>>,
    total: Arc<AtomicUsize>,
    seen: usize,
}

/// The end of an `imap`: every worker is gone after `seen` results.
///
/// # Panics
///
/// If results are missing (the workers were killed).
fn finished<R>(total: &AtomicUsize, seen: usize) -> Option<R> {
    let total = total.load(Ordering::Acquire);
    assert!(
        total != UNKNOWN && seen >= total,
        "green::pool::Pool::imap: the pool was killed before every job ran"
    );
    None
}

impl<R> Iterator for IMapUnordered<R> {
    type Item = R;

    /// The next finished job's result.
    ///
    /// # Panics
    ///
    /// Re-raises the job's panic; panics if the pool was killed before
    /// every job ran.
    fn next(&mut self) -> Option<R> {
        let Ok((_, r)) = self.rx.recv() else {
            return finished(&self.total, self.seen);
        };
        self.seen += 1;
        Some(r.unwrap_or_else(|p| panic::resume_unwind(p)))
    }
}

impl<R> fmt::Debug for IMapUnordered<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IMapUnordered").finish_non_exhaustive()
    }
}

/// What [`joinall`] and [`killall`] found: the greenlets that finished,
/// with their results, and those still running when the timeout passed,
/// with their handles. Both keep the input's indices, in order.
#[derive(Debug)]
pub struct JoinAll<T> {
    /// `(index, result)` of each finished greenlet.
    pub done: Vec<(usize, thread::Result<T>)>,
    /// `(index, handle)` of each greenlet still running.
    pub pending: Vec<(usize, JoinHandle<T>)>,
}

/// Waits for every greenlet in `handles` (gevent's `joinall`), at most
/// `timeout` if given.
///
/// # Panics
///
/// With `raise_error`, re-raises the panic of the first greenlet seen to
/// fail (a kill, [`GreenletExit`], is not a failure), as soon as it is
/// seen; the other handles are dropped (their greenlets detached).
pub fn joinall<T>(
    handles: impl IntoIterator<Item = JoinHandle<T>>,
    timeout: Option<Duration>,
    raise_error: bool,
) -> JoinAll<T> {
    let deadline = timeout.and_then(waiter::deadline_after);
    let log = FinishLog::new();
    let mut slots: Vec<Option<JoinHandle<T>>> = Vec::new();
    let mut finished = Vec::new();
    // Each handle is watched once: its completion records its index in the
    // log (and unparks us), so each greenlet is visited once in all.
    for (i, h) in handles.into_iter().enumerate() {
        if h.watch(&log, i) {
            finished.push(i);
        }
        slots.push(Some(h));
    }
    let mut left = slots.len();
    let mut done = Vec::with_capacity(left);
    loop {
        log.drain_into(&mut finished);
        for i in finished.drain(..) {
            let Some(h) = slots[i].take() else { continue };
            left -= 1;
            let r = h.join();
            if raise_error
                && let Err(p) = &r
                && !p.is::<GreenletExit>()
            {
                let Err(p) = r else { unreachable!() };
                panic::resume_unwind(p);
            }
            done.push((i, r));
        }
        if left == 0 || deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        wait::park_for(deadline, Wait::Other("Pool::imap"));
    }
    done.sort_by_key(|(i, _)| *i);
    let pending = slots
        .into_iter()
        .enumerate()
        .filter_map(|(i, h)| Some((i, h?)))
        .collect();
    JoinAll { done, pending }
}

/// Kills every greenlet in `handles` and waits for them, at most `timeout`
/// if given (gevent's `killall(block=True)`).
pub fn killall<T>(
    handles: impl IntoIterator<Item = JoinHandle<T>>,
    timeout: Option<Duration>,
) -> JoinAll<T> {
    let handles: Vec<JoinHandle<T>> = handles.into_iter().collect();
    for h in &handles {
        h.kill();
    }
    joinall(handles, timeout, false)
}
