//! Time (Eio's time.md): the mock clock, sleep ordering, timeouts,
//! intervals.

use std::cell::RefCell;
use std::time::Duration;

use weft::time::{self, MissedTickBehavior};

fn mock() -> weft::Runtime {
    weft::Runtime::builder().mock_clock(true).build().unwrap()
}

#[test]
fn mock_time_moves_only_when_every_fiber_is_idle() {
    mock().run(|env| {
        let clock = env.clock();
        assert!(clock.is_mock());
        let t0 = clock.now();
        let log = RefCell::new(Vec::new());
        weft::fiber::both(
            || {
                time::sleep(Duration::from_secs(10));
                log.borrow_mut().push(("ten", clock.now() - t0));
            },
            || {
                // Busy but not idle: time stands still meanwhile.
                for _ in 0..100 {
                    weft::fiber::yield_now();
                }
                log.borrow_mut().push(("busy done", clock.now() - t0));
                time::sleep(Duration::from_secs(3));
                log.borrow_mut().push(("three", clock.now() - t0));
            },
        );
        assert_eq!(
            *log.borrow(),
            [
                ("busy done", Duration::ZERO),
                ("three", Duration::from_secs(3)),
                ("ten", Duration::from_secs(10)),
            ]
        );
    });
}

#[test]
fn sleepers_wake_in_deadline_order() {
    mock().run(|_env| {
        let order = RefCell::new(Vec::new());
        weft::fiber::all([5u64, 1, 3, 2, 4].map(|s| {
            let order = &order;
            move || {
                time::sleep(Duration::from_secs(s));
                order.borrow_mut().push(s);
            }
        }));
        assert_eq!(*order.borrow(), [1, 2, 3, 4, 5]);
    });
}

#[test]
fn timeouts_on_the_mock_clock() {
    mock().run(|env| {
        let t0 = env.clock().now();
        let r = time::timeout(Duration::from_secs(30), || weft::fiber::await_cancel());
        assert_eq!(r, Err(time::Elapsed(Duration::from_secs(30))));
        assert_eq!(env.clock().now() - t0, Duration::from_secs(30));
        let ok = time::timeout(Duration::from_secs(30), || {
            time::sleep(Duration::from_secs(1));
            "in time"
        });
        assert_eq!(ok, Ok("in time"));
        let at = time::timeout_at(env.clock().now() + Duration::from_secs(2), || {
            time::sleep(Duration::from_secs(5))
        });
        assert!(at.is_err());
    });
}

#[test]
fn an_outer_cancellation_is_not_mistaken_for_the_inner_timeout() {
    mock().run(|_env| {
        let outer = time::timeout(Duration::from_secs(1), || {
            // The inner timeout is longer: the outer one fires first and
            // must keep unwinding through the inner timeout.
            let _inner = time::timeout(Duration::from_secs(100), || weft::fiber::await_cancel());
            unreachable!("the outer cancellation unwinds through here")
        });
        assert!(outer.is_err());
    });
}

#[test]
fn clock_advance_fires_due_timers() {
    mock().run(|env| {
        let fired = std::cell::Cell::new(false);
        weft::Switch::run(|sw| {
            sw.fork(|| {
                time::sleep(Duration::from_secs(60));
                fired.set(true);
            });
            env.clock().advance(Duration::from_secs(61));
            weft::fiber::yield_now();
            Ok(())
        })
        .unwrap();
        assert!(fired.get());
    });
}

#[test]
fn interval_ticks_and_missed_tick_behaviours() {
    mock().run(|env| {
        let start = env.clock().now();
        let mut iv = time::interval(Duration::from_secs(1));
        let ticks: Vec<Duration> = (0..3).map(|_| iv.tick() - start).collect();
        assert_eq!(
            ticks,
            [
                Duration::ZERO,
                Duration::from_secs(1),
                Duration::from_secs(2)
            ]
        );

        // Fall 3.5 periods behind, then see how each behaviour catches up.
        for (behaviour, expected_next) in [
            (MissedTickBehavior::Burst, Duration::from_secs(1)),
            (MissedTickBehavior::Delay, Duration::from_millis(4500)),
            (MissedTickBehavior::Skip, Duration::from_secs(4)),
        ] {
            let base = env.clock().now();
            let mut iv = time::interval_at(base, Duration::from_secs(1));
            iv.set_missed_tick_behavior(behaviour);
            iv.tick(); // at base
            time::sleep(Duration::from_millis(3500));
            iv.tick(); // the late tick (due at base + 1 s)
            let next = iv.tick() - base;
            assert_eq!(
                next,
                expected_next
                    + if behaviour == MissedTickBehavior::Burst {
                        Duration::from_secs(1)
                    } else {
                        Duration::ZERO
                    },
                "{behaviour:?}"
            );
        }
    });
}
