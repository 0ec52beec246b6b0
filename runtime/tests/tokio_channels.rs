//! The tokio-meaning channels: mpsc, oneshot, broadcast, watch.

use std::time::Duration;

use weft::sync::{broadcast, mpsc, oneshot, watch};
use weft::Switch;

fn mock() -> weft::Runtime {
    weft::Runtime::builder().mock_clock(true).build().unwrap()
}

#[test]
fn mpsc_closes_when_every_sender_is_dropped_after_draining() {
    weft::run(|_env| {
        let (tx, mut rx) = mpsc::channel(4);
        let tx2 = tx.clone();
        tx.send(1).unwrap();
        tx2.send(2).unwrap();
        drop(tx);
        assert!(!rx.is_closed());
        drop(tx2);
        assert_eq!(rx.recv(), Some(1));
        assert_eq!(rx.recv(), Some(2));
        assert_eq!(rx.recv(), None);
    });
}

#[test]
fn mpsc_backpressure_blocks_senders_in_fifo_order() {
    weft::run(|_env| {
        let (tx, mut rx) = mpsc::channel(1);
        let got = Switch::run(|sw| {
            for i in 0..4 {
                let tx = tx.clone();
                sw.fork(move || tx.send(i).unwrap());
            }
            drop(tx);
            let mut got = vec![];
            while let Some(v) = rx.recv() {
                got.push(v);
            }
            Ok(got)
        })
        .unwrap();
        assert_eq!(got, [0, 1, 2, 3]);
    });
}

#[test]
fn mpsc_receiver_drop_fails_blocked_and_later_senders_with_their_values() {
    weft::run(|_env| {
        let (tx, rx) = mpsc::channel(1);
        tx.send("buffered").unwrap();
        let (r, ()) = weft::fiber::both(|| tx.send("blocked"), || drop(rx));
        assert_eq!(r.unwrap_err().0, "blocked");
        assert_eq!(tx.send("late").unwrap_err().0, "late");
        assert_eq!(
            tx.try_send("x"),
            Err(mpsc::error::TrySendError::Closed("x"))
        );
    });
}

#[test]
fn mpsc_cancelled_send_and_recv_lose_nothing() {
    mock().run(|_env| {
        let (tx, mut rx) = mpsc::channel(1);
        tx.send(1).unwrap();
        assert!(weft::time::timeout(Duration::from_secs(1), || tx.send(2)).is_err());
        assert_eq!(rx.recv(), Some(1));
        assert_eq!(rx.try_recv(), Err(mpsc::error::TryRecvError::Empty));
        assert!(weft::time::timeout(Duration::from_secs(1), || rx.recv()).is_err());
        tx.send(3).unwrap();
        assert_eq!(rx.recv(), Some(3));
        assert_eq!(
            tx.send_timeout(4, Duration::from_secs(1))
                .and_then(|()| tx.send_timeout(5, Duration::from_secs(1))),
            Err(mpsc::error::SendTimeoutError::Timeout(5))
        );
    });
}

#[test]
fn mpsc_reserve_holds_a_slot() {
    weft::run(|_env| {
        let (tx, mut rx) = mpsc::channel(1);
        let permit = tx.reserve().unwrap();
        assert_eq!(tx.capacity(), 0);
        assert!(matches!(
            tx.try_send(9),
            Err(mpsc::error::TrySendError::Full(9))
        ));
        permit.send(1);
        assert_eq!(rx.recv(), Some(1));
        drop(tx.reserve().unwrap()); // unused permit gives the slot back
        assert_eq!(tx.capacity(), 1);
    });
}

#[test]
fn mpsc_hundred_thousand_messages_across_threads() {
    const N: u64 = 100_000;
    let (tx, mut rx) = mpsc::channel(64);
    let producers: Vec<_> = (0..2)
        .map(|p| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                weft::run(|_env| {
                    for i in 0..N / 2 {
                        tx.send(p * N + i).unwrap();
                    }
                })
            })
        })
        .collect();
    drop(tx);
    let (count, sum) = weft::run(|_env| {
        let (mut count, mut sum) = (0u64, 0u64);
        let mut last = [None::<u64>; 2];
        while let Some(v) = rx.recv() {
            let p = (v / N) as usize;
            if let Some(prev) = last[p] {
                assert!(v > prev, "per-producer order kept");
            }
            last[p] = Some(v);
            count += 1;
            sum += v;
        }
        (count, sum)
    });
    for p in producers {
        p.join().unwrap();
    }
    let expected: u64 = (0..N / 2).sum::<u64>() * 2 + N * (N / 2);
    assert_eq!((count, sum), (N, expected));
}

#[test]
fn unbounded_send_never_waits() {
    weft::run(|_env| {
        let (tx, mut rx) = mpsc::unbounded_channel();
        for i in 0..10_000 {
            tx.send(i).unwrap();
        }
        assert_eq!(rx.len(), 10_000);
        let mut buf = Vec::new();
        assert_eq!(rx.recv_many(&mut buf, 100), 100);
    });
}

#[test]
fn oneshot_semantics() {
    weft::run(|_env| {
        let (tx, rx) = oneshot::channel();
        let (_, v) = weft::fiber::both(move || tx.send(5).unwrap(), move || rx.recv());
        assert_eq!(v, Ok(5));
        let (tx, rx) = oneshot::channel::<u8>();
        drop(tx);
        assert_eq!(rx.recv(), Err(oneshot::error::RecvError));
        let (mut tx, rx) = oneshot::channel::<u8>();
        weft::fiber::both(|| tx.closed(), move || drop(rx));
        assert!(tx.is_closed());
        assert_eq!(tx.send(1), Err(1));
    });
}

#[test]
fn broadcast_every_receiver_sees_every_value_and_lagging_is_reported() {
    weft::run(|_env| {
        let (tx, mut a) = broadcast::channel(2);
        let mut b = tx.subscribe();
        for i in 0..5 {
            assert_eq!(tx.send(i), Ok(2));
        }
        // Capacity 2: values 0..=2 were overwritten for both receivers.
        assert_eq!(a.recv(), Err(broadcast::error::RecvError::Lagged(3)));
        assert_eq!(a.recv(), Ok(3));
        assert_eq!(a.recv(), Ok(4));
        assert_eq!(b.try_recv(), Err(broadcast::error::TryRecvError::Lagged(3)));
        assert_eq!(b.try_recv(), Ok(3));
        drop(tx);
        assert_eq!(b.recv(), Ok(4));
        assert_eq!(b.recv(), Err(broadcast::error::RecvError::Closed));
        assert_eq!(
            broadcast::error::RecvError::Lagged(3).to_string(),
            "channel lagged by 3"
        );
    });
}

#[test]
fn broadcast_send_without_receivers_fails() {
    let (tx, rx) = broadcast::channel::<u8>(1);
    drop(rx);
    assert_eq!(tx.send(1).unwrap_err().0, 1);
}

#[test]
fn watch_versions_and_closing() {
    weft::run(|_env| {
        let (tx, mut rx) = watch::channel(0);
        assert!(!rx.has_changed().unwrap());
        tx.send(1).unwrap();
        tx.send(2).unwrap(); // only the latest value is seen
        rx.changed().unwrap();
        assert_eq!(*rx.borrow_and_update(), 2);
        assert!(!rx.has_changed().unwrap());
        let mut rx2 = rx.clone();
        tx.send_modify(|v| *v += 1);
        assert_eq!(*rx2.wait_for(|v| *v == 3).unwrap(), 3);
        drop(tx);
        assert!(rx.has_changed().is_err());
        // A change made before the last sender left is still delivered.
        let (tx, mut rx) = watch::channel("a");
        tx.send("b").unwrap();
        drop(tx);
        assert!(rx.changed().is_ok());
        assert!(rx.changed().is_err());
    });
}

#[test]
fn watch_changed_is_cancellable() {
    mock().run(|_env| {
        let (_tx, mut rx) = watch::channel(0);
        assert!(weft::time::timeout(Duration::from_secs(1), || rx.changed()).is_err());
    });
}
