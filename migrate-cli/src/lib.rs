//! weft-migrate: rewrites a tokio crate into a weft crate.
//!
//! The engine parses each file with syn, decides on the syntax tree, and
//! edits the original text by byte range ([`edit`]), so comments and
//! formatting outside an edit survive. What it cannot convert is bridged
//! through `weft-compat` so the crate keeps building, and listed in the
//! [`report`]. `Cargo.toml` is edited with toml_edit ([`manifest`]).
//!
//! ```
//! let dir = std::env::temp_dir().join(format!("wm-lib-doc-{}", std::process::id()));
//! std::fs::create_dir_all(dir.join("src")).unwrap();
//! std::fs::write(dir.join("src/lib.rs"), "pub async fn f() { tokio::task::yield_now().await }\n").unwrap();
//! let opts = weft_migrate::RunOptions {
//!     mode: weft_migrate::Mode::Diff,
//!     ..weft_migrate::RunOptions::new(&dir)
//! };
//! let out = weft_migrate::run(&opts).unwrap();
//! assert!(out.diff.contains("+pub fn f() { weft::fiber::yield_now() }"));
//! assert_eq!(out.report.summary.changed, 1);
//! ```

#![warn(missing_docs)]

pub mod check;
pub mod cli;
pub mod corpus;
pub mod edit;
pub mod format;
pub mod git;
pub mod manifest;
pub mod mapping;
pub mod real_crates;
pub mod report;
pub mod rewrite;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use mapping::Table;
use report::{FileReport, Outcome, Report};
use rewrite::{Analysis, FileRewrite, Options, Selection};

/// What the run does with its results.
///
/// ```
/// let o = weft_migrate::RunOptions { mode: weft_migrate::Mode::Check, ..weft_migrate::RunOptions::new(".") };
/// assert_eq!(o.mode, weft_migrate::Mode::Check);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Rewrite files in place.
    Write,
    /// Change nothing; the exit code says whether something would change.
    Check,
    /// Change nothing; produce a unified diff.
    Diff,
}

/// Options of a run.
///
/// ```
/// let o = weft_migrate::RunOptions::new(".");
/// assert_eq!(o.mode, weft_migrate::Mode::Write);
/// ```
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// The crate's directory (holds Cargo.toml).
    pub root: PathBuf,
    /// Files or directories to rewrite; empty: src, tests, examples and
    /// benches of `root`.
    pub paths: Vec<PathBuf>,
    /// Write, check or diff.
    pub mode: Mode,
    /// Rewrite even if git reports uncommitted changes.
    pub allow_dirty: bool,
    /// `--only`: files or function names to convert (all when empty).
    pub only: Vec<String>,
    /// The mapping table.
    pub table: Table,
    /// Edit `root/Cargo.toml`.
    pub manifest: bool,
    /// Worker threads (0: one per core).
    pub jobs: usize,
    /// Check the result with cargo and repair or roll back what does not
    /// build (under [`Mode::Write`]); `None`: syntactic only.
    pub check: Option<check::CheckOptions>,
}

impl RunOptions {
    /// Defaults for the crate at `root`.
    ///
    /// ```
    /// assert!(weft_migrate::RunOptions::new("x").paths.is_empty());
    /// ```
    pub fn new(root: impl Into<PathBuf>) -> RunOptions {
        RunOptions {
            root: root.into(),
            paths: Vec::new(),
            mode: Mode::Write,
            allow_dirty: false,
            only: Vec::new(),
            table: Table::builtin(),
            manifest: true,
            jobs: 0,
            check: None,
        }
    }
}

/// An error that stops the run before any file is touched.
///
/// ```
/// let e = weft_migrate::run(&weft_migrate::RunOptions { paths: vec!["/no/such/dir".into()], ..weft_migrate::RunOptions::new("/") }).unwrap_err();
/// assert!(matches!(e, weft_migrate::RunError::Missing(_)));
/// ```
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Git reports uncommitted changes.
    #[error(
        "the working tree has uncommitted changes ({}); commit or stash them, or pass --allow-dirty",
        .0.join(", ")
    )]
    Dirty(Vec<String>),
    /// A path given does not exist.
    #[error("{0}: no such file or directory")]
    Missing(String),
    /// `--only` entries that name no file and no function of the run.
    #[error(
        "--only {}: matches no file and no function under the paths of this run",
        .0.join(", --only ")
    )]
    OnlyMatchesNothing(Vec<String>),
}

/// What a run produced.
///
/// ```
/// let o = weft_migrate::RunOutput::default();
/// assert!(o.diff.is_empty());
/// ```
#[derive(Clone, Debug, Default)]
pub struct RunOutput {
    /// The report.
    pub report: Report,
    /// The unified diff (under [`Mode::Diff`]; empty otherwise).
    pub diff: String,
}

pub(crate) struct Input {
    path: PathBuf,
    name: String,
    text: Result<String, String>,
    stamp: Option<(u64, Option<std::time::SystemTime>)>,
}

/// Runs `f` over `items` on `jobs` threads, keeping the order.
fn par_map<T: Sync, R: Send>(items: &[T], jobs: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let jobs = if jobs == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        jobs
    }
    .min(items.len().max(1));
    let next = AtomicUsize::new(0);
    let mut out: Vec<(usize, R)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..jobs)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= items.len() {
                            break;
                        }
                        mine.push((i, f(&items[i])));
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, r)| r).collect()
}

/// Collects `.rs` files under `dir`, skipping `target`, hidden
/// directories and symlinks (never leaving the tree).
fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().to_string();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_symlink() {
            continue;
        }
        if ft.is_dir() {
            if name == "target" || name.starts_with('.') {
                continue;
            }
            walk(&e.path(), out);
        } else if ft.is_file() && name.ends_with(".rs") {
            out.push(e.path());
        }
    }
}

fn default_dirs(root: &Path) -> Vec<PathBuf> {
    ["src", "tests", "examples", "benches"]
        .iter()
        .map(|d| root.join(d))
        .filter(|p| p.exists())
        .collect()
}

pub(crate) fn display(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).display().to_string()
}

fn read_input(root: &Path, path: &Path) -> Input {
    let name = display(root, path);
    let stamp = std::fs::metadata(path)
        .ok()
        .map(|m| (m.len(), m.modified().ok()));
    let text = match std::fs::read(path) {
        Err(e) => Err(format!("cannot read: {e}")),
        Ok(bytes) if bytes.contains(&0) => Err("binary file (contains NUL bytes)".to_string()),
        Ok(bytes) => String::from_utf8(bytes).map_err(|e| {
            format!(
                "not UTF-8 (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            )
        }),
    };
    Input {
        path: path.to_path_buf(),
        name,
        text,
        stamp,
    }
}

/// Parses a file and runs `f` on it, then frees the thread's span table
/// (proc-macro2 keeps every parsed text otherwise). A panic in `f` is
/// caught and reported as an internal error.
fn with_ast<R>(src: &str, f: impl FnOnce(&syn::File) -> Result<R, String>) -> Result<R, String> {
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let ast = rewrite::parse(src).map_err(|e| e.to_string())?;
        let r = f(&ast);
        drop(ast);
        r
    }));
    proc_macro2::extra::invalidate_current_thread_spans();
    match out {
        Ok(r) => r,
        Err(p) => {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".to_string());
            Err(format!("internal error (panic): {msg}"))
        }
    }
}

/// Like [`with_ast`], but an input that does not parse gives `Ok(None)`
/// (for corpus runs, where such inputs are skipped, not failures).
fn with_ast_opt<R>(
    src: &str,
    f: impl FnOnce(&syn::File) -> Result<R, String>,
) -> Result<Option<R>, String> {
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let ast = match rewrite::parse(src) {
            Ok(a) => a,
            Err(_) => return Ok(None),
        };
        let r = f(&ast);
        drop(ast);
        r.map(Some)
    }));
    proc_macro2::extra::invalidate_current_thread_spans();
    out.unwrap_or_else(|p| {
        let msg = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".to_string());
        Err(format!("internal error (panic): {msg}"))
    })
}

/// Runs the migration.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("wm-run-doc-{}", std::process::id()));
/// std::fs::create_dir_all(dir.join("src")).unwrap();
/// std::fs::write(dir.join("src/main.rs"), "fn main() {}\n").unwrap();
/// let out = weft_migrate::run(&weft_migrate::RunOptions { mode: weft_migrate::Mode::Check, ..weft_migrate::RunOptions::new(&dir) }).unwrap();
/// assert_eq!(out.report.exit_code(true), 0);
/// ```
pub fn run(opts: &RunOptions) -> Result<RunOutput, RunError> {
    let inputs = gather(opts)?;
    if opts.mode == Mode::Write {
        if let Some(check) = &opts.check {
            return check::run_checked(opts, check, &inputs);
        }
    }
    let sel = Selection::new(opts.only.clone());
    let started = std::time::Instant::now();
    let results = rewrite_all(opts, &inputs, &sel);
    let rewrite_seconds = started.elapsed().as_secs_f64();
    let mut out = emit(opts, &inputs, results, opts.mode, None).out;
    out.report.rewrite_seconds = rewrite_seconds;
    Ok(out)
}

/// Finds the files of a run and reads them (refusing a dirty tree).
fn gather(opts: &RunOptions) -> Result<Vec<Input>, RunError> {
    let root = &opts.root;
    let roots: Vec<PathBuf> = if opts.paths.is_empty() {
        default_dirs(root)
    } else {
        opts.paths
            .iter()
            .map(|p| {
                if p.is_absolute() {
                    p.clone()
                } else {
                    root.join(p)
                }
            })
            .collect()
    };
    let mut files = Vec::new();
    for r in &roots {
        match std::fs::symlink_metadata(r) {
            Err(_) => return Err(RunError::Missing(r.display().to_string())),
            Ok(m) if m.is_dir() => {
                let mut found = Vec::new();
                walk(r, &mut found);
                // Inside a git work tree, what .gitignore excludes is skipped.
                if let Some(keep) = git::not_ignored(r) {
                    let canon =
                        |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
                    let keep: std::collections::HashSet<PathBuf> =
                        keep.iter().map(|p| canon(p)).collect();
                    found.retain(|p| keep.contains(&canon(p)));
                }
                files.extend(found);
            }
            Ok(_) => files.push(r.clone()),
        }
    }
    if opts.mode == Mode::Write && !opts.allow_dirty {
        let rels: Vec<String> = roots.iter().map(|p| display(root, p)).collect();
        let mut dirty = git::dirty_files(root, &rels);
        if opts.manifest && root.join("Cargo.toml").exists() {
            dirty.extend(git::dirty_files(root, &["Cargo.toml".to_string()]));
        }
        if !dirty.is_empty() {
            return Err(RunError::Dirty(dirty));
        }
    }
    let inputs = par_map(&files, opts.jobs, |p| read_input(root, p));
    if !opts.only.is_empty() {
        let sel = Selection::new(opts.only.clone());
        let unmatched = unmatched_only(&inputs, &sel, opts.jobs);
        if !unmatched.is_empty() {
            return Err(RunError::OnlyMatchesNothing(unmatched));
        }
    }
    Ok(inputs)
}

/// The `--only` entries that name no file of the run and no function
/// declared in its files.
fn unmatched_only(inputs: &[Input], sel: &Selection, jobs: usize) -> Vec<String> {
    let names: Vec<Vec<String>> = par_map(inputs, jobs, |inp| match &inp.text {
        Ok(src) => with_ast(src, |ast| Ok(rewrite::fn_names(ast))).unwrap_or_default(),
        Err(_) => Vec::new(),
    });
    let files: Vec<&str> = inputs.iter().map(|i| i.name.as_str()).collect();
    sel.unmatched(&files, &names.concat())
}

/// The syntactic pass over every input under selection `sel`.
pub(crate) fn rewrite_all(
    opts: &RunOptions,
    inputs: &[Input],
    sel: &Selection,
) -> Vec<Result<FileRewrite, String>> {
    let jobs = if opts.jobs == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        opts.jobs
    }
    .min(inputs.len().max(1));
    let whole_captures = manifest::edition_before_2021(&opts.root.join("Cargo.toml"));
    let progress = Progress::new(inputs.len());
    let next = AtomicUsize::new(0);
    let partials: std::sync::Mutex<Vec<Analysis>> = std::sync::Mutex::new(Vec::new());
    let merged: std::sync::OnceLock<Analysis> = std::sync::OnceLock::new();
    let bridged = AtomicUsize::new(0);
    let barrier = std::sync::Barrier::new(jobs);
    // Each worker parses the files it claims once: the analysis (pass 0)
    // and the rewrite (pass 1) use the same syntax tree, which must stay
    // on the thread that parsed it (proc-macro2 keeps span tables per
    // thread). Between the passes the workers wait for the merged
    // analysis. Trees beyond a budget of source bytes are parsed again in
    // pass 1 rather than kept (a syntax tree is tens of times its text).
    let worker = || -> Vec<(usize, Result<FileRewrite, String>)> {
        const KEEP_BYTES: usize = 4 << 20;
        let mut kept_bytes = 0;
        let mut mine: Vec<(usize, Option<syn::File>)> = Vec::new();
        let mut an = Analysis::default();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= inputs.len() {
                break;
            }
            let inp = &inputs[i];
            let Ok(src) = &inp.text else {
                mine.push((i, None));
                continue;
            };
            let tree = guarded(|| rewrite::parse(src).map_err(|e| e.to_string())).ok();
            if let Some(ast) = &tree {
                // A file whose analysis panics is left out of it, as before.
                if let Ok(a) = guarded(|| {
                    let mut a = Analysis::default();
                    a.add_file(&inp.name, ast, sel);
                    Ok(a)
                }) {
                    an.merge(&a);
                }
            }
            let keep = tree.is_some() && kept_bytes + src.len() <= KEEP_BYTES;
            if keep {
                kept_bytes += src.len();
            }
            mine.push((i, tree.filter(|_| keep)));
        }
        partials.lock().unwrap_or_else(|p| p.into_inner()).push(an);
        if barrier.wait().is_leader() {
            let mut all = Analysis::default();
            for a in partials.lock().unwrap_or_else(|p| p.into_inner()).iter() {
                all.merge(a);
            }
            all.settle(sel);
            let _ = merged.set(all);
        }
        barrier.wait();
        let an = merged.get().expect("the leader merged the analyses");
        // Pass 1: rewrite; again with async entry points if bridges remain.
        let rewrite = |i: usize, tree: &Option<syn::File>, keep_async_entry: bool| {
            let inp = &inputs[i];
            let src = match &inp.text {
                Ok(src) => src,
                Err(e) => return Err(e.clone()),
            };
            let opts1 = Options {
                keep_async_entry,
                whole_captures,
            };
            let f = |ast: &syn::File| {
                rewrite::rewrite_file(&inp.name, src, ast, an, &opts.table, sel, &opts1)
                    .map(|mut rw| {
                        // Generated lines (doc examples, expansions) end
                        // as the file's other lines do.
                        rw.output = edit::keep_crlf(src, std::mem::take(&mut rw.output));
                        rw
                    })
                    .map_err(|e| e.to_string())
            };
            match tree {
                Some(ast) => guarded(|| f(ast)),
                None => guarded(|| f(&rewrite::parse(src).map_err(|e| e.to_string())?)),
            }
        };
        let mut results = Vec::with_capacity(mine.len());
        for (i, tree) in &mine {
            progress.tick();
            let r = rewrite(*i, tree, false);
            if let Ok(r) = &r {
                bridged.fetch_add(r.bridged, Ordering::Relaxed);
            }
            results.push((*i, r));
        }
        barrier.wait();
        if bridged.load(Ordering::Relaxed) > 0 {
            for ((i, tree), slot) in mine.iter().zip(results.iter_mut()) {
                if let Ok(src) = &inputs[*i].text {
                    if src.contains("tokio::main") || src.contains("tokio::test") {
                        slot.1 = rewrite(*i, tree, true);
                    }
                }
            }
        }
        drop(mine);
        proc_macro2::extra::invalidate_current_thread_spans();
        results
    };
    let mut out: Vec<(usize, Result<FileRewrite, String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..jobs).map(|_| s.spawn(worker)).collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    progress.done();
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, r)| r).collect()
}

/// Runs `f`, turning a panic into an internal error (as [`with_ast`]).
fn guarded<R>(f: impl FnOnce() -> Result<R, String>) -> Result<R, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|p| {
        let msg = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".to_string());
        Err(format!("internal error (panic): {msg}"))
    })
}

/// What [`emit`] produced: the report (and diff), each file's final text
/// and the manifest's.
pub(crate) struct Emitted {
    pub(crate) out: RunOutput,
    /// Every input that did not fail: path -> final text.
    pub(crate) finals: BTreeMap<PathBuf, String>,
    /// The manifest's new text, when it changes.
    pub(crate) manifest: Option<String>,
}

/// Builds the report of a syntactic pass and, under [`Mode::Write`],
/// writes the files (and the manifest, edited from `manifest_text` or the
/// file on disk).
pub(crate) fn emit(
    opts: &RunOptions,
    inputs: &[Input],
    results: Vec<Result<FileRewrite, String>>,
    mode: Mode,
    manifest_text: Option<&str>,
) -> Emitted {
    let mut report = Report::default();
    let mut diff = String::new();
    let mut finals: BTreeMap<PathBuf, String> = BTreeMap::new();
    let edition = format::edition(&opts.root.join("Cargo.toml"));
    // Generated code is formatted in files that were rustfmt-clean (not
    // under --check, which only asks whether anything would change).
    let results: Vec<Result<FileRewrite, String>> = if opts.mode == Mode::Check {
        results
    } else {
        let pairs: Vec<(&Input, Result<FileRewrite, String>)> =
            inputs.iter().zip(results).collect();
        par_map(&pairs, opts.jobs, |(inp, res)| {
            let mut res = res.clone();
            if let (Ok(rw), Ok(src)) = (&mut res, &inp.text) {
                if rw.output != *src {
                    rw.output = format::format_if_clean(src, &rw.output, &edition, &opts.root);
                }
            }
            res
        })
    };
    for (inp, res) in inputs.iter().zip(results) {
        let lines = inp.text.as_ref().map_or(0, |t| t.lines().count());
        let mut fr = FileReport {
            path: inp.name.clone(),
            outcome: Outcome::Unchanged,
            error: None,
            notes: Vec::new(),
            bridged: 0,
            lines,
        };
        match (res, &inp.text) {
            (Err(e), _) => {
                fr.outcome = Outcome::Failed;
                fr.error = Some(e);
            }
            (Ok(_), Err(e)) => {
                fr.outcome = Outcome::Failed;
                fr.error = Some(e.clone());
            }
            (Ok(rw), Ok(src)) => {
                for (k, v) in &rw.conversions {
                    *report.conversions.entry(k.clone()).or_insert(0) += v;
                }
                fr.notes = rw.notes;
                fr.bridged = rw.bridged;
                if rw.output != *src {
                    fr.outcome = Outcome::Changed;
                    match mode {
                        Mode::Diff => diff.push_str(&unified(&inp.name, src, &rw.output)),
                        Mode::Check => {}
                        Mode::Write => {
                            if let Err(e) = write_atomic(inp, src, &rw.output) {
                                fr.outcome = Outcome::Failed;
                                fr.error = Some(e);
                            }
                        }
                    }
                }
                if fr.outcome != Outcome::Failed {
                    finals.insert(inp.path.clone(), rw.output);
                }
            }
        }
        if let Some(t) = inp
            .text
            .as_ref()
            .ok()
            .filter(|_| fr.outcome == Outcome::Failed)
        {
            finals.insert(inp.path.clone(), t.clone());
        }
        report.files.push(fr);
    }
    let manifest = if opts.manifest {
        manifest_step(opts, &finals, &mut report, &mut diff, mode, manifest_text)
    } else {
        None
    };
    report.summarize();
    Emitted {
        out: RunOutput { report, diff },
        finals,
        manifest,
    }
}

/// A progress line on stderr when it is a terminal and the tree is large.
struct Progress {
    total: usize,
    seen: AtomicUsize,
    on: bool,
}

impl Progress {
    fn new(total: usize) -> Progress {
        use std::io::IsTerminal;
        Progress {
            total,
            seen: AtomicUsize::new(0),
            on: total >= 200 && std::io::stderr().is_terminal(),
        }
    }

    fn tick(&self) {
        let n = self.seen.fetch_add(1, Ordering::Relaxed) + 1;
        if self.on && (n % 50 == 0 || n == self.total) {
            let width = 30;
            let filled = (n.min(self.total) * width) / self.total.max(1);
            eprint!(
                "\r[{}{}] {}/{} files",
                "#".repeat(filled),
                " ".repeat(width - filled),
                n.min(self.total),
                self.total
            );
        }
    }

    fn done(&self) {
        if self.on {
            eprintln!();
        }
    }
}

/// Edits the manifest for what the final sources need; returns its new
/// text when it changes.
pub(crate) fn manifest_step(
    opts: &RunOptions,
    finals: &BTreeMap<PathBuf, String>,
    report: &mut Report,
    diff: &mut String,
    mode: Mode,
    manifest_text: Option<&str>,
) -> Option<String> {
    let path = opts.root.join("Cargo.toml");
    let text = match manifest_text {
        Some(t) => t.to_string(),
        None => std::fs::read_to_string(&path).ok()?,
    };
    // Every source of the crate counts, not only the files of this run.
    let mut all = Vec::new();
    for d in default_dirs(&opts.root) {
        walk(&d, &mut all);
    }
    if opts.root.join("build.rs").exists() {
        all.push(opts.root.join("build.rs"));
    }
    let mut needs = manifest::Needs::default();
    for p in &all {
        match finals.get(p) {
            Some(t) => needs.add(t),
            None => {
                if let Ok(t) = std::fs::read_to_string(p) {
                    needs.add(&t);
                }
            }
        }
    }
    for t in finals.values() {
        needs.add(t);
    }
    match manifest::edit_manifest(&text, needs, &opts.table.dependencies) {
        Err(e) => {
            report.manifest_error = Some(e.to_string());
            None
        }
        Ok(new) if new != text => {
            report.manifest_changed = true;
            match mode {
                Mode::Diff => diff.push_str(&unified("Cargo.toml", &text, &new)),
                Mode::Check => {}
                Mode::Write => {
                    let inp = Input {
                        path: path.clone(),
                        name: "Cargo.toml".into(),
                        text: Ok(text.clone()),
                        stamp: std::fs::metadata(&path)
                            .ok()
                            .map(|m| (m.len(), m.modified().ok())),
                    };
                    if let Err(e) = write_atomic(&inp, &text, &new) {
                        report.manifest_error = Some(e);
                    }
                }
            }
            Some(new)
        }
        Ok(_) => None,
    }
}

fn unified(name: &str, old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{name}"), &format!("b/{name}"))
        .to_string()
}

/// Writes `new` over the file through a temporary file and a rename,
/// unless the file changed since it was read.
fn write_atomic(inp: &Input, old: &str, new: &str) -> Result<(), String> {
    let now = std::fs::metadata(&inp.path)
        .ok()
        .map(|m| (m.len(), m.modified().ok()));
    let current = std::fs::read(&inp.path).map_err(|e| format!("cannot re-read: {e}"))?;
    if now != inp.stamp || current != old.as_bytes() {
        return Err("changed during the run; left as it is now".to_string());
    }
    let dir = inp.path.parent().unwrap_or(Path::new("."));
    let file_name = inp
        .path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{file_name}.weft-migrate.{}.tmp",
        std::process::id()
    ));
    let perms = std::fs::metadata(&inp.path).map(|m| m.permissions()).ok();
    let res = (|| -> std::io::Result<()> {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(new.as_bytes())?;
        f.sync_all()?;
        if let Some(p) = perms {
            std::fs::set_permissions(&tmp, p)?;
        }
        std::fs::rename(&tmp, &inp.path)
    })();
    res.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot write: {e}")
    })
}
