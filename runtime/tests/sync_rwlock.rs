//! RwLock: shared readers, fair writers, cancellation.

use std::cell::RefCell;
use std::time::Duration;

use weft::sync::RwLock;
use weft::Switch;

#[test]
fn rwlock_readers_share_and_a_waiting_writer_blocks_new_readers() {
    weft::run(|_env| {
        let l = RwLock::new(0);
        let log = RefCell::new(Vec::new());
        Switch::run(|sw| {
            let r1 = l.read();
            sw.fork(|| {
                *l.write() = 1;
                log.borrow_mut().push("writer");
            });
            sw.fork(|| {
                let v = *l.read();
                log.borrow_mut().push(if v == 1 {
                    "late reader saw 1"
                } else {
                    "late reader saw 0"
                });
            });
            log.borrow_mut().push("first reader done");
            drop(r1);
            Ok(())
        })
        .unwrap();
        assert_eq!(
            *log.borrow(),
            ["first reader done", "writer", "late reader saw 1"]
        );
    });
}

#[test]
fn rwlock_cancelled_writer_lets_readers_through() {
    weft::Runtime::builder()
        .mock_clock(true)
        .build()
        .unwrap()
        .run(|_env| {
            let l = RwLock::new(());
            let r = l.read();
            let w = weft::time::timeout(Duration::from_secs(1), || drop(l.write()));
            assert!(w.is_err());
            // With the writer gone, a new reader is not held back.
            assert!(l.try_read().is_ok());
            drop(r);
            assert!(l.try_write().is_ok());
        });
}

#[test]
fn owned_guards_hold_the_lock_wherever_they_go() {
    use std::sync::Arc;
    weft::run(|_env| {
        let lock = Arc::new(weft::sync::RwLock::new(Vec::new()));
        let reader = lock.clone().read_owned();
        // A writer queues behind the owned read guard...
        let (order, ()) = weft::fiber::both(
            || {
                let mut w = lock.write();
                w.push("writer");
                w.clone()
            },
            || {
                // ...which another task holds and drops later.
                weft::spawn(move || {
                    weft::fiber::yield_now();
                    assert!(reader.is_empty(), "the writer waited for us");
                    drop(reader);
                })
                .join()
                .unwrap();
            },
        );
        assert_eq!(order, ["writer"]);

        // An owned write guard moves to another runtime thread and back.
        let mut w = lock.clone().write_owned();
        assert!(lock.try_read().is_err());
        let w = std::thread::spawn(move || {
            weft::run(|_env| {
                w.push("thread");
                w
            })
        })
        .join()
        .unwrap();
        assert!(lock.try_read().is_err(), "still held by the guard");
        drop(w);
        assert_eq!(*lock.read(), ["writer", "thread"]);
    });
}
