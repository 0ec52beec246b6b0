//! Switch behaviours (Eio's switch.md): joining, failure propagation with
//! every later failure kept, daemons, on_release, nesting.

use std::cell::RefCell;
use std::time::Duration;

use weft::{Error, Switch};

type Log = RefCell<Vec<String>>;

fn log(l: &Log, s: impl Into<String>) {
    l.borrow_mut().push(s.into());
}

#[test]
fn run_waits_for_every_fiber() {
    let l = Log::default();
    weft::run(|_env| {
        Switch::run(|sw| {
            for i in 0..3 {
                let l = &l;
                sw.fork(move || {
                    weft::time::sleep(Duration::from_millis(3 - i));
                    log(l, format!("fiber {i} done"));
                });
            }
            log(&l, "body done");
            Ok(())
        })
        .unwrap();
        log(&l, "switch done");
    });
    let l = l.into_inner();
    assert_eq!(l.last().unwrap(), "switch done");
    assert_eq!(l.len(), 5);
}

#[test]
fn first_failure_is_returned_and_later_ones_attached() {
    weft::run(|_env| {
        // Both fibers are running (blocked) when the first fails; a fiber
        // forked after the failure would never start.
        let (opened, open) = weft::sync::Promise::new();
        let opened = &opened;
        let r = Switch::run(|sw| {
            sw.fork(|| -> weft::Result<()> {
                opened.await_();
                Err(Error::msg("first"))
            });
            sw.fork(|| -> weft::Result<()> {
                weft::cancel::protect(|| opened.await_());
                Err(Error::msg("second"))
            });
            open.resolve(());
            Ok(())
        });
        let e = r.unwrap_err();
        assert_eq!(e.to_string(), "first");
        assert_eq!(e.suppressed().len(), 1);
        assert_eq!(e.suppressed()[0].to_string(), "second");
        assert!(format!("{e:#}").contains("also failed (1): second"));
    });
}

#[test]
fn body_error_fails_the_switch_and_cancels_fibers() {
    let l = Log::default();
    weft::run(|_env| {
        let r: weft::Result<()> = Switch::run(|sw| {
            sw.fork(|| -> () {
                struct Bye<'a>(&'a Log);
                impl Drop for Bye<'_> {
                    fn drop(&mut self) {
                        log(self.0, "fiber unwound");
                    }
                }
                let _b = Bye(&l);
                weft::fiber::await_cancel()
            });
            "x".parse::<u32>()?;
            Ok(())
        });
        assert!(r
            .unwrap_err()
            .downcast_ref::<std::num::ParseIntError>()
            .is_some());
    });
    assert_eq!(*l.borrow(), ["fiber unwound"]);
}

#[test]
fn a_panic_is_reraised_after_siblings_finish() {
    let l = Log::default();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        weft::run(|_env| {
            let _ = Switch::run(|sw| {
                sw.fork(|| {
                    weft::cancel::protect(|| weft::time::sleep(Duration::from_millis(5)));
                    log(&l, "protected sibling finished");
                });
                sw.fork(|| -> () { panic!("boom") });
                Ok(())
            });
        })
    }));
    assert_eq!(*r.unwrap_err().downcast::<&str>().unwrap(), "boom");
    assert_eq!(*l.borrow(), ["protected sibling finished"]);
}

#[test]
fn daemons_are_cancelled_when_the_rest_finish_and_can_fail_the_switch() {
    let l = Log::default();
    weft::run(|_env| {
        Switch::run(|sw| {
            sw.fork_daemon(|| -> () {
                let _g = scopeguard(&l, "daemon cancelled");
                loop {
                    weft::time::sleep(Duration::from_millis(1));
                }
            });
            sw.fork(|| weft::time::sleep(Duration::from_millis(5)));
            Ok(())
        })
        .unwrap();
        let r = Switch::run(|sw| {
            sw.fork_daemon(|| -> weft::Result<()> { Err(Error::msg("daemon failed")) });
            sw.fork(|| weft::time::sleep(Duration::from_millis(5)));
            Ok(())
        });
        assert_eq!(r.unwrap_err().to_string(), "daemon failed");
    });
    assert_eq!(*l.borrow(), ["daemon cancelled"]);
}

fn scopeguard<'a>(l: &'a Log, msg: &'static str) -> impl Drop + 'a {
    struct G<'a>(&'a Log, &'static str);
    impl Drop for G<'_> {
        fn drop(&mut self) {
            log(self.0, self.1);
        }
    }
    G(l, msg)
}

#[test]
fn on_release_runs_in_reverse_order_even_when_failing() {
    let l = Log::default();
    weft::run(|_env| {
        let r = Switch::run(|sw| {
            sw.on_release(|| log(&l, "release 1"));
            sw.on_release(|| log(&l, "release 2"));
            sw.fork(|| -> weft::Result<()> {
                weft::time::sleep(Duration::from_millis(1));
                log(&l, "fiber failing");
                Err(Error::msg("bad"))
            });
            Ok(())
        });
        assert!(r.is_err());
    });
    assert_eq!(*l.borrow(), ["fiber failing", "release 2", "release 1"]);
}

#[test]
fn fork_on_a_cancelled_switch_starts_cancelled() {
    weft::run(|_env| {
        let ran_past_first_wait = std::cell::Cell::new(false);
        let r = Switch::run(|sw| {
            sw.fail(Error::msg("stop"));
            sw.fork(|| {
                weft::fiber::yield_now();
                ran_past_first_wait.set(true);
            });
            Ok(())
        });
        assert_eq!(r.unwrap_err().to_string(), "stop");
        assert!(!ran_past_first_wait.get());
    });
}

#[test]
fn nested_switch_failure_propagates_outward() {
    weft::run(|_env| {
        let r = Switch::run(|outer| {
            outer.fork(|| -> weft::Result<()> {
                Switch::run(|inner| {
                    inner.fork(|| -> weft::Result<()> { Err(Error::msg("deep")) });
                    Ok(())
                })
            });
            Ok(())
        });
        assert_eq!(r.unwrap_err().to_string(), "deep");
    });
}

#[test]
fn fibers_can_fork_into_their_own_switch_and_borrow_outside_data() {
    weft::run(|_env| {
        let data = vec![1, 2, 3];
        let total = std::cell::Cell::new(0);
        Switch::run(|sw| {
            sw.fork(|| {
                for x in &data {
                    let total = &total;
                    let x = *x;
                    sw.fork(move || total.set(total.get() + x));
                }
            });
            Ok(())
        })
        .unwrap();
        assert_eq!(total.get(), 6);
    });
}

#[test]
fn question_mark_works_in_fibers_and_at_switch_run() {
    fn read_config() -> std::io::Result<String> {
        Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no config",
        ))
    }
    weft::run(|_env| {
        let r: weft::Result<()> = Switch::run(|sw| {
            sw.fork(|| {
                let _ = read_config()?;
                Ok(())
            });
            Ok(())
        });
        let e = r.unwrap_err();
        assert_eq!(
            e.downcast_ref::<std::io::Error>().unwrap().kind(),
            std::io::ErrorKind::NotFound
        );
        // And into a caller that returns io::Result.
        let as_io: std::io::Error = e.into();
        assert_eq!(as_io.kind(), std::io::ErrorKind::NotFound);
    });
}

#[test]
fn a_caller_cancelled_while_the_switch_waits_for_its_fibers_unwinds() {
    weft::Runtime::builder()
        .mock_clock(true)
        .build()
        .unwrap()
        .run(|_env| {
            let finished = std::cell::Cell::new(false);
            let after_run = std::cell::Cell::new(false);
            // The body returns at once; the fiber is still asleep when the
            // timeout cancels the caller.
            let r = weft::time::timeout(std::time::Duration::from_secs(1), || {
                let out = weft::Switch::run(|sw| {
                    sw.fork(|| {
                        weft::time::sleep(std::time::Duration::from_secs(5));
                        finished.set(true);
                    });
                    Ok(())
                });
                after_run.set(true);
                out
            });
            assert!(r.is_err(), "the timeout's cancellation was swallowed");
            assert!(!finished.get());
            assert!(
                !after_run.get(),
                "Switch::run returned Ok to a cancelled caller"
            );
        });
}

#[test]
fn both_and_all_unwind_when_the_caller_is_cancelled_after_one_branch_returned() {
    weft::Runtime::builder()
        .mock_clock(true)
        .build()
        .unwrap()
        .run(|_env| {
            let long = || weft::time::sleep(std::time::Duration::from_secs(5));
            let short = std::time::Duration::from_millis(10);
            assert!(weft::time::timeout(short, || weft::fiber::both(|| 1, long)).is_err());
            assert!(weft::time::timeout(short, || {
                weft::fiber::all([Box::new(|| ()) as Box<dyn FnOnce()>, Box::new(long)])
            })
            .is_err());
            assert!(weft::time::timeout(short, || {
                weft::fiber::map_concurrent(2, [0u64, 5], |s| {
                    weft::time::sleep(std::time::Duration::from_secs(s))
                })
            })
            .is_err());
        });
}

/// A finished switch's state (and context) is reused by the next switch on
/// the thread. The reused context must belong to its new parent only: a
/// failure of the switch the first one ran in must not reach fibers of
/// the second, and a failure of the second's parent must.
#[test]
fn a_switch_reusing_a_finished_switchs_state_answers_to_its_own_parent_only() {
    weft::run(|_env| {
        let (s2_started, s2_started_r) = weft::Promise::new();
        let (a_failed, a_failed_r) = weft::Promise::new();
        let child_went_on = std::cell::Cell::new(false);
        let (s2_started_r, a_failed_r) = (
            RefCell::new(Some(s2_started_r)),
            RefCell::new(Some(a_failed_r)),
        );
        Switch::run(|root| {
            root.fork(|| {
                // Switch A: runs S1 (kept for reuse), waits for S2, fails.
                let a = Switch::run(|_a| {
                    Switch::run(|_s1| Ok(())).unwrap();
                    s2_started.await_();
                    Err::<(), _>(Error::msg("A fails"))
                });
                assert_eq!(a.unwrap_err().to_string(), "A fails");
                a_failed_r.borrow_mut().take().unwrap().resolve(());
            });
            // S2, in the root switch's context, made while A waits.
            let s2 = Switch::run(|s2| {
                s2.fork(|| {
                    s2_started_r.borrow_mut().take().unwrap().resolve(());
                    // Cancelled here if A's failure reached this context.
                    a_failed.await_();
                    child_went_on.set(true);
                });
                Ok(())
            });
            assert!(
                s2.is_ok(),
                "S2 failed: {:?}",
                s2.err().map(|e| e.to_string())
            );
            Ok(())
        })
        .unwrap();
        assert!(child_went_on.get());
        // And the other way: a failing parent does reach a switch made
        // from a reused state.
        // A failed switch's context was cancelled: the switch reusing it
        // starts uncancelled.
        let failed = Switch::run(|_| Err::<(), _>(Error::msg("fails")));
        assert!(failed.is_err());
        let forked_ran = std::cell::Cell::new(false);
        let after = Switch::run(|sw| {
            sw.fork(|| forked_ran.set(true));
            Ok(5)
        });
        assert_eq!(after.unwrap(), 5);
        assert!(forked_ran.get());
        let slept = std::cell::Cell::new(false);
        let outer = Switch::run(|outer| {
            outer.fork(|| {
                Switch::run(|_| Ok(())).unwrap();
                // Unwinds with the outer switch's cancellation.
                let _ = Switch::run(|inner| {
                    inner.fork(|| {
                        weft::time::sleep(Duration::from_secs(10));
                        slept.set(true);
                    });
                    Ok(())
                });
            });
            weft::fiber::yield_now();
            Err::<(), _>(Error::msg("outer fails"))
        });
        assert_eq!(outer.unwrap_err().to_string(), "outer fails");
        assert!(
            !slept.get(),
            "the outer failure did not cancel the inner fiber"
        );
    });
}
