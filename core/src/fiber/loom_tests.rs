//! Model checking of the cross-thread wake path with loom: every
//! interleaving (up to loom's bounds) of the real `WaitState` and
//! `Handoff` code.
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test -p weft-core --lib --release loom_`

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;

use super::handoff::{Handoff, Wake};
use super::wait_state::{Outcome, WaitState};

/// A resumer on another thread races a cancellation on the owner's
/// thread: exactly one wins, and the owner sees that one's outcome.
#[test]
fn loom_resume_against_cancel_has_one_winner() {
    loom::model(|| {
        let state = Arc::new(WaitState::new());
        let token = state.begin(true);
        let wins = Arc::new(AtomicUsize::new(0));
        let (s, w) = (state.clone(), wins.clone());
        let remote = thread::spawn(move || {
            if s.try_resume(token) {
                w.fetch_add(1, Ordering::SeqCst);
                true
            } else {
                false
            }
        });
        let cancelled = state.try_cancel();
        if cancelled {
            wins.fetch_add(1, Ordering::SeqCst);
        }
        let resumed = remote.join().unwrap();
        assert_eq!(wins.load(Ordering::SeqCst), 1);
        assert_eq!(resumed, !cancelled);
        let expected = if cancelled {
            Outcome::Cancelled
        } else {
            Outcome::Resumed
        };
        assert_eq!(state.outcome(token), expected);
    });
}

/// A resumer holding the token of an earlier suspension never ends a
/// later one (stale wake-ups are harmless).
#[test]
fn loom_stale_resumer_never_wins() {
    loom::model(|| {
        let state = Arc::new(WaitState::new());
        let old = state.begin(true);
        assert!(state.try_resume(old));
        let new = state.begin(true);
        let s = state.clone();
        let stale = thread::spawn(move || s.try_resume(old));
        let fresh = state.try_resume(new);
        assert!(!stale.join().unwrap());
        assert!(fresh);
    });
}

/// Two resumers of the same suspension: exactly one schedules the fiber.
#[test]
fn loom_double_resume_schedules_once() {
    loom::model(|| {
        let state = Arc::new(WaitState::new());
        let token = state.begin(false);
        let s = state.clone();
        let other = thread::spawn(move || s.try_resume(token));
        let mine = state.try_resume(token);
        let theirs = other.join().unwrap();
        assert!(mine ^ theirs);
        // A protected wait cannot be cancelled.
        assert!(!state.try_cancel());
    });
}

/// The scheduler parks only when no work is pending, or the producer is
/// told to wake it (where it sleeps: backend or futex): a pushed item is
/// never left unseen by a parked scheduler.
#[test]
fn loom_handoff_never_loses_a_wake_up() {
    for on_futex in [false, true] {
        loom::model(move || {
            let handoff = Arc::new(Handoff::<u32>::new());
            let woken = Arc::new(AtomicUsize::new(0));
            let (h, w) = (handoff.clone(), woken.clone());
            let producer = thread::spawn(move || {
                let wake = h.push(7);
                if wake != Wake::Nothing {
                    assert_eq!(
                        wake == Wake::Futex,
                        on_futex,
                        "the producer must wake the consumer where it sleeps"
                    );
                    w.fetch_add(1, Ordering::SeqCst);
                }
            });
            let mut seen = handoff.take();
            if seen.is_empty() && handoff.prepare_park(on_futex, false) {
                // We parked with nothing seen: the producer must wake us.
                producer.join().unwrap();
                assert_eq!(
                    woken.load(Ordering::SeqCst),
                    1,
                    "a parked consumer was not woken"
                );
                handoff.unpark();
            } else {
                producer.join().unwrap();
            }
            seen.extend(handoff.take());
            assert_eq!(seen, [7]);
        });
    }
}

/// A lazy park (the consumer sleeps with a short timeout of its own) and
/// lazy pushes: a lazy push never wakes a lazily parked consumer, a plain
/// push always wakes a parked one, and the item is there when the
/// consumer looks after its sleep, whoever went first.
#[test]
fn loom_lazy_park_finds_every_item_after_its_sleep() {
    for (lazy_park, lazy_push) in [(true, true), (true, false), (false, true)] {
        loom::model(move || {
            let handoff = Arc::new(Handoff::<u32>::new());
            let h = handoff.clone();
            let producer =
                thread::spawn(move || if lazy_push { h.push_lazy(7) } else { h.push(7) });
            let mut seen = handoff.take();
            let parked = seen.is_empty() && handoff.prepare_park(true, lazy_park);
            let wake = producer.join().unwrap();
            if parked {
                if !(lazy_park && lazy_push) {
                    // Pushed before the park: the park failed instead;
                    // after it: the producer must wake us.
                    assert_eq!(wake, Wake::Futex, "a parked consumer was not woken");
                }
                // Woken, or the lazy sleep's timeout ended.
                handoff.unpark();
            } else {
                assert_eq!(wake, Wake::Nothing, "an awake consumer was woken");
            }
            seen.extend(handoff.take());
            assert_eq!(seen, [7]);
        });
    }
}
