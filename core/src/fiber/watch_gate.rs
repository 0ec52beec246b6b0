//! The start gate of a watched branch (`fiber::first_watch`).
//!
//! A loop that races its work against an exit signal (`loop { select! {
//! work, shutdown => return } }`) loses the signal branch on almost every
//! iteration. A loser that has started and blocked must be unwound to be
//! stopped (its frames may hold values to drop), and that unwind was two
//! thirds of the instructions of a migrated mini-redis's request. So the
//! watched branch starts only once the work has been blocked for the
//! caller fiber's remaining grace; if the race is decided (or cancelled)
//! first, the branch never starts and nothing is unwound.
//!
//! The gate is a timer, not a fiber: when the work first blocks, the race
//! arms a timer for the end of the grace whose action forks the branch (on
//! the scheduler's stack, with the bindings the caller had, as if the
//! caller had forked it then). A race decided before it fires removes it:
//! no fiber was made, so a request's race costs a timer instead of a fork,
//! two context switches and a join (about 610 -> 275 ns a race on the
//! 2-vCPU machine of docs/bench-2026-12-07f.txt).
//!
//! The grace is a per-fiber budget of blocked time, [`GRACE_NANOS`]: time
//! spent at gates that closed without opening is taken from it, and it is
//! whole again when a gate opens. So the signal is observed at most one
//! grace of (cumulative) waiting after it fires, even when the work is
//! ready again every time before a single wait reaches the grace.

use std::cell::{Cell, RefCell};

use crate::fiber::local::{self, Bindings};
use crate::fiber::scheduler;
use crate::fiber::task::Fiber;
use crate::time::timers::{TimerAction, TimerKey};

/// How long a caller's work may be blocked, in total over consecutive
/// watched races, before their watched branches start: 10 ms.
pub(crate) const GRACE_NANOS: u64 = 10_000_000;

#[derive(Clone, Copy)]
enum State {
    /// The work has not blocked yet (or the gate was disarmed).
    Idle,
    /// The timer is queued: armed at `start` with `left` of the grace.
    Armed {
        key: TimerKey,
        start: u64,
        left: u64,
    },
    /// The grace ran out and the branches were forked.
    Opened,
}

/// One watched race's gate. Lives in the race's frame, on the caller's
/// stack; dropping it (also by unwinding) disarms it.
pub(crate) struct Gate<'a> {
    caller: &'a Fiber,
    state: Cell<State>,
    /// The caller's bindings when the work blocked, for the fork.
    bindings: RefCell<Bindings>,
}

impl<'a> Gate<'a> {
    /// A gate of a race run by `caller` (the running fiber).
    pub(crate) fn new(caller: &'a Fiber) -> Self {
        Gate {
            caller,
            state: Cell::new(State::Idle),
            bindings: RefCell::new(None),
        }
    }

    /// Called as the work first blocks, on the caller's stack: forks the
    /// branches now if the caller's grace is spent (`fork`), else arms the
    /// timer whose action, `open`, calls [`Gate::open`] when the grace runs
    /// out.
    ///
    /// # Safety
    /// `open` must stay alive until the gate is disarmed or dropped (the
    /// race's frame holds both, and the gate drops first).
    pub(crate) unsafe fn arm<'o>(&self, fork: &dyn Fn(), open: &'o (dyn Fn() + 'o)) {
        let left = self.caller.local.watch_grace.get();
        if left == 0 {
            self.caller.local.watch_grace.set(GRACE_NANOS);
            self.state.set(State::Opened);
            fork();
            return;
        }
        *self.bindings.borrow_mut() = local::inherited();
        let open: *const (dyn Fn() + 'o) = open;
        // SAFETY: only the lifetime is erased. The timer calls `open`
        // only while it is queued, and `disarm` (at the latest when the
        // gate drops, before `open` goes: the caller's promise) removes
        // it unless it has fired.
        let open = unsafe { crate::fiber::erase::erase_lifetime(open) };
        let armed = scheduler::with(|s| {
            let start = s.clock.now_nanos();
            let key = s
                .timers
                .borrow_mut()
                .add(start.saturating_add(left), TimerAction::Call(open));
            State::Armed { key, start, left }
        });
        if let Some(armed) = armed {
            self.state.set(armed);
        }
    }

    /// The timer's action, on the scheduler's stack: the grace ran out,
    /// so the branches start (`fork`), inheriting the caller's bindings,
    /// and the caller's grace is whole again.
    pub(crate) fn open(&self, fork: &dyn Fn()) {
        self.state.set(State::Opened);
        self.caller.local.watch_grace.set(GRACE_NANOS);
        let bindings = self.bindings.take();
        local::forking_with(bindings, fork);
    }

    /// Ends the gate as the race is decided: a timer still queued is
    /// removed and the time waited is taken from the caller's grace.
    pub(crate) fn disarm(&self) {
        if let State::Armed { key, start, left } = self.state.replace(State::Idle) {
            let spent = scheduler::with(|s| {
                s.timers.borrow_mut().remove(key);
                s.clock.now_nanos().saturating_sub(start)
            })
            .unwrap_or(left);
            self.caller
                .local
                .watch_grace
                .set(left.saturating_sub(spent));
        }
    }
}

impl Drop for Gate<'_> {
    fn drop(&mut self) {
        self.disarm();
    }
}
