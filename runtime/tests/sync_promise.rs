//! Promise (Eio's promise.md): many waiters, resolution wakes them all in
//! order, cancellation, fork_promise outcomes, across threads.

use std::cell::RefCell;
use std::time::Duration;

use weft::{Promise, Switch};

#[test]
fn every_waiter_wakes_in_order_when_resolved() {
    weft::run(|_env| {
        let (p, r) = Promise::new();
        let log = RefCell::new(Vec::new());
        Switch::run(|sw| {
            for id in 0..3 {
                let (p, log) = (&p, &log);
                sw.fork(move || {
                    // Await first: a RefCell borrow must not be held
                    // across a suspension.
                    let v = *p.await_();
                    log.borrow_mut().push((id, v));
                });
            }
            assert!(log.borrow().is_empty());
            r.resolve("ok");
            Ok(())
        })
        .unwrap();
        assert_eq!(*log.borrow(), [(0, "ok"), (1, "ok"), (2, "ok")]);
        // Awaiting a resolved promise returns at once.
        assert_eq!(*p.await_(), "ok");
    });
}

#[test]
fn a_cancelled_await_leaves_the_promise_usable() {
    weft::Runtime::builder()
        .mock_clock(true)
        .build()
        .unwrap()
        .run(|_env| {
            let (p, r) = Promise::<u8>::new();
            assert!(weft::time::timeout(Duration::from_secs(1), || *p.await_()).is_err());
            let (v, ()) = weft::fiber::both(|| *p.await_(), || r.resolve(9));
            assert_eq!(v, 9);
        });
}

#[test]
fn fork_promise_carries_values_errors_and_cancellation() {
    weft::Runtime::builder()
        .mock_clock(true)
        .build()
        .unwrap()
        .run(|_env| {
            Switch::run(|sw| {
                let ok = sw.fork_promise(|| 1);
                let panicked = sw.fork_promise(|| -> u8 { panic!("inside") });
                assert_eq!(*ok.await_().as_ref().unwrap(), 1);
                let e = panicked.await_().as_ref().unwrap_err();
                assert!(e.is_panic());
                assert!(e.to_string().contains("inside"));
                Ok(())
            })
            .unwrap();
            // A fork_promise fiber cancelled by its switch resolves as cancelled.
            let (slot, keep) = Promise::new();
            let _ = weft::time::timeout(Duration::from_secs(1), || -> weft::Result<()> {
                Switch::run(|sw| {
                    keep.resolve(sw.fork_promise(|| weft::time::sleep(Duration::from_secs(10))));
                    weft::fiber::await_cancel()
                })
            });
            assert!(slot.await_().await_().as_ref().unwrap_err().is_cancelled());
        });
}

#[test]
fn resolved_from_another_thread() {
    let (p, r) = Promise::new();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(5));
        r.resolve(vec![1, 2, 3]);
    });
    let sum: i32 = weft::run(|_env| p.await_().iter().sum());
    assert_eq!(sum, 6);
    t.join().unwrap();
}
