//! `weft::sync::broadcast` keeps tokio's broadcast semantics, lagging
//! included.

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use weft::sync::broadcast::{self, error::*};

fn mock<T>(f: impl FnOnce() -> T) -> T {
    weft::Runtime::builder()
        .mock_clock(true)
        .build()
        .unwrap()
        .run(|_env| f())
}

#[derive(Clone, Debug)]
struct Counted(#[allow(dead_code)] u32, Arc<AtomicUsize>);
impl Drop for Counted {
    fn drop(&mut self) {
        self.1.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn handles_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<broadcast::Sender<String>>();
    send_sync::<broadcast::Receiver<String>>();
    send_sync::<broadcast::WeakSender<String>>();
}

#[test]
fn error_texts_match_tokio() {
    assert_eq!(SendError(1).to_string(), "channel closed");
    assert_eq!(RecvError::Closed.to_string(), "channel closed");
    assert_eq!(RecvError::Lagged(7).to_string(), "channel lagged by 7");
    assert_eq!(TryRecvError::Empty.to_string(), "channel empty");
    assert_eq!(TryRecvError::Closed.to_string(), "channel closed");
    assert_eq!(TryRecvError::Lagged(2).to_string(), "channel lagged by 2");
}

#[test]
#[should_panic(expected = "broadcast channel capacity cannot be zero")]
fn zero_capacity_panics() {
    let _ = broadcast::channel::<u8>(0);
}

#[test]
fn every_receiver_sees_values_sent_after_it_subscribed() {
    mock(|| {
        let (tx, mut rx1) = broadcast::channel(16);
        assert_eq!(tx.send(1), Ok(1));
        let mut rx2 = tx.subscribe();
        assert_eq!(tx.send(2), Ok(2));
        let mut rx3 = rx2.resubscribe();
        assert_eq!(tx.send(3), Ok(3));
        assert_eq!(tx.receiver_count(), 3);
        let drain = |rx: &mut broadcast::Receiver<i32>| {
            std::iter::from_fn(|| rx.try_recv().ok()).collect::<Vec<_>>()
        };
        assert_eq!(drain(&mut rx1), [1, 2, 3]);
        assert_eq!(drain(&mut rx2), [2, 3]);
        assert_eq!(drain(&mut rx3), [3]);
        assert_eq!(rx1.try_recv(), Err(TryRecvError::Empty));
    });
}

#[test]
fn send_without_receivers_fails_and_subscribe_reopens() {
    let (tx, rx) = broadcast::channel(4);
    drop(rx);
    assert_eq!(tx.receiver_count(), 0);
    assert_eq!(tx.send("nobody"), Err(SendError("nobody")));
    assert!(tx.is_empty(), "a failed send stores nothing");
    let mut rx = tx.subscribe();
    assert_eq!(tx.send("again"), Ok(1));
    assert_eq!(rx.try_recv(), Ok("again"));
}

#[test]
fn lagging_receiver_gets_lagged_then_the_oldest_retained_value() {
    mock(|| {
        let (tx, mut rx) = broadcast::channel(2);
        for v in [10, 20, 30] {
            tx.send(v).unwrap();
        }
        assert_eq!(rx.len(), 3);
        assert_eq!(rx.recv(), Err(RecvError::Lagged(1)));
        assert_eq!(rx.recv(), Ok(20));
        assert_eq!(rx.recv(), Ok(30));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    });
}

#[test]
fn capacity_rounds_up_to_a_power_of_two() {
    mock(|| {
        // channel(3) retains 4 values, as tokio's does.
        let (tx, mut rx) = broadcast::channel(3);
        for v in 0..5 {
            tx.send(v).unwrap();
        }
        assert_eq!(rx.try_recv(), Err(TryRecvError::Lagged(1)));
        let rest: Vec<i32> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
        assert_eq!(rest, [1, 2, 3, 4]);
    });
}

#[test]
fn lag_counts_and_positions_over_several_rounds() {
    mock(|| {
        let (tx, mut slow) = broadcast::channel(4);
        let mut fast = tx.subscribe();
        for v in 0..10 {
            tx.send(v).unwrap();
            assert_eq!(fast.try_recv(), Ok(v), "an up-to-date receiver never lags");
        }
        assert_eq!(slow.len(), 10);
        assert_eq!(slow.recv(), Err(RecvError::Lagged(6)));
        assert_eq!(slow.len(), 4);
        assert_eq!(slow.recv(), Ok(6));
        // Falls behind again while in the middle of the buffer.
        for v in 10..15 {
            tx.send(v).unwrap();
        }
        // Retained: 11..15; slow was at 7.
        assert_eq!(slow.try_recv(), Err(TryRecvError::Lagged(4)));
        let rest: Vec<i32> = std::iter::from_fn(|| slow.try_recv().ok()).collect();
        assert_eq!(rest, [11, 12, 13, 14]);
    });
}

#[test]
fn closed_after_all_senders_drop_and_values_are_drained() {
    mock(|| {
        let (tx, mut rx) = broadcast::channel(4);
        let tx2 = tx.clone();
        let weak = tx.downgrade();
        tx.send(1).unwrap();
        drop(tx);
        assert!(!rx.is_closed());
        tx2.send(2).unwrap();
        drop(tx2);
        assert!(rx.is_closed());
        assert!(weak.upgrade().is_none(), "weak senders do not keep it open");
        assert_eq!(rx.recv(), Ok(1));
        assert_eq!(rx.recv(), Ok(2));
        assert_eq!(rx.recv(), Err(RecvError::Closed));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    });
}

#[test]
fn lag_is_reported_before_closed() {
    mock(|| {
        let (tx, mut rx) = broadcast::channel(1);
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        drop(tx);
        assert_eq!(rx.recv(), Err(RecvError::Lagged(1)));
        assert_eq!(rx.recv(), Ok(2));
        assert_eq!(rx.recv(), Err(RecvError::Closed));
    });
}

#[test]
fn blocked_receivers_all_wake_on_send_and_on_close() {
    mock(|| {
        let (tx, rx) = broadcast::channel(4);
        let got = RefCell::new(vec![]);
        weft::Switch::run(|sw| {
            for _ in 0..3 {
                let mut rx = rx.resubscribe();
                let got = &got;
                sw.fork(move || {
                    let first = rx.recv();
                    let second = rx.recv();
                    got.borrow_mut().push((first, second));
                });
            }
            weft::time::sleep(Duration::from_secs(1));
            assert_eq!(tx.send(5), Ok(4));
            weft::time::sleep(Duration::from_secs(1));
            drop(tx);
            Ok(())
        })
        .unwrap();
        assert_eq!(*got.borrow(), vec![(Ok(5), Err(RecvError::Closed)); 3]);
    });
}

#[test]
fn sender_len_counts_values_not_yet_seen_by_all() {
    mock(|| {
        let (tx, mut rx1) = broadcast::channel(16);
        let mut rx2 = tx.subscribe();
        for v in [10, 20, 30] {
            tx.send(v).unwrap();
        }
        assert_eq!(tx.len(), 3);
        rx1.recv().unwrap();
        assert_eq!(tx.len(), 3, "rx2 has not seen the first value");
        rx2.recv().unwrap();
        assert_eq!(tx.len(), 2);
        drop(rx2);
        assert_eq!(tx.len(), 2, "rx1 still has not seen them");
        rx1.recv().unwrap();
        rx1.recv().unwrap();
        assert!(tx.is_empty());
    });
}

#[test]
fn values_are_released_once_seen_by_everyone() {
    mock(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, mut rx1) = broadcast::channel(8);
        let mut rx2 = tx.subscribe();
        tx.send(Counted(1, drops.clone())).unwrap();
        tx.send(Counted(2, drops.clone())).unwrap();
        drop(rx1.recv().unwrap()); // a clone
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        drop(rx2.recv().unwrap()); // the original, taken by the last reader
        assert_eq!(drops.load(Ordering::SeqCst), 2);
        assert_eq!(tx.len(), 1);
        drop(rx2);
        assert_eq!(drops.load(Ordering::SeqCst), 2, "rx1 still needs value 2");
        drop(rx1);
        assert_eq!(drops.load(Ordering::SeqCst), 3, "nobody needs value 2 now");
        assert!(tx.is_empty());
    });
}

#[test]
fn cancelled_recv_consumes_nothing() {
    mock(|| {
        let (tx, mut rx) = broadcast::channel(4);
        assert!(weft::time::timeout(Duration::from_secs(1), || rx.recv()).is_err());
        tx.send(1).unwrap();
        assert_eq!(rx.recv(), Ok(1));
        // Cancelled exactly when a value arrives (the sender's timer is
        // older): the value stays for the next recv.
        let r = RefCell::new(None);
        weft::fiber::both(
            || {
                weft::time::sleep(Duration::from_secs(1));
                tx.send(2).unwrap();
            },
            || *r.borrow_mut() = Some(weft::time::timeout(Duration::from_secs(1), || rx.recv())),
        );
        assert!(r.into_inner().unwrap().is_err());
        assert_eq!(rx.try_recv(), Ok(2));
    });
}

#[test]
fn sender_closed_waits_for_every_receiver() {
    mock(|| {
        let (tx, rx1) = broadcast::channel::<u8>(4);
        let rx2 = tx.subscribe();
        let done = RefCell::new(false);
        weft::fiber::both(
            || {
                tx.closed();
                *done.borrow_mut() = true;
            },
            || {
                drop(rx1);
                weft::time::sleep(Duration::from_secs(1));
                assert!(!*done.borrow(), "one receiver is left");
                drop(rx2);
            },
        );
        assert!(*done.borrow());
        assert!(weft::time::timeout(Duration::from_secs(1), || tx.closed()).is_ok());
    });
}

#[test]
fn cross_thread_receivers_account_for_every_value() {
    const N: u64 = 20_000;
    let (tx, rx) = broadcast::channel::<u64>(8);
    let receivers: Vec<_> = (0..3)
        .map(|_| {
            let mut rx = rx.resubscribe();
            std::thread::spawn(move || {
                weft::run(|_env| {
                    let (mut received, mut lagged, mut expected) = (0u64, 0u64, 0u64);
                    loop {
                        match rx.recv() {
                            Ok(v) => {
                                assert_eq!(v, expected, "in order, no duplicates");
                                expected += 1;
                                received += 1;
                            }
                            Err(RecvError::Lagged(n)) => {
                                lagged += n;
                                expected += n;
                            }
                            Err(RecvError::Closed) => break,
                        }
                    }
                    (received, lagged)
                })
            })
        })
        .collect();
    drop(rx);
    std::thread::spawn(move || {
        weft::run(|_env| {
            for v in 0..N {
                tx.send(v).unwrap();
                if v % 64 == 0 {
                    weft::fiber::yield_now();
                }
            }
        })
    })
    .join()
    .unwrap();
    for r in receivers {
        let (received, lagged) = r.join().unwrap();
        assert_eq!(
            received + lagged,
            N,
            "every value received or reported as missed"
        );
    }
}
