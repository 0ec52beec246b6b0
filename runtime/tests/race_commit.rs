//! The commit rule of races (`fiber::first`, `fiber::any`, a migrated
//! `select!`): at most one branch commits. A loser never consumes data (a
//! message, an item, bytes, a connection, a permit), and a branch that has
//! not started when another wins never starts.
//!
//! The losing interleaving is made without timing: the consuming branch
//! is woken with its item while the other branch is already queued ahead
//! of it, so the other branch wins and the consumer is cancelled holding
//! what it was handed. The loops vary the number of yields on each side,
//! so every ordering of "item handed over" and "other branch returns" is
//! visited thousands of times.

use std::cell::{Cell, RefCell};
use std::io::{Read, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use weft::fiber;
use weft::net::{TcpListener, TcpStream};
use weft::sync::{broadcast, mpsc, oneshot, Notify, Semaphore, Stream};

/// Yields `n` times.
fn yields(n: u64) {
    for _ in 0..n {
        fiber::yield_now();
    }
}

/// A small deterministic pseudo-random sequence (xorshift).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Receives `total` values with `recv` raced against a branch that gives
/// up after a few yields, while a producer fiber sends them with yields
/// in between; returns what the races received, in order.
fn race_receiving<T>(
    total: u64,
    send: impl Fn(u64),
    mut recv: impl FnMut() -> T,
    done: impl Fn(&T) -> Option<u64>,
) -> Vec<u64> {
    let got = RefCell::new(Vec::new());
    weft::Switch::run(|sw| {
        sw.fork(|| {
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
            for i in 0..total {
                yields(rng.below(3));
                send(i);
            }
        });
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        // A lost value would leave the loop spinning: bound it (a round
        // takes a few races on average).
        let mut rounds = 0;
        while (got.borrow().len() as u64) < total {
            rounds += 1;
            assert!(
                rounds < 100 * total,
                "only {} of {total} received",
                got.borrow().len()
            );
            let give_up_after = rng.below(4);
            let won = fiber::first(
                || Some(recv()),
                || {
                    yields(give_up_after);
                    None
                },
            );
            if let Some(v) = won {
                got.borrow_mut()
                    .push(done(&v).expect("a value, not the end"));
            }
        }
        Ok(())
    })
    .unwrap();
    got.into_inner()
}

#[test]
fn mpsc_recv_raced_in_a_loop_loses_no_message() {
    weft::run(|_env| {
        let (tx, rx) = mpsc::channel(4);
        let rx = RefCell::new(rx);
        let got = race_receiving(
            5000,
            |i| tx.send(i).unwrap(),
            || rx.borrow_mut().recv(),
            |v| *v,
        );
        assert_eq!(got, (0..5000).collect::<Vec<_>>());
    });
}

#[test]
fn unbounded_mpsc_recv_raced_in_a_loop_loses_no_message() {
    weft::run(|_env| {
        let (tx, rx) = mpsc::unbounded_channel();
        let rx = RefCell::new(rx);
        let got = race_receiving(
            5000,
            |i| tx.send(i).unwrap(),
            || rx.borrow_mut().recv(),
            |v| *v,
        );
        assert_eq!(got, (0..5000).collect::<Vec<_>>());
    });
}

/// The sender hands the message straight to the parked receiver; here the
/// senders are other threads, so the hand-over meets the receiver's
/// cancellation (a lost race) at any instant, not only at yields.
#[test]
fn unbounded_mpsc_recv_raced_against_senders_on_other_threads_loses_no_message() {
    const SENDERS: u64 = 2;
    const PER_SENDER: u64 = 20_000;
    weft::run(|_env| {
        let (tx, mut rx) = mpsc::unbounded_channel::<(u64, u64)>();
        let senders: Vec<_> = (0..SENDERS)
            .map(|s| {
                let tx = tx.clone();
                std::thread::spawn(move || {
                    // Paced so that the receiver is often parked (and
                    // being cancelled) when a message comes.
                    let mut rng = Rng(0x2545_f491_4f6c_dd1d + s);
                    for i in 0..PER_SENDER {
                        tx.send((s, i)).unwrap();
                        let pause = std::time::Instant::now();
                        let spin = Duration::from_nanos(rng.below(3000));
                        while pause.elapsed() < spin {
                            std::hint::spin_loop();
                        }
                    }
                })
            })
            .collect();
        drop(tx);
        let mut next = [0u64; SENDERS as usize];
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        loop {
            let give_up_after = rng.below(3);
            let won = fiber::first(
                || Some(rx.recv()),
                || {
                    yields(give_up_after);
                    None
                },
            );
            match won {
                Some(Some((s, i))) => {
                    assert_eq!(i, next[s as usize], "sender {s}: out of order or lost");
                    next[s as usize] += 1;
                }
                // Every sender is gone and the channel is drained.
                Some(None) => break,
                None => {}
            }
        }
        for t in senders {
            t.join().unwrap();
        }
        assert_eq!(next, [PER_SENDER; SENDERS as usize]);
    });
}

#[test]
fn stream_take_raced_in_a_loop_loses_no_item() {
    for capacity in [0, 1, 8] {
        weft::run(|_env| {
            let s = Stream::new(capacity);
            let got = race_receiving(3000, |i| s.add(i), || s.take(), |v| Some(*v));
            assert_eq!(got, (0..3000).collect::<Vec<_>>(), "capacity {capacity}");
        });
    }
}

#[test]
fn broadcast_recv_raced_in_a_loop_loses_no_message() {
    weft::run(|_env| {
        let (tx, rx) = broadcast::channel(8);
        let rx = RefCell::new(rx);
        let got = race_receiving(
            3000,
            |i| {
                // Keep the channel from lagging: wait for room.
                while tx.len() >= 8 {
                    fiber::yield_now();
                }
                tx.send(i).unwrap();
            },
            || rx.borrow_mut().recv(),
            |v| v.as_ref().ok().copied(),
        );
        assert_eq!(got, (0..3000).collect::<Vec<_>>());
    });
}

#[test]
fn oneshot_recv_raced_keeps_the_value() {
    weft::run(|_env| {
        let mut rng = Rng(7);
        for round in 0..2000u64 {
            let (tx, rx) = oneshot::channel();
            let rx = RefCell::new(rx);
            let delay = rng.below(3);
            let give_up = rng.below(3);
            let mut got = None;
            weft::Switch::run(|sw| {
                sw.fork(move || {
                    yields(delay);
                    tx.send(round).unwrap();
                });
                let mut tries = 0;
                while got.is_none() {
                    tries += 1;
                    assert!(tries < 1000, "round {round}: the value was lost");
                    got = fiber::first(
                        || Some(rx.borrow_mut().recv_ref().unwrap()),
                        || {
                            yields(give_up);
                            None
                        },
                    );
                }
                Ok(())
            })
            .unwrap();
            assert_eq!(got, Some(round));
        }
    });
}

#[test]
fn a_semaphore_permit_is_not_taken_by_a_loser() {
    weft::run(|_env| {
        let sem = Semaphore::new(0);
        let mut rng = Rng(11);
        let mut acquired = 0;
        weft::Switch::run(|sw| {
            sw.fork(|| {
                let mut rng = Rng(5);
                for _ in 0..2000 {
                    yields(rng.below(3));
                    sem.add_permits(1);
                }
            });
            let mut rounds = 0;
            while acquired < 2000 {
                rounds += 1;
                assert!(rounds < 200_000, "only {acquired} of 2000 permits acquired");
                let give_up = rng.below(4);
                let won = fiber::first(
                    || {
                        sem.acquire().unwrap().forget();
                        true
                    },
                    || {
                        yields(give_up);
                        false
                    },
                );
                acquired += won as u32;
            }
            Ok(())
        })
        .unwrap();
        // Every permit added was taken by a winner, none by a loser.
        assert_eq!(sem.available_permits(), 0);
        assert_eq!(acquired, 2000);
    });
}

#[test]
fn a_notification_reaching_a_loser_passes_on() {
    // The mock clock fires the timeout as soon as every fiber is blocked:
    // a notification lost by a loser deadlocks the two fibers, and the
    // test fails at once instead of hanging.
    let rt = weft::Runtime::builder().mock_clock(true).build().unwrap();
    rt.run(|_env| {
        let n = Notify::new();
        let acks = Stream::new(0);
        let seen = Cell::new(0);
        let finished = weft::time::timeout(Duration::from_secs(3600), || {
            weft::Switch::run(|sw| {
                sw.fork(|| {
                    let mut rng = Rng(9);
                    for _ in 0..1000 {
                        yields(rng.below(3));
                        n.notify_one();
                        acks.take();
                    }
                });
                let mut rng = Rng(3);
                let mut rounds = 0;
                while seen.get() < 1000 {
                    // Lost, it would leave this loop spinning: bound it.
                    rounds += 1;
                    assert!(rounds < 200_000, "lost after {} of 1000", seen.get());
                    let give_up = rng.below(4);
                    let won = fiber::first(
                        || {
                            n.notified();
                            true
                        },
                        || {
                            yields(give_up);
                            false
                        },
                    );
                    if won {
                        seen.set(seen.get() + 1);
                        acks.add(());
                    }
                }
                Ok(())
            })
            .unwrap()
        });
        assert!(
            finished.is_ok(),
            "a notification was lost after {} of 1000",
            seen.get()
        );
    });
}

/// Reads a stream of known bytes through `first(read, give up)` races
/// against a writer on another thread; every byte arrives once, in order.
#[test]
fn tcp_read_raced_in_a_loop_loses_no_byte() {
    const TOTAL: usize = 200_000;
    weft::run(|_env| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let writer = std::thread::spawn(move || {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            let data: Vec<u8> = (0..TOTAL).map(|i| (i % 251) as u8).collect();
            for chunk in data.chunks(997) {
                s.write_all(chunk).unwrap();
            }
        });
        let (mut conn, _) = listener.accept().unwrap();
        let mut received = Vec::with_capacity(TOTAL);
        let mut buf = [0u8; 1500];
        let mut rng = Rng(21);
        loop {
            let give_up = rng.below(3);
            let won = fiber::first(
                || Some(conn.read(&mut buf).unwrap()),
                || {
                    yields(give_up);
                    None
                },
            );
            match won {
                Some(0) => break,
                Some(n) => received.extend_from_slice(&buf[..n]),
                None => {}
            }
        }
        writer.join().unwrap();
        assert_eq!(received.len(), TOTAL);
        assert!(
            received
                .iter()
                .enumerate()
                .all(|(i, &b)| b == (i % 251) as u8),
            "bytes out of order or corrupted"
        );
    });
}

#[test]
fn tcp_accept_raced_in_a_loop_loses_no_connection() {
    const CLIENTS: usize = 300;
    weft::run(|_env| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let clients = std::thread::spawn(move || {
            for i in 0..CLIENTS {
                let mut s = std::net::TcpStream::connect(addr).unwrap();
                s.write_all(&(i as u32).to_le_bytes()).unwrap();
                // Wait for the server's close so connections stay ordered.
                let mut end = [0u8; 1];
                let _ = s.read(&mut end);
            }
        });
        let mut ids = Vec::new();
        let mut rng = Rng(33);
        let mut rounds = 0;
        while ids.len() < CLIENTS {
            rounds += 1;
            if rounds > 300_000 {
                // A lost connection: the client thread has finished; fail
                // without waiting for it.
                panic!("only {} of {CLIENTS} connections accepted", ids.len());
            }
            let give_up = rng.below(3);
            let won: Option<TcpStream> = fiber::first(
                || Some(listener.accept().unwrap().0),
                || {
                    yields(give_up);
                    None
                },
            );
            if let Some(mut conn) = won {
                let mut id = [0u8; 4];
                conn.read_exact(&mut id).unwrap();
                ids.push(u32::from_le_bytes(id) as usize);
            }
        }
        clients.join().unwrap();
        assert_eq!(ids, (0..CLIENTS).collect::<Vec<_>>());
    });
}

#[test]
fn a_losing_branch_that_has_not_started_never_starts() {
    weft::run(|_env| {
        let started = Cell::new(false);
        let v = fiber::first(
            || 1,
            || {
                started.set(true);
                2
            },
        );
        assert_eq!(v, 1);
        assert!(
            !started.get(),
            "the second branch ran after the first had won"
        );
        let v = fiber::any((0..4).map(|i| {
            let started = &started;
            move || {
                if i > 0 {
                    started.set(true);
                }
                i
            }
        }));
        assert_eq!(v, 0);
        assert!(!started.get());
    });
}

#[test]
fn a_fiber_forked_into_a_failed_switch_never_starts() {
    weft::run(|_env| {
        let ran = Cell::new(false);
        let r = weft::Switch::run(|sw| {
            sw.fail(weft::Error::msg("failed"));
            sw.fork(|| ran.set(true));
            let p = sw.fork_promise(|| ran.set(true));
            assert!(
                p.await_().is_err(),
                "an unstarted promise resolves to an error"
            );
            Ok(())
        });
        assert!(r.is_err());
        assert!(!ran.get(), "a fiber forked after the failure ran");
    });
}

#[test]
fn both_does_not_start_the_second_branch_after_the_first_failed() {
    weft::run(|_env| {
        let ran = Cell::new(false);
        let r = catch_unwind(AssertUnwindSafe(|| {
            fiber::both(|| panic!("first fails at once"), || ran.set(true))
        }));
        assert!(r.is_err());
        assert!(!ran.get());
    });
}

#[test]
fn a_switch_body_in_a_cancelled_context_never_starts() {
    weft::run(|_env| {
        let ran = Cell::new(0);
        fiber::first(
            || {
                // Cancelled (the other branch won) while blocked; the
                // cancellation is caught and ignored, so this code runs
                // in a cancelled context.
                let _ = catch_unwind(AssertUnwindSafe(|| fiber::await_cancel()));
                let _ = catch_unwind(AssertUnwindSafe(|| {
                    weft::Switch::run(|_| {
                        ran.set(ran.get() + 1);
                        Ok(())
                    })
                }));
                let _ = catch_unwind(AssertUnwindSafe(|| {
                    fiber::both(|| ran.set(ran.get() + 1), || ran.set(ran.get() + 1))
                }));
            },
            || (),
        );
        assert_eq!(ran.get(), 0, "a body ran in a cancelled context");
    });
}

/// A wait in a fiber that is already cancelled raises `Cancelled` (it
/// used to panic with "registered before suspending").
#[test]
fn waits_in_an_already_cancelled_fiber_raise_cancelled() {
    weft::run(|_env| {
        let s: Stream<u8> = Stream::new(0);
        let sem = Semaphore::new(0);
        let (_tx, mut rx) = mpsc::channel::<u8>(1);
        let (_utx, mut urx) = mpsc::unbounded_channel::<u8>();
        let lock = weft::sync::RwLock::new(());
        let outcomes = RefCell::new(Vec::new());
        let _held = lock.try_write().unwrap();
        fiber::first(
            || {
                let _ = catch_unwind(AssertUnwindSafe(|| fiber::await_cancel()));
                let check = |what: &str, f: &mut dyn FnMut()| {
                    let r = catch_unwind(AssertUnwindSafe(f));
                    let cancelled =
                        matches!(&r, Err(p) if weft::cancel::is_cancellation(p.as_ref()));
                    outcomes.borrow_mut().push((what.to_string(), cancelled));
                };
                check("stream take", &mut || {
                    s.take();
                });
                check("semaphore acquire", &mut || {
                    let _ = sem.acquire();
                });
                check("mpsc recv", &mut || {
                    rx.recv();
                });
                check("unbounded recv", &mut || {
                    urx.recv();
                });
                check("rwlock read", &mut || {
                    let _ = lock.read();
                });
            },
            || (),
        );
        for (what, cancelled) in outcomes.into_inner() {
            assert!(cancelled, "{what} did not raise Cancelled");
        }
    });
}

/// The caller of `first` is cancelled after a branch won but while the
/// loser is still unwinding: the winner's item must not vanish.
#[test]
fn the_winners_value_survives_the_callers_cancellation() {
    struct SlowDrop;
    impl Drop for SlowDrop {
        fn drop(&mut self) {
            weft::cancel::protect(|| weft::time::sleep(Duration::from_millis(20)));
        }
    }
    let rt = weft::Runtime::builder().mock_clock(true).build().unwrap();
    rt.run(|_env| {
        let s = Stream::new(1);
        weft::Switch::run(|sw| {
            // The item comes at 5 ms, after the race started; the timeout
            // fires at 10 ms, while the loser's drop (20 ms) still runs.
            sw.fork(|| {
                weft::time::sleep(Duration::from_millis(5));
                s.add(5);
            });
            let got = weft::time::timeout(Duration::from_millis(10), || {
                fiber::first(
                    || s.take(),
                    || {
                        let _slow = SlowDrop;
                        fiber::await_cancel()
                    },
                )
            });
            match got {
                Ok(v) => assert_eq!(v, 5),
                Err(_) => assert_eq!(s.take_nonblocking(), Some(5), "the item was lost"),
            }
            Ok(())
        })
        .unwrap();
    });
}

#[test]
fn a_fiber_that_raises_cancelled_on_its_own_is_a_failure() {
    weft::run(|_env| {
        let r = weft::Switch::run(|sw| {
            sw.fork::<_, ()>(|| {
                weft::cancel::Cancelled::new(weft::cancel::CancelReason::Other("mine".into()))
                    .unwind()
            });
            Ok(())
        });
        let e = r.expect_err("a Cancelled that no cancellation caused was swallowed");
        assert!(e.to_string().contains("mine"), "{e}");
    });
}

#[test]
fn on_release_on_a_finished_switch_runs_the_handler_then_fails() {
    weft::run(|_env| {
        let ran = Cell::new(false);
        let r = catch_unwind(AssertUnwindSafe(|| {
            weft::Switch::run(|sw| {
                sw.on_release(|| {
                    sw.on_release(|| ran.set(true));
                });
                Ok(())
            })
        }));
        assert!(r.is_err(), "on_release on a finished switch must fail");
        assert!(ran.get(), "the late handler must still run");
    });
}

#[test]
fn daemons_stop_when_the_last_fiber_finishes() {
    weft::run(|_env| {
        let finished = Cell::new(false);
        let ran_after = Cell::new(0);
        weft::Switch::run(|sw| {
            sw.fork_daemon::<_, ()>(|| loop {
                if finished.get() {
                    ran_after.set(ran_after.get() + 1);
                }
                fiber::yield_now();
            });
            sw.fork(|| {
                yields(5);
                finished.set(true);
            });
            Ok(())
        })
        .unwrap();
        assert_eq!(
            ran_after.get(),
            0,
            "the daemon ran after the last fiber finished"
        );
    });
}

#[test]
fn first_with_combines_a_late_losers_value() {
    weft::run(|_env| {
        let v = fiber::first_with(
            || vec![1],
            || vec![2],
            |mut a, b| {
                a.extend(b);
                a
            },
        );
        assert_eq!(v, [1]);
    });
}

#[test]
fn a_watch_change_reaching_a_loser_stays_unseen() {
    // As for Notify: a change marked seen by a loser deadlocks the two
    // fibers, and the mock clock's timeout fails the test at once.
    let rt = weft::Runtime::builder().mock_clock(true).build().unwrap();
    rt.run(|_env| {
        let (tx, rx) = weft::sync::watch::channel(0u32);
        let rx = RefCell::new(rx);
        let acks = Stream::new(0);
        let seen = Cell::new(0);
        let finished = weft::time::timeout(Duration::from_secs(3600), || {
            weft::Switch::run(|sw| {
                sw.fork(|| {
                    let mut rng = Rng(17);
                    for i in 1..=1000 {
                        yields(rng.below(3));
                        tx.send(i).unwrap();
                        acks.take();
                    }
                });
                let mut rng = Rng(19);
                let mut rounds = 0;
                while seen.get() < 1000 {
                    // Lost, it would leave this loop spinning: bound it.
                    rounds += 1;
                    assert!(rounds < 200_000, "lost after {} of 1000", seen.get());
                    let give_up = rng.below(4);
                    let won = fiber::first(
                        || rx.borrow_mut().changed().is_ok(),
                        || {
                            yields(give_up);
                            false
                        },
                    );
                    if won {
                        seen.set(*rx.borrow_mut().borrow_and_update());
                        acks.add(());
                    }
                }
                Ok(())
            })
            .unwrap()
        });
        assert!(finished.is_ok(), "a change was lost after {}", seen.get());
    });
}
