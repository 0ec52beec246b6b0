//! JoinHandle and JoinError with tokio's meaning: a handle raced by
//! reference stays usable (abort after losing), a handle joined twice is a
//! clear panic, and JoinError is Send + Sync so `?` reaches boxed errors.

mod common;

use std::time::Duration;

fn mock<T>(f: impl FnOnce() -> T) -> T {
    common::mock_run(|_env| f())
}

#[test]
fn a_handle_that_lost_a_race_can_still_be_aborted_and_joined() {
    mock(|| {
        let mut slow = weft::spawn(|| {
            weft::time::sleep(Duration::from_secs(60));
            "slow"
        });
        let raced = weft::fiber::first(
            || Some(slow.join_ref()),
            || {
                weft::time::sleep(Duration::from_secs(1));
                None
            },
        );
        assert!(raced.is_none());
        assert!(
            !slow.is_finished(),
            "losing the race did not touch the task"
        );
        slow.abort();
        assert!(slow.join_ref().unwrap_err().is_cancelled());

        // A race the handle wins gives the task's value.
        let mut quick = weft::spawn(|| 7);
        let won = weft::fiber::first(
            || Some(quick.join_ref()),
            || {
                weft::time::sleep(Duration::from_secs(1));
                None
            },
        );
        assert_eq!(won.unwrap().unwrap(), 7);
    });
}

#[test]
fn joining_again_after_the_outcome_was_taken_panics_clearly() {
    mock(|| {
        let mut h = weft::spawn(|| 1);
        assert_eq!(h.join_ref().unwrap(), 1);
        let again = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| h.join_ref()));
        let msg = again
            .unwrap_err()
            .downcast::<String>()
            .map(|s| *s)
            .unwrap_or_default();
        assert!(msg.contains("joined again"), "{msg}");
    });
}

#[test]
fn join_errors_travel_as_send_sync_errors() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<weft::JoinError>();

    fn run_task() -> Result<u8, Box<dyn std::error::Error + Send + Sync>> {
        let v = weft::spawn(|| -> u8 { panic!("disk on fire") }).join()?;
        Ok(v)
    }
    mock(|| {
        let e = run_task().unwrap_err();
        assert_eq!(e.to_string(), "task panicked: disk on fire");
        // The payload is still there to re-raise.
        let join = e.downcast::<weft::JoinError>().unwrap();
        let payload = join.try_into_panic().unwrap();
        assert_eq!(*payload.downcast::<&str>().unwrap(), "disk on fire");
        // And moves to another thread with the error.
        let h = weft::spawn(|| weft::fiber::await_cancel());
        h.abort();
        let cancelled = h.join().unwrap_err();
        let text = std::thread::spawn(move || format!("{cancelled} / {cancelled:?}"))
            .join()
            .unwrap();
        assert_eq!(text, "task was cancelled / JoinError::Cancelled");
    });
}

/// A main fiber that panics while a spawned task has been woken but has
/// not run yet: the runtime cancels the task and returns (re-raising the
/// panic), even though the task blocks again after its wake-up. Waiting
/// for the task from inside main's unwind made every wait of the task
/// uncancellable (the thread reads as panicking) and the runtime hung.
#[test]
fn a_panicking_main_does_not_hang_on_a_woken_task_that_blocks_again() {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let outcome = std::panic::catch_unwind(|| {
            weft::run(|_env| {
                let (woken, wake) = weft::Promise::<()>::new();
                let _task = weft::spawn(move || {
                    let _ = woken.await_();
                    weft::time::sleep(Duration::from_secs(3600));
                });
                wake.resolve(()); // the task is now in the run queue
                panic!("main fails");
            })
        });
        let message = outcome
            .err()
            .and_then(|p| p.downcast_ref::<&str>().map(|s| s.to_string()));
        let _ = tx.send(message);
    });
    let message = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the runtime returned after main panicked");
    assert_eq!(message.as_deref(), Some("main fails"));
}
