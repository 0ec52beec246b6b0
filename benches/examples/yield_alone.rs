//! The `yield` row's weft side alone, in a small binary: two fibers
//! alternating `yield_now`, median ns per yield over 15 batches.
//!
//! The same code measures about 7 ns per yield here and about 25 ns inside
//! `weft-benches` (docs/bench-2026-12-07e.txt): the difference follows the
//! binary, not the code. Use this to check a change to the switch path
//! without that effect.
//!
//! `cargo run --release -p weft-benches --example yield_alone`

use std::time::{Duration, Instant};

fn median_ns(samples: usize, ops: usize, mut batch: impl FnMut() -> Duration) -> f64 {
    batch();
    let mut per_op: Vec<f64> = (0..samples)
        .map(|_| batch().as_nanos() as f64 / ops as f64)
        .collect();
    per_op.sort_by(|a, b| a.total_cmp(b));
    per_op[per_op.len() / 2]
}

fn main() {
    let n = 1_000_000;
    let ns = weft::Runtime::builder()
        .build()
        .expect("a runtime")
        .run(|_env| {
            median_ns(15, n, || {
                let t = Instant::now();
                weft::fiber::both(
                    || {
                        for _ in 0..n / 2 {
                            weft::fiber::yield_now();
                        }
                    },
                    || {
                        for _ in 0..n / 2 {
                            weft::fiber::yield_now();
                        }
                    },
                );
                t.elapsed()
            })
        });
    println!("median {ns:.1} ns/op");
}
