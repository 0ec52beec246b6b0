//! Mutex: exclusion, FIFO hand-off, cancellation, no poisoning, threads.

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;

use weft::sync::Mutex;
use weft::Switch;

#[test]
fn waiters_get_the_lock_in_fifo_order() {
    weft::run(|_env| {
        let m = Mutex::new(());
        let order = RefCell::new(Vec::new());
        Switch::run(|sw| {
            let held = m.lock();
            for id in 0..4 {
                let (m, order) = (&m, &order);
                sw.fork(move || {
                    let _g = m.lock();
                    order.borrow_mut().push(id);
                });
            }
            // A newcomer arriving while others wait must queue behind them.
            drop(held);
            let _g = m.lock();
            order.borrow_mut().push(99);
            Ok(())
        })
        .unwrap();
        assert_eq!(*order.borrow(), [0, 1, 2, 3, 99]);
    });
}

#[test]
fn a_cancelled_waiter_does_not_take_the_lock_and_the_next_one_does() {
    weft::Runtime::builder()
        .mock_clock(true)
        .build()
        .unwrap()
        .run(|_env| {
            let m = Mutex::new(0);
            let g = m.lock();
            let r = weft::time::timeout(Duration::from_secs(1), || *m.lock() += 1);
            assert!(r.is_err());
            drop(g);
            // The lock is free again (the cancelled waiter is gone).
            assert!(m.try_lock().is_ok());
            assert_eq!(*m.lock(), 0);
        });
}

#[test]
fn panicking_holder_releases_the_lock() {
    weft::run(|_env| {
        let m = Mutex::new(1);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _g = m.lock();
            panic!("while holding");
        }));
        assert!(r.is_err());
        // No poisoning: the lock is usable.
        *m.lock() += 1;
        assert_eq!(*m.lock(), 2);
    });
}

#[test]
fn mutual_exclusion_across_threads() {
    let m = Arc::new(Mutex::new(0u64));
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let m = m.clone();
            std::thread::spawn(move || {
                weft::run(|_env| {
                    weft::fiber::all((0..10).map(|_| {
                        let m = &m;
                        move || {
                            for _ in 0..1000 {
                                let mut g = m.lock();
                                let v = *g;
                                weft::fiber::yield_now(); // hold it across a switch
                                *g = v + 1;
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
    assert_eq!(*Arc::try_unwrap(m).unwrap().get_mut(), 20_000);
}

/// `try_lock` never waits: while the lock is held (here by an owned guard
/// from `try_lock_owned` that travels to another fiber and is held across
/// a suspension) others get `TryLockError`, and the queued waiter gets the
/// lock after the holder.
#[test]
fn try_lock_fails_while_an_owned_guard_travels() {
    use weft::sync::TryLockError;
    weft::run(|_env| {
        let m = Arc::new(Mutex::new(Vec::new()));
        Switch::run(|sw| {
            let owned = m.clone().try_lock_owned().unwrap();
            let m2 = m.clone();
            sw.fork(move || m2.lock().push("waiter"));
            assert_eq!(m.try_lock().unwrap_err(), TryLockError);
            let holder = weft::spawn(move || {
                let mut g = owned;
                weft::fiber::yield_now();
                g.push("holder");
            });
            assert!(m.clone().try_lock_owned().is_err());
            holder.join().unwrap();
            Ok(())
        })
        .unwrap();
        assert_eq!(*m.try_lock().unwrap(), ["holder", "waiter"]);
    });
}
