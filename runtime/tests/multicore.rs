//! The executor pool and thread-per-core runtimes: cross-thread jobs,
//! cancellation and failure of jobs, many cross-thread wake-ups, idle
//! workers that use no CPU, and no thread outliving `weft::run`.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use weft::{ExecutorPool, Promise, Switch};

/// Runs `f` with the executor pool of a fresh runtime of `threads` workers.
fn on_pool<T>(threads: usize, f: impl FnOnce(&ExecutorPool) -> T) -> T {
    weft::Runtime::builder()
        .executor_threads(threads)
        .build()
        .unwrap()
        .run(|env| f(&env.executor_pool()))
}

#[test]
fn jobs_run_on_other_threads_and_may_borrow() {
    on_pool(2, |pool| {
        let here = std::thread::current().id();
        let words = ["alpha".to_string(), "beta".to_string()];
        let (total, there) = pool.submit(|| {
            (
                words.iter().map(String::len).sum::<usize>(),
                std::thread::current().id(),
            )
        });
        assert_eq!(total, 9);
        assert_ne!(there, here);
        // Jobs may fork fibers and block on the worker's scheduler.
        let forked = pool.submit(|| {
            weft::fiber::all((0..10).map(|i| {
                move || {
                    weft::time::sleep(Duration::from_millis(1));
                    i
                }
            }))
            .into_iter()
            .sum::<i32>()
        });
        assert_eq!(forked, 45);
    });
}

#[test]
fn a_cancelled_caller_cancels_its_job_and_waits_for_it() {
    on_pool(1, |pool| {
        let job_unwound = Arc::new(AtomicBool::new(false));
        struct SetOnDrop(Arc<AtomicBool>);
        impl Drop for SetOnDrop {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let flag = job_unwound.clone();
        // The caller is cancelled once the job has started (a fixed
        // timeout could expire before a slow worker starts it: then it
        // never runs, which is the next test's case).
        let (started, on_start) = weft::Promise::new();
        let r = weft::fiber::first(
            || {
                pool.submit(move || {
                    let _guard = SetOnDrop(flag);
                    on_start.resolve(());
                    weft::time::sleep(Duration::from_secs(3600));
                });
                Ok(())
            },
            || {
                started.await_();
                Err("cancelled")
            },
        );
        assert_eq!(r, Err("cancelled"));
        // submit returned only after the job had unwound on its thread.
        assert!(job_unwound.load(Ordering::SeqCst));
    });
}

#[test]
fn a_job_cancelled_before_it_starts_never_runs() {
    on_pool(1, |pool| {
        // The first job holds the only worker thread until released.
        let (release, held) = std::sync::mpsc::channel::<()>();
        let second_ran = AtomicBool::new(false);
        Switch::run(|sw| {
            sw.fork(|| pool.submit(move || held.recv().unwrap()));
            sw.fork(|| {
                let r = weft::time::timeout(Duration::from_millis(1), || {
                    pool.submit(|| second_ran.store(true, Ordering::SeqCst))
                });
                assert!(r.is_err(), "the second job cannot have run yet");
            });
            sw.fork(|| {
                // Fires after the timeout above (timers fire in
                // deadline order), so the cancellation is requested
                // while the second job still waits for the worker.
                weft::time::sleep(Duration::from_millis(30));
                release.send(()).unwrap();
            });
            Ok(())
        })
        .unwrap();
        assert!(!second_ran.load(Ordering::SeqCst));
        // The worker is free again and runs the next job.
        assert_eq!(pool.submit(|| 7), 7);
    });
}

/// Unweighted jobs go to whichever worker is free: a job that holds its
/// worker's thread (here a blocking std channel receive) does not hold
/// back the jobs submitted after it, which the other worker runs.
#[test]
fn a_job_holding_its_worker_does_not_hold_back_later_jobs() {
    on_pool(2, |pool| {
        let (release, held) = std::sync::mpsc::channel::<()>();
        let (started, on_start) = weft::Promise::new();
        weft::Switch::run(|sw| {
            sw.fork(|| {
                pool.submit(move || {
                    on_start.resolve(());
                    held.recv().unwrap()
                })
            });
            started.await_();
            // Every later job runs while the first holds its thread.
            let later = weft::time::timeout(Duration::from_secs(30), || {
                weft::fiber::map_concurrent(10, 0..10u64, |i| pool.submit(move || i + 1))
            });
            release.send(()).unwrap();
            assert_eq!(
                later.expect("the free worker ran them"),
                (1..=10).collect::<Vec<_>>()
            );
            Ok(())
        })
        .unwrap();
    });
}

#[test]
fn a_burst_of_jobs_delivers_every_outcome() {
    // Many jobs awaited at once: the caller's scheduler parks lazily and
    // collects the completions when it wakes, none woken one by one.
    on_pool(2, |pool| {
        let values = weft::fiber::map_concurrent(200, 0..200u64, |i| {
            pool.submit(move || {
                if i % 16 == 0 {
                    // Some complete later, while the caller sleeps.
                    weft::time::sleep(Duration::from_millis(1));
                }
                i * 2
            })
        });
        assert_eq!(values, (0..200u64).map(|i| i * 2).collect::<Vec<_>>());
        let failed = weft::fiber::map_concurrent(20, 0..20u64, |i| {
            pool.submit_promise(move || {
                assert_ne!(i, 13, "job 13 fails");
                i
            })
            .await_()
            .is_err()
        });
        assert_eq!(failed.iter().filter(|f| **f).count(), 1);
        assert!(failed[13]);
        // Afterwards a lone job is awaited as before.
        assert_eq!(pool.submit(|| 5), 5);
    });
}

#[test]
fn a_panicking_job_fails_the_callers_switch() {
    on_pool(1, |pool| {
        let sibling_cancelled = std::cell::Cell::new(false);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Switch::run(|sw| {
                sw.fork(|| {
                    let _g = scopeguard(&sibling_cancelled);
                    weft::time::sleep(Duration::from_secs(3600));
                });
                pool.submit(|| -> u8 { panic!("job exploded") });
                Ok(())
            })
        }));
        let payload = r.unwrap_err();
        assert_eq!(*payload.downcast::<&str>().unwrap(), "job exploded");
        assert!(sibling_cancelled.get());
    });

    fn scopeguard(flag: &std::cell::Cell<bool>) -> impl Drop + '_ {
        struct G<'a>(&'a std::cell::Cell<bool>);
        impl Drop for G<'_> {
            fn drop(&mut self) {
                self.0.set(true);
            }
        }
        G(flag)
    }
}

#[test]
fn submit_promise_reports_values_and_panics() {
    on_pool(2, |pool| {
        let ok = pool.submit_promise(|| 7);
        let bad = pool.submit_promise(|| -> u8 { panic!("nope") });
        assert_eq!(*ok.await_().as_ref().unwrap(), 7);
        assert!(bad.await_().as_ref().unwrap_err().is_panic());
    });
}

#[test]
fn a_million_promises_resolved_across_threads_without_a_lost_wake_up() {
    const BATCH: usize = 1000;
    const BATCHES: usize = 1000;
    on_pool(2, |pool| {
        let woke = AtomicUsize::new(0);
        for _ in 0..BATCHES {
            let (promises, resolvers): (Vec<Promise<usize>>, Vec<_>) =
                (0..BATCH).map(|_| Promise::new()).unzip();
            Switch::run(|sw| {
                for (i, p) in promises.iter().enumerate() {
                    let woke = &woke;
                    sw.fork(move || {
                        assert_eq!(*p.await_(), i);
                        woke.fetch_add(1, Ordering::Relaxed);
                    });
                }
                // Resolved on a worker thread while the fibers wait here.
                let _ = pool.submit_promise(move || {
                    for (i, r) in resolvers.into_iter().enumerate() {
                        r.resolve(i);
                    }
                });
                Ok(())
            })
            .unwrap();
        }
        assert_eq!(woke.load(Ordering::Relaxed), BATCH * BATCHES);
    });
}

#[test]
fn idle_workers_stay_parked() {
    on_pool(2, |pool| {
        // Wake both workers once, then let them go idle.
        pool.submit(|| ());
        pool.submit(|| ());
        weft::time::sleep(Duration::from_millis(20));
        let before = pool.park_counts();
        weft::time::sleep(Duration::from_millis(200));
        let after = pool.park_counts();
        // No timer, no I/O, no work: a parked scheduler is not woken.
        assert_eq!(before, after);
    });
}

static EXITED: AtomicUsize = AtomicUsize::new(0);

struct CountsThreadExit;

impl Drop for CountsThreadExit {
    fn drop(&mut self) {
        EXITED.fetch_add(1, Ordering::SeqCst);
    }
}

thread_local! {
    static ON_EXIT: std::cell::RefCell<Option<CountsThreadExit>> = const { std::cell::RefCell::new(None) };
}

#[test]
fn no_executor_thread_outlives_run() {
    on_pool(3, |pool| {
        // One long job per worker (the pool picks the least loaded one);
        // each leaves a thread-local whose destructor runs when its thread
        // exits. The jobs are still running when run ends: they are
        // cancelled, not awaited forever.
        let started = Arc::new(AtomicUsize::new(0));
        for _ in 0..3 {
            let started = started.clone();
            let _ = pool.submit_promise(move || {
                ON_EXIT.with(|t| *t.borrow_mut() = Some(CountsThreadExit));
                started.fetch_add(1, Ordering::SeqCst);
                weft::time::sleep(Duration::from_secs(3600));
            });
        }
        while started.load(Ordering::SeqCst) < 3 {
            weft::time::sleep(Duration::from_millis(1));
        }
    });
    // run joined every worker thread before returning.
    assert_eq!(EXITED.load(Ordering::SeqCst), 3);
}

#[test]
fn run_on_cores_runs_one_runtime_per_thread() {
    let ids = weft::run_on_cores(2, |_env, core| {
        weft::time::sleep(Duration::from_millis(1));
        (core, std::thread::current().id())
    });
    assert_eq!(ids.len(), 2);
    assert_eq!((ids[0].0, ids[1].0), (0, 1));
    assert_ne!(ids[0].1, ids[1].1);
}

#[test]
fn reuse_port_listeners_on_every_core_serve_connections() {
    use std::io::{Read, Write};
    const N: usize = 200;
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = probe.local_addr().unwrap().port();
    drop(probe);
    let ready = Arc::new(AtomicUsize::new(0));
    let ready_client = ready.clone();
    let client = std::thread::spawn(move || {
        while ready_client.load(Ordering::SeqCst) < 2 {
            std::thread::sleep(Duration::from_millis(1));
        }
        for i in 0..N as u32 {
            let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
            c.write_all(&i.to_be_bytes()).unwrap();
            let mut back = [0u8; 4];
            c.read_exact(&mut back).unwrap();
            assert_eq!(u32::from_be_bytes(back), i);
        }
        // Stop every core: keep sending "stop" until nobody listens.
        let mut attempts = 0;
        while let Ok(mut c) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let _ = c.write_all(b"stop");
            let mut end = [0u8; 1];
            let _ = c.read(&mut end);
            attempts += 1;
            assert!(attempts < 10_000, "the cores never stopped");
        }
    });
    let served = weft::run_on_cores(2, |_env, _core| {
        let opts = weft::net::ListenOptions::default().reuse_port(true);
        let l = weft::net::TcpListener::bind_with(("127.0.0.1", port), opts).unwrap();
        ready.fetch_add(1, Ordering::SeqCst);
        let mut count = 0;
        loop {
            let (mut c, _) = l.accept().unwrap();
            let mut b = [0u8; 4];
            if c.read_exact(&mut b).is_err() {
                continue;
            }
            if &b == b"stop" {
                return count;
            }
            c.write_all(&b).unwrap();
            count += 1;
        }
    });
    client.join().unwrap();
    assert_eq!(served.iter().sum::<usize>(), N);
}

/// Sets its flag when dropped.
struct DropFlag(Arc<AtomicUsize>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A job submitted just before `run` returns is dropped by the time `run`
/// has returned, whether it ran (its value too), was cancelled, or never
/// started. Repeated: the window is the time the job takes to reach its
/// worker.
#[test]
fn a_job_submitted_as_run_ends_is_dropped_by_the_time_run_returns() {
    for round in 0..300 {
        let dropped = Arc::new(AtomicUsize::new(0));
        let (in_job, in_value) = (DropFlag(dropped.clone()), dropped.clone());
        weft::Runtime::builder()
            .executor_threads(2)
            .build()
            .unwrap()
            .run(|env| {
                let pool = env.executor_pool();
                let _ = pool.submit_promise(move || {
                    let _owned = in_job;
                    DropFlag(in_value)
                });
            });
        let n = dropped.load(Ordering::SeqCst);
        // The closure's flag always; the value's if the job ran.
        assert!(n >= 1, "round {round}: the job was never dropped");
    }
}

/// A pool outlives its runtime when another thread holds a clone; a job
/// sent to it then is reported lost at once instead of waiting forever
/// for a worker that has stopped.
#[test]
fn a_job_sent_to_a_stopped_pool_is_lost_not_awaited_forever() {
    let pool = on_pool(1, |pool| pool.clone());
    let r = weft::Runtime::builder().build().unwrap().run(|_env| {
        weft::time::timeout(Duration::from_secs(30), || {
            let settled = pool.submit_promise(|| 7);
            settled
                .await_()
                .as_ref()
                .map(|v| *v)
                .map_err(|e| e.to_string())
        })
    });
    let outcome = r.expect("the promise settles at once");
    assert!(outcome.is_err(), "a stopped pool ran the job: {outcome:?}");
}
