//! What the one-row examples share: their rounds argument and the median
//! of their per-round timings. (Each example uses part of it.)
#![allow(dead_code)]

use std::time::Instant;

#[path = "../../src/weft_work.rs"]
pub mod weft_work;

/// The `i`th command-line argument as a number, or `default`.
pub fn arg(i: usize, default: usize) -> usize {
    std::env::args()
        .nth(i)
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// The median of `values`.
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

/// Runs `round` `rounds` times (at least once) and returns the median
/// nanoseconds per op, each round doing `ops` operations.
pub fn median_per_op(rounds: usize, ops: usize, mut round: impl FnMut()) -> f64 {
    let per_op = (0..rounds.max(1))
        .map(|_| {
            let t = Instant::now();
            round();
            t.elapsed().as_nanos() as f64 / ops as f64
        })
        .collect();
    median(per_op)
}

/// Runs `f` as the main fiber of a default weft runtime.
pub fn on_weft<T>(f: impl FnOnce() -> T) -> T {
    weft::Runtime::builder()
        .build()
        .expect("a runtime")
        .run(|_env| f())
}
