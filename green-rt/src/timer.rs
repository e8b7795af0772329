//! Timers: a binary heap of deadlines with lazy cancellation.
//!
//! Adding is `O(log n)`; cancelling is `O(1)` (the entry is freed and its
//! heap node skipped when it surfaces). When cancelled nodes outnumber live
//! ones the heap is rebuilt, so a program that keeps re-arming timeouts does
//! not grow it without bound. 100 000 pending deadlines cost a few MiB.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::time::Instant;

use crate::task::Task;

/// Names one armed timer, for cancellation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimerKey {
    index: u32,
    generation: u32,
}

/// What a timer does when it fires.
pub(crate) enum Action {
    /// Unpark a waiter.
    Unpark(Arc<Task>),
    /// Run a closure on the hub (between polls, on the root context).
    #[allow(dead_code)] // for Timeout, in the toolkit
    Call(Box<dyn FnOnce()>),
}

impl std::fmt::Debug for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Action::Unpark(t) => f.debug_tuple("Unpark").field(t).finish(),
            Action::Call(_) => f.write_str("Call"),
        }
    }
}

#[derive(Debug)]
struct Entry {
    generation: u32,
    task: Option<Action>,
}

/// The timers of one hub.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<(Instant, u32, u32)>>,
    entries: Vec<Entry>,
    free: Vec<u32>,
    live: usize,
}

impl Timers {
    /// Arms a timer that does `task` at `deadline`.
    pub(crate) fn add(&mut self, deadline: Instant, task: Action) -> TimerKey {
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                self.entries.push(Entry {
                    generation: 0,
                    task: None,
                });
                (self.entries.len() - 1) as u32
            }
        };
        let entry = &mut self.entries[index as usize];
        entry.task = Some(task);
        let key = TimerKey {
            index,
            generation: entry.generation,
        };
        self.heap.push(Reverse((deadline, index, entry.generation)));
        self.live += 1;
        key
    }

    /// Disarms a timer; a timer that fired already is ignored.
    pub(crate) fn cancel(&mut self, key: TimerKey) {
        let entry = &mut self.entries[key.index as usize];
        if entry.generation == key.generation && entry.task.take().is_some() {
            self.release(key.index);
            if self.heap.len() > 1024 && self.heap.len() > 2 * self.live {
                self.compact();
            }
        }
    }

    fn release(&mut self, index: u32) {
        let entry = &mut self.entries[index as usize];
        entry.generation = entry.generation.wrapping_add(1);
        self.free.push(index);
        self.live -= 1;
    }

    fn compact(&mut self) {
        let entries = &self.entries;
        self.heap
            .retain(|Reverse((_, i, g))| entries[*i as usize].generation == *g);
    }

    /// The earliest live deadline.
    pub(crate) fn next_deadline(&mut self) -> Option<Instant> {
        while let Some(Reverse((deadline, index, generation))) = self.heap.peek().copied() {
            if self.entries[index as usize].generation == generation {
                return Some(deadline);
            }
            self.heap.pop();
        }
        None
    }

    /// Pops every timer due at `now`, pushing its action onto `due`.
    pub(crate) fn expire(&mut self, now: Instant, due: &mut Vec<Action>) {
        while let Some(Reverse((deadline, index, generation))) = self.heap.peek().copied() {
            if deadline > now {
                break;
            }
            self.heap.pop();
            let entry = &mut self.entries[index as usize];
            if entry.generation == generation {
                if let Some(task) = entry.task.take() {
                    due.push(task);
                }
                self.release(index);
            }
        }
    }

    /// Armed timers.
    pub(crate) fn len(&self) -> usize {
        self.live
    }
}
