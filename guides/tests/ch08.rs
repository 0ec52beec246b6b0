//! Checks for exercise 8, `await_all`, with real tokio futures under
//! `weft_compat::tokio::run`.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Duration;

use weft_guide::exercises::ch08::await_all;

/// A correct answer finishes these tests in milliseconds; a wrong one
/// (awaiting the futures one after another) waits forever for a future
/// that needs the others, and this bound turns that wait into a failure
/// within seconds.
const LIMIT: Duration = Duration::from_secs(5);

#[test]
fn outputs_are_in_input_order() {
    let out = weft_compat::tokio::run(|_env| {
        await_all((0..5u64).map(|i| async move {
            tokio::time::sleep(Duration::from_millis(10 - 2 * i)).await;
            i
        }))
    });
    assert_eq!(out, [0, 1, 2, 3, 4]);
}

#[test]
fn no_futures_no_outputs() {
    let out: Vec<u8> = weft::run(|_env| await_all(Vec::<std::future::Ready<u8>>::new()));
    assert!(out.is_empty());
}

#[test]
fn works_without_tokio_for_plain_futures() {
    let out = weft::run(|_env| await_all([std::future::ready("a"), std::future::ready("b")]));
    assert_eq!(out, ["a", "b"]);
}

#[test]
fn all_futures_are_in_flight_together() {
    // Each future waits at a tokio barrier for all the others: awaiting
    // them one after another never gets past the first.
    let n = 6;
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let out = weft_compat::tokio::run(|_env| {
        weft::time::timeout(LIMIT, || {
            await_all((0..n).map(|i| {
                let barrier = barrier.clone();
                async move {
                    barrier.wait().await;
                    i * 2
                }
            }))
        })
    });
    assert_eq!(
        out.expect("all futures were in flight together (were they awaited one after another?)"),
        [0, 2, 4, 6, 8, 10]
    );
}

#[test]
fn futures_may_use_tokio_tasks() {
    let out = weft_compat::tokio::run(|_env| {
        await_all(
            (1..=3u32).map(|i| async move { tokio::spawn(async move { i * i }).await.unwrap() }),
        )
    });
    assert_eq!(out, [1, 4, 9]);
}

#[test]
fn a_panic_drops_the_other_futures() {
    /// Counts the futures that started (were polled once) and, on drop,
    /// the ones that were dropped.
    struct Flag<'a>(&'a Cell<usize>);
    impl<'a> Flag<'a> {
        fn new(started: &Cell<usize>, dropped: &'a Cell<usize>) -> Self {
            started.set(started.get() + 1);
            Flag(dropped)
        }
    }
    impl Drop for Flag<'_> {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }
    let (started, dropped) = (Cell::new(0), Cell::new(0));
    let r = weft_compat::tokio::run(|_env| {
        catch_unwind(AssertUnwindSafe(|| {
            weft::time::timeout(LIMIT, || {
                await_all((0..4u64).map(|i| {
                    let (started, dropped) = (&started, &dropped);
                    async move {
                        let _flag = Flag::new(started, dropped);
                        if i == 2 {
                            tokio::time::sleep(Duration::from_millis(5)).await;
                            panic!("future 2 failed");
                        }
                        // Never finishes: only the panic can end await_all.
                        std::future::pending::<()>().await;
                    }
                }))
            })
        }))
    });
    let payload = match r {
        Err(payload) => payload,
        Ok(Err(_elapsed)) => panic!(
            "await_all was still waiting after {LIMIT:?}: future 2's panic never came \
             (were the futures awaited one after another? future 0 never finishes)"
        ),
        Ok(Ok(_)) => panic!("await_all returned, but futures 0, 1 and 3 never finish"),
    };
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"future 2 failed"));
    // Usually all four have started before future 2 panics. On a loaded
    // machine its 5 ms may pass before another one is first polled; that
    // one is then dropped unpolled and never creates its flag. Either way,
    // every future that started was dropped.
    assert_eq!(
        dropped.get(),
        started.get(),
        "every started future was dropped (the panicking one too)"
    );
}
