//! Timers: a wheel of 1 ms slots for the next second, a heap beyond.
//!
//! The hub polls with millisecond resolution, so a deadline is rounded up
//! to the next whole millisecond ("tick") since the hub started. A timer due
//! within [`SLOTS`] ticks goes into the wheel: adding, cancelling and firing
//! it are `O(1)`, and a bitmap of non-empty slots finds the next deadline.
//! Later timers go into a binary heap (`O(log n)`), cancelled lazily and
//! compacted when cancelled nodes outnumber live ones. Most timers in a
//! server (sleeps, timeouts of a few seconds at most) stay in the wheel;
//! 100 000 pending deadlines cost a few MiB.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::task::Task;

/// Slots of the wheel: ticks of 1 ms, so a horizon of about one second.
const SLOTS: usize = 1024;
const WORDS: usize = SLOTS / 64;

/// What a timer does when it fires.
pub(crate) enum Action {
    /// Unpark a waiter.
    Unpark(Arc<Task>),
    /// Run a closure on the hub (between polls, on the root context).
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

/// Names one armed timer, for cancellation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimerKey {
    index: u32,
    generation: u32,
}

#[derive(Debug)]
struct Entry {
    generation: u32,
    action: Option<Action>,
    tick: u64,
    in_wheel: bool,
}

/// The timers of one hub.
#[derive(Debug)]
pub(crate) struct Timers {
    origin: Instant,
    /// Every tick before this one has fired.
    cursor: u64,
    /// `(index, generation)` of the timers due at each tick of the window
    /// `cursor .. cursor + SLOTS`; cancelled ones stay until their tick.
    slots: Vec<Vec<(u32, u32)>>,
    /// Live timers per slot.
    slot_live: Vec<u32>,
    /// Bit per slot with live timers.
    occupied: [u64; WORDS],
    far: BinaryHeap<Reverse<(u64, u32, u32)>>,
    far_live: usize,
    entries: Vec<Entry>,
    free: Vec<u32>,
    live: usize,
}

impl Default for Timers {
    fn default() -> Timers {
        Timers {
            origin: Instant::now(),
            cursor: 0,
            slots: (0..SLOTS).map(|_| Vec::new()).collect(),
            slot_live: vec![0; SLOTS],
            occupied: [0; WORDS],
            far: BinaryHeap::new(),
            far_live: 0,
            entries: Vec::new(),
            free: Vec::new(),
            live: 0,
        }
    }
}

impl Timers {
    /// The tick at or after `deadline`.
    fn tick_of(&self, deadline: Instant) -> u64 {
        // Whole seconds are whole ticks, so only the sub-second part rounds
        // up; this keeps the arithmetic in u64 (a u128 division is a
        // library call, and this runs for every timer armed).
        let d = deadline.saturating_duration_since(self.origin);
        let part = u64::from(d.subsec_nanos().div_ceil(1_000_000));
        d.as_secs().saturating_mul(1000).saturating_add(part)
    }

    /// The moment `tick` begins.
    fn instant_of(&self, tick: u64) -> Instant {
        self.origin
            .checked_add(Duration::from_millis(tick))
            .unwrap_or_else(|| self.origin + Duration::from_secs(86_400 * 365 * 30))
    }

    fn set_bit(&mut self, slot: usize, on: bool) {
        let bit = 1u64 << (slot % 64);
        if on {
            self.occupied[slot / 64] |= bit;
        } else {
            self.occupied[slot / 64] &= !bit;
        }
    }

    /// Arms a timer that does `action` at `deadline`.
    pub(crate) fn add(&mut self, deadline: Instant, action: Action) -> TimerKey {
        // A deadline already past goes to the heap, whose earliest entry is
        // then in the past: the next expire fires it.
        let tick = self.tick_of(deadline);
        let in_wheel = tick >= self.cursor && tick - self.cursor < SLOTS as u64;
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                self.entries.push(Entry {
                    generation: 0,
                    action: None,
                    tick: 0,
                    in_wheel: false,
                });
                (self.entries.len() - 1) as u32
            }
        };
        let entry = &mut self.entries[index as usize];
        entry.action = Some(action);
        entry.tick = tick;
        entry.in_wheel = in_wheel;
        let generation = entry.generation;
        if in_wheel {
            let slot = (tick % SLOTS as u64) as usize;
            self.slots[slot].push((index, generation));
            self.slot_live[slot] += 1;
            self.set_bit(slot, true);
        } else {
            self.far.push(Reverse((tick, index, generation)));
            self.far_live += 1;
        }
        self.live += 1;
        TimerKey { index, generation }
    }

    /// Disarms a timer; a timer that fired already is ignored.
    pub(crate) fn cancel(&mut self, key: TimerKey) {
        let entry = &mut self.entries[key.index as usize];
        if entry.generation != key.generation || entry.action.take().is_none() {
            return;
        }
        let (tick, in_wheel) = (entry.tick, entry.in_wheel);
        self.release(key.index);
        if in_wheel {
            let slot = (tick % SLOTS as u64) as usize;
            self.slot_live[slot] -= 1;
            if self.slot_live[slot] == 0 {
                self.set_bit(slot, false);
            }
        } else {
            self.far_live -= 1;
            if self.far.len() > 1024 && self.far.len() > 2 * self.far_live {
                let entries = &self.entries;
                self.far
                    .retain(|Reverse((_, i, g))| entries[*i as usize].generation == *g);
            }
        }
    }

    fn release(&mut self, index: u32) {
        let entry = &mut self.entries[index as usize];
        entry.generation = entry.generation.wrapping_add(1);
        self.free.push(index);
        self.live -= 1;
    }

    /// The first tick at or after the cursor with a live timer in the
    /// wheel.
    fn next_wheel_tick(&self) -> Option<u64> {
        let start = (self.cursor % SLOTS as u64) as usize;
        // Scan the bitmap from the cursor's slot, wrapping once.
        for step in 0..=WORDS {
            let w = (start / 64 + step) % WORDS;
            let mut bits = self.occupied[w];
            if step == 0 {
                bits &= !0u64 << (start % 64);
            } else if step == WORDS {
                bits &= (1u64 << (start % 64)).wrapping_sub(1);
            }
            if bits != 0 {
                let slot = w * 64 + bits.trailing_zeros() as usize;
                let offset = (slot + SLOTS - start) % SLOTS;
                return Some(self.cursor + offset as u64);
            }
        }
        None
    }

    /// The earliest live deadline.
    pub(crate) fn next_deadline(&mut self) -> Option<Instant> {
        while let Some(Reverse((_, index, generation))) = self.far.peek().copied() {
            if self.entries[index as usize].generation == generation {
                break;
            }
            self.far.pop();
        }
        let far = self.far.peek().map(|Reverse((tick, _, _))| *tick);
        let near = self.next_wheel_tick();
        let tick = match (near, far) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b)?,
        };
        Some(self.instant_of(tick))
    }

    /// Pops every timer due at `now` (tests).
    #[cfg(test)]
    fn expire(&mut self, now: Instant) -> Vec<Action> {
        let mut due = Vec::new();
        self.expire_into(now, &mut due);
        due
    }

    /// Pops every timer due at `now`, pushing its action onto `due`.
    pub(crate) fn expire_into(&mut self, now: Instant, due: &mut Vec<Action>) {
        if self.live == 0 {
            // Nothing armed: just move the window.
            self.cursor = self.cursor.max(self.elapsed_ticks(now) + 1);
            return;
        }
        let target = self.elapsed_ticks(now);
        if target >= self.cursor {
            let last = target.min(self.cursor + SLOTS as u64 - 1);
            let mut tick = self.cursor;
            while tick <= last {
                let slot = (tick % SLOTS as u64) as usize;
                if self.occupied[slot / 64] & (1 << (slot % 64)) != 0 {
                    self.fire_slot(slot, due);
                } else if !self.slots[slot].is_empty() {
                    // Only cancelled timers were left here.
                    self.slots[slot].clear();
                }
                tick += 1;
            }
            self.cursor = target + 1;
        }
        while let Some(Reverse((tick, index, generation))) = self.far.peek().copied() {
            if tick > target {
                break;
            }
            self.far.pop();
            let entry = &mut self.entries[index as usize];
            if entry.generation == generation
                && let Some(action) = entry.action.take()
            {
                due.push(action);
                self.far_live -= 1;
                self.release(index);
            }
        }
    }

    fn fire_slot(&mut self, slot: usize, due: &mut Vec<Action>) {
        let mut list = std::mem::take(&mut self.slots[slot]);
        for &(index, generation) in &list {
            let entry = &mut self.entries[index as usize];
            if entry.generation == generation
                && let Some(action) = entry.action.take()
            {
                due.push(action);
                self.release(index);
            }
        }
        list.clear();
        self.slots[slot] = list; // keep the allocation
        self.slot_live[slot] = 0;
        self.set_bit(slot, false);
    }

    /// Whole ticks elapsed at `now`.
    fn elapsed_ticks(&self, now: Instant) -> u64 {
        let ms = now.saturating_duration_since(self.origin).as_millis();
        u64::try_from(ms).unwrap_or(u64::MAX)
    }

    /// Armed timers.
    pub(crate) fn len(&self) -> usize {
        self.live
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(log: &std::rc::Rc<std::cell::RefCell<Vec<u32>>>, n: u32) -> Action {
        let log = log.clone();
        Action::Call(Box::new(move || log.borrow_mut().push(n)))
    }

    fn run(due: Vec<Action>) {
        for a in due {
            if let Action::Call(f) = a {
                f()
            }
        }
    }

    #[test]
    fn fires_in_order_near_and_far_and_skips_cancelled() {
        let log = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let mut t = Timers::default();
        let o = t.origin;
        let ms = Duration::from_millis;
        t.add(o + ms(5), call(&log, 5));
        t.add(o + ms(3000), call(&log, 3000)); // beyond the wheel
        let k = t.add(o + ms(7), call(&log, 7));
        t.add(o + ms(1500), call(&log, 1500));
        t.add(o + ms(2), call(&log, 2));
        t.cancel(k);
        assert_eq!(t.len(), 4);
        assert_eq!(t.next_deadline(), Some(o + ms(2)));
        run(t.expire(o + ms(1)));
        assert!(log.borrow().is_empty());
        run(t.expire(o + ms(10)));
        assert_eq!(*log.borrow(), vec![2, 5]);
        assert_eq!(t.next_deadline(), Some(o + ms(1500)));
        run(t.expire(o + ms(2000)));
        assert_eq!(*log.borrow(), vec![2, 5, 1500]);
        run(t.expire(o + ms(3000)));
        assert_eq!(*log.borrow(), vec![2, 5, 1500, 3000]);
        assert_eq!(t.len(), 0);
        assert_eq!(t.next_deadline(), None);
    }

    #[test]
    fn deadlines_round_up_and_past_ones_fire_at_once() {
        let log = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let mut t = Timers::default();
        let o = t.origin;
        run(t.expire(o + Duration::from_millis(50)));
        t.add(o, call(&log, 0)); // in the past
        t.add(o + Duration::from_micros(50_100), call(&log, 1)); // 50.1 ms -> tick 51
        run(t.expire(o + Duration::from_micros(50_500)));
        assert_eq!(*log.borrow(), vec![0]);
        run(t.expire(o + Duration::from_millis(51)));
        assert_eq!(*log.borrow(), vec![0, 1]);
    }

    #[test]
    fn wheel_wraps_around_many_times() {
        let log = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let mut t = Timers::default();
        let o = t.origin;
        for i in 0..5000u32 {
            t.add(o + Duration::from_millis(u64::from(i) * 3), call(&log, i));
        }
        let mut now = 0;
        while t.len() > 0 {
            now += 7;
            if let Some(d) = t.next_deadline() {
                assert!(d >= o + Duration::from_millis(now - 7));
            }
            run(t.expire(o + Duration::from_millis(now)));
        }
        assert_eq!(*log.borrow(), (0..5000).collect::<Vec<_>>());
    }
}
