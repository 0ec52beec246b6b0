//! Runtime::block_on: one runtime driven again and again through a
//! borrow, the shape of a blocking client over fiber code.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use weft::net::{TcpListener, TcpStream};

#[test]
fn sockets_made_in_one_call_work_in_the_next() {
    let rt = weft::Runtime::new().unwrap();
    let l = rt.block_on(|| TcpListener::bind("127.0.0.1:0").unwrap());
    let addr = l.local_addr().unwrap();
    let mut c = rt.block_on(|| TcpStream::connect(addr).unwrap());
    let mut s = rt.block_on(|| l.accept().unwrap().0);
    for round in 0..20u8 {
        // The peer's reply is written from a fiber that waits for the
        // request, so the read below must suspend and be woken by I/O.
        let echoed = rt.block_on(|| {
            weft::fiber::both(
                || {
                    let mut b = [0; 1];
                    s.read_exact(&mut b).unwrap();
                    s.write_all(&[b[0] + 1]).unwrap();
                },
                || {
                    c.write_all(&[round]).unwrap();
                    let mut b = [0; 1];
                    c.read_exact(&mut b).unwrap();
                    b[0]
                },
            )
            .1
        });
        assert_eq!(echoed, round + 1);
    }
}

#[test]
fn timers_work_in_every_call() {
    // The mock clock moves only by the timers that fire, so each call's
    // sleep shows up exactly in the scheduler's time.
    let rt = weft::Runtime::builder().mock_clock(true).build().unwrap();
    for round in 1..=3u32 {
        let (before, after) = rt.block_on(|| {
            let before = weft::time::Instant::now();
            weft::time::sleep(Duration::from_millis(5));
            (before, weft::time::Instant::now())
        });
        assert_eq!(after - before, Duration::from_millis(5), "round {round}");
    }
}

#[test]
fn tasks_still_running_at_the_end_are_cancelled() {
    struct SetOnDrop(Arc<AtomicBool>);
    impl Drop for SetOnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let rt = weft::Runtime::new().unwrap();
    let dropped = Arc::new(AtomicBool::new(false));
    let d = dropped.clone();
    rt.block_on(move || {
        weft::spawn(move || {
            let _guard = SetOnDrop(d);
            weft::time::sleep(Duration::from_secs(3600));
        });
        weft::fiber::yield_now();
    });
    assert!(dropped.load(Ordering::SeqCst));
    assert_eq!(rt.block_on(|| 5), 5);
}

#[test]
fn a_panic_in_the_body_reaches_the_caller_and_the_runtime_stays_usable() {
    let rt = weft::Runtime::new().unwrap();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(|| panic!("boom"));
    }));
    assert!(r.is_err());
    assert_eq!(rt.block_on(|| "again"), "again");
}

#[test]
#[should_panic(expected = "already running weft")]
fn block_on_inside_a_fiber_panics() {
    let rt = weft::Runtime::new().unwrap();
    weft::run(|_env| rt.block_on(|| ()));
}
