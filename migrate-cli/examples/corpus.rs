//! Runs weft-migrate's rewriter over every `.rs` file under a directory
//! (default: the local cargo registry's sources) in memory, and reports
//! files, lines per second and failures (panics, outputs that do not
//! parse, second passes that are not no-ops). Nothing is written.
//!
//! `cargo run --release -p weft-migrate --example corpus -- [DIR] [--jobs N] [--sample N]`

use std::path::PathBuf;

fn main() {
    let mut dir = None;
    let mut jobs = 0;
    let mut sample = 0;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--jobs" => jobs = args.next().and_then(|v| v.parse().ok()).unwrap_or(0),
            "--sample" => sample = args.next().and_then(|v| v.parse().ok()).unwrap_or(0),
            _ => dir = Some(PathBuf::from(a)),
        }
    }
    let dir = dir.unwrap_or_else(|| {
        let home = std::env::var("CARGO_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|_| {
                PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cargo")
            });
        home.join("registry/src")
    });
    let mut files = weft_migrate::corpus::rust_files(&dir);
    if sample > 0 && files.len() > sample {
        let step = files.len() / sample;
        files = files.into_iter().step_by(step).take(sample).collect();
    }
    let s = weft_migrate::corpus::check(&files, jobs);
    for f in &s.failures {
        println!("FAIL {}: {}", f.path.display(), f.what);
    }
    println!(
        "{}: {} files rewritten ({} lines, {} changed), {} skipped (not UTF-8 or not valid Rust), {} failures; {:.2}s, {:.0} lines/s",
        dir.display(),
        s.files,
        s.lines,
        s.changed,
        s.skipped,
        s.failures.len(),
        s.elapsed.as_secs_f64(),
        s.lines_per_second()
    );
    if !s.failures.is_empty() {
        std::process::exit(1);
    }
}
