//! OnceCell with tokio's meaning: one initializer at a time while the
//! others suspend (not their thread), a cancelled or panicking initializer
//! leaves the cell empty for the next caller, `set` never waits, and a
//! static cell is shared by fibers on several threads.

mod common;

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::mock_run;
use weft::sync::{OnceCell, SetError};
use weft::Switch;

#[test]
fn waiting_for_an_initializer_suspends_the_fiber_not_the_thread() {
    mock_run(|_env| {
        let cell = OnceCell::new();
        let ticks = Cell::new(0);
        let got = weft::fiber::all([
            Box::new(|| {
                *cell.get_or_init(|| {
                    weft::time::sleep(Duration::from_secs(1));
                    "first"
                })
            }) as Box<dyn FnOnce() -> &'static str + '_>,
            Box::new(|| *cell.get_or_init(|| "second")),
            Box::new(|| {
                // Runs while both others wait: the thread is not blocked.
                for _ in 0..10 {
                    ticks.set(ticks.get() + 1);
                    weft::fiber::yield_now();
                }
                "ticker"
            }),
        ]);
        assert_eq!(got, ["first", "first", "ticker"]);
        assert_eq!(ticks.get(), 10);
    });
}

#[test]
fn a_cancelled_initializer_leaves_the_cell_to_the_next_caller() {
    mock_run(|_env| {
        let cell = OnceCell::new();
        let unwound = Cell::new(false);
        struct Flag<'a>(&'a Cell<bool>);
        impl Drop for Flag<'_> {
            fn drop(&mut self) {
                self.0.set(true);
            }
        }
        Switch::run(|sw| {
            sw.fork(|| {
                let r = weft::time::timeout(Duration::from_secs(1), || {
                    *cell.get_or_init(|| {
                        let _flag = Flag(&unwound);
                        weft::time::sleep(Duration::from_secs(100));
                        "never"
                    })
                });
                assert!(r.is_err());
            });
            // Queued behind the first initializer; runs its own once the
            // first is cancelled.
            sw.fork(|| assert_eq!(*cell.get_or_init(|| "retried"), "retried"));
            Ok(())
        })
        .unwrap();
        assert!(
            unwound.get(),
            "the cancelled initializer ran its destructors"
        );
        assert_eq!(cell.get(), Some(&"retried"));
    });
}

#[test]
fn a_panicking_or_failing_initializer_stores_nothing() {
    weft::run(|_env| {
        let cell: OnceCell<u32> = OnceCell::new();
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            cell.get_or_init(|| panic!("config missing"));
        }));
        assert!(panicked.is_err());
        assert!(!cell.initialized());
        assert_eq!(
            cell.get_or_try_init(|| Err("still down")),
            Err("still down")
        );
        assert!(!cell.initialized());
        assert_eq!(cell.get_or_try_init(|| Ok::<_, &str>(7)), Ok(&7));
        assert_eq!(*cell.get_or_init(|| 8), 7);
    });
}

#[test]
fn set_never_waits_and_says_why_it_did_not_store() {
    mock_run(|_env| {
        let cell = OnceCell::new();
        Switch::run(|sw| {
            sw.fork(|| {
                cell.get_or_init(|| {
                    weft::time::sleep(Duration::from_secs(1));
                    1
                });
            });
            // The initializer above is running (asleep) now.
            let e = cell.set(2).unwrap_err();
            assert!(matches!(e, SetError::InitializingError(2)), "{e:?}");
            Ok(())
        })
        .unwrap();
        let e = cell.set(3).unwrap_err();
        assert!(e.is_already_init_err());
        assert_eq!(e.into_value(), 3);
        assert_eq!(cell.get(), Some(&1));
    });
}

#[test]
fn a_static_cell_is_initialized_once_across_runtime_threads() {
    static SHARED: OnceCell<usize> = OnceCell::const_new();
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let threads: Vec<_> = (0..4)
        .map(|i| {
            std::thread::spawn(move || {
                weft::run(|_env| {
                    let all = weft::fiber::all((0..8).map(|_| {
                        || {
                            *SHARED.get_or_init(|| {
                                RUNS.fetch_add(1, Ordering::SeqCst);
                                // Long enough for the other threads to queue.
                                weft::time::sleep(Duration::from_millis(20));
                                i
                            })
                        }
                    }));
                    assert!(all.windows(2).all(|w| w[0] == w[1]));
                    all[0]
                })
            })
        })
        .collect();
    let seen: Vec<usize> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(RUNS.load(Ordering::SeqCst), 1);
    assert!(seen.iter().all(|&v| v == seen[0]), "{seen:?}");
}
