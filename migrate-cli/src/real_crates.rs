//! The corpus of real crates: published tokio crates, fetched by cargo at
//! pinned versions (never kept in this repository), each migrated in a
//! copy with the compiler in the loop, built, and tested before and after.
//! Run by `cargo run -p weft-migrate --example real_crates`; the list and
//! the expected figures are in `migrate-cli/corpus/crates.toml`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

use crate::check::CheckOptions;
use crate::{Mode, RunOptions};

/// One crate of the list.
///
/// ```
/// let l: weft_migrate::real_crates::List = toml_edit::de::from_str("[[crate]]\nname = \"a\"\nversion = \"1.0.0\"\nexpect = { builds = true, passed_after = 1, rolled_back = 0, bridges = 0 }\n").unwrap();
/// assert_eq!(l.krate[0].name, "a");
/// ```
#[derive(Clone, Debug, Deserialize)]
pub struct Entry {
    /// The crate's name on crates.io.
    pub name: String,
    /// Its exact version.
    pub version: String,
    /// The figures of the last recorded run.
    #[serde(default)]
    pub expect: Option<Expect>,
}

/// Expected figures of one crate (the last recorded run); a run that does
/// worse on any of them is reported.
///
/// ```
/// let e = weft_migrate::real_crates::Expect { builds: true, passed_after: 3, rolled_back: 0, bridges: 1 };
/// let r = weft_migrate::real_crates::Row { builds: true, passed_after: 2, bridges: 1, ..Default::default() };
/// assert_eq!(e.worse(&r), ["tests passed after: 2, expected 3"]);
/// ```
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Expect {
    /// The output builds.
    pub builds: bool,
    /// Tests that pass after.
    pub passed_after: usize,
    /// Items rolled back.
    pub rolled_back: usize,
    /// Bridged calls left.
    pub bridges: usize,
}

impl Expect {
    /// What `row` does worse than expected.
    ///
    /// ```
    /// let e = weft_migrate::real_crates::Expect::default();
    /// assert!(e.worse(&weft_migrate::real_crates::Row::default()).is_empty());
    /// ```
    pub fn worse(&self, row: &Row) -> Vec<String> {
        let mut out = Vec::new();
        if self.builds && !row.builds {
            out.push("does not build after, expected to".to_string());
        }
        if row.passed_after < self.passed_after {
            out.push(format!(
                "tests passed after: {}, expected {}",
                row.passed_after, self.passed_after
            ));
        }
        if row.rolled_back > self.rolled_back {
            out.push(format!(
                "items rolled back: {}, expected {}",
                row.rolled_back, self.rolled_back
            ));
        }
        if row.bridges > self.bridges {
            out.push(format!(
                "bridges left: {}, expected {}",
                row.bridges, self.bridges
            ));
        }
        out
    }
}

/// The list (`crates.toml`).
///
/// ```
/// let l: weft_migrate::real_crates::List = toml_edit::de::from_str("").unwrap();
/// assert!(l.krate.is_empty());
/// ```
#[derive(Clone, Debug, Default, Deserialize)]
pub struct List {
    /// The crates.
    #[serde(rename = "crate", default)]
    pub krate: Vec<Entry>,
}

/// The figures of one crate.
///
/// ```
/// let r = weft_migrate::real_crates::Row::default();
/// assert!(!r.builds);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Row {
    /// `name version`.
    pub krate: String,
    /// Lines of Rust scanned.
    pub lines: usize,
    /// The input built (else nothing is guaranteed).
    pub built_before: bool,
    /// The output builds.
    pub builds: bool,
    /// Tests passed before.
    pub passed_before: usize,
    /// Tests passed after.
    pub passed_after: usize,
    /// Tests that passed before and fail after.
    pub regressed: Vec<String>,
    /// Items rolled back.
    pub rolled_back: usize,
    /// Repairs made.
    pub repairs: usize,
    /// Bridged calls left.
    pub bridges: usize,
    /// Lines per second of the syntactic pass, one thread (median of
    /// [`TIMING_RUNS`]).
    pub lines_per_second: f64,
    /// Seconds of the syntactic pass, one thread (median of
    /// [`TIMING_RUNS`]).
    pub rewrite_seconds: f64,
    /// The machine's load average (one minute) when the pass was timed
    /// (`None` where the system does not tell).
    pub load: Option<f64>,
    /// Seconds the check loop took (tests included).
    pub check_seconds: f64,
    /// What went wrong, if anything.
    pub note: String,
}

/// Fetches the crates of `list` with cargo (a throwaway project under
/// `work` that depends on each at its exact version) and copies each
/// source into `work/crates/<name>`, as its own workspace.
pub fn fetch(list: &List, work: &Path) -> Result<Vec<PathBuf>, String> {
    let proj = work.join("fetch");
    std::fs::create_dir_all(proj.join("src")).map_err(|e| e.to_string())?;
    std::fs::write(proj.join("src/lib.rs"), "").map_err(|e| e.to_string())?;
    let mut manifest = String::from(
        "[package]\nname = \"weft-corpus-fetch\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n[workspace]\n\n[dependencies]\n",
    );
    for (i, c) in list.krate.iter().enumerate() {
        // One alias per entry, so two versions of one crate can coexist.
        manifest.push_str(&format!(
            "c{i} = {{ package = \"{}\", version = \"={}\", default-features = false }}\n",
            c.name, c.version
        ));
    }
    std::fs::write(proj.join("Cargo.toml"), manifest).map_err(|e| e.to_string())?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let st = Command::new(&cargo)
        .current_dir(&proj)
        .arg("fetch")
        .status()
        .map_err(|e| e.to_string())?;
    if !st.success() {
        return Err("cargo fetch failed".into());
    }
    let home = std::env::var_os("CARGO_HOME").map_or_else(
        || PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cargo"),
        PathBuf::from,
    );
    let mut out = Vec::new();
    for c in &list.krate {
        let dir_name = format!("{}-{}", c.name, c.version);
        let src = std::fs::read_dir(home.join("registry/src"))
            .map_err(|e| e.to_string())?
            .flatten()
            .map(|e| e.path().join(&dir_name))
            .find(|p| p.is_dir())
            .ok_or_else(|| {
                format!("{dir_name}: not in the registry's sources after cargo fetch")
            })?;
        let dest = work.join("crates").join(&dir_name);
        if dest.exists() {
            std::fs::remove_dir_all(&dest).map_err(|e| e.to_string())?;
        }
        copy_dir(&src, &dest).map_err(|e| format!("{dir_name}: {e}"))?;
        let m = dest.join("Cargo.toml");
        let text = std::fs::read_to_string(&m).map_err(|e| e.to_string())?;
        if !text.contains("[workspace]") {
            std::fs::write(&m, format!("{text}\n[workspace]\n")).map_err(|e| e.to_string())?;
        }
        out.push(dest);
    }
    Ok(out)
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let dest = to.join(e.file_name());
        let ft = e.file_type()?;
        if ft.is_dir() {
            copy_dir(&e.path(), &dest)?;
        } else if ft.is_file() {
            std::fs::copy(e.path(), &dest)?;
            // Registry sources are read-only; the copy is ours to edit.
            let mut p = std::fs::metadata(&dest)?.permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            p.set_readonly(false);
            std::fs::set_permissions(&dest, p)?;
        }
    }
    Ok(())
}

/// Migrates the crate at `dir` (depending on weft at `weft`/`compat`),
/// building in `target`, with its tests run before and after.
pub fn run_one(dir: &Path, weft: &Path, compat: &Path, target: &Path) -> Row {
    let mut row = Row {
        krate: dir
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default(),
        ..Row::default()
    };
    let mut opts = RunOptions::new(dir);
    opts.allow_dirty = true;
    opts.table.dependencies.weft_path = Some(weft.display().to_string());
    opts.table.dependencies.compat_path = Some(compat.display().to_string());
    // The syntactic pass alone, one thread, nothing written: its speed.
    let timing = RunOptions {
        mode: Mode::Check,
        jobs: 1,
        ..opts.clone()
    };
    // The median of several runs: the machine is shared.
    row.load = load_average();
    let mut secs = Vec::new();
    for _ in 0..TIMING_RUNS {
        match crate::run(&timing) {
            Ok(out) => {
                row.lines = out.report.summary.lines;
                secs.push(out.report.rewrite_seconds.max(1e-9));
            }
            Err(e) => {
                row.note = e.to_string();
                return row;
            }
        }
    }
    secs.sort_by(f64::total_cmp);
    row.rewrite_seconds = secs[secs.len() / 2];
    row.lines_per_second = row.lines as f64 / row.rewrite_seconds;
    opts.check = Some(CheckOptions {
        target_dir: Some(target.to_path_buf()),
        verify_tests: true,
        ..CheckOptions::default()
    });
    let out = match crate::run(&opts) {
        Ok(o) => o,
        Err(e) => {
            row.note = e.to_string();
            return row;
        }
    };
    row.bridges = out.report.summary.bridged;
    if let Some(c) = &out.report.check {
        row.built_before = c.input_built;
        row.builds = c.built;
        row.rolled_back = c.rolled_back.len();
        row.repairs = c.repairs.len();
        row.check_seconds = c.seconds;
        if let Some(t) = &c.tests {
            row.passed_before = t.passed_before;
            row.passed_after = t.passed_after;
            row.regressed = t.regressed.clone();
        }
        if let Some(w) = &c.warning {
            row.note = first_line(w);
        }
        if let Some(f) = &c.failure {
            row.note = f
                .lines()
                .find(|l| l.starts_with("error"))
                .unwrap_or("does not build")
                .to_string();
        }
    }
    row
}

/// How many times each crate's syntactic pass is timed (the median is
/// kept).
///
/// ```
/// assert!(weft_migrate::real_crates::TIMING_RUNS >= 5);
/// ```
pub const TIMING_RUNS: usize = 5;

/// The one-minute load average, from `/proc/loadavg`.
fn load_average() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// The syntactic pass over all `rows`: lines, seconds (the sum of each
/// crate's median), lines per second, and the load averages seen.
///
/// ```
/// use weft_migrate::real_crates::{speed_summary, Row};
/// let rows = [Row { lines: 1000, rewrite_seconds: 0.01, load: Some(2.0), ..Default::default() }];
/// assert!(speed_summary(&rows).contains("100000 lines/s"));
/// ```
pub fn speed_summary(rows: &[Row]) -> String {
    let lines: usize = rows.iter().map(|r| r.lines).sum();
    let secs: f64 = rows.iter().map(|r| r.rewrite_seconds).sum();
    let loads: Vec<f64> = rows.iter().filter_map(|r| r.load).collect();
    let load = match (
        loads.iter().copied().reduce(f64::min),
        loads.iter().copied().reduce(f64::max),
    ) {
        (Some(lo), Some(hi)) => format!("load average {lo:.1} to {hi:.1}"),
        _ => "load average unknown".to_string(),
    };
    let per_second = if secs > 0.0 { lines as f64 / secs } else { 0.0 };
    format!(
        "syntactic pass (-j1, median of {TIMING_RUNS} runs per crate): {lines} lines in \
         {secs:.3}s, {per_second:.0} lines/s; {load}"
    )
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").chars().take(160).collect()
}

/// The table, as markdown.
///
/// ```
/// let t = weft_migrate::real_crates::table(&[weft_migrate::real_crates::Row { krate: "a-1.0.0".into(), builds: true, ..Default::default() }]);
/// assert!(t.contains("| a-1.0.0 |"));
/// ```
pub fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| crate | lines | built before | builds after | tests passed before → after | rolled back | repairs | bridges left | lines/s (-j1) | check loop (s) |\n|---|---:|---|---|---|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} → {} | {} | {} | {} | {:.0} | {:.0} |\n",
            r.krate,
            r.lines,
            yes(r.built_before),
            yes(r.builds),
            r.passed_before,
            if r.builds {
                r.passed_after.to_string()
            } else {
                "(restored)".to_string()
            },
            r.rolled_back,
            r.repairs,
            r.bridges,
            r.lines_per_second,
            r.check_seconds
        ));
    }
    out
}

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}
