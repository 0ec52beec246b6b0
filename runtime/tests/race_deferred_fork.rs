//! A race's other branches are forked when its head first switches out
//! (`fiber/deferred_fork.rs`): never created when the head returns without
//! blocking, and, when it blocks, queued exactly where an eager fork would
//! have put them.

use std::cell::{Cell, RefCell};
use std::sync::Mutex;

use weft::fiber;

/// Fiber ids are global: the tests take turns so one's fibers do not
/// appear between the other's ids. The turn is taken before the runtime
/// starts (a runtime's main fiber takes an id too), so these are plain
/// tests around `weft::run` rather than `#[weft::test]`.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The id of a freshly forked fiber.
fn new_fiber_id() -> u64 {
    let id = Cell::new(0);
    weft::Switch::run(|sw| {
        sw.fork(|| id.set(fiber::id().as_u64()));
        Ok(())
    })
    .unwrap();
    id.get()
}

#[test]
fn losers_of_a_head_that_returns_without_blocking_are_never_created() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    weft::run(|_env| losers_of_a_head_that_returns_without_blocking_are_never_created_body());
}

fn losers_of_a_head_that_returns_without_blocking_are_never_created_body() {
    let before = new_fiber_id();
    for i in 0..100u32 {
        assert_eq!(fiber::first(|| i, || fiber::await_cancel()), i);
        let branches: [Box<dyn FnOnce() -> u32>; 3] = [
            Box::new(|| i),
            Box::new(|| fiber::await_cancel()),
            Box::new(|| fiber::await_cancel()),
        ];
        assert_eq!(fiber::any(branches), i);
    }
    assert_eq!(new_fiber_id(), before + 1, "the races created fibers");
}

#[test]
fn losers_of_a_head_that_blocks_start_right_after_it_in_order() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    weft::run(|_env| losers_of_a_head_that_blocks_start_right_after_it_in_order_body());
}

fn losers_of_a_head_that_blocks_start_right_after_it_in_order_body() {
    let log = RefCell::new(Vec::new());
    let before = new_fiber_id();
    weft::Switch::run(|sw| {
        // Queued before the race: runs after the losers, which are forked
        // to the front of the run queue.
        sw.fork(|| {
            fiber::yield_now();
            log.borrow_mut().push("queued before");
        });
        let won = fiber::any([
            Box::new(|| {
                log.borrow_mut().push("head");
                fiber::yield_now();
                log.borrow_mut().push("head again");
                "head"
            }) as Box<dyn FnOnce() -> &'static str>,
            Box::new(|| {
                log.borrow_mut().push("second");
                fiber::await_cancel()
            }),
            Box::new(|| {
                log.borrow_mut().push("third");
                fiber::await_cancel()
            }),
        ]);
        assert_eq!(won, "head");
        Ok(())
    })
    .unwrap();
    assert_eq!(
        *log.borrow(),
        ["head", "second", "third", "queued before", "head again"]
    );
    // The probe, the queued fiber and the two losers, then this probe.
    assert_eq!(new_fiber_id(), before + 4);
}
