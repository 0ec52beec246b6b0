//! The compiler in the loop: after the syntactic pass, the user's cargo
//! checks the crate and its diagnostics drive repairs (`repair.rs`) and,
//! where no repair helps, the rollback of an item to its original async
//! form (the `--only` machinery bridges it at its boundary). The
//! guarantee: a crate that built before builds after, or every file is
//! left byte for byte as it was.
//!
//! ```no_run
//! let mut opts = weft_migrate::RunOptions::new("my-crate");
//! opts.check = Some(weft_migrate::check::CheckOptions::default());
//! let out = weft_migrate::run(&opts).unwrap();
//! let check = out.report.check.unwrap();
//! println!("{} rolled back", check.rolled_back.len());
//! ```

mod callees;
mod cargo;
mod kept_calls;
mod repair;
mod types;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

pub use cargo::{
    parse_diagnostics, parse_doctest_failures, parse_tests, Cargo, CheckOutcome, DiagSpan,
    Diagnostic, TestOutcome,
};
pub use repair::{apply, entries_with_tokio, expr_start_before, plan, Repair, RepairKind};
pub use types::blamed_types;

use crate::report::Outcome;
use crate::rewrite::Selection;
use crate::{emit, rewrite_all, Input, Mode, RunError, RunOptions, RunOutput};

/// Settings of the check loop.
///
/// ```
/// let c = weft_migrate::check::CheckOptions::default();
/// assert!(!c.verify_tests && c.max_rounds > 0);
/// ```
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// Where cargo builds (default: `weft-migrate/` under the crate's
    /// target directory, so the user's builds are not disturbed).
    pub target_dir: Option<PathBuf>,
    /// Run cargo with `--offline`.
    pub offline: bool,
    /// Also run the tests before and after and compare.
    pub verify_tests: bool,
    /// Rounds of rollback at most.
    pub max_rounds: usize,
    /// Checks followed by repairs in each rollback round, at most (one
    /// more check then judges the round; a build that succeeds then may
    /// still get its unused futures bridged, and a last check).
    pub repair_rounds: usize,
}

impl Default for CheckOptions {
    fn default() -> CheckOptions {
        CheckOptions {
            target_dir: None,
            offline: false,
            verify_tests: false,
            max_rounds: 24,
            repair_rounds: REPAIR_ROUNDS,
        }
    }
}

/// A repair made, for the report.
///
/// ```
/// let r = weft_migrate::check::RepairNote { path: "src/a.rs".into(), line: 3, kind: "drop .await".into(), cause: "error[E0277]: `u8` is not a future".into() };
/// assert_eq!(r.line, 3);
/// ```
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RepairNote {
    /// File.
    pub path: String,
    /// 1-based line.
    pub line: usize,
    /// Kind of repair.
    pub kind: String,
    /// The compiler's message that asked for it.
    pub cause: String,
}

/// An item rolled back to its original async form.
///
/// ```
/// let r = weft_migrate::check::RolledBack { item: "fetch".into(), path: "src/a.rs".into(), line: 9, cause: "error[E0382]: use of moved value".into() };
/// assert_eq!(r.item, "fetch");
/// ```
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RolledBack {
    /// The function (every function of this name), `(file) path` for a
    /// whole file, or `(type) tokio::path` for a mapped type kept as it
    /// was (its `use` rows, fields, constructors and methods).
    pub item: String,
    /// Where the error was.
    pub path: String,
    /// 1-based line of the error.
    pub line: usize,
    /// The compiler's message that caused it.
    pub cause: String,
}

/// What the tests did before and after (`--verify-tests`).
///
/// ```
/// let t = weft_migrate::check::TestDiff::default();
/// assert!(t.regressed.is_empty());
/// ```
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct TestDiff {
    /// Tests that passed on the input.
    pub passed_before: usize,
    /// Tests that passed on the output.
    pub passed_after: usize,
    /// Tests that passed before and do not pass after.
    pub regressed: Vec<String>,
}

/// The check loop's part of the report.
///
/// ```
/// let c = weft_migrate::check::CheckReport::default();
/// assert!(!c.input_built);
/// ```
#[derive(Clone, Debug, Default, Serialize)]
pub struct CheckReport {
    /// The crate built before the rewrite (else the rewrite is syntactic
    /// only and unchecked).
    pub input_built: bool,
    /// The output builds.
    pub built: bool,
    /// `cargo check` runs.
    pub checks: usize,
    /// Seconds the loop took (checks of input and output, repairs, tests).
    pub seconds: f64,
    /// Functions converted to direct style in the final output.
    pub items_converted: usize,
    /// Repairs made.
    pub repairs: Vec<RepairNote>,
    /// Items rolled back.
    pub rolled_back: Vec<RolledBack>,
    /// Why the check could not guarantee the result (input did not build).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    /// Why the output was abandoned (every file restored): the compiler's
    /// first errors and what was tried.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// `--verify-tests`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tests: Option<TestDiff>,
}

/// Rounds of repairs at most per rollback round (a check before each and
/// one after the last).
const REPAIR_ROUNDS: usize = 5;

/// The repairs of one round: calls given back to tokio first (a mapped
/// call whose arguments or use stayed tokio's), then the other repairs of
/// the diagnostics no kept call answers. A diagnostic a kept call answers
/// gets no other repair: dropping the `.await` of `sleep(..).await` as
/// well as naming tokio's `sleep` again would leave tokio's future
/// unawaited in code that stays async.
///
/// ```
/// use std::collections::BTreeMap;
/// let table = weft_migrate::mapping::Table::builtin();
/// assert!(weft_migrate::check::plan_round(&[], &[], &BTreeMap::new(), &table).is_empty());
/// ```
pub fn plan_round(
    errors: &[Diagnostic],
    warnings: &[Diagnostic],
    texts: &BTreeMap<PathBuf, String>,
    table: &crate::mapping::Table,
) -> Vec<Repair> {
    // All the kept calls first, in the planner's own order (its call
    // repairs, then its futures wanted): the first of two overlapping
    // repairs wins, so the order is part of the result.
    let kept = kept_calls::plan(errors, texts, table);
    let rest: Vec<Diagnostic> = errors
        .iter()
        .filter(|d| kept_calls::plan(std::slice::from_ref(d), texts, table).is_empty())
        .cloned()
        .collect();
    repair::merge(
        repair::merge(Vec::new(), kept),
        plan(&rest, warnings, texts),
    )
}

/// The report's line for repair `r` of `texts` (its path relative to
/// `root`, the line it starts on, before it is applied).
fn repair_note(r: &Repair, texts: &BTreeMap<PathBuf, String>, root: &Path) -> RepairNote {
    RepairNote {
        path: crate::display(root, &r.file),
        line: texts.get(&r.file).map_or(0, |t| {
            t[..r.range.start.min(t.len())].matches('\n').count() + 1
        }),
        kind: r.kind.as_str().to_string(),
        cause: r.cause.clone(),
    }
}

/// Runs the rewrite with the compiler in the loop (under [`Mode::Write`]).
pub(crate) fn run_checked(
    opts: &RunOptions,
    check: &CheckOptions,
    inputs: &[Input],
) -> Result<RunOutput, RunError> {
    let started = Instant::now();
    let base_sel = Selection::new(opts.only.clone());
    let mut rep = CheckReport::default();
    let target = check
        .target_dir
        .clone()
        .unwrap_or_else(|| default_target_dir(&opts.root));
    let mut cargo = Cargo::new(&opts.root, target);
    cargo.offline = check.offline;

    let before = cargo
        .workspace_root()
        .and_then(|ws| cargo.check(&ws).map(|o| (ws, o)));
    let ws_root = match before {
        Ok((ws, o)) if o.success => ws,
        other => {
            let why = match other {
                Ok((_, o)) => first_errors(&o, 1),
                Err(e) => e,
            };
            rep.warning = Some(format!(
                "the crate did not build before the rewrite, so the result is not checked \
                 (rewritten from syntax alone): {why}"
            ));
            let results = rewrite_all(opts, inputs, &base_sel);
            let mut out = emit(opts, inputs, results, Mode::Write, None).out;
            rep.checks = 1;
            rep.seconds = started.elapsed().as_secs_f64();
            out.report.check = Some(rep);
            return Ok(out);
        }
    };
    rep.input_built = true;
    rep.checks = 1;
    let tests_before = check.verify_tests.then(|| cargo.test().ok()).flatten();

    let manifest_path = opts.root.join("Cargo.toml");
    let orig_manifest = std::fs::read_to_string(&manifest_path).ok();
    let lock_path = ws_root.join("Cargo.lock");
    let orig_lock = std::fs::read(&lock_path).ok();
    let originals: BTreeMap<PathBuf, String> = inputs
        .iter()
        .filter_map(|i| i.text.as_ref().ok().map(|t| (i.path.clone(), t.clone())))
        .collect();
    let async_names = async_fn_names(&originals);
    // Module name -> files of the run (`src/sync.rs`, `src/sync/mod.rs`).
    let mut module_files: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in originals.keys() {
        let stem = p.file_stem().map(|s| s.to_string_lossy().to_string());
        let module = match stem.as_deref() {
            Some("mod") => p
                .parent()
                .and_then(|d| d.file_name())
                .map(|d| d.to_string_lossy().to_string()),
            other => other.map(str::to_string),
        };
        if let Some(m) = module.filter(|m| !matches!(m.as_str(), "lib" | "main")) {
            module_files
                .entry(m)
                .or_default()
                .push(crate::display(&opts.root, p));
        }
    }
    let rel = |p: &Path| crate::display(&opts.root, p);

    let mut kept_fns: BTreeSet<String> = BTreeSet::new();
    let mut kept_files: BTreeSet<String> = BTreeSet::new();
    // tokio paths whose mapping is rolled back (types the errors blame).
    let mut kept_types: BTreeSet<String> = BTreeSet::new();
    let mut round_opts = opts.clone();
    // Doc examples given back (their doctest no longer compiled).
    let mut kept_docs: BTreeSet<(String, usize)> = BTreeSet::new();
    // Doc examples kept async first (their calls of the crate's direct
    // functions bridged); one that still fails is given back whole.
    let mut async_docs: BTreeSet<(String, usize)> = BTreeSet::new();
    // Where each doc example's entry is in the report's rolled_back.
    let mut doc_entries: BTreeMap<(String, usize), usize> = BTreeMap::new();
    let mut doc_checks = 0;
    let mut docs_pending = true;
    let mut first = true;
    let mut last: Option<CheckOutcome> = None;
    let mut tried: Vec<String> = Vec::new();
    for rollback_round in 0..=check.max_rounds {
        let sel = base_sel
            .clone()
            .without(kept_fns.iter().cloned(), kept_files.iter().cloned())
            .without_doc_examples(kept_docs.iter().cloned())
            .with_async_doc_examples(async_docs.iter().cloned());
        round_opts.table = opts.table.keeping(kept_types.iter().cloned());
        let opts = &round_opts;
        let results = rewrite_all(opts, inputs, &sel);
        let mode = if first { Mode::Write } else { Mode::Check };
        let em = emit(opts, inputs, results, mode, orig_manifest.as_deref());
        let mut texts = em.finals.clone();
        if !first {
            for (p, t) in &texts {
                put_if_changed(p, t.as_bytes());
            }
            if let Some(m) = em.manifest.as_ref().or(orig_manifest.as_ref()) {
                put_if_changed(&manifest_path, m.as_bytes());
            }
        }
        first = false;
        let mut out = em.out;
        let mut bridges_added: isize = 0;
        let mut repairs = Vec::new();
        let mut outcome = None;
        // One round more than the repair rounds: a build that succeeds at
        // the last one may still warn of a future left unused, whose
        // repair (a bridge) gets that extra round.
        for round in 0..=check.repair_rounds + 1 {
            rep.checks += 1;
            let o = match cargo.check(&ws_root) {
                Ok(o) => o,
                Err(e) => {
                    tried.push(format!("cargo check failed to run: {e}"));
                    last = None;
                    break;
                }
            };
            // The last check only judges: its errors go to the rollback
            // with spans of the text it saw.
            // An error a mapped type caused is not repaired (a repair
            // would, say, drop the `.await` on a weft call in async code):
            // the type goes back, in the rollback below.
            let type_caused = o
                .errors
                .iter()
                .any(|d| !blamed_types(d, &texts, &opts.table, false).is_empty());
            let todo = if round < check.repair_rounds && !type_caused {
                // A mapped call whose arguments stayed tokio's goes back
                // first (a suggestion on the same span would not help).
                // A function the run made direct, handed as a value where
                // a future-returning one is wanted, makes the call around
                // it "not a future" too: no `.await` to drop nor bridge to
                // unwrap there, the function goes back (the rollback).
                let handed = handed_values(&o.errors, &texts, &async_names, &kept_fns);
                let repairable: Vec<Diagnostic> = o
                    .errors
                    .iter()
                    .filter(|d| {
                        !d.message.contains("is not a future")
                            || !d.primary().is_some_and(|p| {
                                handed.iter().any(|(f, r)| {
                                    *f == p.file && callees::covers(&texts[f], p.start..p.end, r)
                                })
                            })
                    })
                    .cloned()
                    .collect();
                plan_round(&repairable, &o.warnings, &texts, &opts.table)
            } else if round == check.repair_rounds && o.success {
                plan(&[], &o.warnings, &texts)
            } else {
                Vec::new()
            };
            if o.success && todo.is_empty() {
                outcome = Some(o);
                break;
            }
            if todo.is_empty() {
                last = Some(o);
                break;
            }
            for r in &todo {
                repairs.push(repair_note(r, &texts, &opts.root));
                match r.kind {
                    RepairKind::BridgeFuture => bridges_added += 1,
                    RepairKind::UnwrapBridge => bridges_added -= 1,
                    RepairKind::KeepTokioCall if r.text.starts_with(repair::BRIDGE) => {
                        bridges_added += 1
                    }
                    _ => {}
                }
            }
            // A tokio future bridged by a repair is polled where the
            // entry's runtime must provide tokio: entries become async
            // (`#[weft::test] async fn`), as the syntactic pass makes them
            // when it leaves bridges.
            let bridged = todo.iter().any(|r| {
                r.kind == RepairKind::BridgeFuture
                    || (r.kind == RepairKind::KeepTokioCall && r.text.starts_with(repair::BRIDGE))
            });
            let mut changed = apply(&todo, &mut texts);
            if bridged {
                let entries = entries_with_tokio(&texts);
                repairs.extend(entries.iter().map(|r| repair_note(r, &texts, &opts.root)));
                changed.extend(apply(&entries, &mut texts));
            }
            changed.sort();
            changed.dedup();
            for p in changed {
                put_if_changed(&p, texts[&p].as_bytes());
            }
            // A bridge added may need weft-compat in the manifest.
            if opts.manifest {
                let mut scratch = crate::report::Report::default();
                let mut d = String::new();
                let m = crate::manifest_step(
                    opts,
                    &texts,
                    &mut scratch,
                    &mut d,
                    Mode::Check,
                    orig_manifest.as_deref(),
                );
                if let Some(m) = m.or_else(|| orig_manifest.clone()) {
                    put_if_changed(&manifest_path, m.as_bytes());
                    out.report.manifest_changed = orig_manifest.as_deref() != Some(m.as_str());
                }
            }
        }
        if outcome.is_some()
            && docs_pending
            && rollback_round < check.max_rounds
            && doc_examples_changed(&originals, &texts)
        {
            // `cargo check` does not build doctests: compile them once,
            // and give back the examples that no longer compile.
            doc_checks += 1;
            docs_pending = false;
            rep.checks += 1;
            let mut failed = cargo.doctest_failures().unwrap_or_default();
            // rustdoc runs them in parallel: report in source order.
            failed.sort();
            let mut new_docs = Vec::new();
            let mut given_back = Vec::new();
            for (file, line, error) in failed {
                let path = [ws_root.join(&file), opts.root.join(&file)]
                    .into_iter()
                    .find(|p| texts.contains_key(p));
                let Some(path) = path else { continue };
                let lines = crate::rewrite::doc_example_lines(&texts[&path]);
                let Some(n) = lines.iter().position(|l| *l == line) else {
                    continue;
                };
                let key = (rel(&path), n);
                if async_docs.contains(&key) {
                    // Kept async and still failing: given back whole.
                    if kept_docs.insert(key.clone()) {
                        given_back.push(format!("{}:{line}", key.0));
                        if let Some(r) = doc_entries
                            .get(&key)
                            .and_then(|&i| rep.rolled_back.get_mut(i))
                        {
                            r.item = format!("(doc example) {}:{}", r.path, r.line);
                        }
                    }
                } else if !kept_docs.contains(&key) && async_docs.insert(key.clone()) {
                    new_docs.push(format!("{}:{line}", key.0));
                    doc_entries.insert(key.clone(), rep.rolled_back.len());
                    rep.rolled_back.push(RolledBack {
                        item: format!("(doc example, async) {}:{line}", key.0),
                        path: key.0,
                        line,
                        cause: error,
                    });
                }
            }
            if !new_docs.is_empty() {
                tried.push(format!("kept doc examples async {}", new_docs.join(", ")));
                // Compiled once more after the rebuild: what still fails
                // is given back whole.
                docs_pending = doc_checks < 2;
            }
            if !given_back.is_empty() {
                tried.push(format!("gave back doc examples {}", given_back.join(", ")));
            }
            if !new_docs.is_empty() || !given_back.is_empty() {
                continue;
            }
        }
        if outcome.is_some() {
            rep.built = true;
            rep.repairs.extend(repairs);
            // Everything given back (no source nor manifest changed): the
            // lock goes back too (adding weft for a round may have moved
            // shared dependencies, as tokio 1.45 to 1.54).
            let unchanged = texts.iter().all(|(p, t)| originals.get(p) == Some(t))
                && std::fs::read_to_string(&manifest_path).ok() == orig_manifest;
            if let (true, Some(l)) = (unchanged, &orig_lock) {
                put_if_changed(&lock_path, l);
            }
            for f in &mut out.report.files {
                let path = opts.root.join(&f.path);
                if let (Some(now), Some(was)) = (texts.get(&path), originals.get(&path)) {
                    if now != was && f.outcome == Outcome::Unchanged {
                        f.outcome = Outcome::Changed;
                    }
                }
            }
            out.report.summarize();
            out.report.summary.bridged =
                (out.report.summary.bridged as isize + bridges_added).max(0) as usize;
            rep.items_converted = ["async fn", "impl Future fn"]
                .iter()
                .filter_map(|k| out.report.conversions.get(*k))
                .sum();
            if let Some(before) = tests_before {
                let after = cargo.test().unwrap_or_default();
                rep.tests = Some(TestDiff {
                    passed_before: before.passed.len(),
                    passed_after: after.passed.len(),
                    regressed: before.passed.difference(&after.passed).cloned().collect(),
                });
            }
            rep.seconds = started.elapsed().as_secs_f64();
            out.report.check = Some(rep);
            return Ok(out);
        }
        // Roll back what still fails.
        let Some(o) = last.as_ref() else { break };
        let mut new_fns = Vec::new();
        let mut new_files = Vec::new();
        let mut new_types: Vec<String> = Vec::new();
        // A round that blames types rolls back only those: the other
        // errors were not repaired (see above) and may be repaired or
        // gone once the types are back.
        let type_round = o
            .errors
            .iter()
            .any(|d| !blamed_types(d, &texts, &opts.table, false).is_empty());
        let handed = handed_values(&o.errors, &texts, &async_names, &kept_fns);
        for d in &o.errors {
            let Some(p) = d.primary() else { continue };
            // A file outside the run (tests/ when only src/ was given) is
            // read for its callees, never rolled back itself.
            let outside;
            let (t, ours) = match texts.get(&p.file) {
                Some(t) => (t, true),
                None if p.file.starts_with(&opts.root) => {
                    let Ok(read) = std::fs::read_to_string(&p.file) else {
                        continue;
                    };
                    outside = read;
                    (&outside, false)
                }
                None => continue,
            };
            let line = t[..p.start.min(t.len())].matches('\n').count() + 1;
            let cause = format!("{} ({}:{line})", d.headline(), rel(&p.file));
            let mut note = |item: String, new: &mut Vec<String>, is_file: bool| {
                if !new.contains(&item) {
                    new.push(item.clone());
                    let item = if is_file {
                        format!("(file) {item}")
                    } else {
                        item
                    };
                    rep.rolled_back.push(RolledBack {
                        item,
                        path: rel(&p.file),
                        line,
                        cause: cause.clone(),
                    });
                }
            };
            let blamed = blamed_types(d, &texts, &opts.table, false);
            if !blamed.is_empty() {
                for ty in blamed {
                    note(format!("(type) {ty}"), &mut new_types, false);
                }
                continue;
            }
            if type_round {
                continue;
            }
            // A function handed as a value that another error of this
            // call blames (the bridge around `run(h, countdown)`).
            if d.message.contains("is not a future") {
                let covered: Vec<String> = handed
                    .iter()
                    .filter(|(f, r)| *f == p.file && callees::covers(t, p.start..p.end, r))
                    .map(|(_, r)| t[r.clone()].to_string())
                    .collect();
                if !covered.is_empty() {
                    for c in covered {
                        note(c, &mut new_fns, false);
                    }
                    continue;
                }
            }
            // A future handed to a function whose future parameter the
            // run made a closure: that signature goes back.
            if let Some(c) =
                callees::closure_callee(d, t, |n| async_names.contains(n) && !kept_fns.contains(n))
            {
                note(c, &mut new_fns, false);
                continue;
            }
            // A value that is not a future where code kept async wants
            // one: the function the run made direct that made the value
            // (or is named as a value) goes back, not the caller.
            let callees =
                callees::blamed_callees(d, t, |n| async_names.contains(n) && !kept_fns.contains(n));
            if !callees.is_empty() {
                for c in callees {
                    note(c, &mut new_fns, false);
                }
                continue;
            }
            let enclosing = enclosing_name(t, p.start).filter(|_| ours);
            if let Some(name) =
                enclosing.filter(|n| async_names.contains(n) && !kept_fns.contains(n))
            {
                note(name, &mut new_fns, false);
                continue;
            }
            // The error is in code that was not async: a callee named on
            // its line changed.
            let ls = t[..p.start.min(t.len())].rfind('\n').map_or(0, |i| i + 1);
            let le = t[p.end.min(t.len())..]
                .find('\n')
                .map_or(t.len(), |i| p.end + i);
            let givable = |text: &str| -> Vec<String> {
                idents(text)
                    .into_iter()
                    .filter(|n| async_names.contains(n) && !kept_fns.contains(n))
                    .collect()
            };
            // On the error's line, else in the statements around it (a
            // method chain over several lines), innermost first.
            let mut callees = givable(&t[ls..le]);
            if callees.is_empty() {
                for r in stmts_around(t, p.start) {
                    callees = givable(&t[r]);
                    if !callees.is_empty() {
                        break;
                    }
                }
            }
            if !callees.is_empty() {
                for c in callees {
                    note(c, &mut new_fns, false);
                }
                continue;
            }
            let file = rel(&p.file);
            if ours && !kept_files.contains(&file) {
                note(file, &mut new_files, true);
                continue;
            }
            // Stuck here: a weft type the error names goes back to
            // tokio's; and the error's other places (the declaration that
            // "expected due to this", a bound, a trait's method) name the
            // item or file to give back.
            for ty in blamed_types(d, &texts, &opts.table, true) {
                note(format!("(type) {ty}"), &mut new_types, false);
            }
            let others = d
                .spans
                .iter()
                .filter(|s| !s.primary)
                .chain(d.children.iter().flat_map(|(_, v)| v.iter()));
            for s in others {
                let Some(t2) = texts.get(&s.file) else {
                    continue;
                };
                match enclosing_name(t2, s.start)
                    .filter(|n| async_names.contains(n) && !kept_fns.contains(n))
                {
                    Some(name) => note(name, &mut new_fns, false),
                    None => {
                        let f2 = rel(&s.file);
                        if !kept_files.contains(&f2) {
                            note(f2, &mut new_files, true);
                        }
                    }
                }
            }
            // Paths in the statement name modules of the crate
            // (`crate::sync::spawn`, where `sync.rs` re-exports tokio's
            // `spawn`): their files, whose items and imports changed.
            let stmt = stmts_around(t, p.start).pop().unwrap_or(ls..le);
            for m in idents(&t[stmt]) {
                for f in module_files.get(&m).into_iter().flatten() {
                    if !kept_files.contains(f) {
                        note(f.clone(), &mut new_files, true);
                    }
                }
            }
        }
        if new_fns.is_empty() && new_files.is_empty() && new_types.is_empty() {
            break;
        }
        tried.push(format!(
            "rolled back {}",
            new_fns
                .iter()
                .map(|n| format!("`{n}`"))
                .chain(new_files.iter().map(|f| format!("file {f}")))
                .chain(new_types.iter().map(|t| format!("type {t}")))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        kept_fns.extend(new_fns);
        kept_files.extend(new_files);
        kept_types.extend(
            new_types
                .into_iter()
                .map(|t| t.trim_start_matches("(type) ").to_string()),
        );
    }

    // Could not be made to build: put everything back.
    for (p, t) in &originals {
        put_if_changed(p, t.as_bytes());
    }
    if let Some(m) = &orig_manifest {
        put_if_changed(&manifest_path, m.as_bytes());
    }
    match &orig_lock {
        Some(l) => put_if_changed(&lock_path, l),
        None => {
            let _ = std::fs::remove_file(&lock_path);
        }
    }
    let first_errs = last
        .as_ref()
        .map_or_else(|| "(cargo did not run)".to_string(), |o| first_errors(o, 3));
    let repaired = rep.repairs.len();
    rep.failure = Some(format!(
        "the rewritten crate does not build, so every file was restored as it was.\n\
         tried: {} repair(s){}{}\nthe compiler's first errors:\n{first_errs}",
        repaired,
        if tried.is_empty() { "" } else { "; " },
        tried.join("; "),
    ));
    let mut report = crate::report::Report::default();
    for inp in inputs {
        report.files.push(crate::report::FileReport {
            path: inp.name.clone(),
            outcome: Outcome::Unchanged,
            error: None,
            notes: Vec::new(),
            bridged: 0,
            lines: inp.text.as_ref().map_or(0, |t| t.lines().count()),
        });
    }
    report.summarize();
    if let Some(before) = tests_before {
        // Nothing changed: after is before.
        rep.tests = Some(TestDiff {
            passed_before: before.passed.len(),
            passed_after: before.passed.len(),
            regressed: Vec::new(),
        });
    }
    rep.seconds = started.elapsed().as_secs_f64();
    report.check = Some(rep);
    Ok(RunOutput {
        report,
        diff: String::new(),
    })
}

/// `weft-migrate/` in the target directory of the crate's workspace
/// (`CARGO_TARGET_DIR` when set), apart from the user's own builds.
fn default_target_dir(root: &Path) -> PathBuf {
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(t).join("weft-migrate");
    }
    let ws = root
        .ancestors()
        .find(|d| {
            std::fs::read_to_string(d.join("Cargo.toml")).is_ok_and(|t| t.contains("[workspace]"))
        })
        .unwrap_or(root);
    ws.join("target").join("weft-migrate")
}

/// Whether a doc comment line of some file changed (its examples were
/// rewritten).
fn doc_examples_changed(
    originals: &BTreeMap<PathBuf, String>,
    texts: &BTreeMap<PathBuf, String>,
) -> bool {
    let doc_lines = |t: &str| -> Vec<String> {
        t.lines()
            .map(str::trim_start)
            .filter(|l| l.starts_with("///") || l.starts_with("//!"))
            .map(str::to_string)
            .collect()
    };
    texts.iter().any(|(p, t)| {
        originals
            .get(p)
            .is_some_and(|o| o != t && doc_lines(o) != doc_lines(t))
    })
}

/// The functions the run converted that `errors` show handed as values
/// where a function returning a future is wanted (see
/// [`callees::names_a_value`]): file and range of each name.
fn handed_values(
    errors: &[Diagnostic],
    texts: &BTreeMap<PathBuf, String>,
    async_names: &BTreeSet<String>,
    kept_fns: &BTreeSet<String>,
) -> Vec<(PathBuf, std::ops::Range<usize>)> {
    let givable = |n: &str| async_names.contains(n) && !kept_fns.contains(n);
    errors
        .iter()
        .filter_map(|d| {
            let p = d.primary()?;
            let t = texts.get(&p.file)?;
            callees::names_a_value(d, t, givable).map(|r| (p.file.clone(), r))
        })
        .collect()
}

/// The first `n` errors as rustc renders them.
fn first_errors(o: &CheckOutcome, n: usize) -> String {
    if o.errors.is_empty() {
        return o.stderr_tail.clone();
    }
    o.errors
        .iter()
        .take(n)
        .map(|d| d.rendered.trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Names of the functions that are async (or return a future) in the
/// original files: what a rollback can give back.
fn async_fn_names(originals: &BTreeMap<PathBuf, String>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for t in originals.values() {
        if let Ok(ast) = crate::rewrite::parse(t) {
            for f in crate::rewrite::fn_items(&ast) {
                let item = &t[f.range.start.min(t.len())..f.range.end.min(t.len())];
                // Past its comments: a doc example's `use a::{b, c}` or
                // `async fn` is not the signature.
                let code: String = item
                    .lines()
                    .filter(|l| !l.trim_start().starts_with("//"))
                    .collect::<Vec<_>>()
                    .join("\n");
                let sig = code.split('{').next().unwrap_or(&code);
                // Futures and streams it returns (not a `S: Stream` bound
                // of a plain constructor such as stream-cancel's `new`).
                // Its return type, not a `where T: Future` bound of a
                // function that returns a join handle (tokio-graceful's
                // `spawn_task`).
                let ret = sig.split_once("->").map_or("", |(_, r)| r);
                let ret = ret
                    .split_whitespace()
                    .take_while(|w| *w != "where")
                    .collect::<Vec<_>>()
                    .join(" ");
                if sig.contains("async ") || ret.contains("Future") || ret.contains("Stream") {
                    out.insert(f.name);
                }
            }
        }
        proc_macro2::extra::invalidate_current_thread_spans();
    }
    out
}

fn enclosing_name(t: &str, at: usize) -> Option<String> {
    let found = crate::rewrite::parse(t)
        .ok()
        .and_then(|ast| crate::rewrite::enclosing_fn(&ast, at).map(|f| f.name));
    proc_macro2::extra::invalidate_current_thread_spans();
    found
}

fn stmts_around(t: &str, at: usize) -> Vec<std::ops::Range<usize>> {
    let found = crate::rewrite::parse(t)
        .map(|ast| crate::rewrite::enclosing_stmts(&ast, at))
        .unwrap_or_default();
    proc_macro2::extra::invalidate_current_thread_spans();
    found
        .into_iter()
        .filter(|r| r.end <= t.len() && t.is_char_boundary(r.start) && t.is_char_boundary(r.end))
        .collect()
}

fn idents(s: &str) -> Vec<String> {
    s.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty() && !w.starts_with(|c: char| c.is_ascii_digit()))
        .map(str::to_string)
        .collect()
}

/// Writes `bytes` to `path` (through a temporary file and a rename) when
/// the file holds something else.
fn put_if_changed(path: &Path, bytes: &[u8]) {
    if std::fs::read(path).is_ok_and(|now| now == bytes) {
        return;
    }
    let tmp = path.with_extension(format!("weft-migrate.{}.tmp", std::process::id()));
    let perms = std::fs::metadata(path).map(|m| m.permissions()).ok();
    let ok = std::fs::write(&tmp, bytes).is_ok()
        && perms.is_none_or(|p| std::fs::set_permissions(&tmp, p).is_ok())
        && std::fs::rename(&tmp, path).is_ok();
    if !ok {
        let _ = std::fs::remove_file(&tmp);
        let _ = std::fs::write(path, bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_bound_is_not_an_async_function() {
        // stream-cancel's `Valved::new<S: Stream>(s: S) -> (Trigger, Self)`
        // was taken for an async function and "rolled back" (a no-op
        // that cost a round) on any error whose line calls some `new`.
        // A doc comment is not the signature: tokio-graceful-shutdown's
        // `on_shutdown_requested`, whose example starts with
        // `use tokio::time::{sleep, Duration};`, was not found async.
        let src = "pub fn new<S: Stream>(s: S) -> (u8, S) { todo!() }\n\
                   pub fn incoming() -> impl Stream<Item = u8> { todo!() }\n\
                   pub async fn get() {}\n\
                   pub fn boxed() -> BoxFuture<'static, ()> { todo!() }\n\
                   /// ```\n\
                   /// use tokio::time::{sleep, Duration};\n\
                   /// ```\n\
                   pub async fn documented() {}\n\
                   /// async fn example() {}\n\
                   pub fn plain() {}\n\
                   pub fn spawn_task<T>(t: T) -> JoinHandle<T::Output>\n\
                   where\n    T: Future + Send,\n{ todo!() }\n";
        let originals = BTreeMap::from([(PathBuf::from("src/lib.rs"), src.to_string())]);
        let names: Vec<String> = async_fn_names(&originals).into_iter().collect();
        assert_eq!(names, ["boxed", "documented", "get", "incoming"]);
    }
}
