//! Checks for exercise 1, `gather`.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use weft::sync::Condition;
use weft_guide::exercises::ch01::gather;

/// Under the mock clock a stuck test fails at once instead of hanging:
/// when every fiber is idle, time jumps to this timeout.
const LIMIT: Duration = Duration::from_secs(60);

#[weft::test(mock_clock)]
fn results_come_back_in_input_order() {
    // The later jobs finish first.
    let out = weft::time::timeout(LIMIT, || {
        gather((0..5u64).map(|i| {
            move || {
                weft::time::sleep(Duration::from_millis(50 - 10 * i));
                i * 100
            }
        }))
    })
    .expect("gather finished");
    assert_eq!(out, [0, 100, 200, 300, 400]);
}

#[weft::test(mock_clock)]
fn empty_input_gives_empty_output() {
    let out: Vec<u8> = gather(Vec::<fn() -> u8>::new());
    assert!(out.is_empty());
}

#[weft::test(mock_clock)]
fn all_jobs_run_at_the_same_time() {
    // Each job waits until all of them have started: a gather that runs
    // the jobs one after another never gets past the first one.
    let n = 8;
    let started = Cell::new(0);
    let all_started = Condition::new();
    let out = weft::time::timeout(LIMIT, || {
        gather((0..n).map(|i| {
            let (started, all_started) = (&started, &all_started);
            move || {
                started.set(started.get() + 1);
                all_started.broadcast();
                while started.get() < n {
                    all_started.await_no_mutex();
                }
                i
            }
        }))
    });
    assert_eq!(
        out.expect("the jobs ran concurrently"),
        (0..n).collect::<Vec<_>>()
    );
}

#[weft::test(mock_clock)]
fn the_elapsed_time_is_the_longest_job_not_the_sum() {
    // Mock time only moves when every fiber sleeps, so this is exact.
    let t0 = weft::time::Instant::now();
    gather((1..=4u64).map(|i| move || weft::time::sleep(Duration::from_secs(i))));
    assert_eq!(t0.elapsed(), Duration::from_secs(4));
}

#[weft::test(mock_clock)]
fn a_panicking_job_cancels_the_others_and_panics() {
    struct SetOnDrop<'a>(&'a Cell<bool>);
    impl Drop for SetOnDrop<'_> {
        fn drop(&mut self) {
            self.0.set(true);
        }
    }
    let slow_dropped = Cell::new(false);
    let slow_finished = Cell::new(false);
    let jobs: Vec<Box<dyn FnOnce() -> u32 + '_>> = vec![
        Box::new(|| {
            let _flag = SetOnDrop(&slow_dropped);
            weft::time::sleep(Duration::from_secs(3600));
            slow_finished.set(true);
            1
        }),
        Box::new(|| {
            weft::time::sleep(Duration::from_millis(1));
            panic!("job 2 broke")
        }),
    ];
    let t0 = weft::time::Instant::now();
    let r = catch_unwind(AssertUnwindSafe(|| gather(jobs)));
    let payload = r.expect_err("gather panicked");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"job 2 broke"));
    assert!(
        slow_dropped.get(),
        "the slow job was unwound (its destructors ran)"
    );
    assert!(!slow_finished.get(), "the slow job did not run to its end");
    assert!(
        t0.elapsed() < Duration::from_secs(3600),
        "gather did not wait for the slow job's sleep"
    );
}

#[weft::test(mock_clock)]
fn jobs_may_borrow_local_data() {
    let data = [String::from("a"), String::from("bb")];
    let lens = gather(data.iter().map(|s| move || s.len()));
    assert_eq!(lens, [1, 2]);
    assert_eq!(data.len(), 2);
}

#[weft::test(mock_clock)]
fn a_timeout_around_gather_cancels_the_jobs() {
    let finished = Cell::new(0);
    let r = weft::time::timeout(Duration::from_secs(1), || {
        gather((0..3u64).map(|i| {
            let finished = &finished;
            move || {
                weft::time::sleep(Duration::from_secs(i * 10)); // 0, 10, 20 s
                finished.set(finished.get() + 1);
            }
        }))
    });
    assert!(
        r.is_err(),
        "the timeout fired: gather unwound instead of returning or panicking"
    );
    assert_eq!(
        finished.get(),
        1,
        "only the job that needed no time finished"
    );
}
