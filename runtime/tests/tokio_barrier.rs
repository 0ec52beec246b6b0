//! `weft::sync::Barrier` keeps tokio's semantics; cancelled waiters are
//! withdrawn.

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use weft::sync::Barrier;

fn mock<T>(f: impl FnOnce() -> T) -> T {
    weft::Runtime::builder()
        .mock_clock(true)
        .build()
        .unwrap()
        .run(|_env| f())
}

#[test]
fn barrier_is_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Barrier>();
}

#[test]
fn zero_and_one_never_block_and_always_lead() {
    mock(|| {
        for n in [0, 1] {
            let b = Barrier::new(n);
            for _ in 0..3 {
                assert!(b.wait().is_leader());
            }
        }
    });
}

#[test]
fn waiters_block_until_the_nth_arrives() {
    mock(|| {
        let b = Barrier::new(3);
        let passed = RefCell::new(0);
        weft::Switch::run(|sw| {
            for _ in 0..2 {
                let (b, passed) = (&b, &passed);
                sw.fork(move || {
                    b.wait();
                    *passed.borrow_mut() += 1;
                });
            }
            weft::time::sleep(Duration::from_secs(5));
            assert_eq!(*passed.borrow(), 0, "two of three arrived: both wait");
            assert!(
                b.wait().is_leader(),
                "the third arrival releases them and leads"
            );
            Ok(())
        })
        .unwrap();
        assert_eq!(*passed.borrow(), 2);
    });
}

#[test]
fn one_leader_per_generation_and_generations_do_not_mix() {
    mock(|| {
        const N: usize = 4;
        const ROUNDS: usize = 6;
        let b = Barrier::new(N);
        let log = RefCell::new(vec![]); // (round, phase) with phase 0 = before, 1 = after
        let leaders = RefCell::new(vec![0; ROUNDS]);
        weft::Switch::run(|sw| {
            for f in 0..N {
                let (b, log, leaders) = (&b, &log, &leaders);
                sw.fork(move || {
                    for round in 0..ROUNDS {
                        // Arrive at different times in every round.
                        weft::time::sleep(Duration::from_millis(((f * 7 + round * 3) % 5) as u64));
                        log.borrow_mut().push((round, 0));
                        if b.wait().is_leader() {
                            leaders.borrow_mut()[round] += 1;
                        }
                        log.borrow_mut().push((round, 1));
                    }
                });
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(
            *leaders.borrow(),
            vec![1; ROUNDS],
            "exactly one leader per generation"
        );
        // Nobody leaves round r before everyone has arrived in round r.
        let log = log.borrow();
        for round in 0..ROUNDS {
            let last_arrival = log.iter().rposition(|e| *e == (round, 0)).unwrap();
            let first_departure = log.iter().position(|e| *e == (round, 1)).unwrap();
            assert!(last_arrival < first_departure, "round {round} mixed");
        }
    });
}

#[test]
fn cancelled_waiter_is_withdrawn() {
    mock(|| {
        let b = Barrier::new(2);
        // A waits alone and is cancelled: it must not count.
        assert!(weft::time::timeout(Duration::from_secs(1), || b.wait()).is_err());
        // So a single new arrival still waits.
        assert!(weft::time::timeout(Duration::from_secs(1), || b.wait()).is_err());
        // Two live arrivals complete the generation, with one leader.
        let (x, y) = weft::fiber::both(|| b.wait(), || b.wait());
        assert!(x.is_leader() ^ y.is_leader());
    });
}

#[test]
fn already_cancelled_caller_does_not_arrive() {
    mock(|| {
        let b = Barrier::new(2);
        let r = weft::time::timeout(Duration::from_secs(1), || {
            // The timeout expires during the protected sleep: the caller is
            // already cancelled when it calls `wait`.
            weft::cancel::protect(|| weft::time::sleep(Duration::from_secs(2)));
            b.wait()
        });
        assert!(r.is_err());
        assert!(format!("{b:?}").contains("arrived: 0"));
    });
}

#[test]
fn waiter_cancelled_just_before_the_last_arrival_is_withdrawn() {
    // At t=1 the last arrival (older timer) runs while A has been cancelled
    // by its timeout but has not yet withdrawn: A must not be counted, so
    // the arrival waits for B instead of releasing a half-empty generation.
    mock(|| {
        let b = Barrier::new(2);
        let a = RefCell::new(None);
        let late = RefCell::new(None);
        let last = RefCell::new(None);
        weft::Switch::run(|sw| {
            sw.fork(|| {
                weft::time::sleep(Duration::from_secs(1));
                *late.borrow_mut() = Some(b.wait().is_leader());
            });
            sw.fork(|| {
                let r = weft::time::timeout(Duration::from_secs(1), || b.wait());
                *a.borrow_mut() = Some(r.is_ok());
            });
            sw.fork(|| {
                weft::time::sleep(Duration::from_secs(2));
                // (Bounded, so a wrong count fails instead of hanging.)
                let r = weft::time::timeout(Duration::from_secs(5), || b.wait());
                *last.borrow_mut() = Some(r.map(|w| w.is_leader()).ok());
            });
            Ok(())
        })
        .unwrap();
        assert_eq!(*a.borrow(), Some(false), "A was cancelled");
        assert_eq!(*late.borrow(), Some(false), "the t=1 arrival had to wait");
        assert_eq!(
            *last.borrow(),
            Some(Some(true)),
            "the t=2 arrival completed the generation"
        );
    });
}

#[test]
fn cross_thread_generations() {
    const ROUNDS: usize = 200;
    let b = Arc::new(Barrier::new(3));
    let leaders = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..3)
        .map(|_| {
            let (b, leaders) = (b.clone(), leaders.clone());
            std::thread::spawn(move || {
                weft::run(|_env| {
                    for _ in 0..ROUNDS {
                        if b.wait().is_leader() {
                            leaders.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                })
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(leaders.load(Ordering::SeqCst), ROUNDS);
}
