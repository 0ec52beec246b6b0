//! Notify, Barrier and TaskSet with tokio's meaning.

use std::rc::Rc;
use std::time::Duration;

use weft::sync::{Barrier, Notify};
use weft::Switch;

#[test]
fn notify_one_stores_a_single_permit() {
    weft::Runtime::builder()
        .mock_clock(true)
        .build()
        .unwrap()
        .run(|_env| {
            let n = Notify::new();
            n.notify_one();
            n.notify_one();
            n.notified(); // consumes the one permit
            assert!(weft::time::timeout(Duration::from_secs(1), || n.notified()).is_err());
        });
}

#[test]
fn notify_waiters_wakes_current_waiters_only() {
    weft::Runtime::builder()
        .mock_clock(true)
        .build()
        .unwrap()
        .run(|_env| {
            let n = Notify::new();
            let woke = std::cell::Cell::new(0);
            Switch::run(|sw| {
                for _ in 0..3 {
                    sw.fork(|| {
                        n.notified();
                        woke.set(woke.get() + 1);
                    });
                }
                n.notify_waiters();
                Ok(())
            })
            .unwrap();
            assert_eq!(woke.get(), 3);
            // Nothing stored for later.
            assert!(weft::time::timeout(Duration::from_secs(1), || n.notified()).is_err());
        });
}

#[test]
fn a_cancelled_waiter_passes_its_notification_on() {
    weft::Runtime::builder()
        .mock_clock(true)
        .build()
        .unwrap()
        .run(|_env| {
            let n = Notify::new();
            let got = std::cell::Cell::new(false);
            Switch::run(|sw| {
                sw.fork(|| {
                    let _ = weft::time::timeout(Duration::from_secs(1), || n.notified());
                });
                sw.fork(|| {
                    n.notified();
                    got.set(true);
                });
                weft::time::sleep(Duration::from_secs(2)); // first waiter gave up
                n.notify_one();
                Ok(())
            })
            .unwrap();
            assert!(got.get());
        });
}

#[test]
fn barrier_has_one_leader_per_generation() {
    weft::run(|_env| {
        let b = Barrier::new(3);
        for _generation in 0..3 {
            let leaders = weft::fiber::all((0..3).map(|_| || b.wait().is_leader()));
            assert_eq!(leaders.iter().filter(|l| **l).count(), 1);
        }
    });
}

#[test]
fn taskset_joins_in_completion_order_and_reports_panics() {
    weft::Runtime::builder()
        .mock_clock(true)
        .build()
        .unwrap()
        .run(|_env| {
            let mut set = weft::TaskSet::new();
            for ms in [30u64, 10, 20] {
                set.spawn(move || {
                    weft::time::sleep(Duration::from_millis(ms));
                    ms
                });
            }
            set.spawn(|| -> u64 { panic!("task failed") });
            let mut values = vec![];
            let mut panics = 0;
            while let Some(r) = set.join_next() {
                match r {
                    Ok(v) => values.push(v),
                    Err(e) => {
                        assert!(e.is_panic());
                        panics += 1;
                    }
                }
            }
            assert_eq!(values, [10, 20, 30]);
            assert_eq!(panics, 1);
        });
}

#[test]
fn dropping_a_taskset_aborts_its_tasks() {
    weft::run(|_env| {
        let dropped = Rc::new(std::cell::Cell::new(0));
        struct Guard(Rc<std::cell::Cell<u32>>);
        impl Drop for Guard {
            fn drop(&mut self) {
                self.0.set(self.0.get() + 1);
            }
        }
        {
            let mut set = weft::TaskSet::new();
            for _ in 0..3 {
                let g = Guard(dropped.clone());
                set.spawn(move || {
                    let _g = g;
                    weft::fiber::await_cancel()
                });
            }
        }
        // The aborted tasks unwind when they next run.
        weft::fiber::yield_now();
        assert_eq!(dropped.get(), 3);
    });
}

#[test]
fn abort_handles_and_shutdown() {
    weft::run(|_env| {
        let mut set = weft::TaskSet::new();
        let h = set.spawn(|| weft::fiber::await_cancel());
        set.spawn(|| ());
        h.abort();
        set.shutdown();
        assert!(set.is_empty());
        assert!(h.is_finished());
    });
}
