//! `fiber::n_any` (Eio's `Fiber.n_any`) and the `Fiber.List`-style
//! combinators `filter`, `filter_map`, `iter`: results, order, the
//! `max_fibers` bound, and failure and cancellation.

use std::cell::{Cell, RefCell};
use std::time::Duration;

use weft::fiber;

fn mock() -> weft::Runtime {
    weft::Runtime::builder().mock_clock(true).build().unwrap()
}

type Branch<'a, T> = Box<dyn FnOnce() -> T + 'a>;

#[test]
fn n_any_keeps_only_the_first_value_when_the_others_reach_a_cancellation_point() {
    mock().run(|_env| {
        let started = RefCell::new(Vec::new());
        let started = &started;
        let branches: Vec<Branch<u32>> = (0..3)
            .map(|i| -> Branch<u32> {
                Box::new(move || {
                    started.borrow_mut().push(i);
                    fiber::yield_now();
                    i
                })
            })
            .collect();
        assert_eq!(fiber::n_any(branches), [0]);
        assert_eq!(*started.borrow(), [0, 1, 2]);
    });
}

#[test]
fn n_any_keeps_every_value_returned_in_the_order_they_finished() {
    mock().run(|_env| {
        // 0 yields; 1 (protected) and 2 yield too; 3 returns at once and
        // wins. 0 and 2 are cancelled at their yields, 1 cannot be
        // cancelled and finishes after 3: every value returned is kept, in
        // finishing order.
        let branches: Vec<Branch<u32>> = (0..4)
            .map(|i| -> Branch<u32> {
                Box::new(move || match i {
                    0 => {
                        fiber::yield_now();
                        0
                    }
                    1 => weft::cancel::protect(|| {
                        fiber::yield_now();
                        fiber::yield_now();
                        1
                    }),
                    2 => {
                        fiber::yield_now();
                        fiber::yield_now();
                        2
                    }
                    _ => 3,
                })
            })
            .collect();
        assert_eq!(fiber::n_any(branches), [3, 1]);

        // Finishing order, not input order.
        let branches: Vec<Branch<&str>> = vec![
            Box::new(|| {
                weft::time::sleep(Duration::from_millis(5));
                "slow"
            }),
            Box::new(|| "fast"),
        ];
        assert_eq!(fiber::n_any(branches), ["fast"]);
    });
}

#[test]
fn n_any_unwinds_losers_with_their_destructors() {
    mock().run(|_env| {
        let dropped = Cell::new(0);
        struct D<'a>(&'a Cell<u32>);
        impl Drop for D<'_> {
            fn drop(&mut self) {
                self.0.set(self.0.get() + 1);
            }
        }
        let dropped = &dropped;
        let branches: Vec<Branch<u8>> = vec![
            Box::new(move || {
                let _d = D(dropped);
                fiber::await_cancel()
            }),
            Box::new(move || {
                let _d = D(dropped);
                weft::time::sleep(Duration::from_secs(60));
                1
            }),
            Box::new(|| 2),
        ];
        assert_eq!(fiber::n_any(branches), [2]);
        assert_eq!(dropped.get(), 2);
    });
}

#[test]
fn n_any_re_raises_a_panic_and_cancels_the_rest() {
    mock().run(|_env| {
        let finished = Cell::new(false);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let branches: Vec<Branch<u8>> = vec![
                Box::new(|| {
                    weft::time::sleep(Duration::from_secs(60));
                    finished.set(true);
                    1
                }),
                Box::new(|| panic!("branch failed")),
            ];
            fiber::n_any(branches)
        }));
        assert_eq!(
            r.unwrap_err().downcast_ref::<&str>(),
            Some(&"branch failed")
        );
        assert!(!finished.get());
    });
}

#[test]
fn n_any_of_a_cancelled_caller_unwinds_it() {
    mock().run(|_env| {
        let r = weft::time::timeout(Duration::from_millis(5), || {
            let branches: Vec<Branch<u8>> = vec![
                Box::new(|| fiber::await_cancel()),
                Box::new(|| fiber::await_cancel()),
            ];
            fiber::n_any(branches)
        });
        assert!(r.is_err());
    });
}

#[test]
#[should_panic(expected = "fiber::n_any needs at least one branch")]
fn n_any_of_nothing_is_refused() {
    mock().run(|_env| fiber::n_any(Vec::<fn() -> u8>::new()));
}

/// Runs `f` while counting how many calls are in flight at once.
fn track<'a>(running: &'a Cell<usize>, peak: &'a Cell<usize>) -> impl Fn() + 'a {
    move || {
        running.set(running.get() + 1);
        peak.set(peak.get().max(running.get()));
        weft::time::sleep(Duration::from_millis(1));
        running.set(running.get() - 1);
    }
}

#[test]
fn filter_keeps_input_order_and_respects_max_fibers() {
    mock().run(|_env| {
        let (running, peak) = (Cell::new(0), Cell::new(0));
        let step = track(&running, &peak);
        // Later items finish first; the result is still in input order.
        let kept = fiber::filter(3, 0..10u64, |n| {
            step();
            weft::time::sleep(Duration::from_millis(10 - n));
            n % 3 == 0
        });
        assert_eq!(kept, [0, 3, 6, 9]);
        assert_eq!(peak.get(), 3);

        let all = fiber::filter(usize::MAX, 0..10, |_| {
            step();
            true
        });
        assert_eq!(all.len(), 10);
        assert_eq!(peak.get(), 10, "no limit: every call ran at once");
    });
}

#[test]
fn filter_map_keeps_the_some_results_in_order() {
    mock().run(|_env| {
        let (running, peak) = (Cell::new(0), Cell::new(0));
        let step = track(&running, &peak);
        let out = fiber::filter_map(2, ["1", "x", "3", "", "5"], |s| {
            step();
            s.parse::<u8>().ok().map(|n| n * 10)
        });
        assert_eq!(out, [10, 30, 50]);
        assert_eq!(peak.get(), 2);
        let none: Vec<u8> = fiber::filter_map(4, Vec::<u8>::new(), Some);
        assert!(none.is_empty());
    });
}

#[test]
fn iter_calls_every_item_with_at_most_max_fibers_at_once() {
    mock().run(|_env| {
        let (running, peak) = (Cell::new(0), Cell::new(0));
        let step = track(&running, &peak);
        let seen = RefCell::new(Vec::new());
        fiber::iter(4, 0..20, |i| {
            step();
            seen.borrow_mut().push(i);
        });
        let mut seen = seen.into_inner();
        seen.sort();
        assert_eq!(seen, (0..20).collect::<Vec<_>>());
        assert_eq!(peak.get(), 4);
        assert_eq!(running.get(), 0);
    });
}

#[test]
fn a_panic_in_iter_cancels_the_other_calls_and_is_re_raised() {
    mock().run(|_env| {
        let finished = Cell::new(0);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            fiber::iter(3, 0..3, |i| {
                if i == 1 {
                    panic!("item 1");
                }
                weft::time::sleep(Duration::from_secs(60));
                finished.set(finished.get() + 1);
            })
        }));
        assert_eq!(r.unwrap_err().downcast_ref::<&str>(), Some(&"item 1"));
        assert_eq!(finished.get(), 0, "the sleeping calls were cancelled");
    });
}

#[test]
#[should_panic(expected = "max_fibers >= 1")]
fn filter_with_no_fibers_is_refused() {
    mock().run(|_env| fiber::filter(0, [1], |_| true));
}
