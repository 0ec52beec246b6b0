//! `Barrier`: `n` fibers wait for each other, then all go on; one of them
//! is the leader. Reusable, as tokio's.

use std::fmt;
use std::panic::Location;
use std::sync::{Mutex, MutexGuard};

use crate::fiber::task::suspend_at;
use crate::sync::wait_queue::WaitQueue;

struct State {
    generation: u64,
    /// The fibers of this generation waiting for the rest.
    waiters: WaitQueue,
}

/// A barrier for `n` fibers (on one thread or several).
///
/// Cancellation: a fiber that is already cancelled does not arrive, and
/// one cancelled while waiting withdraws as if it had not arrived (even if
/// it has not run since), so the generation still needs `n` live arrivals
/// (tokio leaves this unspecified: its `wait` is not cancel safe).
///
/// ```
/// weft::run(|_env| {
///     let b = weft::sync::Barrier::new(3);
///     let leaders = weft::fiber::all((0..3).map(|_| || b.wait().is_leader()));
///     assert_eq!(leaders.iter().filter(|l| **l).count(), 1);
/// });
/// ```
pub struct Barrier {
    n: usize,
    state: Mutex<State>,
}

/// What [`Barrier::wait`] returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BarrierWaitResult(bool);

impl BarrierWaitResult {
    /// Whether this fiber was the leader (exactly one per generation: the
    /// last to arrive).
    ///
    /// ```
    /// weft::run(|_env| assert!(weft::sync::Barrier::new(1).wait().is_leader()));
    /// ```
    pub fn is_leader(&self) -> bool {
        self.0
    }
}

impl Barrier {
    /// A barrier for `n` fibers (0 behaves as 1).
    ///
    /// ```
    /// let b = weft::sync::Barrier::new(2);
    /// ```
    pub fn new(n: usize) -> Self {
        Barrier {
            n: n.max(1),
            state: Mutex::new(State {
                generation: 0,
                waiters: WaitQueue::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until `n` fibers have called `wait` in this generation. A
    /// cancellation point.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let b = weft::sync::Barrier::new(2);
    ///     let (a, c) = weft::fiber::both(|| b.wait(), || b.wait());
    ///     assert!(a.is_leader() != c.is_leader());
    /// });
    /// ```
    #[track_caller]
    pub fn wait(&self) -> BarrierWaitResult {
        let location = Location::caller();
        // A cancelled fiber does not arrive.
        if let Err(c) = crate::fiber::try_check() {
            c.unwind();
        }
        let mut st = self.lock();
        // Waiters cancelled since they arrived no longer count.
        st.waiters.purge_stale();
        if st.waiters.len() + 1 >= self.n {
            st.generation += 1;
            st.waiters.wake_all();
            return BarrierWaitResult(true);
        }
        let mut key = None;
        let r = suspend_at(
            location,
            crate::console::events::WaitKind::Barrier,
            true,
            |resumer| {
                let mut st = st;
                key = Some(st.waiters.push(resumer));
            },
        );
        if let Err(c) = r {
            if let Some(k) = key {
                self.lock().waiters.remove(k);
            }
            c.unwind();
        }
        BarrierWaitResult(false)
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut st = self.lock();
        st.waiters.purge_stale();
        f.debug_struct("Barrier")
            .field("n", &self.n)
            .field("arrived", &st.waiters.len())
            .field("generation", &st.generation)
            .finish()
    }
}
