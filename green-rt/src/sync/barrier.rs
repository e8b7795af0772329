//! The green `Barrier`.

use std::fmt;

use crate::rt::spin::SpinLock;
use crate::rt::waiter::{self, WaitQueue};

/// Lets `n` greenlets (or threads) wait for each other; mirrors
/// [`std::sync::Barrier`]. A waiter that is killed before the barrier
/// opens is withdrawn from the count.
pub struct Barrier {
    n: usize,
    state: SpinLock<State>,
}

#[derive(Debug)]
struct State {
    count: usize,
    generation: u64,
    waiters: WaitQueue,
}

/// Returned by [`Barrier::wait`]; mirrors [`std::sync::BarrierWaitResult`]
/// (whose values cannot be built outside std).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BarrierWaitResult(bool);

impl BarrierWaitResult {
    /// Whether this waiter is the leader: exactly one per opening.
    pub fn is_leader(&self) -> bool {
        self.0
    }
}

impl Barrier {
    /// A barrier for `n` parties (`0` behaves as `1`, as in std). `const`.
    pub const fn new(n: usize) -> Barrier {
        Barrier {
            n,
            state: SpinLock::new(State {
                count: 0,
                generation: 0,
                waiters: WaitQueue::new("Barrier"),
            }),
        }
    }

    /// Parks until `n` parties have called `wait`.
    pub fn wait(&self) -> BarrierWaitResult {
        let generation = {
            let mut s = waiter::lock(&self.state);
            s.count += 1;
            if s.count >= self.n {
                s.count = 0;
                s.generation += 1;
                s.waiters.notify_all();
                return BarrierWaitResult(true);
            }
            s.generation
        };
        struct Withdraw<'a>(&'a Barrier, u64, bool);
        impl Drop for Withdraw<'_> {
            fn drop(&mut self) {
                if self.2 {
                    let mut s = waiter::lock(&self.0.state);
                    if s.generation == self.1 {
                        s.count -= 1;
                    }
                }
            }
        }
        let mut guard = Withdraw(self, generation, true);
        waiter::wait_until(
            &self.state,
            |s| &mut s.waiters,
            |s| (s.generation != generation).then_some(()),
            None,
        );
        guard.2 = false;
        BarrierWaitResult(false)
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier")
            .field("n", &self.n)
            .finish_non_exhaustive()
    }
}
