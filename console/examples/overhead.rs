//! The cost of monitoring, measured in one process: rounds that alternate
//! a runtime without monitoring and one with `Builder::console(true)`,
//! each running the same rows, then the medians and their ratio.
//!
//! `cargo run --release -p weft-console --example overhead [ROUNDS]`
//! (run it without `WEFT_CONSOLE` set, which would turn every runtime on;
//! `OVERHEAD_ROW=spawn_join` runs that row only).
//!
//! Rows: `spawn_join` (a `Switch::run` with one forked empty fiber, per
//! op) and `tcp_echo` (16-byte round trips over one loopback connection,
//! client and server fibers in the same runtime, per op). Each round
//! takes the median of 5 samples per row and mode; the table shows the
//! median over rounds.
//!
//! `OVERHEAD_CLOCK=cpu` times samples with the thread's CPU time
//! (`CLOCK_THREAD_CPUTIME_ID`) instead of the wall clock: on a loaded
//! machine the time the thread spends descheduled then does not count.
//!
//! `OVERHEAD_MODE=on` (or `off`) runs that mode only, once, with
//! `OVERHEAD_OPS` spawn_join ops (default 100,000) and no table, for
//! counting instructions where the CPU has no counters for `perf`:
//! `valgrind --tool=callgrind --toggle-collect='*spawn_join_ops*'`
//! counts exactly the ops' loop (its instructions divided by the ops).

use std::io::{Read, Write};
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The calling thread's CPU time in ns.
fn thread_cpu_ns() -> u128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to fill; the clock id is a constant.
    let r = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(r, 0, "CLOCK_THREAD_CPUTIME_ID is readable");
    ts.tv_sec as u128 * 1_000_000_000 + ts.tv_nsec as u128
}

fn sample(ops: u32, f: &mut dyn FnMut(u32)) -> f64 {
    let cpu = std::env::var("OVERHEAD_CLOCK").as_deref() == Ok("cpu");
    f(ops / 10); // warm-up
    let samples = (0..5)
        .map(|_| {
            let (start, cpu_start) = (Instant::now(), thread_cpu_ns());
            f(ops);
            let ns = if cpu {
                thread_cpu_ns() - cpu_start
            } else {
                start.elapsed().as_nanos()
            };
            ns as f64 / ops as f64
        })
        .collect();
    median(samples)
}

/// `n` spawn_join ops: a `Switch::run` that forks one empty fiber. Not
/// inlined, so a profiler can count exactly these (see the module doc).
#[inline(never)]
fn spawn_join_ops(n: u32) {
    for _ in 0..n {
        weft::Switch::run(|sw| {
            sw.fork(|| {});
            Ok(())
        })
        .unwrap();
    }
}

/// `OVERHEAD_MODE=on|off`: `OVERHEAD_OPS` spawn_join ops in that mode
/// only, once, on a fresh runtime.
fn one_mode(console: bool) {
    let ops: u32 = std::env::var("OVERHEAD_OPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    weft::Runtime::builder()
        .console(console)
        .build()
        .expect("a runtime")
        .run(|_env| {
            assert_eq!(weft::console::enabled(), console, "WEFT_CONSOLE is set");
            spawn_join_ops(ops);
        });
}

/// (spawn_join, tcp_echo) in ns/op on a fresh runtime.
fn rows(console: bool) -> (f64, f64) {
    weft::Runtime::builder()
        .console(console)
        .build()
        .expect("a runtime")
        .run(|_env| {
            assert_eq!(weft::console::enabled(), console, "WEFT_CONSOLE is set");
            let only_spawn = std::env::var("OVERHEAD_ROW").as_deref() == Ok("spawn_join");
            let spawn_join = sample(100_000, &mut spawn_join_ops);
            if only_spawn {
                return (spawn_join, f64::NAN);
            }
            let listener = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let tcp_echo = weft::Switch::run(|sw| {
                sw.fork_daemon(|| -> weft::Result<()> {
                    let (mut conn, _) = listener.accept()?;
                    let mut buf = [0u8; 16];
                    loop {
                        conn.read_exact(&mut buf)?;
                        conn.write_all(&buf)?;
                    }
                });
                let mut client = weft::net::TcpStream::connect(addr)?;
                let mut buf = [7u8; 16];
                let ns = sample(20_000, &mut |n| {
                    for _ in 0..n {
                        client.write_all(&buf).unwrap();
                        client.read_exact(&mut buf).unwrap();
                    }
                });
                Ok(ns)
            })
            .unwrap();
            (spawn_join, tcp_echo)
        })
}

fn main() {
    match std::env::var("OVERHEAD_MODE").as_deref() {
        Ok("on") => return one_mode(true),
        Ok("off") => return one_mode(false),
        _ => {}
    }
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(7);
    let (mut off, mut on) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        // Alternate which mode goes first, so drift favours neither.
        let order = if round % 2 == 0 {
            [false, true]
        } else {
            [true, false]
        };
        for console in order {
            let r = rows(console);
            if console {
                on.push(r)
            } else {
                off.push(r)
            }
        }
    }
    let clock = if weft::console::clock::tsc_usable() {
        "TSC"
    } else {
        "CLOCK_MONOTONIC"
    };
    let timed = if std::env::var("OVERHEAD_CLOCK").as_deref() == Ok("cpu") {
        "thread CPU time"
    } else {
        "wall clock"
    };
    println!("{rounds} rounds, event clock {clock}, timed by {timed}; medians over rounds");
    println!("| row | off | on | cost |");
    println!("|---|---|---|---|");
    for (name, pick) in [
        (
            "spawn_join",
            (|r: &(f64, f64)| r.0) as fn(&(f64, f64)) -> f64,
        ),
        ("tcp_echo", |r: &(f64, f64)| r.1),
    ] {
        let a = median(off.iter().map(pick).collect());
        let b = median(on.iter().map(pick).collect());
        // The per-round ratio, so a slow round weighs on both sides.
        let ratio = median(
            off.iter()
                .zip(&on)
                .map(|(x, y)| pick(y) / pick(x))
                .collect(),
        );
        println!(
            "| {name} | {a:.1} ns/op | {b:.1} ns/op | {:+.1}% |",
            (ratio - 1.0) * 100.0
        );
    }
}
