//! `weft::sync::CancellationToken` (tokio_util's): the token tree, waiting
//! in `cancelled()` (woken from this thread and from others, and itself a
//! cancellation point), `run_until_cancelled` unwinding its closure like a
//! weft cancellation, and drop guards.
//!
//! Tests that cancel from another thread run on the system clock (a mock
//! clock would jump to the bounding timeout while the fibers wait for the
//! other thread); every wait is bounded by a `timeout`.

use std::cell::Cell;
use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use weft::fiber;
use weft::sync::{CancellationToken, DropGuard};

/// Bound on every wait for another thread: a hang fails the test.
const BOUND: Duration = Duration::from_secs(20);

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
fn tokens_are_send_sync_clone_and_clones_share_one_state() {
    fn shareable<T: Send + Sync + Clone + 'static>() {}
    shareable::<CancellationToken>();
    fn sendable<T: Send + Sync>() {}
    sendable::<DropGuard>();

    let t = CancellationToken::new();
    let clone = t.clone();
    assert!(!clone.is_cancelled());
    t.cancel();
    assert!(clone.is_cancelled());
    assert!(CancellationToken::default().is_cancelled().eq(&false));
}

#[test]
fn children_are_cancelled_with_their_parent_and_never_the_other_way() {
    let root = CancellationToken::new();
    let child = root.child_token();
    let grandchild = child.child_token();
    let sibling = root.child_token();

    grandchild.cancel();
    assert!(grandchild.is_cancelled());
    assert!(!child.is_cancelled() && !root.is_cancelled() && !sibling.is_cancelled());

    let late = child.child_token();
    root.cancel();
    for t in [&root, &child, &sibling, &late] {
        assert!(t.is_cancelled());
    }
    // A child of a cancelled token is born cancelled.
    assert!(root.child_token().is_cancelled());
}

#[test]
fn dropped_children_leave_the_parent_working() {
    let root = CancellationToken::new();
    for _ in 0..1000 {
        let c = root.child_token();
        drop(c.child_token());
    }
    let kept = root.child_token();
    assert!(format!("{root:?}").contains("children: 1"), "{root:?}");
    root.cancel();
    assert!(kept.is_cancelled());
}

#[test]
fn cancelled_wakes_every_waiter_on_this_thread() {
    mock().run(|_env| {
        let t = CancellationToken::new();
        let woken = Cell::new(0);
        let r = weft::time::timeout(Duration::from_secs(10), || {
            weft::Switch::run(|sw| {
                for _ in 0..5 {
                    let t = t.child_token();
                    let woken = &woken;
                    sw.fork(move || {
                        t.cancelled();
                        woken.set(woken.get() + 1);
                    });
                }
                assert_eq!(woken.get(), 0, "nobody passes before the cancel");
                t.cancel();
                Ok(())
            })
        });
        assert!(r.is_ok(), "every waiter was woken");
        assert_eq!(woken.get(), 5);
        // Already cancelled: returns at once.
        t.cancelled();
    });
}

#[test]
fn cancelled_is_a_cancellation_point() {
    mock().run(|_env| {
        let t = CancellationToken::new();
        let dropped = Cell::new(false);
        let after = Cell::new(false);
        let r = weft::time::timeout(Duration::from_secs(1), || {
            let _flag = Flag(&dropped);
            t.cancelled();
            after.set(true);
        });
        assert!(r.is_err(), "the wait was cancelled by the timeout");
        assert!(dropped.get(), "destructors ran");
        assert!(!after.get(), "the code after the wait did not run");
        // The cancelled wait was withdrawn from the token.
        assert!(format!("{t:?}").contains("waiters: 0"), "{t:?}");
        t.cancel();
        t.cancelled();
    });
}

#[test]
fn a_cancel_from_another_thread_wakes_a_waiting_fiber() {
    for _ in 0..50 {
        weft::run(|_env| {
            let t = CancellationToken::new();
            let remote = t.clone();
            let (ready_tx, ready_rx) = std_mpsc::channel::<()>();
            let canceller = std::thread::spawn(move || {
                ready_rx.recv().unwrap();
                remote.cancel();
            });
            let r = weft::time::timeout(BOUND, || {
                ready_tx.send(()).unwrap();
                t.cancelled();
            });
            canceller.join().unwrap();
            assert!(
                r.is_ok(),
                "the fiber was woken by the other thread's cancel"
            );
        });
    }
}

#[test]
fn fibers_on_several_runtimes_wait_for_one_token_cancelled_elsewhere() {
    let t = CancellationToken::new();
    let (ready_tx, ready_rx) = std_mpsc::channel::<()>();
    let canceller = {
        let t = t.clone();
        std::thread::spawn(move || {
            for _ in 0..3 {
                ready_rx.recv().unwrap();
            }
            t.cancel();
        })
    };
    let ready_tx = std::sync::Mutex::new(ready_tx);
    let woken = weft::run_on_cores(3, |_env, _core| {
        let child = t.child_token();
        weft::time::timeout(BOUND, || {
            let tx = ready_tx.lock().unwrap().clone();
            tx.send(()).unwrap();
            child.cancelled();
        })
        .is_ok()
    });
    canceller.join().unwrap();
    assert_eq!(woken, [true, true, true]);
}

#[test]
fn run_until_cancelled_returns_the_value_of_a_closure_that_finishes() {
    mock().run(|_env| {
        let t = CancellationToken::new();
        let v = t.run_until_cancelled(|| {
            weft::time::sleep(Duration::from_millis(5));
            "done"
        });
        assert_eq!(v, Some("done"));
        assert!(!t.is_cancelled());
        // The watcher fiber withdrew its wait when the closure finished.
        assert!(format!("{t:?}").contains("waiters: 0"), "{t:?}");
        t.cancel();
    });
}

#[test]
fn run_until_cancelled_does_not_start_when_already_cancelled() {
    mock().run(|_env| {
        let t = CancellationToken::new();
        t.cancel();
        let ran = Cell::new(false);
        assert_eq!(t.run_until_cancelled(|| ran.set(true)), None);
        assert!(!ran.get());
    });
}

#[test]
fn run_until_cancelled_unwinds_the_closure_when_the_token_is_cancelled() {
    mock().run(|_env| {
        let t = CancellationToken::new();
        let dropped = Cell::new(false);
        let after = Cell::new(false);
        let (r, ()) = fiber::both(
            || {
                t.run_until_cancelled(|| {
                    let _flag = Flag(&dropped);
                    weft::time::sleep(Duration::from_secs(3600));
                    after.set(true);
                })
            },
            || {
                weft::time::sleep(Duration::from_millis(1));
                t.cancel();
            },
        );
        assert_eq!(r, None);
        assert!(dropped.get(), "destructors ran on the unwind");
        assert!(!after.get(), "the closure stopped at its blocking call");
        // The caller itself is not cancelled: it goes on blocking normally.
        weft::time::sleep(Duration::from_millis(1));
    });
}

#[test]
fn run_until_cancelled_is_stopped_by_a_parent_token() {
    mock().run(|_env| {
        let root = CancellationToken::new();
        let child = root.child_token();
        let (r, ()) = fiber::both(
            || child.run_until_cancelled(|| -> u8 { fiber::await_cancel() }),
            || root.cancel(),
        );
        assert_eq!(r, None);
    });
}

#[test]
fn run_until_cancelled_is_cancelled_from_another_thread() {
    for _ in 0..50 {
        weft::run(|_env| {
            let t = CancellationToken::new();
            let remote = t.clone();
            let (ready_tx, ready_rx) = std_mpsc::channel::<()>();
            let canceller = std::thread::spawn(move || {
                ready_rx.recv().unwrap();
                remote.cancel();
            });
            let dropped = Cell::new(false);
            let r = weft::time::timeout(BOUND, || {
                t.run_until_cancelled(|| {
                    let _flag = Flag(&dropped);
                    ready_tx.send(()).unwrap();
                    weft::time::sleep(BOUND * 2);
                })
            });
            canceller.join().unwrap();
            assert_eq!(r, Ok(None), "the token (not the bound) stopped it");
            assert!(dropped.get());
        });
    }
}

#[test]
fn a_cancelled_caller_keeps_unwinding_instead_of_getting_none() {
    mock().run(|_env| {
        let t = CancellationToken::new();
        let got_none = Cell::new(false);
        let r = weft::time::timeout(Duration::from_millis(5), || {
            let v = t.run_until_cancelled(|| weft::time::sleep(Duration::from_secs(3600)));
            got_none.set(v.is_none());
        });
        assert!(r.is_err(), "the timeout's cancellation reached the caller");
        assert!(!got_none.get());
        assert!(!t.is_cancelled());
    });
}

#[test]
fn a_panic_in_run_until_cancelled_is_re_raised() {
    mock().run(|_env| {
        let t = CancellationToken::new();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            t.run_until_cancelled(|| -> () { panic!("inside") })
        }));
        let payload = r.unwrap_err();
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"inside"));
    });
}

#[test]
fn a_drop_guard_cancels_unless_disarmed() {
    let t = CancellationToken::new();
    let kept = t.clone().drop_guard().disarm();
    assert!(!kept.is_cancelled());
    {
        let _guard = t.clone().drop_guard();
        assert!(!t.is_cancelled());
    }
    assert!(t.is_cancelled());
}

#[test]
fn a_borrowing_drop_guard_cancels_unless_disarmed() {
    let t = CancellationToken::new();
    let same = t.drop_guard_ref().disarm();
    assert!(!same.is_cancelled());
    {
        let _guard = t.drop_guard_ref();
        assert!(!t.is_cancelled());
    }
    assert!(t.is_cancelled());
}

#[test]
fn the_owned_forms_behave_like_the_borrowed_ones() {
    mock().run(|_env| {
        let t = CancellationToken::new();
        let (waiter, runner) = (t.clone(), t.clone());
        let (r, ()) = fiber::both(
            move || runner.run_until_cancelled_owned(|| -> u8 { fiber::await_cancel() }),
            || {
                fiber::both(move || waiter.cancelled_owned(), || t.cancel());
            },
        );
        assert_eq!(r, None);
    });
}

#[test]
fn a_drop_guard_stops_a_worker_when_its_owner_unwinds() {
    mock().run(|_env| {
        let t = CancellationToken::new();
        let worker_result = Cell::new(Some(1u8));
        weft::Switch::run(|sw| {
            let token = t.clone();
            let worker_result = &worker_result;
            sw.fork(move || {
                worker_result.set(token.run_until_cancelled(|| fiber::await_cancel()));
            });
            let guard = t.clone().drop_guard();
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
                let _guard = guard;
                panic!("owner failed");
            }));
            assert!(r.is_err());
            Ok(())
        })
        .unwrap();
        assert!(t.is_cancelled());
        assert_eq!(worker_result.get(), None);
    });
}

#[test]
fn a_cancel_racing_with_the_closure_has_exactly_one_outcome() {
    // Another thread cancels while the closure is finishing. Either the
    // closure's value is returned (and it ran to its end), or `None` is
    // (and the closure stopped at a blocking call, or never started):
    // never a value from a closure that was cut short, never a hang.
    let (tx, rx) = std_mpsc::channel::<CancellationToken>();
    let canceller = std::thread::spawn(move || {
        for t in rx {
            t.cancel();
        }
    });
    let (mut finished, mut stopped) = (0, 0);
    weft::run(|_env| {
        for i in 0..2000u32 {
            let t = CancellationToken::new();
            tx.send(t.clone()).unwrap();
            let completed = Cell::new(false);
            let r = weft::time::timeout(BOUND, || {
                t.run_until_cancelled(|| {
                    for _ in 0..(i % 4) {
                        fiber::yield_now();
                    }
                    completed.set(true);
                    i
                })
            })
            .expect("bounded: the token's cancel was not lost");
            match r {
                Some(v) => {
                    assert_eq!(v, i);
                    assert!(completed.get());
                    finished += 1;
                }
                None => {
                    assert!(!completed.get(), "a completed closure's value was dropped");
                    stopped += 1;
                }
            }
            // Every token is cancelled by the other thread in the end.
            weft::time::timeout(BOUND, || t.cancelled()).expect("the cancel arrived");
        }
    });
    drop(tx);
    canceller.join().unwrap();
    assert_eq!(finished + stopped, 2000);
}
