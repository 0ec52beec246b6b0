//! The mock clock's `set_time` (Eio's `Mock.Clock.set_time`) and the
//! conversions between `weft::time::Instant` and `std::time::Instant`.

use std::cell::RefCell;
use std::time::Duration;

use weft::time::Instant;

fn mock() -> weft::Runtime {
    weft::Runtime::builder().mock_clock(true).build().unwrap()
}

#[test]
fn set_time_fires_the_timers_due_by_then_and_no_others() {
    mock().run(|env| {
        let clock = env.clock();
        let t0 = clock.now();
        let woke = RefCell::new(Vec::new());
        weft::Switch::run(|sw| {
            for secs in [10u64, 20, 30] {
                let (clock, woke) = (&clock, &woke);
                sw.fork(move || {
                    clock.sleep_until(t0 + Duration::from_secs(secs));
                    woke.borrow_mut().push((secs, clock.now() - t0));
                });
            }
            clock.set_time(t0 + Duration::from_secs(25));
            assert_eq!(clock.now() - t0, Duration::from_secs(25));
            // Due timers fire when the scheduler next looks at them (here:
            // once every fiber is idle, before the mock clock moves on).
            clock.sleep(Duration::from_secs(1));
            assert_eq!(
                *woke.borrow(),
                [(10, Duration::from_secs(25)), (20, Duration::from_secs(25))]
            );
            // Setting the current time again is allowed and changes nothing.
            clock.set_time(clock.now());
            Ok(())
        })
        .unwrap();
        // The last sleeper woke when the idle mock clock jumped to it.
        assert_eq!(woke.borrow()[2], (30, Duration::from_secs(30)));
    });
}

#[test]
fn set_time_refuses_to_go_back() {
    mock().run(|env| {
        let clock = env.clock();
        let t0 = clock.now();
        clock.set_time(t0 + Duration::from_secs(5));
        let r = std::panic::catch_unwind(|| clock.set_time(t0 + Duration::from_secs(1)));
        let p = r.unwrap_err();
        let msg = p.downcast_ref::<String>().unwrap();
        assert!(
            msg.contains("earlier than the mock clock's current time"),
            "{msg}"
        );
        assert_eq!(clock.now() - t0, Duration::from_secs(5));
    });
}

#[test]
#[should_panic(expected = "Clock::set_time needs a mock clock")]
fn set_time_refuses_the_system_clock() {
    weft::run(|env| env.clock().set_time(Instant::now()));
}

#[test]
fn instants_convert_to_and_from_std() {
    let std_now = std::time::Instant::now();
    let weft_now: Instant = std_now.into();
    assert_eq!(weft_now, Instant::from_std(std_now));
    let back: std::time::Instant = (weft_now + Duration::from_secs(1)).into();
    assert_eq!(back - std_now, Duration::from_secs(1));
    mock().run(|env| {
        // Under a mock clock a converted instant compares with the
        // runtime's own: sleeping until it works.
        let target: Instant =
            (std::time::Instant::from(env.clock().now()) + Duration::from_secs(2)).into();
        weft::time::sleep_until(target);
        assert_eq!(env.clock().now(), target);
    });
}
