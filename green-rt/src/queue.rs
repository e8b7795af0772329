//! Queues between greenlets (gevent's `gevent.queue`, eventlet's
//! `eventlet.queue`).
//!
//! [`Queue`] is FIFO, [`LifoQueue`] LIFO, [`PriorityQueue`] pops the
//! smallest item first (as Python's `heapq`). Each may be bounded (`put`
//! parks while full) or not. Every queue also counts unfinished items for
//! [`task_done`](BaseQueue::task_done) and [`join`](BaseQueue::join), so
//! [`JoinableQueue`] is the same type under gevent's name.
//!
//! A queue is a handle: cloning gives another handle to the same queue.
//! Unlike a channel it has no "disconnected" state: a `get` on an empty
//! queue parks until something is put, as in gevent.
//!
//! ```
//! use green_rt::queue::Queue;
//!
//! let q = Queue::bounded(2);
//! q.put(1);
//! q.put_nowait(2).unwrap();
//! assert!(q.put_nowait(3).is_err());
//! assert_eq!(q.get(), 1);
//! ```

use std::cmp::Ordering;
use std::collections::VecDeque;
use std::error::Error;
use std::fmt;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use crate::rt::spin::SpinLock;
use crate::rt::waiter::{self, WaitQueue};
use crate::sync::Mutex;

/// How a queue stores its items: implemented by `VecDeque<T>` (FIFO),
/// `Vec<T>` (LIFO) and [`PriorityStore<T>`] (smallest first).
///
/// `push`, `take` and `len` run under the queue's internal lock, so they
/// must run no user code (no `Ord`, `Clone` or `Drop` of `T`): a user
/// `Ord` that made a green blocking call there would park with the lock
/// held. Whatever needs user code happens in [`finish`](Self::finish),
/// after the lock is released.
pub trait Storage<T>: Send {
    /// What [`take`](Self::take) hands out under the lock, turned into the
    /// item by [`finish`](Self::finish) outside it.
    type Taken;
    /// An empty store.
    fn empty() -> Self;
    /// Adds an item.
    fn push(&mut self, t: T);
    /// Claims the next item (`None`: there is none).
    fn take(&mut self) -> Option<Self::Taken>;
    /// Gives back a claim whose [`finish`](Self::finish) unwound (the
    /// getter was killed or timed out, or `Ord` panicked) before it removed
    /// the item, so the item stays available.
    fn untake(&mut self);
    /// Turns a claim into the item, outside the lock.
    fn finish(taken: Self::Taken) -> T;
    /// Number of items (not yet claimed).
    fn len(&self) -> usize;
    /// Whether there are no items.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T: Send> Storage<T> for VecDeque<T> {
    type Taken = T;
    fn empty() -> Self {
        VecDeque::new()
    }
    fn push(&mut self, t: T) {
        self.push_back(t);
    }
    fn take(&mut self) -> Option<T> {
        self.pop_front()
    }
    fn untake(&mut self) {}
    fn finish(t: T) -> T {
        t
    }
    fn len(&self) -> usize {
        VecDeque::len(self)
    }
}

impl<T: Send> Storage<T> for Vec<T> {
    type Taken = T;
    fn empty() -> Self {
        Vec::new()
    }
    fn push(&mut self, t: T) {
        Vec::push(self, t);
    }
    fn take(&mut self) -> Option<T> {
        Vec::pop(self)
    }
    fn untake(&mut self) {}
    fn finish(t: T) -> T {
        t
    }
    fn len(&self) -> usize {
        Vec::len(self)
    }
}

/// The store of a [`PriorityQueue`]: a binary min-heap ordered outside
/// the queue's internal lock.
///
/// `put` only appends the item to a list of unordered arrivals (no
/// comparison). A `get` claims an item under the queue's lock, then, under
/// a green lock of the heap's own (a greenlet whose `Ord` parks makes the
/// other getters park, not spin), moves the arrivals into the heap and pops
/// the smallest. The heap is rearranged by swaps only, so a comparison that
/// unwinds (a kill, a timeout, a panicking `Ord`) loses no item: the heap
/// is marked disordered and rebuilt by the next `get`, and the claim is
/// given back.
pub struct PriorityStore<T> {
    /// Items put and not yet claimed.
    len: usize,
    shared: Arc<PriorityShared<T>>,
}

struct PriorityShared<T> {
    /// Items put and not yet moved into the heap.
    arrivals: SpinLock<Vec<T>>,
    heap: Mutex<Heap<T>>,
}

struct Heap<T> {
    data: Vec<T>,
    /// An operation unwound half-way: `data` holds every item but is not a
    /// heap.
    disordered: bool,
}

/// A claim on the smallest item of a [`PriorityStore`] (its
/// [`Storage::Taken`]).
pub struct PriorityClaim<T> {
    shared: Arc<PriorityShared<T>>,
}

impl<T> fmt::Debug for PriorityClaim<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PriorityClaim").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for PriorityStore<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PriorityStore")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

fn less<T: Ord>(a: &T, b: &T) -> bool {
    a.cmp(b) == Ordering::Less
}

impl<T: Ord> Heap<T> {
    fn sift_up(&mut self, mut i: usize) {
        while i > 0 {
            let parent = (i - 1) / 2;
            if !less(&self.data[i], &self.data[parent]) {
                break;
            }
            self.data.swap(i, parent);
            i = parent;
        }
    }

    /// Restores the heap below `i` within `data[..end]`.
    fn sift_down(&mut self, mut i: usize, end: usize) {
        loop {
            let left = 2 * i + 1;
            if left >= end {
                break;
            }
            let right = left + 1;
            let child = if right < end && less(&self.data[right], &self.data[left]) {
                right
            } else {
                left
            };
            if !less(&self.data[child], &self.data[i]) {
                break;
            }
            self.data.swap(i, child);
            i = child;
        }
    }

    /// Adds `arrivals` and removes the smallest item. Runs user code
    /// (`Ord`); if that unwinds, every item is still in `data`.
    fn pop_with(&mut self, arrivals: &SpinLock<Vec<T>>) -> Option<T> {
        let start = self.data.len();
        self.data.append(&mut arrivals.lock());
        let end = self.data.len();
        if end == 0 {
            return None;
        }
        let was_disordered = std::mem::replace(&mut self.disordered, true);
        if was_disordered {
            for i in (0..end / 2).rev() {
                self.sift_down(i, end);
            }
        } else {
            for i in start..end {
                self.sift_up(i);
            }
        }
        self.data.swap(0, end - 1);
        self.sift_down(0, end - 1);
        self.disordered = false;
        self.data.pop()
    }
}

impl<T: Ord + Send> Storage<T> for PriorityStore<T> {
    type Taken = PriorityClaim<T>;
    fn empty() -> Self {
        PriorityStore {
            len: 0,
            shared: Arc::new(PriorityShared {
                arrivals: SpinLock::new(Vec::new()),
                heap: Mutex::new(Heap {
                    data: Vec::new(),
                    disordered: false,
                }),
            }),
        }
    }
    fn push(&mut self, t: T) {
        self.shared.arrivals.lock().push(t);
        self.len += 1;
    }
    fn take(&mut self) -> Option<PriorityClaim<T>> {
        if self.len == 0 {
            return None;
        }
        self.len -= 1;
        Some(PriorityClaim {
            shared: self.shared.clone(),
        })
    }
    fn untake(&mut self) {
        self.len += 1;
    }
    fn finish(claim: PriorityClaim<T>) -> T {
        let mut heap = claim
            .shared
            .heap
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Every claim counts an item put before it, and only claims remove
        // items, so the heap and the arrivals hold one for this claim.
        heap.pop_with(&claim.shared.arrivals)
            .expect("PriorityQueue: a claimed item is missing")
    }
    fn len(&self) -> usize {
        self.len
    }
}

/// The queue machinery shared by [`Queue`], [`LifoQueue`] and
/// [`PriorityQueue`] (which deref to it): a queue of `T` stored in `S`.
pub struct BaseQueue<T, S> {
    inner: Arc<Inner<T, S>>,
}

/// gevent's `JoinableQueue`: every queue supports `task_done` and `join`.
pub type JoinableQueue<T> = Queue<T>;

struct Inner<T, S> {
    state: SpinLock<State<S>>,
    maxsize: Option<usize>,
    _marker: std::marker::PhantomData<fn(T) -> T>,
}

struct State<S> {
    items: S,
    getters: WaitQueue,
    putters: WaitQueue,
    unfinished: usize,
    joiners: WaitQueue,
}

/// `get` found the queue empty (gevent's `queue.Empty`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Empty;

/// `put` found the queue full (gevent's `queue.Full`); holds the item.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Full<T>(pub T);

impl fmt::Display for Empty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("queue is empty")
    }
}

impl Error for Empty {}

impl<T> fmt::Debug for Full<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Full(..)")
    }
}

impl<T> fmt::Display for Full<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("queue is full")
    }
}

impl<T> Error for Full<T> {}

macro_rules! queues {
    ($(#[$doc:meta] $name:ident, $storage:ty, $what:literal $(, $bound:path)?;)*) => {$(
        #[$doc]
        ///
        /// Its methods are those of [`BaseQueue`], which it derefs to.
        pub struct $name<T> {
            base: BaseQueue<T, $storage>,
        }

        impl<T: Send $(+ $bound)?> $name<T> {
            #[doc = concat!("An unbounded ", $what, ".")]
            pub fn new() -> Self {
                $name { base: BaseQueue::with_maxsize(None) }
            }

            #[doc = concat!("A ", $what, " holding at most `maxsize` items (`put` parks while full).")]
            ///
            /// # Panics
            ///
            /// If `maxsize` is 0 (use `green::sync::mpsc::sync_channel(0)` for a
            /// rendezvous).
            pub fn bounded(maxsize: usize) -> Self {
                assert!(maxsize > 0, "green::queue: a bounded queue needs maxsize >= 1");
                $name { base: BaseQueue::with_maxsize(Some(maxsize)) }
            }
        }

        impl<T: Send $(+ $bound)?> Default for $name<T> {
            fn default() -> Self {
                $name::new()
            }
        }

        impl<T> Clone for $name<T> {
            fn clone(&self) -> Self {
                $name { base: self.base.clone() }
            }
        }

        impl<T> std::ops::Deref for $name<T> {
            type Target = BaseQueue<T, $storage>;
            fn deref(&self) -> &Self::Target {
                &self.base
            }
        }

        impl<T: Send $(+ $bound)?> fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("len", &self.len())
                    .field("maxsize", &self.maxsize())
                    .finish_non_exhaustive()
            }
        }
    )*};
}

queues! {
    /// A FIFO queue (gevent's `Queue`); a handle, see the [module](self).
    Queue, VecDeque<T>, "FIFO queue";
    /// A LIFO queue (gevent's `LifoQueue`).
    LifoQueue, Vec<T>, "LIFO queue";
    /// A queue that pops the smallest item first (gevent's `PriorityQueue`).
    PriorityQueue, PriorityStore<T>, "priority queue", Ord;
}

impl<T, S: Storage<T>> BaseQueue<T, S> {
    fn with_maxsize(maxsize: Option<usize>) -> Self {
        BaseQueue {
            inner: Arc::new(Inner {
                state: SpinLock::new(State {
                    items: S::empty(),
                    getters: WaitQueue::new("Queue::get"),
                    putters: WaitQueue::new("Queue::put"),
                    unfinished: 0,
                    joiners: WaitQueue::new("Queue::join"),
                }),
                maxsize,
                _marker: std::marker::PhantomData,
            }),
        }
    }

    fn try_push(&self, s: &mut State<S>, item: &mut Option<T>) -> bool {
        if self.inner.maxsize.is_some_and(|m| s.items.len() >= m) {
            return false;
        }
        s.items.push(item.take().expect("item"));
        s.unfinished += 1;
        s.getters.notify_one();
        true
    }

    fn try_take(s: &mut State<S>) -> Option<S::Taken> {
        let t = s.items.take()?;
        s.putters.notify_one();
        Some(t)
    }

    /// Turns a claim into its item outside the internal lock (where user
    /// code may run); if that unwinds, the claim is given back and a getter
    /// woken, so the item is not lost.
    fn finish(&self, taken: S::Taken) -> T {
        struct GiveBack<'a, T, S: Storage<T>> {
            inner: &'a Inner<T, S>,
            armed: bool,
        }
        impl<T, S: Storage<T>> Drop for GiveBack<'_, T, S> {
            fn drop(&mut self) {
                if self.armed {
                    let mut s = waiter::lock(&self.inner.state);
                    s.items.untake();
                    s.getters.notify_one();
                }
            }
        }
        let mut guard = GiveBack {
            inner: &self.inner,
            armed: true,
        };
        let t = S::finish(taken);
        guard.armed = false;
        t
    }

    /// Puts an item, parking while the queue is full.
    pub fn put(&self, item: T) {
        let mut item = Some(item);
        waiter::wait_until(
            &self.inner.state,
            |s| &mut s.putters,
            |s| self.try_push(s, &mut item).then_some(()),
            None,
        );
    }

    /// Puts an item, parking at most `timeout` while the queue is full.
    ///
    /// # Errors
    ///
    /// `Full(item)` if there was no room in time.
    pub fn put_timeout(&self, item: T, timeout: Duration) -> Result<(), Full<T>> {
        let mut item = Some(item);
        let r = waiter::wait_until(
            &self.inner.state,
            |s| &mut s.putters,
            |s| self.try_push(s, &mut item).then_some(()),
            waiter::deadline_after(timeout),
        );
        match r {
            Some(()) => Ok(()),
            None => Err(Full(item.take().expect("item"))),
        }
    }

    /// Puts an item if there is room now.
    ///
    /// # Errors
    ///
    /// `Full(item)` if the queue is full.
    pub fn put_nowait(&self, item: T) -> Result<(), Full<T>> {
        crate::rt::context::coop();
        let mut item = Some(item);
        let mut s = waiter::lock(&self.inner.state);
        if self.try_push(&mut s, &mut item) {
            Ok(())
        } else {
            Err(Full(item.take().expect("item")))
        }
    }

    /// Takes an item, parking until there is one.
    pub fn get(&self) -> T {
        let taken = waiter::wait_until(&self.inner.state, |s| &mut s.getters, Self::try_take, None)
            .expect("no deadline");
        self.finish(taken)
    }

    /// Takes an item, parking at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`Empty`] if none came in time.
    pub fn get_timeout(&self, timeout: Duration) -> Result<T, Empty> {
        let taken = waiter::wait_until(
            &self.inner.state,
            |s| &mut s.getters,
            Self::try_take,
            waiter::deadline_after(timeout),
        )
        .ok_or(Empty)?;
        Ok(self.finish(taken))
    }

    /// Takes an item if there is one now.
    ///
    /// # Errors
    ///
    /// [`Empty`] if the queue is empty.
    pub fn get_nowait(&self) -> Result<T, Empty> {
        crate::rt::context::coop();
        let taken = Self::try_take(&mut waiter::lock(&self.inner.state)).ok_or(Empty)?;
        Ok(self.finish(taken))
    }

    /// Number of items (gevent's `qsize()`).
    pub fn len(&self) -> usize {
        waiter::lock(&self.inner.state).items.len()
    }

    /// Whether the queue holds no items.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether a bounded queue is at its maximum size.
    pub fn is_full(&self) -> bool {
        self.inner.maxsize.is_some_and(|m| self.len() >= m)
    }

    /// The maximum size (`None`: unbounded).
    pub fn maxsize(&self) -> Option<usize> {
        self.inner.maxsize
    }

    /// Greenlets parked in `get` (gevent's `getters`).
    pub fn getters(&self) -> usize {
        waiter::lock(&self.inner.state).getters.len()
    }

    /// Marks one item taken with `get` as processed (for
    /// [`join`](Self::join)).
    ///
    /// # Panics
    ///
    /// If called more times than items were put (gevent raises
    /// `ValueError`).
    pub fn task_done(&self) {
        let mut s = waiter::lock(&self.inner.state);
        if s.unfinished == 0 {
            // Panic (and run the panic hook, user code) after unlocking.
            drop(s);
            panic!("task_done() called too many times");
        }
        s.unfinished -= 1;
        if s.unfinished == 0 {
            s.joiners.notify_all();
        }
    }

    /// Items put and not yet marked done.
    pub fn unfinished_tasks(&self) -> usize {
        waiter::lock(&self.inner.state).unfinished
    }

    /// Parks until every item put has been marked with `task_done`.
    pub fn join(&self) {
        waiter::wait_until(
            &self.inner.state,
            |s| &mut s.joiners,
            |s| (s.unfinished == 0).then_some(()),
            None,
        );
    }

    /// As [`join`](Self::join), for at most `timeout`; returns whether
    /// every item was done.
    pub fn join_timeout(&self, timeout: Duration) -> bool {
        waiter::wait_until(
            &self.inner.state,
            |s| &mut s.joiners,
            |s| (s.unfinished == 0).then_some(()),
            waiter::deadline_after(timeout),
        )
        .is_some()
    }
}

impl<T, S> Clone for BaseQueue<T, S> {
    fn clone(&self) -> Self {
        BaseQueue {
            inner: self.inner.clone(),
        }
    }
}

impl<T, S: Storage<T>> fmt::Debug for BaseQueue<T, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BaseQueue")
            .field("len", &self.len())
            .field("maxsize", &self.inner.maxsize)
            .finish_non_exhaustive()
    }
}
