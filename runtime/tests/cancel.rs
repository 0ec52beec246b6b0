//! Cancellation (Eio's cancel.md): every blocking call is a cancellation
//! point, destructors run, the panic hook never sees a cancellation,
//! protect, check.

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use weft::fiber;

fn mock() -> weft::Runtime {
    weft::Runtime::builder().mock_clock(true).build().unwrap()
}

/// Runs `block` under a 1 s timeout on the mock clock and checks it was
/// cancelled (not completed).
fn is_cancellable(block: impl FnOnce()) -> bool {
    weft::time::timeout(Duration::from_secs(1), block).is_err()
}

#[test]
fn every_blocking_call_of_the_core_is_a_cancellation_point() {
    mock().run(|_env| {
        assert!(is_cancellable(|| weft::time::sleep(Duration::from_secs(
            10
        ))));
        assert!(is_cancellable(|| {
            let (p, _r) = weft::Promise::<u8>::new();
            p.await_();
        }));
        assert!(is_cancellable(|| {
            let h = weft::spawn(|| weft::time::sleep(Duration::from_secs(10)));
            let _ = h.join();
        }));
        assert!(is_cancellable(|| fiber::await_cancel()));
        // yield_now: cancelled by a sibling (a spinning fiber never lets
        // the mock clock advance, so no timeout here).
        let yields = Cell::new(0u32);
        fiber::first(
            || loop {
                yields.set(yields.get() + 1);
                fiber::yield_now();
            },
            || {
                for _ in 0..3 {
                    fiber::yield_now();
                }
            },
        );
        assert!(yields.get() >= 3);
        // A switch waiting for its fibers: cancellation reaches the fibers
        // (the sleep below never completes), the switch ends promptly, and
        // the cancellation goes on unwinding from Switch::run (as Eio's
        // Switch.run re-raises a fiber's Cancelled): the body's value is not
        // reported as if the work were done.
        let slept = Cell::new(false);
        let r = weft::time::timeout(Duration::from_secs(1), || {
            weft::Switch::run(|sw| {
                sw.fork(|| {
                    weft::time::sleep(Duration::from_secs(10));
                    slept.set(true);
                });
                Ok("body value")
            })
        });
        assert!(r.is_err(), "{r:?}");
        assert!(!slept.get());
    });
}

#[test]
fn cancellation_never_reaches_the_panic_hook_but_panics_do() {
    let hook_calls = Arc::new(AtomicUsize::new(0));
    let calls = hook_calls.clone();
    // Count only this thread's panics (other tests run in parallel).
    let me = std::thread::current().id();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |_| {
        if std::thread::current().id() == me {
            calls.fetch_add(1, Ordering::SeqCst);
        }
    }));
    mock().run(|_env| {
        for _ in 0..100 {
            let _ = weft::time::timeout(Duration::from_secs(1), || fiber::await_cancel());
        }
    });
    let after_cancellations = hook_calls.load(Ordering::SeqCst);
    let _ = std::panic::catch_unwind(|| weft::run(|_env| panic!("a real one")));
    let after_panic = hook_calls.load(Ordering::SeqCst);
    std::panic::set_hook(previous);
    assert_eq!(after_cancellations, 0);
    assert_eq!(after_panic, 1);
}

#[test]
fn destructors_run_when_a_fiber_is_cancelled() {
    mock().run(|_env| {
        let dropped = Cell::new(0);
        struct D<'a>(&'a Cell<u32>);
        impl Drop for D<'_> {
            fn drop(&mut self) {
                self.0.set(self.0.get() + 1);
            }
        }
        let _ = weft::time::timeout(Duration::from_secs(1), || {
            let _a = D(&dropped);
            let _b = D(&dropped);
            weft::time::sleep(Duration::from_secs(10));
        });
        assert_eq!(dropped.get(), 2);
    });
}

#[test]
fn protect_defers_cancellation_to_the_next_cancellation_point() {
    mock().run(|_env| {
        let finished_protected = Cell::new(false);
        let reached_after = Cell::new(false);
        let r = weft::time::timeout(Duration::from_secs(1), || {
            weft::cancel::protect(|| {
                weft::time::sleep(Duration::from_secs(5));
                finished_protected.set(true);
            });
            // Not a cancellation point: runs.
            reached_after.set(true);
            fiber::check(); // is one: unwinds here.
            unreachable!("check unwinds")
        });
        assert!(r.is_err());
        assert!(finished_protected.get());
        assert!(reached_after.get());
    });
}

#[test]
fn blocking_calls_in_destructors_while_unwinding_complete() {
    mock().run(|_env| {
        let cleaned = Cell::new(false);
        struct Cleanup<'a>(&'a Cell<bool>);
        impl Drop for Cleanup<'_> {
            fn drop(&mut self) {
                // Runs during a cancellation unwind: not interrupted again.
                weft::time::sleep(Duration::from_secs(2));
                self.0.set(true);
            }
        }
        let _ = weft::time::timeout(Duration::from_secs(1), || {
            let _c = Cleanup(&cleaned);
            fiber::await_cancel()
        });
        assert!(cleaned.get());
    });
}

#[test]
fn cancelling_a_switch_cancels_nested_switches() {
    mock().run(|_env| {
        let inner_unwound = Cell::new(false);
        let _ = weft::time::timeout(Duration::from_secs(1), || {
            weft::Switch::run(|outer| {
                outer.fork(|| {
                    let _ = weft::Switch::run(|inner| {
                        inner.fork(|| {
                            struct G<'a>(&'a Cell<bool>);
                            impl Drop for G<'_> {
                                fn drop(&mut self) {
                                    self.0.set(true);
                                }
                            }
                            let _g = G(&inner_unwound);
                            weft::time::sleep(Duration::from_secs(10));
                        });
                        Ok(())
                    });
                });
                Ok(())
            })
        });
        assert!(inner_unwound.get());
    });
}

#[test]
fn check_and_is_cancelled() {
    weft::run(|_env| {
        assert!(!fiber::is_cancelled());
        fiber::check();
        let saw = fiber::first(
            || {
                fiber::yield_now();
                fiber::is_cancelled()
            },
            || false,
        );
        assert!(!saw);
    });
}

#[test]
fn a_cancelled_error_returned_by_a_fiber_is_not_a_failure() {
    mock().run(|_env| {
        let r = weft::time::timeout(Duration::from_secs(1), || {
            weft::Switch::run(|sw| {
                sw.fork(|| -> weft::Result<()> {
                    let (p, _r) = weft::Promise::<u8>::new();
                    p.try_await()?; // returns the Cancelled error
                    Ok(())
                });
                Ok(())
            })
        });
        // The timeout cancelled the switch; the fiber returned the
        // cancellation as an error, which is not a failure (Switch::run
        // does not return it as Err): the cancellation unwinds from
        // Switch::run to the timeout instead, which reports it.
        assert!(r.is_err(), "{r:?}");
    });
}
