//! `weft::sync::mpsc` keeps tokio's mpsc semantics.

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use weft::sync::mpsc::{self, error::*};

fn mock<T>(f: impl FnOnce() -> T) -> T {
    weft::Runtime::builder()
        .mock_clock(true)
        .build()
        .unwrap()
        .run(|_env| f())
}

/// Counts its drops in a shared counter.
struct Counted(Arc<AtomicUsize>);
impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn handles_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<mpsc::Sender<String>>();
    send_sync::<mpsc::Receiver<String>>();
    send_sync::<mpsc::WeakSender<String>>();
    send_sync::<mpsc::UnboundedSender<String>>();
    send_sync::<mpsc::UnboundedReceiver<String>>();
    send_sync::<mpsc::WeakUnboundedSender<String>>();
    send_sync::<mpsc::Permit<'static, String>>();
}

#[test]
fn error_texts_match_tokio() {
    assert_eq!(SendError(1).to_string(), "channel closed");
    assert_eq!(format!("{:?}", SendError(1)), "SendError { .. }");
    assert_eq!(TrySendError::Full(1).to_string(), "no available capacity");
    assert_eq!(TrySendError::Closed(1).to_string(), "channel closed");
    assert_eq!(format!("{:?}", TrySendError::Full(1)), "Full(..)");
    assert_eq!(
        TryRecvError::Empty.to_string(),
        "receiving on an empty channel"
    );
    assert_eq!(
        TryRecvError::Disconnected.to_string(),
        "receiving on a closed channel"
    );
    assert_eq!(
        SendTimeoutError::Timeout(1).to_string(),
        "timed out waiting on send operation"
    );
    assert_eq!(SendTimeoutError::Closed(1).to_string(), "channel closed");
    assert_eq!(format!("{:?}", SendTimeoutError::Closed(1)), "Closed(..)");
    let as_dyn: Box<dyn std::error::Error> = Box::new(TrySendError::Full(()));
    assert_eq!(as_dyn.to_string(), "no available capacity");
}

#[test]
#[should_panic(expected = "mpsc bounded channel requires buffer > 0")]
fn zero_buffer_panics() {
    let _ = mpsc::channel::<u8>(0);
}

#[test]
fn fifo_and_close_when_all_senders_drop() {
    mock(|| {
        let (tx, mut rx) = mpsc::channel(10);
        let tx2 = tx.clone();
        for i in 0..5 {
            tx.send(i).unwrap();
        }
        drop(tx);
        assert!(!rx.is_closed(), "one sender is left");
        tx2.send(5).unwrap();
        drop(tx2);
        assert!(rx.is_closed());
        let got: Vec<i32> = std::iter::from_fn(|| rx.recv()).collect();
        assert_eq!(got, [0, 1, 2, 3, 4, 5]);
        assert_eq!(rx.recv(), None);
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    });
}

#[test]
fn weak_senders_do_not_keep_the_channel_open() {
    mock(|| {
        let (tx, mut rx) = mpsc::channel::<u8>(1);
        let weak = tx.downgrade();
        assert_eq!((tx.strong_count(), tx.weak_count()), (1, 1));
        let tx2 = weak.upgrade().unwrap();
        assert_eq!(rx.sender_strong_count(), 2);
        drop((tx, tx2));
        assert_eq!(rx.recv(), None);
        assert!(weak.upgrade().is_none(), "no strong sender left");
        assert_eq!(rx.sender_weak_count(), 1);
        drop(weak);
        assert_eq!(rx.sender_weak_count(), 0);
    });
}

#[test]
fn receiver_drop_fails_sends_and_drops_buffered_messages() {
    mock(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = mpsc::channel(4);
        tx.send(Counted(drops.clone())).unwrap();
        tx.send(Counted(drops.clone())).unwrap();
        assert!(!tx.is_closed());
        drop(rx);
        assert_eq!(
            drops.load(Ordering::SeqCst),
            2,
            "buffered messages dropped with the receiver"
        );
        assert!(tx.is_closed());
        let back = tx.send(Counted(drops.clone())).unwrap_err().0;
        assert_eq!(
            drops.load(Ordering::SeqCst),
            2,
            "the value came back in the error"
        );
        drop(back);
        assert!(matches!(
            tx.try_send(Counted(drops.clone())),
            Err(TrySendError::Closed(_))
        ));
        assert!(tx.reserve().is_err());
        assert!(matches!(tx.try_reserve(), Err(TrySendError::Closed(()))));
    });
}

#[test]
fn close_keeps_buffered_messages_receivable() {
    mock(|| {
        let (tx, mut rx) = mpsc::channel(4);
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        rx.close();
        assert!(rx.is_closed());
        assert!(tx.is_closed());
        assert_eq!(tx.send(3), Err(SendError(3)));
        assert_eq!(rx.recv(), Some(1));
        assert_eq!(rx.try_recv(), Ok(2));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
        assert_eq!(rx.recv(), None);
        rx.close(); // idempotent
    });
}

#[test]
fn close_waits_for_permits_reserved_before_it() {
    mock(|| {
        let (tx, mut rx) = mpsc::channel(4);
        let p1 = tx.reserve().unwrap();
        let p2 = tx.try_reserve().unwrap();
        rx.close();
        assert!(tx.reserve().is_err());
        assert_eq!(
            rx.try_recv(),
            Err(TryRecvError::Empty),
            "permits are outstanding"
        );
        p1.send("via permit");
        assert_eq!(rx.recv(), Some("via permit"));
        weft::fiber::both(
            || assert_eq!(rx.recv(), None, "None once the last permit is gone"),
            || {
                weft::time::sleep(Duration::from_secs(1));
                drop(p2);
            },
        );
    });
}

#[test]
fn close_wakes_blocked_senders_with_their_values() {
    mock(|| {
        let (tx, mut rx) = mpsc::channel(1);
        tx.send(0).unwrap();
        let results = RefCell::new(vec![]);
        weft::Switch::run(|sw| {
            for i in 1..=3 {
                let tx = tx.clone();
                let results = &results;
                sw.fork(move || {
                    let r = tx.send(i);
                    results.borrow_mut().push(r);
                });
            }
            weft::time::sleep(Duration::from_secs(1));
            assert!(results.borrow().is_empty(), "all three are blocked");
            rx.close();
            Ok(())
        })
        .unwrap();
        assert_eq!(
            *results.borrow(),
            [Err(SendError(1)), Err(SendError(2)), Err(SendError(3))]
        );
        assert_eq!(rx.recv(), Some(0));
        assert_eq!(rx.recv(), None);
    });
}

#[test]
fn capacity_and_backpressure() {
    mock(|| {
        let (tx, mut rx) = mpsc::channel(2);
        assert_eq!((tx.capacity(), tx.max_capacity()), (2, 2));
        tx.try_send(1).unwrap();
        let permit = tx.try_reserve().unwrap();
        assert_eq!(tx.capacity(), 0);
        assert_eq!(rx.capacity(), 0);
        assert_eq!(rx.len(), 1, "a permit is not a message");
        assert!(matches!(tx.try_send(9), Err(TrySendError::Full(9))));
        drop(permit);
        assert_eq!(tx.capacity(), 1);
        tx.try_send(2).unwrap();
        let sent = RefCell::new(false);
        weft::fiber::both(
            || {
                tx.send(3).unwrap(); // blocks: full
                *sent.borrow_mut() = true;
            },
            || {
                assert!(
                    !*sent.borrow(),
                    "the sender is blocked while the buffer is full"
                );
                assert_eq!(rx.recv(), Some(1));
                weft::fiber::yield_now();
                assert!(*sent.borrow(), "freeing a slot let the sender through");
            },
        );
        assert_eq!(rx.max_capacity(), 2);
        assert_eq!(rx.len(), 2);
        assert_eq!((rx.recv(), rx.recv()), (Some(2), Some(3)));
        assert!(rx.is_empty());
    });
}

#[test]
fn blocked_senders_get_capacity_in_arrival_order() {
    mock(|| {
        let (tx, mut rx) = mpsc::channel(1);
        tx.send(0).unwrap();
        weft::Switch::run(|sw| {
            for i in 1..=5 {
                let tx = tx.clone();
                sw.fork(move || tx.send(i).unwrap());
            }
            drop(tx);
            // A late try_send must not overtake the blocked senders.
            let got: Vec<i32> = std::iter::from_fn(|| rx.recv()).collect();
            assert_eq!(got, [0, 1, 2, 3, 4, 5]);
            Ok(())
        })
        .unwrap();
    });
}

#[test]
fn try_send_does_not_overtake_blocked_senders() {
    mock(|| {
        let (tx, mut rx) = mpsc::channel(1);
        tx.send("first").unwrap();
        weft::Switch::run(|sw| {
            let tx2 = tx.clone();
            sw.fork(move || tx2.send("blocked").unwrap());
            assert_eq!(rx.recv(), Some("first"));
            // The freed slot belongs to the blocked sender now.
            assert!(matches!(
                tx.try_send("late"),
                Err(TrySendError::Full("late"))
            ));
            assert_eq!(rx.recv(), Some("blocked"));
            Ok(())
        })
        .unwrap();
    });
}

#[test]
fn recv_many_rules() {
    mock(|| {
        let (tx, mut rx) = mpsc::channel(8);
        let mut buf = vec![];
        assert_eq!(rx.recv_many(&mut buf, 0), 0, "limit 0 returns at once");
        for i in 0..5 {
            tx.send(i).unwrap();
        }
        assert_eq!(rx.recv_many(&mut buf, 3), 3);
        assert_eq!(buf, [0, 1, 2]);
        assert_eq!(rx.recv_many(&mut buf, 10), 2);
        assert_eq!(buf, [0, 1, 2, 3, 4]);
        let (got, ()) = weft::fiber::both(
            || rx.recv_many(&mut buf, 10),
            || {
                weft::time::sleep(Duration::from_secs(1));
                tx.send(5).unwrap();
            },
        );
        assert_eq!(got, 1, "waits for the first message");
        drop(tx);
        assert_eq!(rx.recv_many(&mut buf, 10), 0, "closed and drained");
        assert_eq!(buf, [0, 1, 2, 3, 4, 5]);
    });
}

#[test]
fn send_timeout_gives_the_value_back() {
    mock(|| {
        let (tx, mut rx) = mpsc::channel(1);
        tx.send_timeout(1, Duration::from_secs(1)).unwrap();
        let t0 = weft::time::Instant::now();
        assert!(matches!(
            tx.send_timeout(2, Duration::from_secs(5)),
            Err(SendTimeoutError::Timeout(2))
        ));
        assert_eq!(t0.elapsed(), Duration::from_secs(5));
        assert_eq!(tx.capacity(), 0, "the timed-out send took no capacity");
        assert_eq!(rx.recv(), Some(1));
        assert_eq!(tx.capacity(), 1);
        rx.close();
        assert!(matches!(
            tx.send_timeout(3, Duration::from_secs(1)),
            Err(SendTimeoutError::Closed(3))
        ));
    });
}

#[test]
fn sender_closed_blocks_until_receiver_goes() {
    mock(|| {
        let (tx, rx) = mpsc::channel::<u8>(1);
        let (utx, mut urx) = mpsc::unbounded_channel::<u8>();
        let log = RefCell::new(vec![]);
        weft::Switch::run(|sw| {
            sw.fork(|| {
                tx.closed();
                log.borrow_mut().push("bounded");
            });
            sw.fork(|| {
                utx.closed();
                log.borrow_mut().push("unbounded");
            });
            weft::time::sleep(Duration::from_secs(1));
            assert!(log.borrow().is_empty());
            urx.close();
            weft::time::sleep(Duration::from_secs(1));
            drop(rx);
            Ok(())
        })
        .unwrap();
        assert_eq!(*log.borrow(), ["unbounded", "bounded"]);
        tx.closed(); // already closed: returns at once
    });
}

#[test]
fn cancelled_recv_loses_nothing() {
    mock(|| {
        let (tx, mut rx) = mpsc::channel(4);
        let r = weft::time::timeout(Duration::from_secs(1), || rx.recv());
        assert!(r.is_err());
        tx.send(1).unwrap();
        let r = weft::fiber::first(|| rx.recv(), || None);
        assert_eq!(r, Some(1), "the first branch found the message at once");
        tx.send(2).unwrap();
        assert_eq!(rx.recv(), Some(2));
        // Cancel a receiver that is blocked, then send: the message stays.
        let r = weft::time::timeout(Duration::from_secs(1), || rx.recv_many(&mut vec![], 5));
        assert!(r.is_err());
        tx.send(3).unwrap();
        assert_eq!(rx.try_recv(), Ok(3));
    });
}

#[test]
fn cancelled_send_sends_nothing_and_passes_capacity_on() {
    mock(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, mut rx) = mpsc::channel(1);
        tx.send(("first", None)).unwrap();
        weft::Switch::run(|sw| {
            let tx_a = tx.clone();
            let d = drops.clone();
            sw.fork(move || {
                let r = weft::time::timeout(Duration::from_secs(1), || {
                    tx_a.send(("cancelled", Some(Counted(d))))
                });
                assert!(r.is_err());
            });
            let tx_b = tx.clone();
            sw.fork(move || tx_b.send(("second", None)).unwrap());
            weft::time::sleep(Duration::from_secs(2));
            assert_eq!(
                drops.load(Ordering::SeqCst),
                1,
                "the cancelled send dropped its value"
            );
            assert_eq!(rx.recv().unwrap().0, "first");
            assert_eq!(rx.recv().unwrap().0, "second");
            Ok(())
        })
        .unwrap();
        assert_eq!(tx.capacity(), 1, "no capacity leaked");
        assert!(rx.try_recv().is_err());
    });
}

#[test]
fn cancelled_reserve_reserves_nothing() {
    mock(|| {
        let (tx, mut rx) = mpsc::channel(1);
        tx.send(1).unwrap();
        let r = weft::time::timeout(Duration::from_secs(1), || tx.reserve().map(drop));
        assert!(r.is_err());
        assert_eq!(rx.recv(), Some(1));
        assert_eq!(tx.capacity(), 1);
        let r = weft::time::timeout(Duration::from_secs(1), || tx.closed());
        assert!(r.is_err());
    });
}

#[test]
fn slot_freed_while_a_cancelled_waiter_is_still_queued_goes_to_the_next() {
    // At t=1 the receiver fiber (its timer is older) runs first and frees a
    // slot while sender A has been cancelled by its timeout but has not yet
    // run to withdraw. The slot must go to B, not vanish with A.
    mock(|| {
        let (tx, mut rx) = mpsc::channel(1);
        tx.send(0).unwrap();
        let outcome_a = RefCell::new(None);
        let first = RefCell::new(None);
        weft::Switch::run(|sw| {
            sw.fork(|| {
                weft::time::sleep(Duration::from_secs(1));
                *first.borrow_mut() = rx.recv();
            });
            let tx_a = tx.clone();
            let outcome_a = &outcome_a;
            sw.fork(move || {
                let r = weft::time::timeout(Duration::from_secs(1), || tx_a.send(1));
                *outcome_a.borrow_mut() = Some(r.is_ok());
            });
            let tx_b = tx.clone();
            sw.fork(move || tx_b.send(2).unwrap());
            Ok(())
        })
        .unwrap();
        assert_eq!(*first.borrow(), Some(0));
        assert_eq!(*outcome_a.borrow(), Some(false), "A was cancelled");
        assert_eq!(tx.capacity(), 0, "B's message fills the buffer");
        drop(tx);
        let rest: Vec<i32> = std::iter::from_fn(|| rx.recv()).collect();
        assert_eq!(rest, [2]);
    });
}

#[test]
fn randomized_cancellation_conserves_messages() {
    mock(|| {
        let mut rng = StdRng::seed_from_u64(7);
        let (tx, mut rx) = mpsc::channel(3);
        let sent_ok = RefCell::new(vec![]);
        let received = RefCell::new(vec![]);
        let plans: Vec<Vec<u64>> = (0..8)
            .map(|_| (0..40).map(|_| rng.random_range(0..4)).collect())
            .collect();
        let recv_plan: Vec<u64> = (0..2000).map(|_| rng.random_range(0..4)).collect();
        weft::Switch::run(|sw| {
            for (s, plan) in plans.iter().enumerate() {
                let tx = tx.clone();
                let sent_ok = &sent_ok;
                sw.fork(move || {
                    for (i, &t) in plan.iter().enumerate() {
                        let msg = (s, i);
                        let ok =
                            match weft::time::timeout(Duration::from_millis(t), || tx.send(msg)) {
                                Ok(r) => r.is_ok(),
                                Err(_) => false,
                            };
                        if ok {
                            sent_ok.borrow_mut().push(msg);
                        }
                    }
                });
            }
            drop(tx);
            let received = &received;
            for &t in recv_plan.iter().cycle() {
                match weft::time::timeout(Duration::from_millis(t), || rx.recv()) {
                    Ok(Some(m)) => received.borrow_mut().push(m),
                    Ok(None) => break,
                    Err(_) => weft::time::sleep(Duration::from_millis(t)),
                }
            }
            Ok(())
        })
        .unwrap();
        let received = received.into_inner();
        let mut sent = sent_ok.into_inner();
        assert!(
            sent.len() > 50 && sent.len() < 320,
            "some sends timed out, most did not"
        );
        for s in 0..8 {
            let per: Vec<usize> = received.iter().filter(|m| m.0 == s).map(|m| m.1).collect();
            assert!(per.windows(2).all(|w| w[0] < w[1]), "FIFO per sender");
        }
        let mut got = received.clone();
        got.sort();
        sent.sort();
        assert_eq!(got, sent, "every successful send received exactly once");
    });
}

#[test]
fn unbounded_channel_rules() {
    mock(|| {
        let (tx, mut rx) = mpsc::unbounded_channel();
        for i in 0..10_000 {
            tx.send(i).unwrap();
        }
        assert_eq!(rx.len(), 10_000);
        let mut buf = vec![];
        assert_eq!(rx.recv_many(&mut buf, 10_000), 10_000);
        assert!(buf.iter().copied().eq(0..10_000));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        let weak = tx.downgrade();
        assert_eq!((tx.strong_count(), tx.weak_count()), (1, 1));
        let r = weft::time::timeout(Duration::from_secs(1), || rx.recv());
        assert!(r.is_err());
        tx.send(7).unwrap();
        drop(tx);
        assert!(rx.is_closed());
        assert_eq!(rx.recv(), Some(7));
        assert_eq!(rx.recv(), None);
        assert!(weak.upgrade().is_none());
        let (tx, mut rx) = mpsc::unbounded_channel();
        tx.send(1).unwrap();
        rx.close();
        assert!(tx.is_closed());
        assert_eq!(tx.send(2), Err(SendError(2)));
        assert_eq!(rx.recv(), Some(1));
        assert_eq!(rx.recv(), None);
    });
}

#[test]
fn cross_thread_bounded_100k_no_loss() {
    const N: u64 = 100_000;
    let (tx, mut rx) = mpsc::channel::<u64>(16);
    let producer = std::thread::spawn(move || {
        weft::run(|_env| {
            for i in 0..N {
                tx.send(i).unwrap();
            }
        })
    });
    let consumer = std::thread::spawn(move || {
        weft::run(|_env| {
            let mut expected = 0;
            while let Some(i) = rx.recv() {
                assert_eq!(i, expected, "FIFO across threads");
                expected += 1;
            }
            expected
        })
    });
    producer.join().unwrap();
    assert_eq!(consumer.join().unwrap(), N);
}

#[test]
fn cross_thread_many_producers() {
    let (tx, mut rx) = mpsc::channel::<(usize, u32)>(4);
    let producers: Vec<_> = (0..3)
        .map(|p| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                weft::run(|_env| {
                    for i in 0..5_000 {
                        tx.send((p, i)).unwrap();
                    }
                })
            })
        })
        .collect();
    drop(tx);
    let counts = weft::run(|_env| {
        let mut next = [0u32; 3];
        while let Some((p, i)) = rx.recv() {
            assert_eq!(i, next[p], "FIFO per producer");
            next[p] += 1;
        }
        next
    });
    for p in producers {
        p.join().unwrap();
    }
    assert_eq!(counts, [5_000; 3]);
}

#[test]
fn cross_thread_close_wakes_a_blocked_sender() {
    let (tx, mut rx) = mpsc::channel::<u8>(1);
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel::<()>();
    let sender = std::thread::spawn(move || {
        weft::run(|_env| {
            tx.send(1).unwrap();
            ready_tx.send(()).unwrap();
            tx.send(2) // blocks until the other thread closes
        })
    });
    weft::run(|_env| {
        ready_rx.recv().unwrap();
        // Most likely the sender is blocked by now; if not, its send sees
        // the closed channel. Either way it fails with its value.
        weft::time::sleep(Duration::from_millis(10));
        rx.close();
        assert_eq!(rx.recv(), Some(1));
    });
    assert_eq!(sender.join().unwrap(), Err(SendError(2)));
}

#[test]
fn message_destructor_may_use_the_channel() {
    // Dropping buffered messages happens outside the channel's lock.
    struct Reentrant(mpsc::UnboundedSender<Reentrant>);
    impl Drop for Reentrant {
        fn drop(&mut self) {
            let _ = self.0.is_closed();
        }
    }
    let (tx, rx) = mpsc::unbounded_channel();
    tx.send(Reentrant(tx.clone())).unwrap();
    drop(rx);
    assert!(tx.is_closed());
}
