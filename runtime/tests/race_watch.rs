//! `fiber::first_watch`: a watched branch starts only once the work has
//! been blocked for the caller's grace (10 ms of blocked time over
//! consecutive calls), never starts when the work wins first, and is
//! observed within one grace of waiting even when the work is ready again
//! every time. Virtual time (the mock clock) makes the waits exact; the
//! loops run thousands of races on the backend the environment selects.

use std::cell::Cell;
use std::time::Duration;

use weft::fiber;
use weft::sync::{mpsc, CancellationToken};

fn mock() -> weft::Runtime {
    weft::Runtime::builder().mock_clock(true).build().unwrap()
}

#[test]
fn a_signal_never_starts_while_the_work_wins_within_the_grace() {
    mock().run(|_env| {
        let (tx, mut rx) = mpsc::channel::<u32>(1);
        let started = Cell::new(0u32);
        let stop = CancellationToken::new();
        let got = fiber::both(
            || {
                let mut got = Vec::new();
                for _ in 0..5000 {
                    // The producer's send wakes the work without any time
                    // passing: the gate never opens.
                    let v = fiber::first_watch(
                        || rx.recv(),
                        || {
                            started.set(started.get() + 1);
                            stop.cancelled();
                            None
                        },
                    );
                    got.push(v.expect("the producer sends 5000"));
                }
                got
            },
            || {
                for i in 0..5000 {
                    tx.send(i).unwrap();
                }
            },
        )
        .0;
        assert_eq!(got, (0..5000).collect::<Vec<_>>());
        assert_eq!(started.get(), 0, "a watched branch started");
    });
}

#[test]
fn a_signal_is_observed_while_the_work_waits() {
    mock().run(|env| {
        let clock = env.clock();
        let (_tx, mut rx) = mpsc::channel::<u32>(1);
        // The work never gets a message; a signal that is ready at once
        // starts after the grace and wins.
        let t0 = clock.now();
        let r = fiber::first_watch(|| rx.recv().ok_or("closed"), || Err("stopped"));
        assert_eq!(r, Err("stopped"));
        assert_eq!(clock.now() - t0, Duration::from_millis(10));

        // A signal that fires later is seen when it fires.
        let stop = CancellationToken::new();
        let t0 = clock.now();
        let (r, ()) = fiber::both(
            || {
                fiber::first_watch(
                    || rx.recv().ok_or(()),
                    || {
                        stop.cancelled();
                        Err(())
                    },
                )
            },
            || {
                clock.sleep(Duration::from_secs(3));
                stop.cancel();
            },
        );
        assert_eq!(r, Err(()));
        assert_eq!(clock.now() - t0, Duration::from_secs(3));
    });
}

#[test]
fn a_signal_under_steady_work_is_observed_within_one_grace_and_nothing_is_lost() {
    mock().run(|env| {
        let clock = env.clock();
        for round in 0..200u32 {
            let (tx, mut rx) = mpsc::channel::<u32>(4);
            let stop = CancellationToken::new();
            // The signal fired before the loop: tokio's select! would see
            // it at the first wait; here at the latest after one grace of
            // blocked time, i.e. 10 waits of 1 ms.
            stop.cancel();
            let sent = Cell::new(0u32);
            let received = fiber::first(
                || {
                    let mut received = Vec::new();
                    loop {
                        match fiber::first_watch(
                            || rx.recv().ok_or(()),
                            || {
                                stop.cancelled();
                                Err(())
                            },
                        ) {
                            Ok(v) => received.push(v),
                            Err(()) => return received,
                        }
                    }
                },
                || -> Vec<u32> {
                    // Bounded, so that a signal never seen fails the
                    // assertion below instead of hanging.
                    for i in 0..100 {
                        clock.sleep(
                            Duration::from_millis(1) + Duration::from_micros(u64::from(round % 7)),
                        );
                        tx.send(i).unwrap();
                        sent.set(i + 1);
                    }
                    fiber::await_cancel()
                },
            );
            assert!(
                received.len() <= 10,
                "round {round}: the signal was seen after {} items",
                received.len()
            );
            // Every item sent was received or is still in the channel: the
            // race that the signal won took nothing.
            let mut left = Vec::new();
            while let Ok(v) = rx.try_recv() {
                left.push(v);
            }
            let all: Vec<u32> = received.iter().chain(&left).copied().collect();
            assert_eq!(all, (0..sent.get()).collect::<Vec<_>>(), "round {round}");
        }
    });
}

#[test]
fn the_grace_is_whole_again_after_a_signal_starts() {
    mock().run(|env| {
        let clock = env.clock();
        let (_tx, mut rx) = mpsc::channel::<u32>(1);
        let starts = Cell::new(0u32);
        for _ in 0..3 {
            let t0 = clock.now();
            let r: Result<u32, ()> = fiber::first_watch(
                || rx.recv().ok_or(()),
                || {
                    starts.set(starts.get() + 1);
                    Err(())
                },
            );
            assert_eq!(r, Err(()));
            assert_eq!(clock.now() - t0, Duration::from_millis(10));
        }
        assert_eq!(starts.get(), 3);
    });
}

#[test]
fn a_cancelled_caller_never_starts_the_signal() {
    mock().run(|_env| {
        let started = Cell::new(false);
        let (_tx, mut rx) = mpsc::channel::<u32>(1);
        let r = fiber::first(
            || {
                fiber::first_watch(
                    || rx.recv(),
                    || {
                        started.set(true);
                        None
                    },
                )
            },
            || Some(7),
        );
        assert_eq!(r, Some(7));
        assert!(!started.get());
    });
}

static REQUEST: fiber::Key<u32> = fiber::Key::new();

/// The gate forks the signal from the scheduler when the grace runs out,
/// on the caller's behalf: the signal sees the caller's fiber-local
/// bindings as of the moment the work blocked, as a fork made then would.
#[test]
fn a_signal_started_by_its_gate_inherits_the_callers_bindings() {
    mock().run(|_env| {
        let (_tx, mut rx) = mpsc::channel::<u32>(1);
        let seen = fiber::with_binding(&REQUEST, 42, || {
            fiber::first_watch(|| rx.recv().map(|_| None), || Some(fiber::get(&REQUEST)))
        });
        assert_eq!(seen, Some(Some(42)));
        // The scheduler's own bindings were put back after the fork.
        assert_eq!(fiber::get(&REQUEST), None);
    });
}

/// A caller cancelled while its gate's timer is queued removes the timer
/// as it unwinds: the signal never starts, then or later.
#[test]
fn a_caller_cancelled_while_its_gate_is_armed_leaves_no_timer_behind() {
    mock().run(|env| {
        let clock = env.clock();
        let started = Cell::new(false);
        let (_tx, mut rx) = mpsc::channel::<u32>(1);
        let t0 = clock.now();
        let r = weft::time::timeout(Duration::from_millis(3), || {
            fiber::first_watch(
                || rx.recv(),
                || {
                    started.set(true);
                    None
                },
            )
        });
        assert!(r.is_err(), "the timeout cancels the race");
        assert_eq!(clock.now() - t0, Duration::from_millis(3));
        // Past the grace the gate would have opened, had its timer stayed.
        weft::time::sleep(Duration::from_millis(20));
        assert!(!started.get(), "a signal started after its race ended");
    });
}
