//! The `yield` row's weft side alone, in a small binary: two fibers
//! alternating `yield_now`, median ns per yield over 15 batches.
//!
//! Before the fiber side of the switch path was always inlined, the same
//! code measured 7 ns per yield here and 25 ns inside `weft-benches`
//! (LLVM inlined it in one binary and not the other; see `switch_out`).
//! Compare the two when changing the switch path.
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
