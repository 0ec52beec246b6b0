use std::cell::RefCell;
use std::time::Duration;

#[test]
fn fork_order_and_join() {
    let log = RefCell::new(Vec::new());
    weft::run(|_env| {
        weft::Switch::run(|sw| {
            sw.fork(|| {
                log.borrow_mut().push("a1");
                weft::fiber::yield_now();
                log.borrow_mut().push("a2");
            });
            log.borrow_mut().push("main");
            Ok(())
        })
        .unwrap();
    });
    assert_eq!(*log.borrow(), ["a1", "main", "a2"]);
}

#[test]
fn failure_cancels_siblings() {
    weft::run(|_env| {
        let dropped = RefCell::new(false);
        struct Flag<'a>(&'a RefCell<bool>);
        impl Drop for Flag<'_> {
            fn drop(&mut self) {
                *self.0.borrow_mut() = true;
            }
        }
        let r = weft::Switch::run(|sw| {
            sw.fork(|| {
                let _f = Flag(&dropped);
                weft::time::sleep(Duration::from_secs(100));
            });
            sw.fork(|| -> weft::Result<()> { Err(weft::Error::msg("bad")) });
            Ok(())
        });
        assert_eq!(r.unwrap_err().to_string(), "bad");
        assert!(*dropped.borrow());
    });
}

#[test]
fn sleep_and_timeout() {
    weft::run(|_env| {
        weft::time::sleep(Duration::from_millis(2));
        let r = weft::time::timeout(Duration::from_millis(10), || weft::fiber::await_cancel());
        assert!(r.is_err());
    });
}

#[test]
fn mock_clock_jumps() {
    weft::Runtime::builder()
        .mock_clock(true)
        .build()
        .unwrap()
        .run(|_env| {
            let t = weft::time::Instant::now();
            weft::time::sleep(Duration::from_secs(3600));
            assert_eq!(t.elapsed(), Duration::from_secs(3600));
        });
}

#[test]
fn cross_thread_resume() {
    weft::run(|_env| {
        let (p, r) = weft::Promise::new();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(10));
            r.resolve(5);
        });
        assert_eq!(*p.await_(), 5);
        t.join().unwrap();
    });
}
