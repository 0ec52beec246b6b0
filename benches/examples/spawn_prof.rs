//! The `spawn_join` row's weft side alone: `Switch::run` with one forked
//! empty fiber, `200_000` times per round; prints the median ns per op.
//!
//! `cargo run --release -p weft-benches --example spawn_prof -- [ROUNDS]`

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
                for _ in 0..n {
                    weft::Switch::run(|sw| {
                        sw.fork(|| std::hint::black_box(()));
                        Ok(())
                    })
                    .expect("an empty fiber succeeds");
                }
                per_op.push(t.elapsed().as_nanos() as f64 / n as f64);
            }
            per_op.sort_by(|a, b| a.total_cmp(b));
            println!("median {:.1} ns/op", per_op[per_op.len() / 2]);
        });
}
