//! Checks for exercise 4, `retry`. All tests use the mock clock, so the
//! instants they check are exact.

use std::cell::{Cell, RefCell};
use std::time::Duration;

use weft::time::{self, Instant};
use weft_guide::exercises::ch04::{retry, AttemptError, Backoff};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn policy(attempts: u32) -> Backoff {
    Backoff {
        attempts,
        first_delay: ms(10),
        per_attempt: ms(1000),
    }
}

#[weft::test(mock_clock)]
fn attempts_are_spaced_by_doubling_delays() {
    let t0 = Instant::now();
    let at = RefCell::new(Vec::new());
    let r: Result<(), _> = retry(&policy(5), |n| {
        at.borrow_mut().push(t0.elapsed());
        Err(n)
    });
    assert_eq!(r, Err(AttemptError::Failed(4)), "the last attempt's error");
    assert_eq!(*at.borrow(), [ms(0), ms(10), ms(30), ms(70), ms(150)]);
    assert_eq!(t0.elapsed(), ms(150), "no sleep after the last attempt");
}

#[weft::test(mock_clock)]
fn the_first_success_ends_it() {
    let calls = Cell::new(0);
    let t0 = Instant::now();
    let r = retry(&policy(10), |n| {
        calls.set(calls.get() + 1);
        if n == 2 {
            Ok("up")
        } else {
            Err("down")
        }
    });
    assert_eq!(r, Ok("up"));
    assert_eq!(calls.get(), 3);
    assert_eq!(t0.elapsed(), ms(30));
}

#[weft::test(mock_clock)]
fn a_hung_attempt_is_cancelled_after_per_attempt() {
    let dropped = Cell::new(false);
    struct Flag<'a>(&'a Cell<bool>);
    impl Drop for Flag<'_> {
        fn drop(&mut self) {
            self.0.set(true);
        }
    }
    let t0 = Instant::now();
    let at = RefCell::new(Vec::new());
    // The outer timeout only matters for a retry without per-attempt
    // timeouts: the hung attempt would otherwise hang the test.
    let r = time::timeout(Duration::from_secs(3600), || {
        retry(&policy(3), |n| {
            at.borrow_mut().push(t0.elapsed());
            if n == 0 {
                let _flag = Flag(&dropped);
                weft::fiber::await_cancel(); // hangs
            }
            Ok::<_, ()>(n)
        })
    })
    .expect("the hung attempt was timed out by retry itself");
    assert_eq!(r, Ok(1));
    assert!(dropped.get(), "the hung attempt unwound");
    // 1000 ms timeout, then the 10 ms backoff.
    assert_eq!(*at.borrow(), [ms(0), ms(1010)]);
}

#[weft::test(mock_clock)]
fn only_timeouts_give_timed_out() {
    let r: Result<(), AttemptError<()>> = retry(&policy(2), |_| {
        time::sleep(Duration::from_secs(3600));
        Ok(())
    });
    assert_eq!(r, Err(AttemptError::TimedOut));
}

#[weft::test(mock_clock)]
fn a_single_attempt_does_not_sleep() {
    let t0 = Instant::now();
    let r: Result<(), _> = retry(&policy(1), |_| Err("no"));
    assert_eq!(r, Err(AttemptError::Failed("no")));
    assert_eq!(
        t0.elapsed(),
        ms(0),
        "no sleep after the last (only) attempt"
    );
}

#[weft::test(mock_clock)]
fn an_outer_timeout_stops_it_during_a_backoff() {
    let calls = Cell::new(0);
    let t0 = Instant::now();
    // Attempts at 0, 10, 30; the outer timeout fires at 20, in the second wait.
    let r = time::timeout(ms(20), || {
        retry(&policy(10), |_| {
            calls.set(calls.get() + 1);
            Err::<(), _>(())
        })
    });
    assert!(r.is_err(), "the outer timeout won");
    assert_eq!(calls.get(), 2);
    assert_eq!(t0.elapsed(), ms(20));
}

#[test]
#[should_panic(expected = "at least one attempt")]
fn zero_attempts_panics() {
    weft::run(|_env| {
        let _ = retry(&policy(0), |_| Ok::<_, ()>(()));
    });
}
