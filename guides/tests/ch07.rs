//! Checks for exercise 7, `map_chunks`, on a pool of two worker threads.

use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;
use std::thread::ThreadId;
use std::time::Duration;

use weft::sync::Barrier;
use weft::{Env, Runtime};
use weft_guide::exercises::ch07::map_chunks;

fn with_pool<T>(f: impl FnOnce(&Env) -> T) -> T {
    Runtime::builder()
        .executor_threads(2)
        .build()
        .unwrap()
        .run(f)
}

#[test]
fn results_are_in_chunk_order() {
    with_pool(|env| {
        let data: Vec<u64> = (0..1000).collect();
        let got = map_chunks(&env.executor_pool(), &data, 7, |c| {
            (c[0], c.len(), c.iter().sum::<u64>())
        });
        let want: Vec<_> = data
            .chunks(7)
            .map(|c| (c[0], c.len(), c.iter().sum::<u64>()))
            .collect();
        assert_eq!(got, want);
        assert_eq!(got.len(), 143);
        assert_eq!(got.last().unwrap().1, 6, "the last chunk is shorter");
    });
}

#[test]
fn f_runs_on_the_pool_threads() {
    with_pool(|env| {
        let caller = std::thread::current().id();
        let seen: Mutex<HashSet<ThreadId>> = Mutex::new(HashSet::new());
        let data = vec![1u8; 64];
        map_chunks(&env.executor_pool(), &data, 4, |_| {
            seen.lock().unwrap().insert(std::thread::current().id());
        });
        let seen = seen.into_inner().unwrap();
        assert!(!seen.is_empty());
        assert!(
            !seen.contains(&caller),
            "no chunk ran on the caller's thread"
        );
    });
}

#[test]
fn all_chunks_are_in_flight_at_once() {
    with_pool(|env| {
        // Six chunks; each waits until all six have arrived. Submitting
        // them one after another would never get past the first.
        let arrived = Barrier::new(6);
        let data: Vec<u32> = (0..6).collect();
        // A correct answer passes the barrier in milliseconds; one that
        // submits a chunk only after the previous one is done waits at it
        // forever, and the bound turns that into a failure within seconds.
        let r = weft::time::timeout(Duration::from_secs(5), || {
            map_chunks(&env.executor_pool(), &data, 1, |c| {
                arrived.wait();
                c[0] * 10
            })
        });
        assert_eq!(
            r.expect(
                "all six chunks were in flight at once (were they submitted one after another?)"
            ),
            [0, 10, 20, 30, 40, 50]
        );
    });
}

#[test]
fn no_data_no_results() {
    with_pool(|env| {
        let out: Vec<usize> = map_chunks(&env.executor_pool(), &[0u8; 0], 3, |c| c.len());
        assert!(out.is_empty());
    });
}

#[test]
fn a_panic_in_f_reaches_the_caller() {
    with_pool(|env| {
        let data: Vec<i32> = (0..10).collect();
        let r = catch_unwind(AssertUnwindSafe(|| {
            map_chunks(&env.executor_pool(), &data, 2, |c| {
                assert!(!c.contains(&7), "chunk with 7");
                c.len()
            })
        }));
        let payload = r.expect_err("the panic was re-raised");
        let msg = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        assert!(msg.contains("chunk with 7"), "got {msg:?}");
    });
}

#[test]
#[should_panic(expected = "chunk_len")]
fn zero_chunk_len_panics() {
    with_pool(|env| {
        map_chunks(&env.executor_pool(), &[1], 0, |c| c.len());
    });
}
