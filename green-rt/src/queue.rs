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

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::error::Error;
use std::fmt;
use std::sync::Arc;

use crate::sync::spin::SpinLock;
use std::time::Duration;

use crate::sync::waiter::{self, WaitQueue};

/// How a queue stores its items: implemented by `VecDeque<T>` (FIFO),
/// `Vec<T>` (LIFO) and `BinaryHeap<Reverse<T>>` (smallest first).
pub trait Storage<T>: Send {
    /// An empty store.
    fn empty() -> Self;
    /// Adds an item.
    fn push(&mut self, t: T);
    /// Removes the next item.
    fn pop(&mut self) -> Option<T>;
    /// Number of items.
    fn len(&self) -> usize;
    /// Whether there are no items.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T: Send> Storage<T> for VecDeque<T> {
    fn empty() -> Self {
        VecDeque::new()
    }
    fn push(&mut self, t: T) {
        self.push_back(t);
    }
    fn pop(&mut self) -> Option<T> {
        self.pop_front()
    }
    fn len(&self) -> usize {
        VecDeque::len(self)
    }
}

impl<T: Send> Storage<T> for Vec<T> {
    fn empty() -> Self {
        Vec::new()
    }
    fn push(&mut self, t: T) {
        Vec::push(self, t);
    }
    fn pop(&mut self) -> Option<T> {
        Vec::pop(self)
    }
    fn len(&self) -> usize {
        Vec::len(self)
    }
}

impl<T: Ord + Send> Storage<T> for BinaryHeap<Reverse<T>> {
    fn empty() -> Self {
        BinaryHeap::new()
    }
    fn push(&mut self, t: T) {
        BinaryHeap::push(self, Reverse(t));
    }
    fn pop(&mut self) -> Option<T> {
        BinaryHeap::pop(self).map(|Reverse(t)| t)
    }
    fn len(&self) -> usize {
        BinaryHeap::len(self)
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
    PriorityQueue, BinaryHeap<Reverse<T>>, "priority queue", Ord;
}

impl<T, S: Storage<T>> BaseQueue<T, S> {
    fn with_maxsize(maxsize: Option<usize>) -> Self {
        BaseQueue {
            inner: Arc::new(Inner {
                state: SpinLock::new(State {
                    items: S::empty(),
                    getters: WaitQueue::new(),
                    putters: WaitQueue::new(),
                    unfinished: 0,
                    joiners: WaitQueue::new(),
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

    fn try_pop(s: &mut State<S>) -> Option<T> {
        let t = s.items.pop()?;
        s.putters.notify_one();
        Some(t)
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
        waiter::wait_until(&self.inner.state, |s| &mut s.getters, Self::try_pop, None)
            .expect("no deadline")
    }

    /// Takes an item, parking at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`Empty`] if none came in time.
    pub fn get_timeout(&self, timeout: Duration) -> Result<T, Empty> {
        waiter::wait_until(
            &self.inner.state,
            |s| &mut s.getters,
            Self::try_pop,
            waiter::deadline_after(timeout),
        )
        .ok_or(Empty)
    }

    /// Takes an item if there is one now.
    ///
    /// # Errors
    ///
    /// [`Empty`] if the queue is empty.
    pub fn get_nowait(&self) -> Result<T, Empty> {
        Self::try_pop(&mut waiter::lock(&self.inner.state)).ok_or(Empty)
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
        assert!(s.unfinished > 0, "task_done() called too many times");
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
