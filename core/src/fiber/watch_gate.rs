//! The start gate of a watched branch (`fiber::first_watch`).
//!
//! A loop that races its work against an exit signal (`loop { select! {
//! work, shutdown => return } }`) loses the signal branch on almost every
//! iteration. A loser that has started and blocked must be unwound to be
//! stopped (its frames may hold values to drop), and that unwind was two
//! thirds of the instructions of a migrated mini-redis's request. A
//! watched branch is forked as usual when the work first blocks, but
//! before running the caller's closure it waits here, at a runtime-owned
//! wait with nothing of the caller's on its stack: until the work has been
//! blocked for the caller fiber's remaining grace, and then it starts; or
//! until the race is decided (or cancelled) first, and then it returns
//! without starting the closure and without unwinding, so stopping it
//! costs two context switches instead of an unwind.
//!
//! The grace is a per-fiber budget of blocked time, [`GRACE_NANOS`]: time
//! spent at gates that closed without starting is taken from it, and it is
//! whole again when a gate opens. So the signal is observed at most one
//! grace of (cumulative) waiting after it fires, even when the work is
//! ready again every time before a single wait reaches the grace.

use std::panic::Location;

use crate::fiber::scheduler;
use crate::fiber::task::{suspend_at, Fiber};
use crate::time::timers::TimerAction;

/// How long a caller's work may be blocked, in total over consecutive
/// watched races, before their watched branches start: 10 ms.
pub(crate) const GRACE_NANOS: u64 = 10_000_000;

/// Waits at the gate of a branch watched by `caller`'s race. Returns true
/// when the branch may start (the grace has run out: it is whole again),
/// false when the race was decided or cancelled first (the branch must not
/// start; the time waited is taken from the grace).
#[track_caller]
pub(crate) fn wait(caller: &Fiber) -> bool {
    let left = caller.local.watch_grace.get();
    if left == 0 {
        caller.local.watch_grace.set(GRACE_NANOS);
        return true;
    }
    let now = || scheduler::expect("fiber::first_watch", |s| s.clock.now_nanos());
    let start = now();
    let mut key = None;
    let r = suspend_at(
        Location::caller(),
        // The gate is a timer wait: the console shows it as a sleep.
        crate::console::events::WaitKind::Sleep,
        true,
        |resumer| {
            key = scheduler::with(|s| {
                s.timers
                    .borrow_mut()
                    .add(start.saturating_add(left), TimerAction::Resume(resumer))
            });
        },
    );
    let opened = r.is_ok() && !scheduler::with_current(|f| f.local.cancelled.get()).unwrap_or(true);
    if r.is_err() {
        if let Some(key) = key {
            scheduler::with(|s| s.timers.borrow_mut().remove(key));
        }
    }
    if opened {
        caller.local.watch_grace.set(GRACE_NANOS);
    } else {
        let spent = now().saturating_sub(start);
        caller.local.watch_grace.set(left.saturating_sub(spent));
    }
    opened
}
