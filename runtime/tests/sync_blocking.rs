//! The `blocking_*` methods: channel and lock waits made from threads that
//! run no fiber (a std::thread, a weft::blocking closure) park the thread,
//! interleave with fibers on a runtime thread in both directions, and are
//! the plain waits when called in a fiber.

use std::sync::Arc;
use std::time::Duration;

use weft::sync::{broadcast, mpsc, oneshot, Mutex, RwLock};

#[test]
fn a_thread_producer_is_held_back_by_a_full_channel_and_loses_nothing() {
    weft::run(|_env| {
        let (tx, mut rx) = mpsc::channel(1);
        let producer = std::thread::spawn(move || {
            for i in 0..200 {
                tx.blocking_send(i).unwrap();
            }
        });
        let mut got = Vec::new();
        while let Some(v) = rx.recv() {
            got.push(v);
            if got.len() % 50 == 0 {
                // The producer fills the one slot and parks meanwhile.
                weft::time::sleep(Duration::from_millis(1));
            }
        }
        producer.join().unwrap();
        assert_eq!(got, (0..200).collect::<Vec<_>>());
    });
}

#[test]
fn thread_consumers_wait_for_fibers_and_see_the_end() {
    weft::run(|_env| {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (btx, mut brx) = broadcast::channel(16);
        let (otx, orx) = oneshot::channel();
        let consumer = std::thread::spawn(move || {
            let mut sum = 0;
            while let Some(v) = rx.blocking_recv() {
                sum += v;
            }
            (sum, brx.blocking_recv(), orx.blocking_recv())
        });
        for i in 1..=100 {
            tx.send(i).unwrap();
            if i % 10 == 0 {
                weft::fiber::yield_now();
            }
        }
        drop(tx);
        btx.send("news").unwrap();
        otx.send(9).unwrap();
        let (sum, news, one) = consumer.join().unwrap();
        assert_eq!(sum, 5050);
        assert_eq!(news, Ok("news"));
        assert_eq!(one, Ok(9));
    });
}

#[test]
fn a_blocking_pool_closure_feeds_a_fiber_through_a_channel() {
    weft::run(|_env| {
        let (tx, mut rx) = mpsc::channel(2);
        weft::Switch::run(|sw| {
            sw.fork(move || {
                // tokio's spawn_blocking + blocking_send pattern.
                weft::blocking(move || {
                    for line in ["a", "b", "c", "d"] {
                        tx.blocking_send(line.to_string()).unwrap();
                    }
                });
            });
            let got: Vec<String> = std::iter::from_fn(|| rx.recv()).collect();
            assert_eq!(got, ["a", "b", "c", "d"]);
            Ok(())
        })
        .unwrap();
    });
}

#[test]
fn locks_pass_between_a_thread_and_fibers_both_ways() {
    weft::run(|_env| {
        let m = Arc::new(Mutex::new(Vec::new()));
        // A thread holds the lock while a fiber waits for it.
        let (locked_tx, locked_rx) = oneshot::channel();
        let (release_tx, release_rx) = oneshot::channel::<()>();
        let m2 = m.clone();
        let holder = std::thread::spawn(move || {
            let mut g = m2.blocking_lock();
            g.push("thread");
            locked_tx.send(()).unwrap();
            release_rx.blocking_recv().unwrap();
            drop(g);
        });
        locked_rx.recv().unwrap();
        let (fiber_got, ()) = weft::fiber::both(
            || {
                let mut g = m.lock(); // waits for the thread's guard
                g.push("fiber");
                g.len()
            },
            || release_tx.send(()).unwrap(),
        );
        holder.join().unwrap();
        assert_eq!(fiber_got, 2);

        // A fiber holds the write lock while a thread waits to read.
        let rw = Arc::new(RwLock::new(0));
        let w = rw.write();
        let rw2 = rw.clone();
        let reader = std::thread::spawn(move || *rw2.blocking_read());
        weft::time::sleep(Duration::from_millis(20));
        let mut w = w;
        *w = 42;
        drop(w);
        assert_eq!(
            reader.join().unwrap(),
            42,
            "the reader waited for the writer"
        );
        assert_eq!(*m.lock(), ["thread", "fiber"]);
    });
}

#[test]
fn in_a_fiber_the_blocking_methods_are_the_plain_waits() {
    weft::run(|_env| {
        let (tx, mut rx) = mpsc::channel(1);
        let ((), got) = weft::fiber::both(
            || {
                tx.blocking_send(1).unwrap();
                tx.blocking_send(2).unwrap(); // suspends the fiber, not the thread
            },
            || (rx.blocking_recv(), rx.blocking_recv()),
        );
        assert_eq!(got, (Some(1), Some(2)));
    });
}
