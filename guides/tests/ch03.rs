//! Checks for exercise 3, `fetch_all`.

use std::cell::{Cell, RefCell};
use std::time::Duration;

use weft::time::{self, Instant};
use weft_guide::exercises::ch03::fetch_all;

/// Counts the calls in flight and remembers the peak.
#[derive(Default)]
struct Gauge {
    now: Cell<usize>,
    peak: Cell<usize>,
    started: RefCell<Vec<u64>>,
    finished: Cell<usize>,
    dropped: Cell<usize>,
}

/// Held by a call while it runs: counts it in and out, also when the call
/// is cancelled (the drop runs while unwinding).
struct InFlight<'a>(&'a Gauge);
impl<'a> InFlight<'a> {
    fn enter(g: &'a Gauge, item: u64) -> Self {
        g.now.set(g.now.get() + 1);
        g.peak.set(g.peak.get().max(g.now.get()));
        g.started.borrow_mut().push(item);
        InFlight(g)
    }
}
impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.now.set(self.0.now.get() - 1);
        self.0.dropped.set(self.0.dropped.get() + 1);
    }
}

#[weft::test(mock_clock)]
fn results_are_in_input_order() {
    // Later items finish first.
    let r = fetch_all(0..6u64, 3, |i| {
        time::sleep(Duration::from_millis(60 - 10 * i));
        Ok::<_, ()>(i * i)
    });
    assert_eq!(r, Ok(vec![0, 1, 4, 9, 16, 25]));
}

#[weft::test(mock_clock)]
fn the_limit_is_reached_and_never_passed() {
    for (limit, n) in [(1, 5), (3, 20), (4, 4), (8, 3)] {
        let g = Gauge::default();
        let r = fetch_all(0..n as u64, limit, |i| {
            let _in = InFlight::enter(&g, i);
            time::sleep(Duration::from_millis(1 + i % 3));
            Ok::<_, ()>(i)
        });
        assert_eq!(r.unwrap().len(), n);
        assert_eq!(g.peak.get(), limit.min(n), "limit {limit}, {n} items");
        assert_eq!(g.now.get(), 0);
    }
}

#[weft::test(mock_clock)]
fn bounded_but_concurrent_takes_the_expected_time() {
    // 12 calls of 10 ms, 4 at a time: 3 rounds on the mock clock.
    let t0 = Instant::now();
    fetch_all(0..12, 4, |_| {
        time::sleep(Duration::from_millis(10));
        Ok::<_, ()>(())
    })
    .unwrap();
    assert_eq!(t0.elapsed(), Duration::from_millis(30));
}

#[weft::test(mock_clock)]
fn a_failure_cancels_the_rest() {
    let g = Gauge::default();
    let t0 = Instant::now();
    let r = fetch_all(0..20u64, 3, |i| {
        let _in = InFlight::enter(&g, i);
        if i == 1 {
            time::sleep(Duration::from_millis(1));
            return Err(format!("item {i} failed"));
        }
        time::sleep(Duration::from_secs(3600));
        g.finished.set(g.finished.get() + 1);
        Ok(i)
    });
    assert_eq!(r, Err("item 1 failed".to_string()));
    assert_eq!(
        t0.elapsed(),
        Duration::from_millis(1),
        "did not wait for the slow calls"
    );
    assert_eq!(g.finished.get(), 0, "no slow call ran to its end");
    assert_eq!(g.now.get(), 0, "every call that started has unwound");
    assert_eq!(g.dropped.get(), g.started.borrow().len());
    let started = g.started.borrow().len();
    assert!(
        started < 20,
        "the remaining items were not fetched ({started} started)"
    );
}

#[weft::test(mock_clock)]
fn empty_input() {
    let r: Result<Vec<u8>, ()> = fetch_all(Vec::<u8>::new(), 2, Ok);
    assert_eq!(r, Ok(vec![]));
}

#[test]
#[should_panic(expected = "max_in_flight")]
fn zero_limit_panics() {
    weft::run(|_env| {
        let _ = fetch_all([1], 0, Ok::<_, ()>);
    });
}
