//! A small measuring harness: warm-up, then several samples of a batch of
//! operations; the reported figure is the median time per operation.

use std::io::Write;
use std::time::{Duration, Instant};

/// How much work each row does.
#[derive(Clone, Copy, Debug)]
pub struct Scale {
    /// Samples per side (the median is reported).
    pub samples: usize,
    /// Multiplier for batch sizes (1 for the full run).
    pub factor: f64,
}

impl Scale {
    pub fn ops(&self, full: usize) -> usize {
        ((full as f64 * self.factor) as usize).max(10)
    }
}

/// Median of per-op nanoseconds over `samples` runs of `batch` (after a
/// warm-up run), which performs `ops` operations and returns the time
/// they took: [`interleaved_medians`] with one side.
pub fn median_ns(samples: usize, ops: usize, mut batch: impl FnMut() -> Duration) -> f64 {
    interleaved_medians(samples, ops, &mut [&mut batch])[0]
}

/// Runs every side once to warm up, then `samples` rounds of one batch of
/// every side in turn, so slow drift of a shared machine (these VMs move
/// by half from one second to the next) hits all sides alike. Returns
/// each side's results in order.
fn alternate<S>(samples: usize, sides: &mut [&mut dyn FnMut() -> S]) -> Vec<Vec<S>> {
    for side in sides.iter_mut() {
        side(); // warm-up
    }
    let mut results: Vec<Vec<S>> = (0..sides.len())
        .map(|_| Vec::with_capacity(samples))
        .collect();
    for _ in 0..samples {
        for (side, out) in sides.iter_mut().zip(results.iter_mut()) {
            out.push(side());
        }
    }
    results
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).expect("no NaN timings"));
    v[v.len() / 2]
}

/// Medians of per-op nanoseconds of several sides measured in
/// alternation (see [`alternate`]). Each side performs `ops` operations
/// and returns their time.
pub fn interleaved_medians(
    samples: usize,
    ops: usize,
    sides: &mut [&mut dyn FnMut() -> Duration],
) -> Vec<f64> {
    alternate(samples, sides)
        .into_iter()
        .map(|times| median(times.iter().map(|t| per_op(*t, ops)).collect()))
        .collect()
}

/// [`interleaved_medians`] for batches timed on the wall clock and in CPU
/// time: each side's (wall, CPU) medians per op.
pub fn interleaved_costs(
    samples: usize,
    ops: usize,
    sides: &mut [&mut dyn FnMut() -> Cost],
) -> Vec<(f64, f64)> {
    alternate(samples, sides)
        .into_iter()
        .map(|costs| {
            (
                median(costs.iter().map(|c| per_op(c.wall, ops)).collect()),
                median(costs.iter().map(|c| per_op(c.cpu, ops)).collect()),
            )
        })
        .collect()
}

fn per_op(t: Duration, ops: usize) -> f64 {
    t.as_nanos() as f64 / ops as f64
}

/// CPU time (user + system) all threads of this process have used.
pub fn process_cpu() -> Duration {
    // SAFETY: getrusage fills the zeroed struct we pass; RUSAGE_SELF
    // always exists.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        ru
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// Wall-clock and process CPU time of one batch.
#[derive(Clone, Copy, Debug)]
pub struct Cost {
    pub wall: Duration,
    pub cpu: Duration,
}

/// Times `f` on the wall clock and in CPU time of the whole process (every
/// thread: the caller's, the workers', the runtime's).
pub fn timed_cpu(f: impl FnOnce()) -> Cost {
    let cpu = process_cpu();
    let t = Instant::now();
    f();
    Cost {
        wall: t.elapsed(),
        cpu: process_cpu() - cpu,
    }
}

/// Medians of wall-clock and CPU nanoseconds per op over `samples` runs of
/// `batch` (after a warm-up run), each performing `ops` operations:
/// [`interleaved_costs`] with one side.
pub fn median_cost(samples: usize, ops: usize, mut batch: impl FnMut() -> Cost) -> (f64, f64) {
    interleaved_costs(samples, ops, &mut [&mut batch])[0]
}

/// Times `f`.
pub fn timed(f: impl FnOnce()) -> Duration {
    let t = Instant::now();
    f();
    t.elapsed()
}

/// One result line.
#[derive(Clone, Debug)]
pub struct Row {
    pub name: String,
    pub weft: f64,
    pub tokio: f64,
    /// What the numbers are ("ns/op" or "bytes").
    pub unit: &'static str,
}

impl Row {
    pub fn speedup(&self) -> f64 {
        self.tokio / self.weft
    }
}

pub fn print_header() {
    println!(
        "{:<28} {:>14} {:>14} {:>9}  unit",
        "benchmark", "weft", "tokio", "speedup"
    );
    println!("{}", "-".repeat(76));
}

pub fn print_row(r: &Row) {
    println!(
        "{:<28} {:>14.1} {:>14.1} {:>8.2}x  {}",
        r.name,
        r.weft,
        r.tokio,
        r.speedup(),
        r.unit
    );
}

/// Appends rows as JSON lines to `target/bench/results.jsonl`.
pub fn write_jsonl(rows: &[Row]) -> std::io::Result<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("results.jsonl");
    let mut f = std::fs::File::create(&path)?;
    for r in rows {
        writeln!(
            f,
            "{{\"name\":\"{}\",\"weft_ns\":{:.1},\"tokio_ns\":{:.1},\"speedup\":{:.3},\"unit\":\"{}\"}}",
            r.name,
            r.weft,
            r.tokio,
            r.speedup(),
            r.unit
        )?;
    }
    Ok(path)
}

/// Resident set size of this process, in bytes.
pub fn rss_bytes() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<usize>().ok())
        .map_or(0, |kb| kb * 1024)
}
