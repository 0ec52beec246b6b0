//! The `parallel_sum` rows' weft side alone: `JOBS` CPU jobs through the
//! executor pool with `WORKERS` workers, all in flight at once. Prints the
//! job's own cost (run inline), then the median wall and CPU nanoseconds
//! per job through the pool; the difference is the pool's overhead, also
//! measured alone with jobs that do nothing (the `pool_round_trip` row).
//!
//! `cargo run --release -p weft-benches --example pool_prof -- [ROUNDS] [WORKERS] [JOBS]`

mod common;

use std::time::Instant;

use common::{arg, median, weft_work};

/// CPU time of the whole process (every thread), from `getrusage`.
fn process_cpu_ns() -> f64 {
    // SAFETY: `getrusage` fills the zeroed struct it is given.
    let usage = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut u);
        u
    };
    let ns = |t: libc::timeval| t.tv_sec as f64 * 1e9 + t.tv_usec as f64 * 1e3;
    ns(usage.ru_utime) + ns(usage.ru_stime)
}

fn main() {
    let rounds = arg(1, 30).max(1);
    let workers = arg(2, 2).max(1);
    let jobs = arg(3, 400).max(1);
    let inline = common::median_per_op(rounds, jobs, || {
        let sum = (0..jobs as u64).fold(0u64, |a, j| a.wrapping_add(weft_work::cpu_job(j)));
        std::hint::black_box(sum);
    });
    let (wall, cpu, empty) = weft::Runtime::builder()
        .executor_threads(workers)
        .build()
        .expect("a runtime")
        .run(|env| {
            let pool = env.executor_pool();
            let (mut wall, mut cpu) = (Vec::new(), Vec::new());
            for _ in 0..rounds {
                let (t, c) = (Instant::now(), process_cpu_ns());
                std::hint::black_box(weft_work::pool_jobs(&pool, jobs, weft_work::cpu_job));
                wall.push(t.elapsed().as_nanos() as f64 / jobs as f64);
                cpu.push((process_cpu_ns() - c) / jobs as f64);
            }
            let empty = common::median_per_op(rounds, jobs, || {
                std::hint::black_box(weft_work::pool_jobs(&pool, jobs, |j| j));
            });
            (median(wall), median(cpu), empty)
        });
    println!("job alone  {inline:.1} ns");
    println!("pool, {workers} workers: median wall {wall:.1} ns/job, cpu {cpu:.1} ns/job");
    println!("pool, {workers} workers, empty jobs: median wall {empty:.1} ns/job");
}
