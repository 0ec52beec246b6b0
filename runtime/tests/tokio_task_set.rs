//! `weft::TaskSet` keeps tokio `JoinSet` semantics.

use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::time::Duration;

use weft::TaskSet;

fn mock<T>(f: impl FnOnce() -> T) -> T {
    weft::Runtime::builder()
        .mock_clock(true)
        .build()
        .unwrap()
        .run(|_env| f())
}

/// Sets its flag when dropped (proves a task unwound).
struct DropFlag(Rc<Cell<bool>>);
impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

#[test]
fn join_next_returns_in_completion_order_then_none() {
    mock(|| {
        let mut set = TaskSet::new();
        for (i, ms) in [(0, 30), (1, 10), (2, 20)] {
            set.spawn(move || {
                weft::time::sleep(Duration::from_millis(ms));
                i
            });
        }
        assert_eq!(set.len(), 3);
        let mut order = vec![];
        while let Some(r) = set.join_next() {
            order.push(r.unwrap());
        }
        assert_eq!(order, [1, 2, 0]);
        assert!(set.is_empty());
        assert!(set.join_next().is_none());
    });
}

#[test]
fn finished_tasks_count_until_joined() {
    mock(|| {
        let mut set = TaskSet::new();
        set.spawn(|| 1);
        set.spawn(|| 2);
        // As in tokio, spawned tasks start once the caller yields.
        assert!(set.try_join_next().is_none());
        weft::fiber::yield_now();
        assert_eq!(set.len(), 2);
        assert_eq!(set.try_join_next().unwrap().unwrap(), 1);
        assert_eq!(set.len(), 1);
        assert_eq!(set.try_join_next().unwrap().unwrap(), 2);
        assert!(set.try_join_next().is_none());
        assert!(set.is_empty());
    });
}

#[test]
fn try_join_next_does_not_wait() {
    mock(|| {
        let mut set = TaskSet::new();
        set.spawn(|| weft::time::sleep(Duration::from_secs(1)));
        assert!(set.try_join_next().is_none());
        assert_eq!(set.len(), 1);
        assert!(set.join_next().unwrap().is_ok());
    });
}

#[test]
fn dropping_the_set_aborts_its_tasks() {
    mock(|| {
        let unwound = Rc::new(Cell::new(false));
        let completed = Rc::new(Cell::new(false));
        let mut set = TaskSet::new();
        let (u, c) = (unwound.clone(), completed.clone());
        let handle = set.spawn(move || {
            let _guard = DropFlag(u);
            weft::time::sleep(Duration::from_secs(10));
            c.set(true);
        });
        assert!(!unwound.get());
        drop(set);
        weft::time::sleep(Duration::from_secs(20));
        assert!(unwound.get(), "the task's destructors ran");
        assert!(!completed.get(), "the task did not run to its end");
        assert!(handle.is_finished());
    });
}

#[test]
fn abort_handle_cancels_one_task() {
    mock(|| {
        let mut set = TaskSet::new();
        let a = set.spawn(|| {
            weft::time::sleep(Duration::from_secs(1));
            "a"
        });
        set.spawn(|| {
            weft::time::sleep(Duration::from_secs(2));
            "b"
        });
        a.abort();
        let first = set.join_next().unwrap();
        assert!(first.unwrap_err().is_cancelled());
        assert_eq!(set.join_next().unwrap().unwrap(), "b");
    });
}

#[test]
fn abort_after_finish_keeps_the_value() {
    mock(|| {
        let mut set = TaskSet::new();
        let h = set.spawn(|| 5);
        weft::fiber::yield_now();
        assert!(h.is_finished());
        h.abort();
        assert_eq!(set.join_next().unwrap().unwrap(), 5);
    });
}

#[test]
fn panics_are_reported_as_join_errors() {
    mock(|| {
        let mut set = TaskSet::<()>::new();
        set.spawn(|| panic!("task blew up"));
        let err = set.join_next().unwrap().unwrap_err();
        assert!(err.is_panic());
        assert_eq!(err.to_string(), "task panicked: task blew up");
    });
}

#[test]
fn join_all_collects_in_completion_order() {
    mock(|| {
        let mut set = TaskSet::new();
        for i in 0..4u64 {
            set.spawn(move || {
                weft::time::sleep(Duration::from_millis(40 - 10 * i));
                i
            });
        }
        assert_eq!(set.join_all(), [3, 2, 1, 0]);
    });
}

#[test]
fn join_all_reraises_a_panic_and_aborts_the_rest() {
    mock(|| {
        let unwound = Rc::new(Cell::new(false));
        let mut set = TaskSet::<()>::new();
        let u = unwound.clone();
        set.spawn(move || {
            let _g = DropFlag(u);
            weft::time::sleep(Duration::from_secs(10));
        });
        set.spawn(|| {
            weft::time::sleep(Duration::from_secs(1));
            std::panic::panic_any(42u32)
        });
        let payload = catch_unwind(AssertUnwindSafe(|| set.join_all())).unwrap_err();
        assert_eq!(*payload.downcast::<u32>().unwrap(), 42);
        weft::time::sleep(Duration::from_secs(1));
        assert!(unwound.get(), "the remaining task was aborted");
    });
}

#[test]
fn join_all_panics_on_a_cancelled_task() {
    mock(|| {
        let mut set = TaskSet::<()>::new();
        set.spawn(|| weft::fiber::await_cancel()).abort();
        let payload = catch_unwind(AssertUnwindSafe(|| set.join_all())).unwrap_err();
        assert_eq!(
            payload.downcast_ref::<String>().unwrap(),
            "task was cancelled"
        );
    });
}

#[test]
fn abort_all_keeps_tasks_until_joined() {
    mock(|| {
        let mut set = TaskSet::new();
        set.spawn(|| weft::fiber::await_cancel());
        set.spawn(|| 7);
        set.abort_all();
        assert_eq!(set.len(), 2);
        let mut ok = 0;
        let mut cancelled = 0;
        while let Some(r) = set.join_next() {
            match r {
                Ok(v) => {
                    assert_eq!(v, 7);
                    ok += 1
                }
                Err(e) => {
                    assert!(e.is_cancelled());
                    cancelled += 1
                }
            }
        }
        assert_eq!((ok, cancelled), (1, 1));
    });
}

#[test]
fn shutdown_aborts_and_waits() {
    mock(|| {
        let flags: Vec<Rc<Cell<bool>>> = (0..3).map(|_| Rc::new(Cell::new(false))).collect();
        let mut set = TaskSet::new();
        for f in &flags {
            let f = f.clone();
            set.spawn(move || {
                let _g = DropFlag(f);
                weft::time::sleep(Duration::from_secs(100));
            });
        }
        set.spawn(|| panic!("ignored by shutdown"));
        set.shutdown();
        assert!(set.is_empty());
        assert!(
            flags.iter().all(|f| f.get()),
            "every task unwound before shutdown returned"
        );
    });
}

#[test]
fn detach_all_lets_tasks_run_to_completion() {
    mock(|| {
        let completed = Rc::new(Cell::new(false));
        let mut set = TaskSet::new();
        let c = completed.clone();
        let h = set.spawn(move || {
            weft::time::sleep(Duration::from_secs(1));
            c.set(true);
        });
        set.detach_all();
        assert!(set.is_empty());
        assert!(set.join_next().is_none());
        drop(set);
        weft::time::sleep(Duration::from_secs(2));
        assert!(completed.get());
        assert!(h.is_finished());
    });
}

#[test]
fn cancelled_join_next_loses_no_result() {
    mock(|| {
        let mut set = TaskSet::new();
        set.spawn(|| {
            weft::time::sleep(Duration::from_secs(5));
            "late"
        });
        let r = weft::time::timeout(Duration::from_secs(1), || set.join_next());
        assert!(r.is_err(), "join_next was cancelled by the timeout");
        assert_eq!(set.len(), 1);
        assert_eq!(set.join_next().unwrap().unwrap(), "late");
        assert!(set.is_empty());
    });
}

#[test]
fn join_next_cancelled_at_the_moment_a_task_finishes() {
    // Both the timeout and the task are due at the same instant: whichever
    // wins, the result is either returned or kept in the set, never lost.
    mock(|| {
        let mut set = TaskSet::new();
        set.spawn(|| {
            weft::time::sleep(Duration::from_secs(1));
            9
        });
        let got = RefCell::new(vec![]);
        match weft::time::timeout(Duration::from_secs(1), || set.join_next()) {
            Ok(r) => got.borrow_mut().push(r.unwrap().unwrap()),
            Err(_) => got.borrow_mut().push(set.join_next().unwrap().unwrap()),
        }
        assert_eq!(*got.borrow(), [9]);
        assert!(set.join_next().is_none());
    });
}

#[test]
fn join_handle_abort_handle_outlives_the_handle() {
    mock(|| {
        let unwound = Rc::new(Cell::new(false));
        let u = unwound.clone();
        let h = weft::spawn(move || {
            let _g = DropFlag(u);
            weft::fiber::await_cancel()
        });
        let abort = h.abort_handle();
        drop(h);
        assert!(!abort.is_finished());
        abort.abort();
        weft::time::sleep(Duration::from_millis(1));
        assert!(unwound.get());
        assert!(abort.is_finished());
    });
}

#[test]
fn tasks_in_a_set_are_cancelled_when_the_runtime_ends() {
    let unwound = Rc::new(Cell::new(false));
    let u = unwound.clone();
    mock(move || {
        let mut set = TaskSet::new();
        set.spawn(move || {
            let _g = DropFlag(u);
            weft::fiber::await_cancel()
        });
        set.detach_all();
    });
    assert!(unwound.get());
}

#[test]
fn spawn_blocking_tasks_block_pool_threads_not_the_fibers() {
    weft::run(|_env| {
        let mut set = weft::TaskSet::new();
        // Each task blocks its thread until all four are blocked at once:
        // only possible on four pool threads, never on the runtime thread.
        let all_blocked = std::sync::Arc::new(std::sync::Barrier::new(4));
        for i in 0..4u64 {
            let all_blocked = all_blocked.clone();
            set.spawn_blocking(move || {
                all_blocked.wait();
                i * 10
            });
        }
        let ticks = Cell::new(0);
        let (mut done, ()) = weft::fiber::both(
            || {
                std::iter::from_fn(|| set.join_next())
                    .map(Result::unwrap)
                    .collect::<Vec<u64>>()
            },
            || {
                for _ in 0..5 {
                    ticks.set(ticks.get() + 1);
                    weft::fiber::yield_now();
                }
            },
        );
        done.sort();
        assert_eq!(done, [0, 10, 20, 30]);
        assert_eq!(ticks.get(), 5);

        // An aborted blocking task is reported as cancelled.
        let handle = set.spawn_blocking(|| {
            std::thread::sleep(Duration::from_millis(50));
            99
        });
        handle.abort();
        assert!(set.join_next().unwrap().unwrap_err().is_cancelled());
        assert!(set.is_empty());
    });
}
