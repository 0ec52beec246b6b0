//! The scheduler's park hook contract, with a hook of the test's own (no
//! tokio): an idle scheduler parks in it on the backend's descriptor, which
//! turns readable on weft I/O and on wake-ups from other threads; a busy
//! one gives it turns. Run on both backends (`WEFT_BACKEND=posix` too).

use std::io::{Read, Write};
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use weft::Switch;
use weft_core::backend_api::{set_park_hook, ParkHook};

#[derive(Default)]
struct Counts {
    parks: AtomicUsize,
    parks_with_fd: AtomicUsize,
    turns: AtomicUsize,
}

/// Parks in poll(2) on the backend's descriptor.
struct PollHook(Arc<Counts>);

impl ParkHook for PollHook {
    fn park(
        &mut self,
        fd: Option<RawFd>,
        timeout: Option<Duration>,
        poll_backend: &mut dyn FnMut(),
    ) {
        self.0.parks.fetch_add(1, Ordering::SeqCst);
        let Some(fd) = fd else {
            std::thread::sleep(timeout.map_or(Duration::from_millis(1), |t| {
                t.min(Duration::from_millis(1))
            }));
            return poll_backend();
        };
        self.0.parks_with_fd.fetch_add(1, Ordering::SeqCst);
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // Whole milliseconds, rounded up so a timer is never missed early.
        let ms = timeout.map_or(-1, |t| {
            t.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32
        });
        // SAFETY: one valid pollfd, borrowed for the call.
        if unsafe { libc::poll(&mut pfd, 1, ms) } > 0 {
            poll_backend();
        }
    }

    fn turn(&mut self) {
        self.0.turns.fetch_add(1, Ordering::SeqCst);
    }
}

/// A runtime whose backend knows its threads park in a hook
/// (`parked_by_hook`), so it hands the hook a descriptor to wait on.
fn hooked_runtime() -> weft::Runtime {
    weft::Runtime::builder()
        .parked_by_hook(true)
        .build()
        .unwrap()
}

/// Installs a `PollHook` on this thread for the length of `f`.
fn with_hook<R>(f: impl FnOnce() -> R) -> (R, Arc<Counts>) {
    let counts = Arc::new(Counts::default());
    let before = set_park_hook(Some(Box::new(PollHook(counts.clone()))));
    assert!(before.is_none());
    let r = f();
    assert!(set_park_hook(None).is_some());
    (r, counts)
}

#[test]
fn timers_io_and_remote_wakes_end_a_park_in_the_hook() {
    let ((), counts) = with_hook(|| {
        hooked_runtime().run(|_env| {
            // A timer.
            weft::time::sleep(Duration::from_millis(3));
            // weft I/O whose peer answers late, from another thread.
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let peer = std::thread::spawn(move || {
                let (mut s, _) = listener.accept().unwrap();
                let mut buf = [0u8; 3];
                s.read_exact(&mut buf).unwrap();
                std::thread::sleep(Duration::from_millis(10));
                s.write_all(&buf).unwrap();
            });
            let mut c = weft::net::TcpStream::connect(addr).unwrap();
            c.write_all(b"abc").unwrap();
            let mut back = [0u8; 3];
            c.read_exact(&mut back).unwrap();
            assert_eq!(&back, b"abc");
            peer.join().unwrap();
            // A wake-up from another thread, with nothing else to wait for.
            let (p, r) = weft::Promise::new();
            let t = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(10));
                r.resolve(5);
            });
            assert_eq!(*p.await_(), 5);
            t.join().unwrap();
        })
    });
    assert!(
        counts.parks.load(Ordering::SeqCst) > 0,
        "never parked in the hook"
    );
    assert_eq!(
        counts.parks_with_fd.load(Ordering::SeqCst),
        counts.parks.load(Ordering::SeqCst),
        "the backend has a park descriptor"
    );
}

#[test]
fn a_busy_scheduler_gives_the_hook_turns() {
    let ((), counts) = with_hook(|| {
        weft::run(|_env| {
            Switch::run(|sw| {
                for _ in 0..2 {
                    sw.fork(|| {
                        for _ in 0..10_000 {
                            weft::fiber::yield_now();
                        }
                    });
                }
                Ok(())
            })
            .unwrap();
        })
    });
    // 20,000 resumes, a maintenance round every 61.
    assert!(counts.turns.load(Ordering::SeqCst) >= 100);
}
