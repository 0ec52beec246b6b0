//! Lazy: Eio's lazy.md behaviours (one run for concurrent callers, retry
//! after cancellation, recorded panics, threads).

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use weft::sync::Lazy;

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
