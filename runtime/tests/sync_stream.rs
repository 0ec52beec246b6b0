//! Stream: Eio's stream.md behaviours, cancellation, and cross-thread use.

use std::cell::RefCell;
use std::time::Duration;

use weft::sync::Stream;
use weft::Switch;

fn mock() -> weft::Runtime {
    weft::Runtime::builder().mock_clock(true).build().unwrap()
}

#[test]
fn buffered_adds_do_not_block_until_full() {
    weft::run(|_env| {
        let s = Stream::new(3);
        let log = RefCell::new(Vec::new());
        Switch::run(|sw| {
            sw.fork(|| {
                for i in 0..5 {
                    s.add(i);
                    log.borrow_mut().push(format!("added {i}"));
                }
            });
            log.borrow_mut().push("main".into());
            for _ in 0..5 {
                let v = s.take();
                log.borrow_mut().push(format!("took {v}"));
            }
            Ok(())
        })
        .unwrap();
        let log = log.into_inner();
        // The adder ran until the stream was full (3 items), then blocked.
        assert_eq!(&log[..4], ["added 0", "added 1", "added 2", "main"]);
        assert_eq!(log.iter().filter(|l| l.starts_with("took")).count(), 5);
    });
}

#[test]
fn capacity_zero_is_a_rendezvous() {
    weft::run(|_env| {
        let s = Stream::new(0);
        let log = RefCell::new(Vec::new());
        Switch::run(|sw| {
            sw.fork(|| {
                s.add("x");
                log.borrow_mut().push("add returned");
            });
            log.borrow_mut().push("before take");
            assert_eq!(s.take(), "x");
            log.borrow_mut().push("took");
            Ok(())
        })
        .unwrap();
        // add did not return before a taker had the item.
        let log = log.into_inner();
        let add = log.iter().position(|l| *l == "add returned").unwrap();
        let before = log.iter().position(|l| *l == "before take").unwrap();
        assert!(add > before);
    });
}

#[test]
fn waiting_takers_are_served_in_order() {
    weft::run(|_env| {
        let s = Stream::new(0);
        let got = RefCell::new(Vec::new());
        Switch::run(|sw| {
            for id in 0..3 {
                let (s, got) = (&s, &got);
                sw.fork(move || {
                    let v = s.take();
                    got.borrow_mut().push((id, v));
                });
            }
            for v in ["a", "b", "c"] {
                s.add(v);
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(*got.borrow(), [(0, "a"), (1, "b"), (2, "c")]);
    });
}

#[test]
fn a_cancelled_take_takes_nothing_and_the_item_goes_to_the_next_taker() {
    mock().run(|_env| {
        let s = Stream::new(0);
        let r = weft::time::timeout(Duration::from_secs(1), || s.take());
        assert!(r.is_err());
        let (_, v) = weft::fiber::both(|| s.add(5), || s.take());
        assert_eq!(v, 5);
        assert!(s.is_empty());
    });
}

#[test]
fn a_cancelled_add_leaves_no_item_behind() {
    mock().run(|_env| {
        let s = Stream::new(1);
        s.add(1);
        let r = weft::time::timeout(Duration::from_secs(1), || s.add(2));
        assert!(r.is_err());
        assert_eq!(s.take(), 1);
        assert_eq!(s.take_nonblocking(), None);
    });
}

#[test]
fn try_add_and_take_nonblocking() {
    let s = Stream::new(1);
    assert_eq!(s.try_add('a'), Ok(()));
    assert_eq!(s.try_add('b'), Err('b'));
    assert_eq!(s.len(), 1);
    assert_eq!(s.take_nonblocking(), Some('a'));
    assert_eq!(s.take_nonblocking(), None);
}

#[test]
fn cross_thread_hundred_thousand_items_none_lost_or_duplicated() {
    const N: u64 = 100_000;
    let s = Stream::new(64);
    let producer_stream = s.clone();
    let producer = std::thread::spawn(move || {
        weft::run(|_env| {
            for i in 0..N {
                producer_stream.add(i);
            }
        })
    });
    let sum = weft::run(|_env| {
        let mut sum = 0u64;
        for expected in 0..N {
            let v = s.take();
            assert_eq!(v, expected, "FIFO across threads");
            sum += v;
        }
        sum
    });
    producer.join().unwrap();
    assert_eq!(sum, N * (N - 1) / 2);
}

#[test]
fn cancellation_stress_conserves_items() {
    mock().run(|_env| {
        let s = Stream::new(2);
        let (mut added, mut taken) = (0u64, 0u64);
        let mut seed = 7u64;
        for round in 0..2000u64 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let d = Duration::from_millis(seed >> 60);
            Switch::run(|sw| {
                let added = &mut added;
                let taken = &mut taken;
                let s = &s;
                sw.fork(move || {
                    if weft::time::timeout(d, || s.add(round)).is_ok() {
                        *added += 1;
                    }
                });
                sw.fork(move || {
                    if weft::time::timeout(d / 2, || s.take()).is_ok() {
                        *taken += 1;
                    }
                });
                Ok(())
            })
            .unwrap();
        }
        let mut left = 0;
        while s.take_nonblocking().is_some() {
            left += 1;
        }
        assert_eq!(added, taken + left, "an item was lost or invented");
    });
}
