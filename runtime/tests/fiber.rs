//! Fiber combinators (Eio's fiber.md): scheduling order, both, first,
//! all, any, map_concurrent, failures.

use std::cell::{Cell, RefCell};
use std::time::Duration;

use weft::fiber;

type Log = RefCell<Vec<&'static str>>;

#[test]
fn fork_runs_the_child_first_and_the_parent_next() {
    let l = Log::default();
    weft::run(|_env| {
        weft::Switch::run(|sw| {
            sw.fork(|| {
                l.borrow_mut().push("child");
                fiber::yield_now();
                l.borrow_mut().push("child again");
            });
            l.borrow_mut().push("parent");
            Ok(())
        })
        .unwrap();
    });
    assert_eq!(*l.borrow(), ["child", "parent", "child again"]);
}

#[test]
fn both_interleaves_at_yields() {
    let l = Log::default();
    weft::run(|_env| {
        fiber::both(
            || {
                for s in ["i = 1", "i = 2"] {
                    l.borrow_mut().push(s);
                    fiber::yield_now();
                }
            },
            || {
                for s in ["j = 1", "j = 2"] {
                    l.borrow_mut().push(s);
                    fiber::yield_now();
                }
            },
        );
    });
    assert_eq!(*l.borrow(), ["i = 1", "j = 1", "i = 2", "j = 2"]);
}

#[test]
fn both_cancels_the_other_when_one_fails() {
    let l = Log::default();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        weft::run(|_env| {
            fiber::both(
                || -> () {
                    struct G<'a>(&'a Log);
                    impl Drop for G<'_> {
                        fn drop(&mut self) {
                            self.0.borrow_mut().push("other cancelled");
                        }
                    }
                    let _g = G(&l);
                    fiber::await_cancel()
                },
                || -> () { panic!("failed") },
            );
        })
    }));
    assert!(r.is_err());
    assert_eq!(*l.borrow(), ["other cancelled"]);
}

#[test]
fn first_returns_the_winner_and_cancels_the_loser() {
    let loser_unwound = Cell::new(false);
    let v = weft::run(|_env| {
        fiber::first(
            || {
                struct G<'a>(&'a Cell<bool>);
                impl Drop for G<'_> {
                    fn drop(&mut self) {
                        self.0.set(true);
                    }
                }
                let _g = G(&loser_unwound);
                weft::time::sleep(Duration::from_secs(60));
                "slow"
            },
            || {
                weft::time::sleep(Duration::from_millis(1));
                "fast"
            },
        )
    });
    assert_eq!(v, "fast");
    assert!(loser_unwound.get());
}

#[test]
fn first_a_loser_queued_behind_an_instant_winner_never_starts() {
    let second_ran = Cell::new(false);
    let v = weft::run(|_env| {
        fiber::first(
            || 1,
            || {
                second_ran.set(true);
                2
            },
        )
    });
    assert_eq!(v, 1);
    // The second branch was queued, then the first won before its turn:
    // it never starts, so nothing it would do commits (Eio; a tokio
    // future dropped before its first poll).
    assert!(!second_ran.get());
}

#[test]
fn a_panic_in_a_first_branch_is_reported() {
    let r = std::panic::catch_unwind(|| {
        weft::run(|_env| fiber::first(|| -> u8 { panic!("bad branch") }, || fiber::await_cancel()))
    });
    assert_eq!(*r.unwrap_err().downcast::<&str>().unwrap(), "bad branch");
}

#[test]
fn all_returns_results_in_order_and_any_returns_the_first() {
    weft::run(|_env| {
        let v = fiber::all((1..=4u64).map(|i| {
            move || {
                weft::time::sleep(Duration::from_millis(5 - i));
                i * 10
            }
        }));
        assert_eq!(v, [10, 20, 30, 40]);
        let w = fiber::any((1..=3u64).map(|i| {
            move || {
                weft::time::sleep(Duration::from_millis(i * 3));
                i
            }
        }));
        assert_eq!(w, 1);
        assert!(fiber::all(Vec::<fn() -> u8>::new()).is_empty());
    });
}

#[test]
fn map_concurrent_never_runs_more_than_max_at_once() {
    weft::run(|_env| {
        let running = Cell::new(0);
        let peak = Cell::new(0);
        let out = fiber::map_concurrent(3, 0..20, |i| {
            running.set(running.get() + 1);
            peak.set(peak.get().max(running.get()));
            fiber::yield_now();
            running.set(running.get() - 1);
            i * 2
        });
        assert_eq!(out, (0..20).map(|i| i * 2).collect::<Vec<_>>());
        assert_eq!(peak.get(), 3);
    });
}

#[test]
fn twenty_thousand_fibers_yield_and_finish() {
    let n = weft::run(|_env| {
        let done = Cell::new(0u32);
        weft::Switch::run(|sw| {
            for _ in 0..20_000 {
                let done = &done;
                sw.fork(move || {
                    fiber::yield_now();
                    done.set(done.get() + 1);
                });
            }
            Ok(())
        })
        .unwrap();
        done.get()
    });
    assert_eq!(n, 20_000);
}

/// Ids come from per-thread blocks: they must still be unique across
/// threads (over several blocks each), and increase within a thread.
#[test]
fn fiber_ids_are_unique_across_threads_and_increase_per_thread() {
    const PER_THREAD: usize = 5_000;
    let (tx, rx) = std::sync::mpsc::channel();
    for _ in 0..3 {
        let tx = tx.clone();
        std::thread::spawn(move || {
            let ids = weft::run(|_env| {
                let ids = RefCell::new(Vec::with_capacity(PER_THREAD));
                for _ in 0..PER_THREAD {
                    weft::Switch::run(|sw| {
                        sw.fork(|| ids.borrow_mut().push(fiber::id().as_u64()));
                        Ok(())
                    })
                    .unwrap();
                }
                ids.into_inner()
            });
            tx.send(ids).unwrap();
        });
    }
    drop(tx);
    let mut all = Vec::new();
    for _ in 0..3 {
        let ids = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("a thread finished its fibers in time");
        assert_eq!(ids.len(), PER_THREAD);
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "ids increase within a thread"
        );
        all.extend(ids);
    }
    let n = all.len();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), n, "no id was handed out twice");
}

#[test]
fn ids_and_names() {
    weft::run(|_env| {
        assert_eq!(fiber::name().as_deref(), Some("main"));
        let main_id = fiber::id();
        weft::Switch::run(|sw| {
            sw.fork_named("worker", || {
                assert_eq!(fiber::name().as_deref(), Some("worker"));
                assert_ne!(fiber::id(), main_id);
            });
            Ok(())
        })
        .unwrap();
    });
}

struct SetOnDrop<'a>(&'a Cell<bool>);
impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

#[test]
fn try_all_returns_values_in_order_when_all_succeed() {
    let v: Result<Vec<u32>, String> = weft::run(|_env| {
        fiber::try_all((1..=4).map(|i| {
            move || {
                weft::time::sleep(Duration::from_millis(u64::from(5 - i)));
                Ok(i * 10)
            }
        }))
    });
    assert_eq!(v, Ok(vec![10, 20, 30, 40]));
}

#[test]
fn try_all_cancels_the_others_at_the_first_error_and_waits_for_them() {
    let slow_unwound = Cell::new(false);
    let r: Result<Vec<&str>, &str> = weft::run(|_env| {
        let branches: Vec<Box<dyn FnOnce() -> Result<&'static str, &'static str> + '_>> = vec![
            Box::new(|| {
                let _g = SetOnDrop(&slow_unwound);
                weft::time::sleep(Duration::from_secs(3600));
                Ok("slow")
            }),
            Box::new(|| {
                weft::time::sleep(Duration::from_millis(1));
                Err("boom")
            }),
            Box::new(|| Err("later")),
        ];
        let r = fiber::try_all(branches);
        assert!(
            slow_unwound.get(),
            "the slow branch unwound before try_all returned"
        );
        r
    });
    // The third branch fails first (it never sleeps), so its error wins.
    assert_eq!(r, Err("later"));
}

#[test]
fn try_both_returns_the_first_error_and_cancels_the_sibling() {
    let sibling_unwound = Cell::new(false);
    let r: Result<((), u8), String> = weft::run(|_env| {
        fiber::try_both(
            || {
                let _g = SetOnDrop(&sibling_unwound);
                fiber::await_cancel()
            },
            || Err("refused".to_string()),
        )
    });
    assert_eq!(r, Err("refused".to_string()));
    assert!(sibling_unwound.get());
    let ok: Result<(u8, &str), ()> = weft::run(|_env| fiber::try_both(|| Ok(1), || Ok("b")));
    assert_eq!(ok, Ok((1, "b")));
}

#[test]
fn try_all_unwinds_when_the_caller_is_cancelled() {
    let reached_end = Cell::new(false);
    weft::run(|_env| {
        fiber::first(
            || {
                fn never() -> Result<(), ()> {
                    fiber::await_cancel()
                }
                let _ = fiber::try_all([never, never]);
                reached_end.set(true);
            },
            || weft::time::sleep(Duration::from_millis(1)),
        )
    });
    assert!(
        !reached_end.get(),
        "a cancelled caller unwinds out of try_all"
    );
}
