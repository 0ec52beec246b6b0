//! `weft::sync::watch` keeps tokio's watch semantics (versions, closing).

use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use weft::sync::watch;

fn mock<T>(f: impl FnOnce() -> T) -> T {
    weft::Runtime::builder()
        .mock_clock(true)
        .build()
        .unwrap()
        .run(|_env| f())
}

/// Whether `changed()` returns within one (mock) second, and how.
fn changed_soon<T>(rx: &mut watch::Receiver<T>) -> Option<bool> {
    weft::time::timeout(Duration::from_secs(1), || rx.changed().is_ok()).ok()
}

#[test]
fn handles_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<watch::Sender<String>>();
    send_sync::<watch::Receiver<String>>();
}

#[test]
fn error_texts_match_tokio() {
    let (tx, rx) = watch::channel(0);
    drop(rx);
    let e = tx.send(1).unwrap_err();
    assert_eq!(e.to_string(), "channel closed");
    assert_eq!(format!("{e:?}"), "SendError { .. }");
    let (tx, rx) = watch::channel(0);
    drop(tx);
    assert_eq!(rx.has_changed().unwrap_err().to_string(), "channel closed");
}

#[test]
fn initial_value_counts_as_seen() {
    mock(|| {
        let (_tx, mut rx) = watch::channel("init");
        assert_eq!(rx.has_changed(), Ok(false));
        assert!(!rx.borrow().has_changed());
        assert_eq!(*rx.borrow(), "init");
        assert_eq!(
            changed_soon(&mut rx),
            None,
            "changed waits for a new version"
        );
    });
}

#[test]
fn versions_seen_and_unseen() {
    mock(|| {
        let (tx, mut rx) = watch::channel(0);
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        assert_eq!(rx.has_changed(), Ok(true));
        assert!(rx.borrow().has_changed());
        assert_eq!(rx.has_changed(), Ok(true), "borrow does not mark seen");
        // Two sends, one change: changed() returns once, with the latest.
        assert_eq!(changed_soon(&mut rx), Some(true));
        assert_eq!(*rx.borrow(), 2);
        assert!(!rx.borrow().has_changed());
        assert_eq!(changed_soon(&mut rx), None);
        tx.send(3).unwrap();
        {
            let r = rx.borrow_and_update();
            assert_eq!((*r, r.has_changed()), (3, true));
        }
        assert_eq!(rx.has_changed(), Ok(false));
        assert_eq!(
            changed_soon(&mut rx),
            None,
            "borrow_and_update marked it seen"
        );
    });
}

#[test]
fn changed_blocks_until_a_send() {
    mock(|| {
        let (tx, mut rx) = watch::channel(0);
        let (r, ()) = weft::fiber::both(
            || {
                let t0 = weft::time::Instant::now();
                rx.changed().unwrap();
                (*rx.borrow(), t0.elapsed())
            },
            || {
                weft::time::sleep(Duration::from_secs(2));
                tx.send(7).unwrap();
            },
        );
        assert_eq!(r, (7, Duration::from_secs(2)));
    });
}

#[test]
fn subscribe_and_clone_versions() {
    mock(|| {
        let (tx, rx) = watch::channel(0);
        tx.send(1).unwrap();
        let mut sub = tx.subscribe();
        assert_eq!(
            sub.has_changed(),
            Ok(false),
            "subscribe marks the current value seen"
        );
        let mut cloned = rx.clone();
        assert_eq!(
            cloned.has_changed(),
            Ok(true),
            "a clone has seen what the original had"
        );
        cloned.mark_unchanged();
        assert_eq!(cloned.has_changed(), Ok(false));
        sub.mark_changed();
        assert_eq!(sub.has_changed(), Ok(true));
        assert_eq!(
            changed_soon(&mut sub),
            Some(true),
            "mark_changed makes changed return"
        );
        assert_eq!(*sub.borrow(), 1);
        assert_eq!(tx.receiver_count(), 3);
    });
}

#[test]
fn send_without_receivers_stores_nothing_but_replace_and_modify_do() {
    let (tx, rx) = watch::channel(0);
    drop(rx);
    assert!(tx.is_closed());
    assert_eq!(tx.send(1).unwrap_err().0, 1);
    assert_eq!(*tx.borrow(), 0, "a failed send does not store the value");
    assert_eq!(tx.send_replace(2), 0);
    tx.send_modify(|v| *v += 1);
    assert!(tx.send_if_modified(|v| {
        *v += 1;
        true
    }));
    assert_eq!(*tx.borrow(), 4);
    let rx = tx.subscribe();
    assert!(!tx.is_closed(), "subscribe re-opens the channel");
    assert_eq!(*rx.borrow(), 4);
    assert!(tx.send(5).is_ok());
}

#[test]
fn send_if_modified_notifies_only_when_true() {
    mock(|| {
        let (tx, mut rx) = watch::channel(1);
        assert!(!tx.send_if_modified(|v| {
            *v = 100; // a silent modification
            false
        }));
        assert_eq!(rx.has_changed(), Ok(false));
        assert_eq!(changed_soon(&mut rx), None);
        assert_eq!(*rx.borrow(), 100, "silently modified");
        assert!(tx.send_if_modified(|v| {
            *v += 1;
            true
        }));
        assert_eq!(changed_soon(&mut rx), Some(true));
    });
}

#[test]
fn panicking_modify_notifies_nobody_and_keeps_its_changes() {
    let (tx, rx) = watch::channel(vec![1]);
    let r = catch_unwind(AssertUnwindSafe(|| {
        tx.send_modify(|v| {
            v.push(2);
            panic!("modify failed");
        })
    }));
    assert!(r.is_err());
    assert_eq!(rx.has_changed(), Ok(false));
    assert_eq!(*rx.borrow(), [1, 2]);
    tx.send_modify(|v| v.push(3)); // the channel still works
    assert_eq!(rx.has_changed(), Ok(true));
}

#[test]
fn closing_when_every_sender_is_gone() {
    mock(|| {
        let (tx, mut rx) = watch::channel(0);
        let tx2 = tx.clone();
        assert_eq!(tx.sender_count(), 2);
        drop(tx);
        assert_eq!(rx.has_changed(), Ok(false), "one sender is left");
        tx2.send(1).unwrap();
        drop(tx2);
        assert!(rx.has_changed().is_err(), "has_changed fails at once");
        assert!(rx.borrow().has_changed(), "but the value is still unseen");
        assert_eq!(
            rx.changed(),
            Ok(()),
            "changed reports the unseen value first"
        );
        assert_eq!(*rx.borrow(), 1);
        assert!(rx.changed().is_err());
        // A blocked receiver wakes when the last sender goes.
        let (tx, mut rx) = watch::channel(0);
        let (r, ()) = weft::fiber::both(
            || rx.changed(),
            || {
                weft::time::sleep(Duration::from_secs(1));
                drop(tx);
            },
        );
        assert!(r.is_err());
    });
}

#[test]
fn sender_closed_waits_for_all_receivers() {
    mock(|| {
        let (tx, rx) = watch::channel(());
        let rx2 = rx.clone();
        let done = RefCell::new(false);
        weft::fiber::both(
            || {
                tx.closed();
                *done.borrow_mut() = true;
            },
            || {
                drop(rx);
                weft::time::sleep(Duration::from_secs(1));
                assert!(!*done.borrow());
                drop(rx2);
            },
        );
        assert!(*done.borrow());
        assert!(tx.is_closed());
        assert!(weft::time::timeout(Duration::from_secs(1), || tx.closed()).is_ok());
    });
}

#[test]
fn wait_for_checks_the_current_value_first() {
    mock(|| {
        let (_tx, mut rx) = watch::channel(5);
        let r = rx.wait_for(|v| *v == 5).unwrap();
        assert_eq!(*r, 5);
        assert!(!r.has_changed(), "it had been seen, and still matched");
        drop(r);
        let (tx, mut rx) = watch::channel(5);
        tx.send(6).unwrap();
        let r = rx.wait_for(|v| *v == 6).unwrap();
        assert!(r.has_changed(), "an unseen current value that matches");
        drop(r);
        assert_eq!(rx.has_changed(), Ok(false));
    });
}

#[test]
fn wait_for_skips_rejected_values_and_marks_the_match_seen() {
    mock(|| {
        let (tx, mut rx) = watch::channel(0);
        let tried = RefCell::new(vec![]);
        let ((), got) = weft::fiber::both(
            || {
                for v in 1..=4 {
                    weft::time::sleep(Duration::from_secs(1));
                    tx.send(v).unwrap();
                }
                weft::time::sleep(Duration::from_secs(1));
                tx.send(10).unwrap();
            },
            || {
                let r = rx.wait_for(|v| {
                    tried.borrow_mut().push(*v);
                    *v >= 3
                });
                let v = r.map(|r| (*r, r.has_changed())).unwrap();
                (v, rx.has_changed())
            },
        );
        // As in tokio, the Ref's has_changed is false here: the wait inside
        // wait_for already marked the version seen before `f` saw it.
        assert_eq!(got, ((3, false), Ok(false)));
        assert_eq!(*tried.borrow(), [0, 1, 2, 3]);
    });
}

#[test]
fn wait_for_after_close() {
    mock(|| {
        // The last value matches: returned even though the channel closed.
        let (tx, mut rx) = watch::channel(0);
        tx.send(9).unwrap();
        drop(tx);
        assert_eq!(*rx.wait_for(|v| *v == 9).unwrap(), 9);
        // The last value does not match: RecvError once it was tried.
        let (tx, mut rx) = watch::channel(0);
        let calls = RefCell::new(0);
        let (r, ()) = weft::fiber::both(
            || {
                rx.wait_for(|_| {
                    *calls.borrow_mut() += 1;
                    false
                })
                .map(|_| ())
            },
            || {
                weft::time::sleep(Duration::from_secs(1));
                tx.send(1).unwrap();
                weft::time::sleep(Duration::from_secs(1));
                drop(tx);
            },
        );
        assert!(r.is_err());
        assert_eq!(*calls.borrow(), 2, "tried on 0 and 1, not twice on 1");
    });
}

#[test]
fn cancelled_changed_marks_nothing_seen() {
    mock(|| {
        let (tx, mut rx) = watch::channel(0);
        assert_eq!(changed_soon(&mut rx), None);
        assert_eq!(rx.has_changed(), Ok(false));
        // A send racing with the cancellation (the sender's timer is
        // older): the new value is still unseen afterwards.
        let r = RefCell::new(None);
        weft::fiber::both(
            || {
                weft::time::sleep(Duration::from_secs(1));
                tx.send(1).unwrap();
            },
            || *r.borrow_mut() = Some(changed_soon(&mut rx)),
        );
        assert_eq!(r.into_inner().unwrap(), None, "the timeout won");
        assert_eq!(
            rx.has_changed(),
            Ok(true),
            "and the change was not consumed"
        );
        assert_eq!(rx.changed(), Ok(()));
    });
}

#[test]
fn cancelled_wait_for_only_marks_rejected_values_seen() {
    mock(|| {
        let (tx, mut rx) = watch::channel(0);
        tx.send(1).unwrap();
        let r = weft::time::timeout(Duration::from_secs(1), || {
            rx.wait_for(|v| *v == 2).map(|_| ())
        });
        assert!(r.is_err());
        assert_eq!(rx.has_changed(), Ok(false), "1 was tried and rejected");
        tx.send(2).unwrap();
        assert_eq!(*rx.wait_for(|v| *v == 2).unwrap(), 2);
    });
}

#[test]
fn cross_thread_changes_are_monotonic_and_end_at_the_last() {
    const N: u64 = 5_000;
    let (tx, mut rx) = watch::channel(0u64);
    let receiver = std::thread::spawn(move || {
        weft::run(|_env| {
            let mut last = 0;
            let mut changes = 0;
            while rx.changed().is_ok() {
                let v = *rx.borrow_and_update();
                assert!(v > last, "versions only move forward");
                last = v;
                changes += 1;
            }
            (last, changes)
        })
    });
    std::thread::spawn(move || {
        weft::run(|_env| {
            for v in 1..=N {
                tx.send(v).unwrap();
                if v % 50 == 0 {
                    weft::fiber::yield_now();
                }
            }
        })
    })
    .join()
    .unwrap();
    let (last, changes) = receiver.join().unwrap();
    assert_eq!(last, N, "the final value is always observed");
    assert!((1..=N).contains(&changes));
}
