//! The cost of monitoring: run it twice, with and without
//! `WEFT_CONSOLE=1`, in release, and compare the medians.
//!
//! `cargo run --release -p weft-console --example overhead`
//! `WEFT_CONSOLE=1 cargo run --release -p weft-console --example overhead`
//!
//! Rows: `spawn_join` (a `Switch::run` with one forked empty fiber, per
//! op) and `tcp_echo` (16-byte round trips over one loopback connection,
//! client and server fibers in the same runtime, per op). Each prints the
//! median of 9 samples.

use std::io::{Read, Write};
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn sample(ops: u32, f: &mut dyn FnMut(u32)) -> f64 {
    f(ops / 10); // warm-up
    let samples = (0..9)
        .map(|_| {
            let start = Instant::now();
            f(ops);
            start.elapsed().as_nanos() as f64 / ops as f64
        })
        .collect();
    median(samples)
}

fn main() {
    let on = weft::Runtime::builder()
        .build()
        .expect("a runtime")
        .run(|_env| {
            let on = weft::console::enabled();
            let spawn_join = sample(200_000, &mut |n| {
                for _ in 0..n {
                    weft::Switch::run(|sw| {
                        sw.fork(|| {});
                        Ok(())
                    })
                    .unwrap();
                }
            });
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
                let ns = sample(50_000, &mut |n| {
                    for _ in 0..n {
                        client.write_all(&buf).unwrap();
                        client.read_exact(&mut buf).unwrap();
                    }
                });
                Ok(ns)
            })
            .unwrap();
            println!("spawn_join {spawn_join:.1} ns/op");
            println!("tcp_echo   {tcp_echo:.1} ns/op");
            on
        });
    println!("monitoring {}", if on { "on" } else { "off" });
}
