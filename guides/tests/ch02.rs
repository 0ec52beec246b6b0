//! Checks for exercise 2, `first_ok`.

use std::cell::Cell;
use std::time::Duration;

use weft::time::{self, Instant};
use weft_guide::exercises::ch02::first_ok;

const LIMIT: Duration = Duration::from_secs(3600);

/// Sets its flag when dropped: shows that a cancelled attempt unwound.
struct DropFlag<'a>(&'a Cell<bool>);
impl Drop for DropFlag<'_> {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

type Attempt<'a> = Box<dyn FnOnce() -> Result<u32, String> + 'a>;

fn after(ms: u64, r: Result<u32, String>) -> Attempt<'static> {
    Box::new(move || {
        time::sleep(Duration::from_millis(ms));
        r
    })
}

#[weft::test(mock_clock)]
fn the_first_success_wins_even_after_failures() {
    let t0 = Instant::now();
    let r = first_ok(vec![
        after(30, Ok(1)),
        after(5, Err("a".into())),
        after(10, Ok(2)),
        after(20, Ok(3)),
    ]);
    assert_eq!(r, Ok(2));
    assert_eq!(
        t0.elapsed(),
        Duration::from_millis(10),
        "returned as soon as the winner was known"
    );
}

#[weft::test(mock_clock)]
fn the_losers_are_cancelled() {
    let dropped = [Cell::new(false), Cell::new(false)];
    let finished = [Cell::new(false), Cell::new(false)];
    let slow = |i: usize| -> Attempt<'_> {
        let (dropped, finished) = (&dropped[i], &finished[i]);
        Box::new(move || {
            let _flag = DropFlag(dropped);
            time::sleep(LIMIT);
            finished.set(true);
            Ok(100)
        })
    };
    let r = first_ok(vec![slow(0), after(1, Ok(7)), slow(1)]);
    assert_eq!(r, Ok(7));
    for i in 0..2 {
        assert!(
            dropped[i].get(),
            "loser {i} was unwound before first_ok returned"
        );
        assert!(!finished[i].get(), "loser {i} did not run to its end");
    }
}

#[weft::test(mock_clock)]
fn all_failures_come_back_in_input_order() {
    // They fail in reverse order of the list.
    let r = first_ok(vec![
        after(30, Err("first".into())),
        after(20, Err("second".into())),
        after(10, Err("third".into())),
    ]);
    assert_eq!(
        r,
        Err(vec!["first".to_string(), "second".into(), "third".into()])
    );
}

#[weft::test(mock_clock)]
fn it_waits_for_the_last_failure_before_giving_up() {
    let t0 = Instant::now();
    let r = first_ok(vec![after(1, Err("x".into())), after(50, Err("y".into()))]);
    assert!(r.is_err());
    assert_eq!(t0.elapsed(), Duration::from_millis(50));
}

#[weft::test(mock_clock)]
fn a_late_success_after_early_failures_still_wins() {
    let r = first_ok(vec![
        after(1, Err("x".into())),
        after(2, Err("y".into())),
        after(40, Ok(9)),
    ]);
    assert_eq!(r, Ok(9));
}

#[weft::test(mock_clock)]
fn attempts_run_at_the_same_time() {
    let t0 = Instant::now();
    let r = first_ok((0..10).map(|_| after(100, Err::<u32, _>("no".into()))));
    assert_eq!(r.unwrap_err().len(), 10);
    assert_eq!(t0.elapsed(), Duration::from_millis(100), "not 10 x 100 ms");
}

#[weft::test(mock_clock)]
fn no_attempts_is_an_empty_error() {
    let r: Result<u32, Vec<String>> = first_ok(Vec::<Attempt<'static>>::new());
    assert_eq!(r, Err(vec![]));
}

#[weft::test(mock_clock)]
fn a_timeout_around_it_cancels_every_attempt() {
    let dropped = Cell::new(false);
    let r = time::timeout(Duration::from_millis(5), || {
        first_ok(vec![
            Box::new(|| {
                let _flag = DropFlag(&dropped);
                time::sleep(LIMIT);
                Ok::<u32, String>(1)
            }) as Attempt<'_>,
            after(1, Err("down".into())),
        ])
    });
    assert!(r.is_err(), "the timeout fired");
    assert!(dropped.get());
}
