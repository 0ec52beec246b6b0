//! The `promise_pingpong` row's weft side alone: per round trip a fresh
//! `Promise`, its resolver sent over an unbounded channel to a second
//! fiber that resolves it; prints the median ns per round trip.
//!
//! `cargo run --release -p weft-benches --example promise_prof -- [ROUNDS]`

use std::time::Instant;

fn main() {
    let n = 200_000;
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(30)
        .max(1);
    weft::Runtime::builder()
        .build()
        .expect("a runtime")
        .run(|_env| {
            let mut per_op = Vec::with_capacity(rounds);
            for _ in 0..rounds {
                let t = Instant::now();
                let (tx, mut rx) = weft::sync::mpsc::unbounded_channel::<weft::Resolver<u32>>();
                weft::fiber::both(
                    move || {
                        for _ in 0..n {
                            let (p, r) = weft::Promise::new();
                            tx.send(r).expect("the resolving fiber is alive");
                            std::hint::black_box(p.await_());
                        }
                    },
                    move || {
                        let mut i = 0;
                        while let Some(r) = rx.recv() {
                            r.resolve(i);
                            i += 1;
                        }
                    },
                );
                per_op.push(t.elapsed().as_nanos() as f64 / n as f64);
            }
            per_op.sort_by(|a, b| a.total_cmp(b));
            println!("median {:.1} ns/op", per_op[per_op.len() / 2]);
        });
}
