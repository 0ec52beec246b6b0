//! Observability: dumps name each fiber, its state, where it waits and
//! for how long; a stack overflow names the fiber and the setting; SIGQUIT
//! prints the dump.

use std::process::Command;
use std::time::Duration;

use weft::Switch;

#[test]
fn dump_lists_fibers_where_they_wait_and_for_how_long() {
    weft::Runtime::builder()
        .mock_clock(true)
        .build()
        .unwrap()
        .run(|_env| {
            let sleeper_line = line!() + 2;
            Switch::run(|sw| {
                sw.fork_named("sleeper", || weft::time::sleep(Duration::from_secs(100)));
                sw.fork_named("waiter", || {
                    let (p, _r) = weft::Promise::<()>::new();
                    let _ = weft::time::timeout(Duration::from_secs(50), || p.await_());
                });
                weft::time::sleep(Duration::from_secs(7));
                let dump = weft::dump();
                let sleeper = dump
                    .lines()
                    .find(|l| l.contains("\"sleeper\""))
                    .expect("sleeper listed");
                assert!(sleeper.contains("waiting at"), "{sleeper}");
                assert!(
                    sleeper.contains(&format!("tests/observe.rs:{sleeper_line}:")),
                    "{sleeper}"
                );
                assert!(sleeper.contains("for 7.000s"), "{sleeper}");
                let waiter = dump
                    .lines()
                    .find(|l| l.contains("\"waiter\""))
                    .expect("waiter listed");
                assert!(
                    waiter.contains(&format!("tests/observe.rs:{}:", sleeper_line + 3)),
                    "{waiter}"
                );
                assert!(
                    dump.lines().any(|l| l.contains("\"main\": running")),
                    "{dump}"
                );
                sw.fail(weft::Error::msg("done looking"));
                Ok(())
            })
            .unwrap_err();
        });
}

/// Runs this test binary again as a child that does `mode`.
fn child(mode: &str, test: &str) -> std::process::Output {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env("WEFT_OBSERVE_CHILD", mode)
        .output()
        .unwrap()
}

fn recurse(depth: u64) -> u64 {
    let buf = [depth as u8; 512];
    if depth == 0 {
        return buf[0] as u64;
    }
    recurse(depth - 1) + std::hint::black_box(buf)[1] as u64
}

#[test]
fn a_stack_overflow_names_the_fiber_and_the_setting() {
    if std::env::var("WEFT_OBSERVE_CHILD").as_deref() == Ok("overflow") {
        weft::Runtime::builder()
            .stack_size(64 * 1024)
            .build()
            .unwrap()
            .run(|_env| {
                Switch::run(|sw| {
                    sw.fork_named("deep-recursion", || {
                        std::hint::black_box(recurse(1_000_000));
                    });
                    Ok(())
                })
                .unwrap();
            });
        unreachable!("the overflow aborts the process");
    }
    let out = child(
        "overflow",
        "a_stack_overflow_names_the_fiber_and_the_setting",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGABRT),
        "child status {:?}, stderr: {stderr}",
        out.status
    );
    assert!(stderr.contains("\"deep-recursion\""), "{stderr}");
    assert!(
        stderr.contains("overflowed its stack of 64 KiB"),
        "{stderr}"
    );
    assert!(stderr.contains("stack_size"), "{stderr}");
}

#[test]
fn sigquit_prints_the_dump_of_every_runtime() {
    if std::env::var("WEFT_OBSERVE_CHILD").as_deref() == Ok("sigquit") {
        weft::Runtime::builder()
            .dump_on_sigquit(true)
            .build()
            .unwrap()
            .run(|_env| {
                Switch::run(|sw| {
                    sw.fork_named("parked-forever", || {
                        let (p, _r) = weft::Promise::<()>::new();
                        let _ = weft::time::timeout(Duration::from_millis(500), || p.await_());
                    });
                    // SAFETY: raise(3) only sends a signal to this process.
                    unsafe { libc::raise(libc::SIGQUIT) };
                    weft::time::sleep(Duration::from_millis(300));
                    Ok(())
                })
                .unwrap();
            });
        return;
    }
    let out = child("sigquit", "sigquit_prints_the_dump_of_every_runtime");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed: {stderr}");
    assert!(
        stderr.contains("=== weft fiber dump (SIGQUIT) ==="),
        "{stderr}"
    );
    assert!(stderr.contains("\"parked-forever\": waiting"), "{stderr}");
}

#[test]
fn the_watchdog_reports_how_long_a_stall_really_lasted() {
    let stalls = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = stalls.clone();
    let blocker = weft::Runtime::builder()
        .watchdog_with(Duration::from_millis(20), move |s| {
            seen.lock().unwrap().push(s.clone())
        })
        .build()
        .unwrap()
        .run(|_env| {
            weft::fiber::yield_now();
            // The wrong way to wait: blocks the thread for 300 ms.
            std::thread::sleep(Duration::from_millis(300));
            weft::fiber::id().as_u64()
        });
    let stalls = stalls.lock().unwrap();
    assert_eq!(stalls.len(), 1, "one report: {stalls:?}");
    let stall = &stalls[0];
    assert_eq!(stall.fiber, blocker);
    assert!(!stall.ongoing);
    // Sampled every 2.5 ms: the length is the sleep's, not the threshold.
    assert!(
        stall.blocked_for >= Duration::from_millis(290),
        "{:?}",
        stall.blocked_for
    );
    assert!(stall.to_string().contains("blocked its thread for"));
}

#[test]
fn the_watchdog_prints_to_stderr_without_a_subscriber() {
    if std::env::var("WEFT_OBSERVE_CHILD").as_deref() == Ok("stall") {
        weft::Runtime::builder()
            .watchdog(Duration::from_millis(20))
            .build()
            .unwrap()
            .run(|_env| std::thread::sleep(Duration::from_millis(200)));
        return;
    }
    let out = child(
        "stall",
        "the_watchdog_prints_to_stderr_without_a_subscriber",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed: {stderr}");
    assert!(
        stderr.contains("weft watchdog: fiber #") && stderr.contains("blocked its thread for"),
        "{stderr}"
    );
}
