//! Semaphore with tokio's meaning: FIFO grants, close, cancellation.

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;

use weft::sync::{AcquireError, Semaphore, TryAcquireError};
use weft::Switch;

#[test]
fn a_large_request_at_the_head_blocks_smaller_ones_behind_it() {
    weft::run(|_env| {
        let s = Semaphore::new(2);
        let log = RefCell::new(Vec::new());
        Switch::run(|sw| {
            let held = s.acquire_many(2).unwrap();
            sw.fork(|| {
                let _p = s.acquire_many(2).unwrap();
                log.borrow_mut().push("big");
            });
            sw.fork(|| {
                let _p = s.acquire().unwrap();
                log.borrow_mut().push("small");
            });
            drop(held);
            Ok(())
        })
        .unwrap();
        assert_eq!(*log.borrow(), ["big", "small"]);
    });
}

#[test]
fn a_cancelled_waiter_at_the_head_unblocks_the_ones_behind() {
    weft::Runtime::builder()
        .mock_clock(true)
        .build()
        .unwrap()
        .run(|_env| {
            let s = Semaphore::new(1);
            let got_small = std::cell::Cell::new(false);
            Switch::run(|sw| {
                sw.fork(|| {
                    // Wants more than exist: waits at the head until cancelled.
                    let r =
                        weft::time::timeout(Duration::from_secs(1), || s.acquire_many(5).map(drop));
                    assert!(r.is_err());
                });
                sw.fork(|| {
                    let _p = s.acquire().unwrap();
                    got_small.set(true);
                });
                Ok(())
            })
            .unwrap();
            assert!(got_small.get());
            assert_eq!(s.available_permits(), 1);
        });
}

#[test]
fn close_fails_waiters_and_later_acquires() {
    weft::run(|_env| {
        let s = Semaphore::new(0);
        let r = weft::fiber::both(|| s.acquire().map(|p| p.num_permits()), || s.close());
        assert_eq!(r.0, Err(AcquireError));
        assert!(s.acquire().is_err());
        assert_eq!(s.try_acquire().unwrap_err(), TryAcquireError::Closed);
    });
}

#[test]
fn permits_return_on_drop_and_forget_keeps_them() {
    let s = Semaphore::new(3);
    let p = s.try_acquire_many(2).unwrap();
    assert_eq!(s.available_permits(), 1);
    drop(p);
    assert_eq!(s.available_permits(), 3);
    s.try_acquire().unwrap().forget();
    assert_eq!(s.available_permits(), 2);
    s.add_permits(5);
    assert_eq!(s.available_permits(), 7);
}

#[test]
fn permits_are_conserved_across_threads() {
    let s = Arc::new(Semaphore::new(3));
    let inside = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let (s, inside) = (s.clone(), inside.clone());
            std::thread::spawn(move || {
                weft::run(|_env| {
                    weft::fiber::all((0..8).map(|_| {
                        let (s, inside) = (&s, &inside);
                        move || {
                            for _ in 0..200 {
                                let _p = s.acquire().unwrap();
                                let now =
                                    inside.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                                assert!(now <= 3, "more holders than permits");
                                weft::fiber::yield_now();
                                inside.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                            }
                        }
                    }));
                })
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(s.available_permits(), 3);
}

#[test]
fn owned_permits_for_many_and_without_waiting() {
    use std::sync::Arc;
    weft::run(|_env| {
        let sem = Arc::new(weft::sync::Semaphore::new(3));
        let two = sem.clone().try_acquire_many_owned(2).unwrap();
        assert!(sem.clone().try_acquire_many_owned(2).is_err());
        let one = sem.clone().try_acquire_owned().unwrap();
        assert!(sem.clone().try_acquire_owned().is_err());
        // A task waits for three while the permits are held elsewhere.
        let waiter = {
            let sem = sem.clone();
            weft::spawn(move || {
                let all = sem.acquire_many_owned(3).unwrap();
                all.num_permits()
            })
        };
        weft::fiber::yield_now();
        assert!(!waiter.is_finished());
        drop(two);
        weft::fiber::yield_now();
        assert!(!waiter.is_finished(), "one permit is still out");
        drop(one);
        assert_eq!(waiter.join().unwrap(), 3);
        assert_eq!(sem.available_permits(), 3);
        sem.close();
        assert!(sem.clone().try_acquire_owned().is_err());
        assert!(sem.clone().acquire_many_owned(1).is_err());
    });
}
