//! The `timers_100k` row's weft side alone, split in its two phases: forking
//! `N` fibers that each sleep 1-10 ms (seeded), then waiting for them all.
//! Prints the median ns per timer of the fork phase and of the whole.
//!
//! Made for `perf record` and `valgrind --tool=cachegrind` (cache misses
//! per timer: see docs/bench-2026-12-07e.txt).
//!
//! `cargo run --release -p weft-benches --example timers_prof -- [ROUNDS] [N]`

mod common;

use std::time::{Duration, Instant};

use common::{arg, median};
use rand::{Rng, SeedableRng};

fn main() {
    let rounds = arg(1, 30).max(1);
    let n = arg(2, 100_000).max(1);
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    let times: Vec<u64> = (0..n).map(|_| rng.random_range(1..=10)).collect();
    let (fork, total) = weft::Runtime::builder()
        .stack_size(64 * 1024)
        .max_pooled_stacks(n + 1024)
        .build()
        .expect("a runtime")
        .run(|_env| {
            let (mut fork, mut total) = (Vec::new(), Vec::new());
            for _ in 0..rounds {
                let t = Instant::now();
                weft::Switch::run(|sw| {
                    for &ms in &times {
                        sw.fork(move || weft::time::sleep(Duration::from_millis(ms)));
                    }
                    fork.push(t.elapsed().as_nanos() as f64 / n as f64);
                    Ok(())
                })
                .expect("the sleeps succeed");
                total.push(t.elapsed().as_nanos() as f64 / n as f64);
            }
            (median(fork), median(total))
        });
    println!("fork phase median {fork:.1} ns/timer");
    println!("median {total:.1} ns/timer");
}
