//! Fiber-local variables (Eio's `Fiber.with_binding` / `get`) and tokio's
//! `task_local!` on them: scoping, shadowing, restoring on unwind and on
//! cancellation, inheritance by forked fibers and spawned tasks, shared
//! values, and the values' lifetime.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use weft::fiber::{self, Key};
use weft::Switch;

fn mock() -> weft::Runtime {
    weft::Runtime::builder().mock_clock(true).build().unwrap()
}

static NAME: Key<&'static str> = Key::new();
static NUMBER: Key<u32> = Key::new();

#[test]
fn a_binding_is_seen_inside_its_closure_only_and_inner_ones_shadow() {
    mock().run(|_env| {
        assert_eq!(fiber::get(&NAME), None);
        fiber::with_binding(&NAME, "outer", || {
            assert_eq!(fiber::get(&NAME), Some("outer"));
            // Another key is independent.
            assert_eq!(fiber::get(&NUMBER), None);
            fiber::with_binding(&NAME, "inner", || {
                assert_eq!(fiber::get(&NAME), Some("inner"));
                fiber::without_binding(&NAME, || assert_eq!(fiber::get(&NAME), None));
                assert_eq!(fiber::get(&NAME), Some("inner"));
            });
            assert_eq!(fiber::get(&NAME), Some("outer"));
        });
        assert_eq!(fiber::get(&NAME), None);
    });
}

#[test]
fn keys_made_at_run_time_are_distinct_and_a_clone_names_the_same_variable() {
    mock().run(|_env| {
        let a: Key<u8> = Key::new();
        let b: Key<u8> = Key::new();
        fiber::with_binding(&a, 1, || {
            assert_eq!(fiber::get(&a), Some(1));
            assert_eq!(fiber::get(&b), None);
            assert_eq!(fiber::get(&a.clone()), Some(1));
        });
    });
}

#[test]
fn the_previous_binding_comes_back_when_the_closure_panics() {
    mock().run(|_env| {
        fiber::with_binding(&NUMBER, 1, || {
            let r = std::panic::catch_unwind(|| {
                fiber::with_binding(&NUMBER, 2, || -> () { panic!("boom") })
            });
            assert!(r.is_err());
            assert_eq!(fiber::get(&NUMBER), Some(1));
        });
    });
}

#[test]
fn the_previous_binding_comes_back_when_the_closure_is_cancelled() {
    mock().run(|_env| {
        fiber::with_binding(&NUMBER, 1, || {
            let r = weft::time::timeout(Duration::from_secs(1), || {
                fiber::with_binding(&NUMBER, 2, || weft::time::sleep(Duration::from_secs(60)))
            });
            assert!(r.is_err(), "the sleep was cancelled");
            assert_eq!(fiber::get(&NUMBER), Some(1));
        });
    });
}

#[test]
fn forked_fibers_inherit_the_bindings_in_force_at_the_fork() {
    mock().run(|_env| {
        let seen = RefCell::new(Vec::new());
        fiber::with_binding(&NAME, "parent", || {
            Switch::run(|sw| {
                sw.fork(|| seen.borrow_mut().push(("fork", fiber::get(&NAME))));
                sw.fork_daemon(|| -> () {
                    seen.borrow_mut().push(("daemon", fiber::get(&NAME)));
                    fiber::await_cancel()
                });
                let p = sw.fork_promise(|| fiber::get(&NAME));
                assert_eq!(*p.await_().as_ref().unwrap(), Some("parent"));
                // A binding made in the child is its own.
                sw.fork(|| {
                    fiber::with_binding(&NAME, "child", || {
                        fiber::yield_now();
                        seen.borrow_mut().push(("rebound", fiber::get(&NAME)));
                    })
                });
                seen.borrow_mut().push(("body", fiber::get(&NAME)));
                Ok(())
            })
            .unwrap();
            let (a, b) = fiber::both(|| fiber::get(&NAME), || fiber::get(&NAME));
            assert_eq!((a, b), (Some("parent"), Some("parent")));
            let all = fiber::all((0..3).map(|_| || fiber::get(&NAME)));
            assert_eq!(all, [Some("parent"); 3]);
            let spawned = weft::spawn(|| fiber::get(&NAME));
            assert_eq!(spawned.join().unwrap(), Some("parent"));
        });
        // A fiber forked after the scope ended does not see it.
        let (after, _) = fiber::both(|| fiber::get(&NAME), || ());
        assert_eq!(after, None);
        let mut seen = seen.into_inner();
        seen.sort();
        assert_eq!(
            seen,
            [
                ("body", Some("parent")),
                ("daemon", Some("parent")),
                ("fork", Some("parent")),
                ("rebound", Some("child")),
            ]
        );
    });
}

#[test]
fn a_child_keeps_the_binding_after_the_parents_scope_has_ended() {
    mock().run(|_env| {
        let seen = Cell::new(None);
        Switch::run(|sw| {
            fiber::with_binding(&NUMBER, 7, || {
                sw.fork(|| {
                    weft::time::sleep(Duration::from_millis(10));
                    seen.set(fiber::get(&NUMBER));
                });
            });
            // The scope is over on this fiber, not in the child.
            assert_eq!(fiber::get(&NUMBER), None);
            Ok(())
        })
        .unwrap();
        assert_eq!(seen.get(), Some(7));
    });
}

#[test]
fn without_binding_hides_a_key_from_fibers_forked_inside() {
    mock().run(|_env| {
        fiber::with_binding(&NUMBER, 1, || {
            let (a, b) = fiber::without_binding(&NUMBER, || {
                fiber::both(|| fiber::get(&NUMBER), || fiber::get(&NUMBER))
            });
            assert_eq!((a, b), (None, None));
        });
    });
}

struct CountDrops(Rc<Cell<u32>>);

impl Drop for CountDrops {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

static SHARED: Key<RefCell<Vec<u32>>> = Key::new();
static DROPPED: Key<CountDrops> = Key::new();

#[test]
fn a_bound_value_is_shared_with_children_and_dropped_after_the_last_user() {
    mock().run(|_env| {
        fiber::with_binding(&SHARED, RefCell::new(Vec::new()), || {
            fiber::all(
                (0..3).map(|i| {
                    move || fiber::with_value(&SHARED, |v| v.unwrap().borrow_mut().push(i))
                }),
            );
            let mut got = fiber::with_value(&SHARED, |v| v.unwrap().borrow().clone());
            got.sort();
            assert_eq!(got, [0, 1, 2]);
        });

        let drops = Rc::new(Cell::new(0));
        Switch::run(|sw| {
            fiber::with_binding(&DROPPED, CountDrops(drops.clone()), || {
                sw.fork(|| {
                    weft::time::sleep(Duration::from_millis(5));
                    assert!(fiber::with_value(&DROPPED, |v| v.is_some()));
                });
            });
            // The scope ended, but the child still holds the value.
            assert_eq!(drops.get(), 0);
            Ok(())
        })
        .unwrap();
        assert_eq!(drops.get(), 1, "dropped once, when the child finished");
    });
}

#[test]
fn bindings_made_outside_a_runtime_reach_its_main_fiber_but_not_other_threads() {
    fiber::with_binding(&NUMBER, 5, || {
        assert_eq!(fiber::get(&NUMBER), Some(5));
        let inside = mock().run(|_env| fiber::get(&NUMBER));
        assert_eq!(inside, Some(5));
        let other_thread = std::thread::spawn(|| mock().run(|_env| fiber::get(&NUMBER)))
            .join()
            .unwrap();
        assert_eq!(other_thread, None);
    });
    assert_eq!(fiber::get(&NUMBER), None);
}

#[test]
fn a_binding_held_across_suspensions_stays_with_its_fiber() {
    // Two fibers bind the same key to different values and interleave:
    // each sees only its own value after every switch.
    mock().run(|_env| {
        let run = |v: u32| {
            fiber::with_binding(&NUMBER, v, || {
                for _ in 0..50 {
                    fiber::yield_now();
                    assert_eq!(fiber::get(&NUMBER), Some(v));
                }
            })
        };
        fiber::both(|| run(1), || run(2));
        assert_eq!(fiber::get(&NUMBER), None);
    });
}

weft::task_local! {
    static REQUEST_ID: u64;
    /// Attributes and visibility are accepted as in tokio.
    pub(crate) static USER: String;
}

#[test]
fn task_local_has_tokios_surface() {
    mock().run(|_env| {
        assert!(REQUEST_ID.try_with(|v| *v).is_err());
        assert!(REQUEST_ID.try_get().is_err());
        let r = REQUEST_ID.scope(9, || {
            assert_eq!(REQUEST_ID.get(), 9);
            assert_eq!(REQUEST_ID.try_get(), Ok(9));
            USER.sync_scope("ada".to_string(), || {
                assert_eq!(USER.with(|u| u.len()), 3);
                assert_eq!(USER.get(), "ada");
            });
            assert_eq!(
                USER.try_with(|_| ()).unwrap_err().to_string(),
                "task-local value not set"
            );
            // Inherited by forked fibers.
            fiber::both(|| REQUEST_ID.get(), || REQUEST_ID.get())
        });
        assert_eq!(r, (9, 9));
        assert!(REQUEST_ID.try_get().is_err());
    });
}

#[test]
#[should_panic(expected = "cannot access a task-local storage value without setting it first")]
fn task_local_with_panics_when_unset() {
    mock().run(|_env| REQUEST_ID.with(|v| *v));
}
