//! Waiting on several channels at once (the `select` of Go, of
//! crossbeam-channel and of eventlet's `eventlet.green.select` for
//! channels).
//!
//! Add receivers to a [`Select`] in order, then [`wait`](Select::wait)
//! parks the greenlet until one of them is *ready* — it has a message, or
//! every sender is gone — and returns its index (its position in the order
//! of adding). When several are ready, successive waits favour successive
//! receivers, so one busy channel cannot starve the others. Receive from it with
//! `try_recv` (or `recv`, which will not park then).
//!
//! ```
//! use green_rt::select::Select;
//! use green_rt::sync::mpsc::channel;
//!
//! let (tx1, rx1) = channel::<i32>();
//! let (tx2, rx2) = channel::<&str>();
//! tx2.send("hi").unwrap();
//! match Select::new().recv(&rx1).recv(&rx2).wait() {
//!     0 => println!("{}", rx1.try_recv().unwrap()),
//!     1 => assert_eq!(rx2.try_recv().unwrap(), "hi"),
//!     _ => unreachable!(),
//! }
//! # drop((tx1, tx2));
//! ```

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::rt::task::Task;
use crate::rt::wait::{self, Wait};
use crate::rt::waiter;
use crate::sync::mpsc::Receiver;

/// What `Select` needs from a receiver.
trait Source {
    fn is_ready(&self) -> bool;
    fn register(&self, task: &std::sync::Arc<Task>) -> bool;
    fn unregister(&self);
}

impl<T> Source for Receiver<T> {
    fn is_ready(&self) -> bool {
        Receiver::is_ready(self)
    }
    fn register(&self, task: &std::sync::Arc<Task>) -> bool {
        Receiver::register(self, task)
    }
    fn unregister(&self) {
        Receiver::unregister(self)
    }
}

/// A set of receivers to wait on; see the [module](self).
#[derive(Default)]
pub struct Select<'a> {
    sources: Vec<&'a dyn Source>,
}

impl<'a> Select<'a> {
    /// An empty set.
    pub fn new() -> Select<'a> {
        Select {
            sources: Vec::new(),
        }
    }

    /// Adds a receiver; its index is the number of receivers added before
    /// it.
    #[allow(clippy::should_implement_trait)]
    pub fn recv<T>(mut self, rx: &'a Receiver<T>) -> Select<'a> {
        self.sources.push(rx);
        self
    }

    /// Adds a receiver and returns its index.
    pub fn add<T>(&mut self, rx: &'a Receiver<T>) -> usize {
        self.sources.push(rx);
        self.sources.len() - 1
    }

    /// The index of a ready receiver, without waiting. When several are
    /// ready, successive calls start looking at successive receivers, so a
    /// busy receiver cannot starve the others.
    pub fn try_ready(&self) -> Option<usize> {
        self.order().find(|&i| self.sources[i].is_ready())
    }

    /// The indices, starting from a rotating offset.
    fn order(&self) -> impl Iterator<Item = usize> + use<> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = self.sources.len();
        let start = if n == 0 {
            0
        } else {
            NEXT.fetch_add(1, Ordering::Relaxed) % n
        };
        (start..n).chain(0..start)
    }

    /// Parks until a receiver is ready and returns its index.
    ///
    /// # Panics
    ///
    /// If no receiver was added (it would wait forever).
    pub fn wait(&self) -> usize {
        assert!(!self.sources.is_empty(), "Select::wait with no receivers");
        self.wait_deadline(None).expect("no deadline")
    }

    /// As [`wait`](Self::wait), for at most `timeout`: `None` if no
    /// receiver became ready in time.
    pub fn wait_timeout(&self, timeout: Duration) -> Option<usize> {
        self.wait_deadline(waiter::deadline_after(timeout))
    }

    fn wait_deadline(&self, deadline: Option<Instant>) -> Option<usize> {
        struct Unregister<'s, 'a>(&'s [&'a dyn Source]);
        impl Drop for Unregister<'_, '_> {
            fn drop(&mut self) {
                for s in self.0 {
                    s.unregister();
                }
            }
        }
        let me = wait::current();
        loop {
            let registered = Unregister(&self.sources);
            for i in self.order() {
                if !self.sources[i].register(&me) {
                    return Some(i);
                }
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return None;
            }
            wait::park_for(deadline, Wait::Other("select"));
            drop(registered);
            if let Some(i) = self.try_ready() {
                return Some(i);
            }
        }
    }
}

impl fmt::Debug for Select<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Select")
            .field("receivers", &self.sources.len())
            .finish()
    }
}
