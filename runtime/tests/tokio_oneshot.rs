//! `weft::sync::oneshot` keeps tokio's oneshot semantics.

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use weft::sync::oneshot::{self, error::TryRecvError};

fn mock<T>(f: impl FnOnce() -> T) -> T {
    weft::Runtime::builder()
        .mock_clock(true)
        .build()
        .unwrap()
        .run(|_env| f())
}

#[derive(Debug)]
struct Counted(Arc<AtomicUsize>);
impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn handles_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<oneshot::Sender<String>>();
    send_sync::<oneshot::Receiver<String>>();
}

#[test]
fn error_texts_match_tokio() {
    let (tx, rx) = oneshot::channel::<u8>();
    drop(tx);
    let e = weft::run(|_env| rx.recv().unwrap_err());
    assert_eq!(e.to_string(), "channel closed");
    assert_eq!(TryRecvError::Empty.to_string(), "channel empty");
    assert_eq!(TryRecvError::Closed.to_string(), "channel closed");
}

#[test]
fn recv_blocks_until_the_value_is_sent() {
    mock(|| {
        let (tx, rx) = oneshot::channel();
        let (got, ()) = weft::fiber::both(
            || {
                let t0 = weft::time::Instant::now();
                (rx.recv(), t0.elapsed())
            },
            || {
                weft::time::sleep(Duration::from_secs(3));
                tx.send("hello").unwrap();
            },
        );
        assert_eq!(got, (Ok("hello"), Duration::from_secs(3)));
    });
}

#[test]
fn sender_dropped_without_sending() {
    mock(|| {
        let (tx, mut rx) = oneshot::channel::<u8>();
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        let (r, ()) = weft::fiber::both(
            || rx.recv_ref(),
            || {
                weft::time::sleep(Duration::from_secs(1));
                drop(tx);
            },
        );
        assert!(r.is_err(), "a blocked receiver wakes with RecvError");
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
        assert!(rx.recv().is_err());
    });
}

#[test]
fn receiver_dropped_fails_the_send_with_the_value() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = oneshot::channel();
    assert!(!tx.is_closed());
    drop(rx);
    assert!(tx.is_closed());
    let back = tx.send(Counted(drops.clone())).err().unwrap();
    assert_eq!(
        drops.load(Ordering::SeqCst),
        0,
        "the value is handed back, not dropped"
    );
    drop(back);
    // A value sent but never received is dropped with the receiver.
    let (tx, rx) = oneshot::channel();
    tx.send(Counted(drops.clone())).unwrap();
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    drop(rx);
    assert_eq!(drops.load(Ordering::SeqCst), 2);
}

#[test]
fn close_before_send() {
    mock(|| {
        let (tx, mut rx) = oneshot::channel();
        rx.close();
        assert!(tx.is_closed());
        assert_eq!(tx.send(1), Err(1));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
        assert!(rx.recv().is_err());
    });
}

#[test]
fn close_after_send_keeps_the_value() {
    mock(|| {
        let (tx, mut rx) = oneshot::channel();
        tx.send("kept").unwrap();
        rx.close();
        assert_eq!(rx.recv_ref(), Ok("kept"));
        assert!(rx.recv_ref().is_err(), "already received");
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    });
}

#[test]
fn sender_closed_waits_for_the_receiver_to_go() {
    mock(|| {
        let (mut tx, mut rx) = oneshot::channel::<u8>();
        let done = RefCell::new(false);
        weft::fiber::both(
            || {
                tx.closed();
                *done.borrow_mut() = true;
            },
            || {
                weft::time::sleep(Duration::from_secs(1));
                assert!(!*done.borrow());
                rx.close();
            },
        );
        assert!(*done.borrow());
        tx.closed(); // returns at once now
        let (mut tx, rx) = oneshot::channel::<u8>();
        assert!(weft::time::timeout(Duration::from_secs(1), || tx.closed()).is_err());
        drop(rx);
        assert!(weft::time::timeout(Duration::from_secs(1), || tx.closed()).is_ok());
    });
}

#[test]
fn cancelled_recv_ref_keeps_receiver_and_value() {
    mock(|| {
        let (tx, mut rx) = oneshot::channel();
        assert!(weft::time::timeout(Duration::from_secs(1), || rx.recv_ref()).is_err());
        assert!(!tx.is_closed(), "the receiver is still there");
        tx.send(9).unwrap();
        assert_eq!(rx.recv_ref(), Ok(9));
    });
}

#[test]
fn value_sent_at_the_moment_of_cancellation_is_not_lost() {
    // The sender (older timer) runs at t=1 after the receiver's timeout has
    // cancelled it but before it withdrew: the value must stay receivable.
    mock(|| {
        let (tx, mut rx) = oneshot::channel();
        let r = RefCell::new(None);
        weft::fiber::both(
            || {
                weft::time::sleep(Duration::from_secs(1));
                tx.send("raced").unwrap();
            },
            || {
                *r.borrow_mut() = Some(weft::time::timeout(Duration::from_secs(1), || {
                    rx.recv_ref()
                }));
            },
        );
        assert!(
            r.into_inner().unwrap().is_err(),
            "the receiver was cancelled"
        );
        assert_eq!(rx.try_recv(), Ok("raced"));
    });
}

#[test]
fn cancelled_recv_drops_the_receiver_and_the_sender_gets_the_value_back() {
    mock(|| {
        let (tx, rx) = oneshot::channel();
        assert!(weft::time::timeout(Duration::from_secs(1), move || rx.recv()).is_err());
        assert!(tx.is_closed());
        assert_eq!(tx.send("returned"), Err("returned"));
    });
}

#[test]
fn cross_thread_many_channels() {
    const N: usize = 2_000;
    let (txs, rxs): (Vec<_>, Vec<_>) = (0..N).map(|_| oneshot::channel::<usize>()).unzip();
    let sender = std::thread::spawn(move || {
        weft::run(|_env| {
            for (i, tx) in txs.into_iter().enumerate() {
                if i % 100 == 0 {
                    weft::fiber::yield_now();
                }
                tx.send(i).unwrap();
            }
        })
    });
    let sum = weft::run(|_env| rxs.into_iter().map(|rx| rx.recv().unwrap()).sum::<usize>());
    sender.join().unwrap();
    assert_eq!(sum, N * (N - 1) / 2);
}
