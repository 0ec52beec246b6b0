//! `weft::sync::Notify` keeps tokio's permit semantics.

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;

use weft::sync::Notify;

fn mock<T>(f: impl FnOnce() -> T) -> T {
    weft::Runtime::builder()
        .mock_clock(true)
        .build()
        .unwrap()
        .run(|_env| f())
}

/// Whether `notified()` returns within one (mock) second.
fn notified_soon(n: &Notify) -> bool {
    weft::time::timeout(Duration::from_secs(1), || n.notified()).is_ok()
}

#[test]
fn notify_is_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Notify>();
}

#[test]
fn permit_stored_before_notified_returns_at_once() {
    mock(|| {
        let n = Notify::new();
        n.notify_one();
        let t0 = weft::time::Instant::now();
        n.notified();
        assert_eq!(t0.elapsed(), Duration::ZERO);
        assert!(!notified_soon(&n), "the permit was consumed");
    });
}

#[test]
fn two_notify_one_store_a_single_permit() {
    mock(|| {
        let n = Notify::new();
        n.notify_one();
        n.notify_one();
        assert!(notified_soon(&n));
        assert!(!notified_soon(&n), "only one permit was stored");
        n.notify_last();
        n.notify_last();
        assert!(notified_soon(&n));
        assert!(!notified_soon(&n));
    });
}

#[test]
fn notify_one_wakes_in_fifo_order_and_stores_nothing_when_it_wakes() {
    mock(|| {
        let n = Notify::new();
        let order = RefCell::new(vec![]);
        weft::Switch::run(|sw| {
            for i in 0..3 {
                let (n, order) = (&n, &order);
                sw.fork(move || {
                    n.notified();
                    order.borrow_mut().push(i);
                });
            }
            for _ in 0..3 {
                n.notify_one();
                weft::fiber::yield_now();
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(*order.borrow(), [0, 1, 2]);
        assert!(!notified_soon(&n), "waking a waiter stores no permit");
    });
}

#[test]
fn notify_last_wakes_the_newest_waiter() {
    mock(|| {
        let n = Notify::new();
        let order = RefCell::new(vec![]);
        weft::Switch::run(|sw| {
            for i in 0..3 {
                let (n, order) = (&n, &order);
                sw.fork(move || {
                    n.notified();
                    order.borrow_mut().push(i);
                });
            }
            for _ in 0..3 {
                n.notify_last();
                weft::fiber::yield_now();
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(*order.borrow(), [2, 1, 0]);
    });
}

#[test]
fn notify_waiters_wakes_current_waiters_only_and_stores_no_permit() {
    mock(|| {
        let n = Notify::new();
        let woke = RefCell::new(0);
        weft::Switch::run(|sw| {
            for _ in 0..4 {
                let (n, woke) = (&n, &woke);
                sw.fork(move || {
                    n.notified();
                    *woke.borrow_mut() += 1;
                });
            }
            n.notify_waiters();
            Ok(())
        })
        .unwrap();
        assert_eq!(*woke.borrow(), 4);
        assert!(!notified_soon(&n), "notify_waiters stored no permit");
    });
}

#[test]
fn notify_waiters_leaves_a_stored_permit() {
    mock(|| {
        let n = Notify::new();
        n.notify_one();
        n.notify_waiters();
        assert!(notified_soon(&n), "the earlier permit is still there");
        assert!(!notified_soon(&n));
    });
}

#[test]
fn cancelled_waiter_does_not_swallow_a_notification() {
    mock(|| {
        let n = Notify::new();
        assert!(!notified_soon(&n)); // a waiter came and was cancelled
        n.notify_one(); // nobody waits now: becomes the permit
        assert!(notified_soon(&n));
    });
}

#[test]
fn notification_reaching_a_cancelled_waiter_goes_to_the_next() {
    // At t=1 the notifier (older timer) runs while waiter A has been
    // cancelled by its timeout but not yet withdrawn; B must get it.
    mock(|| {
        let n = Notify::new();
        let a = RefCell::new(None);
        let b = RefCell::new(false);
        weft::Switch::run(|sw| {
            sw.fork(|| {
                weft::time::sleep(Duration::from_secs(1));
                n.notify_one();
            });
            sw.fork(|| {
                let r = weft::time::timeout(Duration::from_secs(1), || n.notified());
                *a.borrow_mut() = Some(r.is_ok());
            });
            sw.fork(|| {
                n.notified();
                *b.borrow_mut() = true;
            });
            Ok(())
        })
        .unwrap();
        assert_eq!(*a.borrow(), Some(false), "A was cancelled");
        assert!(*b.borrow(), "B got the notification");
        assert!(!notified_soon(&n), "and it was not also stored as a permit");
    });
}

#[test]
fn notification_to_a_cancelled_only_waiter_becomes_the_permit() {
    mock(|| {
        let n = Notify::new();
        let a = RefCell::new(None);
        weft::Switch::run(|sw| {
            sw.fork(|| {
                weft::time::sleep(Duration::from_secs(1));
                n.notify_one();
            });
            sw.fork(|| {
                let r = weft::time::timeout(Duration::from_secs(1), || n.notified());
                *a.borrow_mut() = Some(r.is_ok());
            });
            Ok(())
        })
        .unwrap();
        assert_eq!(*a.borrow(), Some(false));
        assert!(notified_soon(&n), "the notification was kept as the permit");
    });
}

#[test]
fn cross_thread_ping_pong() {
    const ROUNDS: usize = 2_000;
    let ping = Arc::new(Notify::new());
    let pong = Arc::new(Notify::new());
    let (ping2, pong2) = (ping.clone(), pong.clone());
    let other = std::thread::spawn(move || {
        weft::run(|_env| {
            for _ in 0..ROUNDS {
                ping2.notified();
                pong2.notify_one();
            }
        })
    });
    weft::run(|_env| {
        for _ in 0..ROUNDS {
            ping.notify_one();
            pong.notified();
        }
    });
    other.join().unwrap();
}

#[test]
fn debug_shows_permit_and_waiters() {
    let n = Notify::new();
    n.notify_one();
    assert_eq!(format!("{n:?}"), "Notify { permit: true, waiters: 0 }");
}
