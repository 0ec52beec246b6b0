//! Stress: 100,000 fibers alive at once, a fork/fail loop that must not
//! leak stacks, and many cross-thread wake-ups.

use std::cell::Cell;
use std::time::Duration;

use weft::{Error, Promise, Switch};

/// Where the kernel cannot install guard pages in place (before Linux
/// 6.13), each stack's guard splits its chunk's mapping, so 100k live
/// fibers need about 200k memory mappings. With in-place guards 64 stacks
/// share one mapping and the default limit is plenty.
fn require_map_count(fibers: usize) {
    if weft::runtime::stack_stats().guard_in_place {
        return;
    }
    let have: usize = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    let need = fibers * 2 + 10_000;
    assert!(
        have >= need,
        "this kernel lacks MADV_GUARD_INSTALL, so this test keeps {fibers} fibers alive with \
         two mappings each and needs vm.max_map_count >= {need} (it is {have}); \
         raise it with `sudo sysctl -w vm.max_map_count=262144`"
    );
}

/// Lines of /proc/self/maps: the process's memory mappings.
fn mappings_now() -> usize {
    std::fs::read_to_string("/proc/self/maps")
        .map(|m| m.lines().count())
        .unwrap_or(0)
}

#[test]
fn a_hundred_thousand_fibers_alive_at_once() {
    const N: usize = 100_000;
    weft::Runtime::builder()
        .mock_clock(true)
        .stack_size(64 * 1024)
        .build()
        .unwrap()
        .run(|_env| {
            require_map_count(N);
            let (go, start) = Promise::new();
            let finished = Cell::new(0usize);
            let peak = Cell::new(0usize);
            let maps_at_peak = Cell::new(0usize);
            Switch::run(|sw| {
                for i in 0..N {
                    let (go, finished) = (&go, &finished);
                    sw.fork(move || {
                        go.await_();
                        weft::time::sleep(Duration::from_millis((i % 100) as u64));
                        finished.set(finished.get() + 1);
                    });
                }
                peak.set(weft::runtime::stack_stats().in_use);
                maps_at_peak.set(mappings_now());
                start.resolve(());
                Ok(())
            })
            .unwrap();
            assert_eq!(finished.get(), N);
            assert!(
                peak.get() > N,
                "all {N} fibers (and main) were alive at once: {}",
                peak.get()
            );
            let stats = weft::runtime::stack_stats();
            if stats.guard_in_place {
                // 64 stacks per mapping: about 1,600 for the stacks.
                assert!(
                    maps_at_peak.get() < 10_000,
                    "{} mappings with {N} fibers alive",
                    maps_at_peak.get()
                );
            }
        });
}

#[test]
fn forking_in_failing_switches_leaks_no_stacks() {
    weft::run(|_env| {
        let before = weft::runtime::stack_stats();
        // The panics below are expected: keep them out of the test log.
        let me = std::thread::current().id();
        let previous = std::sync::Arc::new(std::panic::take_hook());
        let forward = previous.clone();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().id() != me {
                forward(info);
            }
        }));
        for round in 0..2000 {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                Switch::run(|sw| {
                    sw.fork(|| weft::time::sleep(Duration::from_secs(60)));
                    sw.fork(|| weft::fiber::yield_now());
                    if round % 2 == 0 {
                        sw.fork(|| -> weft::Result<()> { Err(Error::msg("failed")) });
                    } else {
                        sw.fork(|| -> () { panic!("panicked") });
                    }
                    Ok(())
                })
            }));
            match r {
                Ok(result) => assert_eq!(result.unwrap_err().to_string(), "failed"),
                Err(payload) => assert_eq!(*payload.downcast::<&str>().unwrap(), "panicked"),
            }
        }
        drop(std::panic::take_hook());
        std::panic::set_hook(Box::new(move |info| previous(info)));
        let after = weft::runtime::stack_stats();
        assert_eq!(
            after.in_use, before.in_use,
            "a fiber stack was not returned"
        );
        assert!(
            after.pooled <= 1024,
            "the pool is bounded: {}",
            after.pooled
        );
    });
}

#[test]
fn a_hundred_thousand_cross_thread_wakes_none_lost() {
    const N: usize = 100_000;
    weft::run(|_env| {
        let (tx, rx) = std::sync::mpsc::channel::<weft::Resolver<usize>>();
        let resolver_thread = std::thread::spawn(move || {
            for (i, r) in rx.into_iter().enumerate() {
                r.resolve(i);
            }
        });
        let mut total = 0usize;
        for i in 0..N {
            let (p, r) = Promise::new();
            tx.send(r).unwrap();
            total += *p.await_();
            assert_eq!(*p.await_(), i);
        }
        drop(tx);
        resolver_thread.join().unwrap();
        assert_eq!(total, N * (N - 1) / 2);
    });
}
