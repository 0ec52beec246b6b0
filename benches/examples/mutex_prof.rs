//! The `mutex_contended` row's weft side alone: 100 fibers taking one
//! `Mutex` 2,000 times each, holding it across a yield every 8th time;
//! prints the median ns per lock.
//!
//! `cargo run --release -p weft-benches --example mutex_prof -- [ROUNDS]`

use std::time::Instant;

fn main() {
    const FIBERS: usize = 100;
    let per = 2_000;
    let n = FIBERS * per;
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
                let m = weft::sync::Mutex::new(0u64);
                weft::fiber::all((0..FIBERS).map(|f| {
                    let m = &m;
                    move || {
                        for i in 0..per {
                            let mut g = m.lock();
                            *g += 1;
                            if (i + f) % 8 == 0 {
                                weft::fiber::yield_now();
                            }
                        }
                    }
                }));
                assert_eq!(m.into_inner(), n as u64);
                per_op.push(t.elapsed().as_nanos() as f64 / n as f64);
            }
            per_op.sort_by(|a, b| a.total_cmp(b));
            println!("median {:.1} ns/op", per_op[per_op.len() / 2]);
        });
}
