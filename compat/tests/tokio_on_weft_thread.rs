//! The default topology of `weft_compat::tokio`: each weft scheduler thread
//! drives a tokio current_thread runtime of its own, parking in it when
//! idle and giving it turns when busy. Run on both backends
//! (`WEFT_BACKEND=posix` too): the scheduler parks on the backend's
//! descriptor through tokio.

use std::cell::Cell;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::ThreadId;
use std::time::Duration;

use weft::Switch;
use weft_compat::await_future;

/// Wraps a future so that every wake of its waker records the waking
/// thread.
struct RecordWakes<F> {
    inner: std::pin::Pin<Box<F>>,
    wakers: Arc<Mutex<Vec<ThreadId>>>,
}

struct Recorder {
    inner: Waker,
    wakers: Arc<Mutex<Vec<ThreadId>>>,
}

impl Wake for Recorder {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.wakers
            .lock()
            .unwrap()
            .push(std::thread::current().id());
        self.inner.wake_by_ref();
    }
}

impl<F: std::future::Future> std::future::Future for RecordWakes<F> {
    type Output = F::Output;
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let waker = Waker::from(Arc::new(Recorder {
            inner: cx.waker().clone(),
            wakers: self.wakers.clone(),
        }));
        self.inner.as_mut().poll(&mut Context::from_waker(&waker))
    }
}

fn record_wakes<F: std::future::Future>(f: F) -> (RecordWakes<F>, Arc<Mutex<Vec<ThreadId>>>) {
    let wakers = Arc::new(Mutex::new(Vec::new()));
    (
        RecordWakes {
            inner: Box::pin(f),
            wakers: wakers.clone(),
        },
        wakers,
    )
}

#[test]
fn an_idle_scheduler_wakes_on_tokio_timers_and_sockets_from_its_own_thread() {
    weft_compat::tokio::run(|_env| {
        let me = std::thread::current().id();
        assert_eq!(
            tokio::runtime::Handle::current().runtime_flavor(),
            tokio::runtime::RuntimeFlavor::CurrentThread
        );
        // A timer: the only thing any fiber waits for.
        let (sleep, wakes) = record_wakes(tokio::time::sleep(Duration::from_millis(5)));
        await_future(sleep);
        assert_eq!(*wakes.lock().unwrap(), [me]);

        // A socket: the reply comes from a plain thread; the fiber reading
        // it is woken by this thread's tokio driver.
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = std_listener.local_addr().unwrap();
        let peer = std::thread::spawn(move || {
            let (mut s, _) = std_listener.accept().unwrap();
            let mut buf = [0u8; 4];
            s.read_exact(&mut buf).unwrap();
            std::thread::sleep(Duration::from_millis(10));
            s.write_all(&buf).unwrap();
        });
        let mut c = await_future(tokio::net::TcpStream::connect(addr)).unwrap();
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        await_future(c.write_all(b"ping")).unwrap();
        let mut back = [0u8; 4];
        let (read, wakes) = record_wakes(c.read_exact(&mut back));
        await_future(read).unwrap();
        assert_eq!(&back, b"ping");
        let wakes = wakes.lock().unwrap().clone();
        assert!(!wakes.is_empty(), "the read was never pending");
        assert!(wakes.iter().all(|t| *t == me), "woken from {wakes:?}");
        peer.join().unwrap();
    });
}

#[test]
fn tokio_io_and_timers_progress_while_the_scheduler_is_busy() {
    weft_compat::tokio::run(|_env| {
        let done = Cell::new(false);
        let spins = Cell::new(0u64);
        Switch::run(|sw| {
            // Never lets the run queue empty until the awaiting fiber is done.
            sw.fork(|| {
                while !done.get() {
                    spins.set(spins.get() + 1);
                    assert!(spins.get() < 50_000_000, "tokio starved");
                    weft::fiber::yield_now();
                }
            });
            sw.fork(|| {
                await_future(tokio::time::sleep(Duration::from_millis(5)));
                let listener = await_future(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
                let addr = listener.local_addr().unwrap();
                let client = std::thread::spawn(move || {
                    let mut s = std::net::TcpStream::connect(addr).unwrap();
                    s.write_all(b"busy").unwrap();
                });
                let (mut s, _) = await_future(listener.accept()).unwrap();
                let mut got = [0u8; 4];
                use tokio::io::AsyncReadExt;
                await_future(s.read_exact(&mut got)).unwrap();
                assert_eq!(&got, b"busy");
                client.join().unwrap();
                done.set(true);
            });
            Ok(())
        })
        .unwrap();
        assert!(spins.get() > 0);
    });
}

#[test]
fn a_wake_from_another_thread_ends_a_park_in_tokio() {
    weft_compat::tokio::run(|_env| {
        // A weft promise resolved by a plain thread (the remote queue).
        assert_eq!(resolved_by_a_thread_after(Duration::from_millis(20), 7), 7);
        // A tokio channel sent on by a plain thread (tokio's waker).
        let (tx, rx) = tokio::sync::oneshot::channel();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            tx.send(8).unwrap();
        });
        assert_eq!(await_future(rx).unwrap(), 8);
        t.join().unwrap();
    });
}

#[test]
fn tokio_spawn_tasks_run_while_fibers_wait_and_while_they_are_busy() {
    weft_compat::tokio::run(|_env| {
        // Idle: the fiber waits for the task's result.
        let h = weft_compat::tokio::spawn(async {
            tokio::time::sleep(Duration::from_millis(2)).await;
            tokio::task::yield_now().await;
            21 * 2
        });
        assert_eq!(await_future(h).unwrap(), 42);

        // Busy: the task counts while a fiber keeps the run queue full.
        let count = Arc::new(AtomicUsize::new(0));
        let c = count.clone();
        let h = weft_compat::tokio::spawn(async move {
            for _ in 0..100 {
                c.fetch_add(1, Ordering::SeqCst);
                tokio::task::yield_now().await;
            }
        });
        let mut spins = 0u64;
        while count.load(Ordering::SeqCst) < 100 {
            spins += 1;
            assert!(spins < 50_000_000, "the task starved");
            weft::fiber::yield_now();
        }
        await_future(h).unwrap();
    });
}

#[test]
fn a_task_resolving_a_promise_ends_the_park() {
    weft_compat::tokio::run(|_env| {
        // The task runs inside the scheduler's park in tokio and resumes a
        // fiber of this thread by itself (no tokio I/O involved).
        let (p, r) = weft::Promise::new();
        let h = weft_compat::tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            r.resolve("from a task");
        });
        assert_eq!(*p.await_(), "from a task");
        await_future(h).unwrap();
    });
}

#[test]
fn weft_io_and_timers_still_work_when_parked_in_tokio() {
    weft_compat::tokio::run(|_env| {
        let listener = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        Switch::run(|sw| {
            sw.fork(|| {
                let (mut s, _) = listener.accept().unwrap();
                let mut buf = [0u8; 5];
                s.read_exact(&mut buf).unwrap();
                // The reply waits for a weft timer, then goes back.
                weft::time::sleep(Duration::from_millis(5));
                s.write_all(&buf).unwrap();
            });
            sw.fork(|| {
                let mut c = weft::net::TcpStream::connect(addr).unwrap();
                c.write_all(b"hello").unwrap();
                let mut back = [0u8; 5];
                c.read_exact(&mut back).unwrap();
                assert_eq!(&back, b"hello");
            });
            // Meanwhile tokio's timer on the same thread.
            sw.fork(|| await_future(tokio::time::sleep(Duration::from_millis(3))));
            Ok(())
        })
        .unwrap();
    });
}

#[test]
fn many_tokio_echo_connections_between_fibers() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    weft_compat::tokio::run(|_env| {
        let listener = await_future(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        let echoed = Cell::new(0usize);
        Switch::run(|sw| {
            sw.fork(|| {
                for _ in 0..16 {
                    let (mut c, _) = await_future(listener.accept()).unwrap();
                    sw.fork(move || {
                        let mut buf = [0u8; 16];
                        for _ in 0..50 {
                            await_future(c.read_exact(&mut buf)).unwrap();
                            await_future(c.write_all(&buf)).unwrap();
                        }
                    });
                }
            });
            for i in 0..16u8 {
                let echoed = &echoed;
                sw.fork(move || {
                    let mut c = await_future(tokio::net::TcpStream::connect(addr)).unwrap();
                    let mut back = [0u8; 16];
                    for _ in 0..50 {
                        await_future(c.write_all(&[i; 16])).unwrap();
                        await_future(c.read_exact(&mut back)).unwrap();
                        assert_eq!(back, [i; 16]);
                        echoed.set(echoed.get() + 1);
                    }
                });
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(echoed.get(), 16 * 50);
    });
}

/// weft sockets served while the scheduler parks in tokio, the way a
/// migrated server's connection loop does (`first_watch` of a read against
/// a shutdown token, which keeps a weft timer pending): each completion
/// must end the park at once. On an io_uring ring with `DEFER_TASKRUN`
/// (before `parked_by_hook`) the kernel signalled the ring's eventfd about
/// 15 ms late, so every round trip took 15 ms: 1,000 of them took over
/// 15 s, against about 0.3 s when the park ends at once (a client that
/// pauses 0.2 ms before each request, so the server is parked when it
/// comes).
#[test]
fn weft_io_completions_end_parks_in_tokio_at_once() {
    const ROUND_TRIPS: u32 = 1_000;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let client = std::thread::spawn(move || {
        let mut c = std::net::TcpStream::connect(addr).unwrap();
        c.set_nodelay(true).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let started = std::time::Instant::now();
        for i in 0..ROUND_TRIPS {
            // Let the server park first, as a server between requests does.
            std::thread::sleep(Duration::from_micros(200));
            c.write_all(&i.to_le_bytes()).unwrap();
            let mut back = [0u8; 4];
            c.read_exact(&mut back)
                .unwrap_or_else(|e| panic!("round trip {i}: no echo within 5 s: {e}"));
            assert_eq!(u32::from_le_bytes(back), i);
        }
        started.elapsed()
    });
    weft_compat::tokio::run(|_env| {
        // A wait on a future engages tokio: the parks below go through it.
        await_future(tokio::task::yield_now());
        let listener = weft::net::TcpListener::from_std(listener).unwrap();
        let (mut s, _) = listener.accept().unwrap();
        s.set_nodelay(true).unwrap();
        let stop = weft::sync::CancellationToken::new();
        let mut buf = [0u8; 4];
        for _ in 0..ROUND_TRIPS {
            weft::fiber::first_watch(|| s.read_exact(&mut buf).unwrap(), || stop.cancelled());
            s.write_all(&buf).unwrap();
        }
    });
    let took = client.join().unwrap();
    assert!(
        took < Duration::from_secs(8),
        "{ROUND_TRIPS} round trips took {took:?}: completions did not end the parks (15 ms each)"
    );
}

/// Waits (from a fiber) on a weft promise that a plain thread resolves
/// with `value` after `delay`: a wake-up from another thread.
fn resolved_by_a_thread_after(delay: Duration, value: u32) -> u32 {
    let (p, r) = weft::Promise::new();
    let t = std::thread::spawn(move || {
        std::thread::sleep(delay);
        r.resolve(value);
    });
    let got = *p.await_();
    t.join().unwrap();
    got
}

/// How many times this thread's tokio runtime has parked its driver.
fn tokio_parks() -> u64 {
    tokio::runtime::Handle::current()
        .metrics()
        .worker_park_count(0)
}

#[test]
fn the_scheduler_parks_in_tokio_only_once_a_fiber_waits_on_a_future() {
    weft_compat::tokio::run(|_env| {
        // Parks for weft timers and for a wake-up from another thread.
        for _ in 0..3 {
            weft::time::sleep(Duration::from_millis(2));
        }
        assert_eq!(resolved_by_a_thread_after(Duration::from_millis(5), 1), 1);
        assert_eq!(tokio_parks(), 0, "tokio was driven though nothing used it");
        // A fiber waits on tokio's timer: parks now go through tokio.
        await_future(tokio::time::sleep(Duration::from_millis(2)));
        let before = tokio_parks();
        weft::time::sleep(Duration::from_millis(2));
        assert!(
            tokio_parks() > before,
            "a park after a wait on a future did not drive tokio"
        );
    });
}

#[test]
fn a_task_spawned_from_another_thread_runs_before_any_fiber_used_tokio() {
    weft_compat::tokio::run(|_env| {
        let handle = tokio::runtime::Handle::current();
        let (p, r) = weft::Promise::new();
        // Nothing on this thread has used tokio: its driver is not turned
        // until the scheduler sees the task (within DORMANT_RECHECK).
        let t = std::thread::spawn(move || {
            handle.spawn(async move { r.resolve("ran") });
        });
        let got = weft::time::timeout(Duration::from_secs(5), || *p.await_());
        assert_eq!(
            got,
            Ok("ran"),
            "the task spawned from another thread never ran"
        );
        t.join().unwrap();
    });
}
