//! Executor pool job weights (Eio's `Executor_pool.submit ~weight`) and
//! `submit_fork`, a job tied to a switch.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use weft::fiber;

/// Runs `jobs` jobs of `weight` at once and returns the most that ever ran
/// at the same time.
fn peak_concurrency(weight: f64, jobs: usize) -> (usize, usize) {
    weft::run(|env| {
        let pool = env.executor_pool();
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        fiber::all((0..jobs).map(|_| {
            let (pool, running, peak) = (pool.clone(), running.clone(), peak.clone());
            move || {
                pool.submit_weighted(weight, move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    weft::time::sleep(Duration::from_millis(5));
                    running.fetch_sub(1, Ordering::SeqCst);
                })
            }
        }));
        (peak.load(Ordering::SeqCst), pool.threads())
    })
}

#[test]
fn a_worker_runs_jobs_only_while_their_weights_fit() {
    let (peak, threads) = peak_concurrency(1.0, 12);
    assert!(
        peak <= threads,
        "{peak} jobs of weight 1.0 ran at once on {threads} workers"
    );
    let (peak, threads) = peak_concurrency(0.5, 16);
    assert!(
        peak <= 2 * threads,
        "{peak} jobs of weight 0.5 ran at once on {threads} workers"
    );
}

#[test]
fn jobs_of_weight_zero_are_never_held_back() {
    weft::run(|env| {
        let pool = env.executor_pool();
        let started = Arc::new(AtomicUsize::new(0));
        let (release, releaser) = weft::Promise::new();
        let jobs = 4 * pool.threads();
        weft::Switch::run(|sw| {
            for _ in 0..jobs {
                let (pool, started, release) = (pool.clone(), started.clone(), release.clone());
                sw.fork(move || {
                    pool.submit(move || {
                        started.fetch_add(1, Ordering::SeqCst);
                        release.await_();
                    })
                });
            }
            // Every job starts although none has finished.
            let all_started = weft::time::timeout(Duration::from_secs(60), || {
                while started.load(Ordering::SeqCst) < jobs {
                    weft::time::sleep(Duration::from_millis(1));
                }
            });
            releaser.resolve(());
            assert!(
                all_started.is_ok(),
                "only {} of {jobs} started",
                started.load(Ordering::SeqCst)
            );
            Ok(())
        })
        .unwrap();
    });
}

#[test]
#[should_panic(expected = "weight must be between 0.0 and 1.0")]
fn a_weight_above_one_is_refused() {
    weft::run(|env| env.executor_pool().submit_weighted(1.5, || ()));
}

#[test]
fn submit_fork_is_awaited_by_its_switch_and_cancelled_with_it() {
    weft::run(|env| {
        let pool = env.executor_pool();
        let finished = AtomicUsize::new(0);
        weft::Switch::run(|sw| {
            let p = pool.submit_fork(sw, 0.5, || {
                weft::time::sleep(Duration::from_millis(10));
                finished.fetch_add(1, Ordering::SeqCst);
                7
            });
            let _ = p;
            Ok(())
        })
        .unwrap();
        // The switch waited for the job.
        assert_eq!(finished.load(Ordering::SeqCst), 1);

        let mut job = None;
        let r = weft::Switch::run(|sw| {
            job = Some(pool.submit_fork(sw, 1.0, || {
                weft::time::sleep(Duration::from_secs(3600));
                finished.fetch_add(1, Ordering::SeqCst);
            }));
            sw.fail(weft::Error::msg("stop"));
            Ok(())
        });
        assert!(r.is_err());
        let job = job.expect("submitted");
        assert!(
            job.await_().is_err(),
            "the job was cancelled with its switch"
        );
        assert_eq!(
            finished.load(Ordering::SeqCst),
            1,
            "the cancelled job ran to its end"
        );
    });
}
