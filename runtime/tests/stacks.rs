//! The stack pool: stacks are carved 64 per mapping, reused, and handed on
//! to the next runtime that runs on the same thread.

use weft::Switch;

fn runtime() -> weft::Runtime {
    weft::Runtime::builder()
        .stack_size(64 * 1024)
        .build()
        .unwrap()
}

fn fork_many(n: usize) {
    Switch::run(|sw| {
        for _ in 0..n {
            sw.fork(weft::fiber::yield_now);
        }
        Ok(())
    })
    .unwrap();
}

#[test]
fn the_next_runtime_on_a_thread_starts_with_the_pooled_stacks() {
    // A fresh thread, so no other test's pool is around.
    std::thread::spawn(|| {
        let after_first = runtime().run(|_env| {
            fork_many(100);
            weft::runtime::stack_stats()
        });
        assert_eq!(after_first.in_use, 1, "only the main fiber is left");
        assert!(after_first.pooled >= 100, "{after_first:?}");
        let at_start = runtime().run(|_env| weft::runtime::stack_stats());
        // The first runtime's main fiber gave its stack back when it ended,
        // and the new main fiber took one: the count is unchanged.
        assert_eq!(at_start.pooled, after_first.pooled);
        assert_eq!(at_start.mappings, after_first.mappings);
    })
    .join()
    .unwrap();
}

#[test]
fn stacks_share_mappings() {
    std::thread::spawn(|| {
        runtime().run(|_env| {
            fork_many(200);
            let stats = weft::runtime::stack_stats();
            // 201 stacks live at the peak: four chunks of 64.
            let per_chunk = if stats.guard_in_place { 1 } else { 128 };
            assert_eq!(stats.mappings, 4 * per_chunk, "{stats:?}");
        });
    })
    .join()
    .unwrap();
}

#[test]
fn a_runtime_with_another_stack_size_does_not_take_the_pool() {
    std::thread::spawn(|| {
        runtime().run(|_env| fork_many(10));
        let stats = weft::Runtime::builder()
            .stack_size(128 * 1024)
            .build()
            .unwrap()
            .run(|_env| weft::runtime::stack_stats());
        assert_eq!(stats.stack_size, 128 * 1024);
        assert_eq!(stats.pooled, 0);
    })
    .join()
    .unwrap();
}

#[test]
fn deep_recursion_within_the_stack_size_works_in_every_slot() {
    // Uses most of each stack: a slot's neighbour (its guard page just
    // below) must not be touched by a fiber that stays within its size.
    fn recurse(n: usize) -> usize {
        let buf = std::hint::black_box([n as u8; 512]);
        if n == 0 {
            buf[0] as usize
        } else {
            recurse(n - 1) + buf[1] as usize
        }
    }
    std::thread::spawn(|| {
        runtime().run(|_env| {
            Switch::run(|sw| {
                for _ in 0..70 {
                    sw.fork(|| {
                        std::hint::black_box(recurse(20));
                        weft::fiber::yield_now();
                        std::hint::black_box(recurse(20));
                    });
                }
                Ok(())
            })
            .unwrap();
        });
    })
    .join()
    .unwrap();
}
