//! Pool and Lazy: Eio's pool.md and lazy.md behaviours.

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use weft::sync::{Lazy, Pool};

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
fn lazy_runs_the_initializer_once_for_concurrent_callers() {
    weft::run(|_env| {
        let runs = Cell::new(0);
        let l = Lazy::new(|| {
            runs.set(runs.get() + 1);
            weft::fiber::yield_now();
            42
        });
        let v = weft::fiber::all((0..4).map(|_| || *l.force()));
        assert_eq!(v, [42; 4]);
        assert_eq!(runs.get(), 1);
    });
}

#[test]
fn lazy_retries_after_a_cancelled_initializer() {
    weft::Runtime::builder()
        .mock_clock(true)
        .build()
        .unwrap()
        .run(|_env| {
            let runs = Cell::new(0);
            let l = Lazy::new(|| {
                runs.set(runs.get() + 1);
                if runs.get() == 1 {
                    weft::time::sleep(Duration::from_secs(100));
                }
                "ready"
            });
            assert!(weft::time::timeout(Duration::from_secs(1), || *l.force()).is_err());
            assert_eq!(*l.force(), "ready");
            assert_eq!(runs.get(), 2);
        });
}

#[test]
fn lazy_records_a_panic_for_later_callers() {
    weft::run(|_env| {
        let l: Lazy<u8, _> = Lazy::new(|| panic!("config missing"));
        let first = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| *l.force()));
        assert!(first.is_err());
        let second = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| *l.force()));
        let msg = weft_panic_message(second.unwrap_err());
        assert!(msg.contains("config missing"), "{msg}");
    });

    fn weft_panic_message(p: Box<dyn std::any::Any + Send>) -> String {
        p.downcast_ref::<String>().cloned().unwrap_or_default()
    }
}

#[test]
fn lazy_is_shared_across_threads() {
    let runs = Arc::new(AtomicUsize::new(0));
    let r = runs.clone();
    let l = Arc::new(Lazy::new(move || {
        r.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(5));
        7
    }));
    let ts: Vec<_> = (0..3)
        .map(|_| {
            let l = l.clone();
            std::thread::spawn(move || weft::run(|_env| *l.force()))
        })
        .collect();
    for t in ts {
        assert_eq!(t.join().unwrap(), 7);
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}
