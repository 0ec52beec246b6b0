//! `Switch::check` (unwinds once the switch is off) and
//! `Switch::get_error` (why it is off, without taking the failure away
//! from `Switch::run`).

use std::cell::Cell;
use std::time::Duration;

use weft::switch::SwitchError;
use weft::{Error, Switch};

fn mock() -> weft::Runtime {
    weft::Runtime::builder().mock_clock(true).build().unwrap()
}

#[test]
fn check_does_nothing_while_the_switch_is_on() {
    mock().run(|_env| {
        let r = Switch::run(|sw| {
            sw.check();
            sw.fork(|| sw.check());
            Ok(3)
        });
        assert_eq!(r.unwrap(), 3);
    });
}

#[test]
fn check_stops_a_busy_fiber_once_a_sibling_failed() {
    mock().run(|_env| {
        let rounds = Cell::new(0u32);
        let r = Switch::run(|sw| {
            sw.fork(|| -> () {
                loop {
                    // A computation with no blocking call: check is its
                    // cancellation point.
                    sw.check();
                    rounds.set(rounds.get() + 1);
                    if rounds.get() == 3 {
                        sw.fail(Error::msg("enough"));
                    }
                }
            });
            Ok(())
        });
        assert_eq!(r.unwrap_err().to_string(), "enough");
        assert_eq!(
            rounds.get(),
            3,
            "stopped at the first check after the failure"
        );
    });
}

#[test]
fn check_in_the_body_unwinds_when_the_caller_is_cancelled() {
    mock().run(|_env| {
        let after = Cell::new(false);
        let r = weft::time::timeout(Duration::from_millis(5), || {
            Switch::run(|sw| {
                weft::cancel::protect(|| weft::time::sleep(Duration::from_millis(10)));
                sw.check();
                after.set(true);
                Ok(())
            })
        });
        assert!(r.is_err());
        assert!(!after.get());
    });
}

#[test]
fn get_error_reports_the_first_failure_and_counts_later_ones() {
    mock().run(|_env| {
        let seen = std::cell::RefCell::new(Vec::new());
        let r = Switch::run(|sw| {
            seen.borrow_mut().push(sw.get_error());
            sw.fork(|| -> weft::Result<()> { Err(Error::msg("first")) });
            seen.borrow_mut().push(sw.get_error());
            sw.fail(Error::msg("second"));
            seen.borrow_mut().push(sw.get_error());
            Ok(())
        });
        let e = r.unwrap_err();
        assert_eq!(e.to_string(), "first");
        assert_eq!(e.suppressed().len(), 1, "the failure was not taken away");
        let failed = |later| {
            Some(SwitchError::Failed {
                message: "first".into(),
                panicked: false,
                later,
            })
        };
        assert_eq!(seen.into_inner(), [None, failed(0), failed(1)]);
    });
}

#[test]
fn get_error_reports_a_panic_by_its_message() {
    mock().run(|_env| {
        let seen = std::cell::RefCell::new(None);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Switch::run(|sw| {
                sw.fork(|| -> () { panic!("exploded") });
                *seen.borrow_mut() = sw.get_error();
                Ok(())
            })
        }));
        assert!(r.is_err(), "the panic is still re-raised by Switch::run");
        let e = seen.into_inner().unwrap();
        assert!(matches!(
            e,
            SwitchError::Failed {
                panicked: true,
                later: 0,
                ..
            }
        ));
        assert!(e.to_string().contains("exploded"), "{e}");
    });
}

#[test]
fn get_error_reports_a_cancellation_from_outside() {
    mock().run(|_env| {
        let seen = std::cell::RefCell::new(None);
        let r = weft::time::timeout(Duration::from_millis(5), || {
            Switch::run(|sw| {
                weft::cancel::protect(|| weft::time::sleep(Duration::from_millis(10)));
                *seen.borrow_mut() = sw.get_error();
                Ok(())
            })
        });
        assert!(r.is_err());
        match seen.into_inner() {
            Some(SwitchError::Cancelled(c)) => {
                assert_eq!(c.reason(), &weft::cancel::CancelReason::Timeout)
            }
            other => panic!("expected a cancellation, got {other:?}"),
        }
    });
}
