//! Robustness over real code: rewrite every `.rs` file of a tree (such as
//! the local cargo registry's sources) in memory and check that the tool
//! never panics, that every output parses, and that a second pass over the
//! output changes nothing. Nothing is written.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::mapping::Table;
use crate::rewrite::{self, Analysis, Options, Selection};

/// What went wrong with one file.
///
/// ```
/// let f = weft_migrate::corpus::Failure { path: "a.rs".into(), what: "panic".into() };
/// assert_eq!(f.what, "panic");
/// ```
#[derive(Clone, Debug)]
pub struct Failure {
    /// The file.
    pub path: PathBuf,
    /// What happened.
    pub what: String,
}

/// Figures of a corpus run.
///
/// ```
/// let s = weft_migrate::corpus::CorpusStats::default();
/// assert!(s.failures.is_empty());
/// ```
#[derive(Clone, Debug, Default)]
pub struct CorpusStats {
    /// Files rewritten (inputs that parse).
    pub files: usize,
    /// Their lines.
    pub lines: usize,
    /// Files skipped: not UTF-8, or not parseable Rust to begin with.
    pub skipped: usize,
    /// Files the rewrite changed.
    pub changed: usize,
    /// Panics, outputs that do not parse, second passes that change more.
    pub failures: Vec<Failure>,
    /// Wall time of the rewriting (reading excluded).
    pub elapsed: Duration,
}

impl CorpusStats {
    /// Lines per second of wall time.
    ///
    /// ```
    /// let s = weft_migrate::corpus::CorpusStats::default();
    /// assert_eq!(s.lines_per_second(), 0.0);
    /// ```
    pub fn lines_per_second(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs == 0.0 {
            0.0
        } else {
            self.lines as f64 / secs
        }
    }
}

/// Every `.rs` file under `dir` (symlinks not followed), sorted.
///
/// ```
/// let files = weft_migrate::corpus::rust_files(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src").as_path());
/// assert!(files.iter().any(|p| p.ends_with("lib.rs")));
/// ```
pub fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let Ok(ft) = e.file_type() else { continue };
            let p = e.path();
            if ft.is_dir() {
                stack.push(p);
            } else if ft.is_file() && p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

enum One {
    Skipped,
    Done { lines: usize, changed: bool },
    Failed(String),
}

fn rewrite_once(src: &str, table: &Table) -> Result<Option<rewrite::FileRewrite>, String> {
    let sel = Selection::all();
    super::with_ast_opt(src, |ast| {
        let mut an = Analysis::default();
        an.add_file("corpus.rs", ast, &sel);
        rewrite::rewrite_file("corpus.rs", src, ast, &an, table, &sel, &Options::default())
            .map_err(|e| e.to_string())
    })
}

fn one(path: &Path, table: &Table) -> One {
    let Ok(bytes) = std::fs::read(path) else {
        return One::Skipped;
    };
    let Ok(src) = String::from_utf8(bytes) else {
        return One::Skipped;
    };
    let first = match rewrite_once(&src, table) {
        Ok(Some(r)) => r,
        Ok(None) => return One::Skipped,
        Err(e) => return One::Failed(e),
    };
    let lines = src.lines().count();
    if first.output == src {
        return One::Done {
            lines,
            changed: false,
        };
    }
    match rewrite_once(&first.output, table) {
        Ok(Some(second)) if second.output == first.output => One::Done {
            lines,
            changed: true,
        },
        Ok(Some(second)) => {
            let diff = similar::TextDiff::from_lines(&first.output, &second.output)
                .unified_diff()
                .context_radius(1)
                .to_string();
            One::Failed(format!("second pass changes the output:\n{diff}"))
        }
        Ok(None) => One::Failed("the output does not parse".to_string()),
        Err(e) => One::Failed(format!("second pass: {e}")),
    }
}

/// Runs the check over `files` on `jobs` threads (0: one per core).
///
/// ```
/// let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
/// let s = weft_migrate::corpus::check(&weft_migrate::corpus::rust_files(&dir), 1);
/// assert!(s.failures.is_empty());
/// assert!(s.files > 0);
/// ```
pub fn check(files: &[PathBuf], jobs: usize) -> CorpusStats {
    let table = Table::builtin();
    let start = Instant::now();
    let results = super::par_map(files, jobs, |p| one(p, &table));
    let mut s = CorpusStats {
        elapsed: start.elapsed(),
        ..CorpusStats::default()
    };
    for (p, r) in files.iter().zip(results) {
        match r {
            One::Skipped => s.skipped += 1,
            One::Done { lines, changed } => {
                s.files += 1;
                s.lines += lines;
                s.changed += usize::from(changed);
            }
            One::Failed(what) => {
                s.files += 1;
                s.failures.push(Failure {
                    path: p.clone(),
                    what,
                })
            }
        }
    }
    s
}
