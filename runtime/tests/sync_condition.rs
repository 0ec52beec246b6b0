//! Condition: no lost wake-up, broadcast and signal, cancellation.

use std::cell::Cell;
use std::time::Duration;

use weft::sync::{Condition, Mutex};
use weft::Switch;

#[test]
fn waiters_see_a_broadcast_made_right_after_they_release_the_mutex() {
    weft::run(|_env| {
        let m = Mutex::new(0);
        let c = Condition::new();
        let woke = Cell::new(0);
        Switch::run(|sw| {
            for _ in 0..3 {
                sw.fork(|| {
                    let mut g = m.lock();
                    while *g == 0 {
                        g = c.await_(g);
                    }
                    woke.set(woke.get() + 1);
                });
            }
            *m.lock() = 1;
            c.broadcast();
            Ok(())
        })
        .unwrap();
        assert_eq!(woke.get(), 3);
    });
}

#[test]
fn signal_wakes_one_at_a_time_in_order() {
    weft::run(|_env| {
        let c = Condition::new();
        let order = std::cell::RefCell::new(Vec::new());
        Switch::run(|sw| {
            for id in 0..3 {
                let (c, order) = (&c, &order);
                sw.fork(move || {
                    c.await_no_mutex();
                    order.borrow_mut().push(id);
                });
            }
            for _ in 0..3 {
                c.signal();
                weft::fiber::yield_now();
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(*order.borrow(), [0, 1, 2]);
    });
}

#[test]
fn a_cancelled_wait_releases_nothing_and_later_waits_work() {
    weft::Runtime::builder()
        .mock_clock(true)
        .build()
        .unwrap()
        .run(|_env| {
            let m = Mutex::new(());
            let c = Condition::new();
            let r = weft::time::timeout(Duration::from_secs(1), || {
                let g = m.lock();
                let _g = c.await_(g);
            });
            assert!(r.is_err());
            // The mutex is free; the condition still works.
            assert!(m.try_lock().is_ok());
            weft::fiber::both(|| c.await_no_mutex(), || c.broadcast());
        });
}
