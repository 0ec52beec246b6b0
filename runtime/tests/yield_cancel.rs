//! A fiber cancelled while it sits in the run queue (already woken, not yet
//! running) unwinds at the call that suspended it, as tokio drops a task's
//! future at the `.await` where it was parked: the code after that call
//! never runs. Covers `yield_now`, `sleep` and `Promise::await_` (the
//! suspension points whose wake-up hands nothing over).

use std::cell::Cell;
use std::time::Duration;

use weft::fiber;

fn mock() -> weft::Runtime {
    weft::Runtime::builder().mock_clock(true).build().unwrap()
}

/// Sets its flag when dropped (destructors must run on the unwind).
struct Flag<'a>(&'a Cell<bool>);

impl Drop for Flag<'_> {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

#[test]
fn a_fiber_cancelled_in_the_run_queue_unwinds_at_its_yield() {
    mock().run(|_env| {
        let reached = Cell::new(false);
        let dropped = Cell::new(false);
        // `a` runs first and yields (to the back of the queue); `b` runs,
        // wins and cancels `a` while `a` is queued, not waiting.
        let winner = fiber::first(
            || {
                let _flag = Flag(&dropped);
                fiber::yield_now();
                reached.set(true);
                "a"
            },
            || "b",
        );
        assert_eq!(winner, "b");
        assert!(!reached.get(), "code after the cancelled yield ran");
        assert!(dropped.get(), "destructors ran on the unwind");
    });
}

#[test]
fn a_yield_loop_stops_at_the_first_yield_after_cancellation() {
    mock().run(|_env| {
        let after_cancel = Cell::new(0u32);
        let cancelled = Cell::new(false);
        fiber::first(
            || loop {
                if cancelled.get() {
                    after_cancel.set(after_cancel.get() + 1);
                }
                fiber::yield_now();
            },
            || {
                fiber::yield_now();
                cancelled.set(true);
            },
        );
        // The loop never saw the flag: the yield it was queued in when the
        // sibling set it and cancelled it unwound.
        assert_eq!(after_cancel.get(), 0);
    });
}

#[test]
fn a_sleep_woken_by_its_timer_but_cancelled_before_running_unwinds() {
    mock().run(|_env| {
        let reached = Cell::new(false);
        let winner = fiber::first(
            || {
                // Let `b` register its timer first: both fire at the same
                // mock instant, `b` is queued first, wins and cancels `a`,
                // which is already woken and queued.
                fiber::yield_now();
                weft::time::sleep(Duration::from_secs(1));
                reached.set(true);
                "a"
            },
            || {
                weft::time::sleep(Duration::from_secs(1));
                "b"
            },
        );
        assert_eq!(winner, "b");
        assert!(!reached.get(), "code after the cancelled sleep ran");
    });
}

#[test]
fn a_promise_await_woken_but_cancelled_before_running_unwinds() {
    mock().run(|_env| {
        let (p, r) = weft::Promise::<u32>::new();
        let reached = Cell::new(false);
        let winner = fiber::first(
            || {
                let v = *p.await_();
                reached.set(true);
                v
            },
            || {
                // Wakes `a` (queued), then wins and cancels it.
                r.resolve(1);
                2
            },
        );
        assert_eq!(winner, 2);
        assert!(!reached.get(), "code after the cancelled await ran");
        // The value stays in the promise for everyone else.
        assert_eq!(p.peek(), Some(&1));
    });
}

#[test]
fn protect_still_shields_a_yield() {
    mock().run(|_env| {
        let reached = Cell::new(false);
        let r = weft::time::timeout(Duration::from_millis(1), || {
            weft::cancel::protect(|| {
                weft::time::sleep(Duration::from_millis(5));
                fiber::yield_now();
                reached.set(true);
            });
            fiber::check();
        });
        assert!(r.is_err());
        assert!(reached.get(), "protected code was cut short");
    });
}
