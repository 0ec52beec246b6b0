//! The fiber/future bridge: fairness, cancellation, wake-up races, and
//! tokio from fibers.

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use weft::Switch;
use weft_compat::await_future;

#[test]
fn fibers_and_pending_futures_interleave() {
    weft_compat::tokio::run(|_env| {
        let log = RefCell::new(Vec::new());
        Switch::run(|sw| {
            sw.fork(|| {
                await_future(tokio::time::sleep(Duration::from_millis(30)));
                log.borrow_mut().push("slept");
            });
            sw.fork(|| {
                for i in 0..3 {
                    log.borrow_mut().push(["tick0", "tick1", "tick2"][i]);
                    weft::fiber::yield_now();
                }
            });
            Ok(())
        })
        .unwrap();
        // The fiber awaiting a tokio sleep did not stop the other fiber.
        assert_eq!(*log.borrow(), ["tick0", "tick1", "tick2", "slept"]);
    });
}

struct DropProbe {
    drops: Arc<AtomicUsize>,
    thread: std::thread::ThreadId,
    saw_tokio_context: Arc<AtomicUsize>,
}

impl Drop for DropProbe {
    fn drop(&mut self) {
        assert_eq!(
            std::thread::current().id(),
            self.thread,
            "dropped on another thread"
        );
        if tokio::runtime::Handle::try_current().is_ok() {
            self.saw_tokio_context.fetch_add(1, Ordering::SeqCst);
        }
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn cancelled_await_drops_the_future_once_on_its_thread_with_tokio_context() {
    weft_compat::tokio::run(|_env| {
        let drops = Arc::new(AtomicUsize::new(0));
        let ctx = Arc::new(AtomicUsize::new(0));
        let probe = DropProbe {
            drops: drops.clone(),
            thread: std::thread::current().id(),
            saw_tokio_context: ctx.clone(),
        };
        let r = weft::time::timeout(Duration::from_millis(10), move || {
            await_future(async move {
                let _p = probe;
                std::future::pending::<()>().await
            })
        });
        assert!(r.is_err());
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        assert_eq!(ctx.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn a_cancelled_fiber_never_polls() {
    weft::run(|_env| {
        let polled = std::cell::Cell::new(false);
        let r = weft::fiber::first(
            || {
                weft::fiber::yield_now();
                // `first` has cancelled this branch by now.
                weft_compat::try_await_future(std::future::poll_fn(|_| {
                    polled.set(true);
                    std::task::Poll::Ready(())
                }))
            },
            || Ok(()),
        );
        assert!(r.is_ok());
        assert!(!polled.get());
    });
}

#[test]
fn protected_await_completes_despite_cancellation() {
    weft_compat::tokio::run(|_env| {
        let done = std::cell::Cell::new(false);
        let r = weft::time::timeout(Duration::from_millis(5), || {
            weft_compat::await_future_protected(tokio::time::sleep(Duration::from_millis(30)));
            done.set(true);
        });
        // The protected await ran to its end; the timeout lost the race.
        assert!(done.get());
        assert!(r.is_ok());
    });
}

#[test]
fn wake_against_cancel_race_has_exactly_one_outcome() {
    // 100,000 times: a oneshot completed from another thread races a
    // timeout that cancels the waiting fiber. Either the value arrives
    // (Ok) or the fiber is cancelled (the value stays in the channel) —
    // never both, never neither.
    const N: u32 = 100_000;
    let (jobs, inbox) = std::sync::mpsc::channel::<(tokio::sync::oneshot::Sender<u32>, u32)>();
    let completer = std::thread::spawn(move || {
        for (tx, i) in inbox {
            if i % 3 == 0 {
                std::thread::yield_now();
            }
            let _ = tx.send(i);
        }
    });
    weft::run(|_env| {
        let (mut oks, mut cancels) = (0, 0);
        for i in 0..N {
            let (tx, rx) = tokio::sync::oneshot::channel::<u32>();
            jobs.send((tx, i)).unwrap();
            let mut rx = rx;
            let r = weft::time::timeout(Duration::from_micros(u64::from(i % 20)), || {
                weft_compat::try_await_future(&mut rx)
            });
            match r {
                Ok(Ok(Ok(v))) => {
                    assert_eq!(v, i);
                    oks += 1;
                }
                Ok(Ok(Err(_))) => panic!("sender dropped without sending"),
                Ok(Err(_)) | Err(_) => {
                    // Cancelled: the value must still arrive, untaken.
                    let v = loop {
                        match rx.try_recv() {
                            Ok(v) => break v,
                            Err(tokio::sync::oneshot::error::TryRecvError::Empty) => {
                                std::thread::yield_now()
                            }
                            Err(e) => panic!("value lost: {e}"),
                        }
                    };
                    assert_eq!(v, i);
                    cancels += 1;
                }
            }
        }
        assert_eq!(oks + cancels, N);
    });
    drop(jobs);
    completer.join().unwrap();
}

#[test]
fn cross_thread_wake_stress_with_stale_wakers() {
    weft_compat::tokio::Builder::new()
        .worker_threads(2)
        .run(|_env| {
            let mut kept_wakers = Vec::new();
            for i in 0..20_000u64 {
                let (tx, rx) = tokio::sync::oneshot::channel();
                if i % 2 == 0 {
                    tokio::spawn(async move {
                        let _ = tx.send(i);
                    });
                } else {
                    weft::blocking(move || {
                        let _ = tx.send(i);
                    });
                }
                // Keep the waker of this await alive and wake it later: it
                // must not disturb any later suspension.
                let (v, w) = await_future(async {
                    let w =
                        std::future::poll_fn(|cx| std::task::Poll::Ready(cx.waker().clone())).await;
                    (rx.await.unwrap(), w)
                });
                assert_eq!(v, i);
                kept_wakers.push(w);
                if kept_wakers.len() > 100 {
                    for w in kept_wakers.drain(..) {
                        w.wake();
                    }
                }
            }
        });
}

#[test]
fn tokio_spawn_from_a_fiber_is_aborted_when_the_fiber_is_cancelled() {
    weft_compat::tokio::run(|_env| {
        struct Guard(Arc<AtomicUsize>);
        impl Drop for Guard {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let dropped = Arc::new(AtomicUsize::new(0));
        let d = dropped.clone();
        let r = weft::time::timeout(Duration::from_millis(10), move || {
            let task = weft_compat::tokio::spawn(async move {
                let _g = Guard(d);
                std::future::pending::<()>().await
            });
            await_future(task)
        });
        assert!(r.is_err());
        // The task's drop guard runs on a tokio worker after the abort.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while dropped.load(Ordering::SeqCst) == 0 && std::time::Instant::now() < deadline {
            weft::time::sleep(Duration::from_millis(1));
        }
        assert_eq!(dropped.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn tokio_net_echo_with_many_fiber_clients() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    weft_compat::tokio::run(|_env| {
        let listener = await_future(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        let server = weft_compat::tokio::spawn(async move {
            loop {
                let (mut s, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    let mut buf = [0u8; 64];
                    loop {
                        let n = s.read(&mut buf).await.unwrap();
                        if n == 0 {
                            return;
                        }
                        s.write_all(&buf[..n]).await.unwrap();
                    }
                });
            }
        });
        let ok = std::cell::Cell::new(0);
        Switch::run(|sw| {
            for i in 0..1000u32 {
                let ok = &ok;
                sw.fork(move || {
                    let mut c = await_future(tokio::net::TcpStream::connect(addr)).unwrap();
                    let msg = i.to_be_bytes();
                    await_future(c.write_all(&msg)).unwrap();
                    let mut back = [0u8; 4];
                    await_future(c.read_exact(&mut back)).unwrap();
                    assert_eq!(back, msg);
                    ok.set(ok.get() + 1);
                });
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(ok.get(), 1000);
        drop(server);
    });
}

#[test]
fn shutdown_with_fibers_waiting_on_tokio_io_does_not_hang_or_panic() {
    weft_compat::tokio::run(|_env| {
        let listener = await_future(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        // A detached task parked in accept when main returns: the runtime
        // cancels it, it drops the accept future, then tokio shuts down.
        weft::spawn(move || {
            let _ = await_future(listener.accept());
        });
        weft::fiber::yield_now();
    });
}

#[test]
fn fiber_task_dropped_cancels_the_fiber() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let cancelled = Arc::new(AtomicUsize::new(0));
    let c = cancelled.clone();
    rt.block_on(async move {
        let task = weft_compat::run_fiber(move || {
            struct OnUnwind(Arc<AtomicUsize>);
            impl Drop for OnUnwind {
                fn drop(&mut self) {
                    self.0.fetch_add(1, Ordering::SeqCst);
                }
            }
            let _g = OnUnwind(c);
            weft::fiber::await_cancel()
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        drop(task);
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while cancelled.load(Ordering::SeqCst) == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(cancelled.load(Ordering::SeqCst), 1);
}

#[test]
fn a_panic_in_the_fiber_reaches_the_awaiting_task() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let r = rt.block_on(async {
        tokio::spawn(async { weft_compat::run_fiber(|| -> u8 { panic!("fiber boom") }).await })
            .await
    });
    let payload = r.unwrap_err().into_panic();
    assert_eq!(*payload.downcast::<&str>().unwrap(), "fiber boom");
}

#[test]
fn the_watchdog_reports_a_fiber_that_blocks_its_thread_in_block_on() {
    let stalls = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = stalls.clone();
    let weft = weft::Runtime::builder().watchdog_with(Duration::from_millis(20), move |s| {
        seen.lock().unwrap().push(s.fiber)
    });
    // tokio on worker threads of its own: `Handle::block_on` then only
    // blocks the fiber's thread. (With the default topology the thread's
    // own tokio runtime is what drives the sleep, so it would never end:
    // see the module docs of `weft_compat::tokio`.)
    let blocker = weft_compat::tokio::Builder::new()
        .worker_threads(1)
        .weft(weft)
        .run(|_env| {
            let id = std::cell::Cell::new(0);
            Switch::run(|sw| {
                sw.fork(|| {
                    id.set(weft::fiber::id().as_u64());
                    // The wrong way to wait: blocks the whole scheduler thread.
                    tokio::runtime::Handle::current()
                        .block_on(tokio::time::sleep(Duration::from_millis(150)));
                });
                // The right way to wait does not trigger it.
                await_future(tokio::time::sleep(Duration::from_millis(150)));
                Ok(id.get())
            })
            .unwrap()
        });
    assert_eq!(*stalls.lock().unwrap(), [blocker]);
}

#[test]
fn every_executor_thread_sees_the_tokio_handle() {
    weft_compat::tokio::Builder::new()
        .weft(weft::Runtime::builder().executor_threads(2))
        .run(|env| {
            let pool = env.executor_pool();
            for _ in 0..4 {
                let v = pool.submit(|| {
                    assert!(tokio::runtime::Handle::try_current().is_ok());
                    // tokio from a fiber on an executor thread.
                    await_future(tokio::time::sleep(Duration::from_millis(1)));
                    std::thread::current().name().map(str::to_string)
                });
                assert!(v.unwrap().starts_with("weft-executor"));
            }
        });
}

/// A fiber started from tokio code (on weft-compat's host thread, which has
/// no tokio context) can await futures that need the caller's runtime: a
/// tokio timer, here, which would otherwise panic with "there is no reactor
/// running". Seen migrating bb8, whose rolled-back async code made a tokio
/// interval inside a converted function.
#[test]
fn a_fiber_started_from_tokio_awaits_futures_that_need_that_runtime() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let v = rt.block_on(async {
        weft_compat::run_fiber(|| {
            weft_compat::await_future(async {
                let mut interval = tokio::time::interval(std::time::Duration::from_millis(1));
                interval.tick().await;
                interval.tick().await;
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                7
            })
        })
        .await
    });
    assert_eq!(v, 7);
}

/// A function that was synchronous in a tokio crate spawns: called from
/// async code that stayed on tokio (no weft runtime on the thread),
/// `spawn_detached` runs the fiber on the host runtime, and the fiber can
/// still await tokio futures that need the caller's runtime (bb8's
/// `spawn_replenishing_approvals`, called from its async `get`, failed with
/// "weft::spawn needs a running weft runtime").
#[test]
fn spawn_detached_from_tokio_code_runs_the_fiber_with_the_callers_runtime() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let got = rt.block_on(async {
        let (tx, rx) = tokio::sync::oneshot::channel();
        weft_compat::spawn_detached(move || {
            weft_compat::await_future(async {
                tokio::time::sleep(std::time::Duration::from_millis(1)).await
            });
            let _ = tx.send("slept on the caller's timer");
        });
        tokio::time::timeout(std::time::Duration::from_secs(20), rx).await
    });
    assert_eq!(got.unwrap().unwrap(), "slept on the caller's timer");
}

/// From a fiber, `spawn_detached` is `weft::spawn`: the caller goes on
/// first (tokio's order) and the child runs on the same thread.
#[test]
fn spawn_detached_from_a_fiber_is_weft_spawn() {
    weft::run(|_env| {
        let here = std::thread::current().id();
        let order = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let (tx, rx) = weft::sync::oneshot::channel();
        weft_compat::spawn_detached(move || {
            let _ = tx.send(std::thread::current().id());
        });
        order.borrow_mut().push("caller first");
        assert_eq!(rx.recv().unwrap(), here);
        assert_eq!(*order.borrow(), ["caller first"]);
    });
}

/// Converted code on weft-compat's host thread makes a tokio resource
/// outside any bridged poll (bb8's pool builder, made direct and run with
/// `run_fiber` from a tokio test, builds a `tokio::time::interval` for its
/// reaper): the host thread's own tokio context serves it instead of
/// "there is no reactor running".
#[test]
fn a_tokio_resource_made_outside_a_poll_on_the_host_thread_works() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ticks = rt.block_on(async {
        let task = weft_compat::run_fiber(|| {
            let mut interval = tokio::time::interval(std::time::Duration::from_millis(1));
            let sleep = tokio::time::sleep(std::time::Duration::from_millis(1));
            weft_compat::await_future(interval.tick());
            weft_compat::await_future(interval.tick());
            weft_compat::await_future(sleep);
            2
        });
        tokio::time::timeout(std::time::Duration::from_secs(20), task).await
    });
    assert_eq!(ticks.unwrap(), 2);
}
