//! Pool: Eio's pool.md behaviours (create on demand, reuse, validate,
//! dispose, failing create, cancelled waiters).

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use weft::sync::Pool;

#[test]
fn pool_creates_on_demand_up_to_max_and_reuses() {
    weft::run(|_env| {
        let created = Arc::new(AtomicUsize::new(0));
        let c = created.clone();
        let pool = Pool::new(2, move || c.fetch_add(1, Ordering::SeqCst));
        let ids = weft::fiber::all((0..6).map(|_| {
            || {
                pool.use_(|id| {
                    weft::fiber::yield_now();
                    *id
                })
            }
        }));
        assert_eq!(created.load(Ordering::SeqCst), 2);
        assert!(ids.iter().all(|id| *id < 2));
    });
}

#[test]
fn pool_validates_before_reuse_and_disposes_rejects() {
    weft::run(|_env| {
        let disposed = Arc::new(AtomicUsize::new(0));
        let d = disposed.clone();
        let next = Arc::new(AtomicUsize::new(0));
        let n = next.clone();
        // Resource 0 goes bad after its first use; later ones stay good.
        let pool = Pool::new(1, move || n.fetch_add(1, Ordering::SeqCst))
            .validate(|id| *id != 0)
            .dispose(move |_| {
                d.fetch_add(1, Ordering::SeqCst);
            });
        assert_eq!(pool.use_(|id| *id), 0); // fresh: not validated
        assert_eq!(pool.use_(|id| *id), 1); // 0 rejected, disposed, replaced
        assert_eq!(pool.use_(|id| *id), 1); // 1 is valid: reused
        assert_eq!(disposed.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn a_failing_create_fails_that_use_and_frees_the_slot() {
    weft::run(|_env| {
        let attempts = Arc::new(AtomicUsize::new(0));
        let a = attempts.clone();
        let pool = Pool::new(1, move || {
            if a.fetch_add(1, Ordering::SeqCst) == 0 {
                panic!("connection refused");
            }
            "conn"
        });
        let first = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| pool.use_(|c| *c)));
        assert!(first.is_err());
        assert_eq!(pool.use_(|c| *c), "conn");
    });
}

#[test]
fn a_waiter_cancelled_while_waiting_for_a_resource_takes_none() {
    weft::Runtime::builder()
        .mock_clock(true)
        .build()
        .unwrap()
        .run(|_env| {
            let pool = Pool::new(1, || ());
            let uses = Cell::new(0);
            weft::Switch::run(|sw| {
                sw.fork(|| {
                    pool.use_(|_| weft::time::sleep(Duration::from_secs(10)));
                    uses.set(uses.get() + 1);
                });
                let r = weft::time::timeout(Duration::from_secs(1), || pool.use_(|_| ()));
                assert!(r.is_err());
                // Still usable afterwards; the holder finishes normally.
                pool.use_(|_| uses.set(uses.get() + 1));
                Ok(())
            })
            .unwrap();
            assert_eq!(uses.get(), 2);
        });
}

#[test]
fn a_resource_handed_straight_to_a_waiter_is_validated_too() {
    weft::Runtime::builder()
        .mock_clock(true)
        .build()
        .unwrap()
        .run(|_env| {
            let disposed = Arc::new(std::sync::Mutex::new(Vec::new()));
            let d = disposed.clone();
            let next = Arc::new(AtomicUsize::new(0));
            let n = next.clone();
            // Resource 0 goes bad during its first use.
            let pool = Pool::new(1, move || n.fetch_add(1, Ordering::SeqCst))
                .validate(|id| *id != 0)
                .dispose(move |id| d.lock().unwrap().push(id));
            let got = weft::Switch::run(|sw| {
                sw.fork(|| pool.use_(|_| weft::time::sleep(Duration::from_secs(1))));
                // The holder has resource 0; this use waits for it and is
                // handed it on release.
                Ok(pool.use_(|id| *id))
            })
            .unwrap();
            assert_eq!(got, 1, "the rejected resource was replaced");
            assert_eq!(*disposed.lock().unwrap(), vec![0]);
            assert_eq!(pool.use_(|id| *id), 1, "the replacement is reused");
        });
}

#[test]
fn an_already_cancelled_fiber_that_must_wait_unwinds_with_cancelled() {
    weft::Runtime::builder()
        .mock_clock(true)
        .build()
        .unwrap()
        .run(|_env| {
            let pool = Pool::new(1, || ());
            // (checked after the switch: it keeps its first failure)
            let unwound_with = std::cell::RefCell::new(None);
            let outcome = weft::Switch::run(|sw| {
                sw.fork(|| pool.use_(|_| weft::time::sleep(Duration::from_secs(1))));
                sw.fail(weft::Error::msg("stop"));
                // The body's context is cancelled and the pool is in use.
                let waited =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| pool.use_(|_| ())));
                *unwound_with.borrow_mut() =
                    Some(waited.map_err(|p| weft::cancel::is_cancellation(p.as_ref())));
                Ok(())
            });
            assert_eq!(outcome.unwrap_err().to_string(), "stop");
            assert_eq!(
                unwound_with.into_inner(),
                Some(Err(true)),
                "use_ unwound with Cancelled"
            );
            // The holder was cancelled and gave the resource back.
            assert_eq!(pool.use_(|_| 7), 7);
        });
}
