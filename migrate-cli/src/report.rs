//! The run's report: per file outcome, what could not be converted, and a
//! summary; printed as text or as JSON.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::rewrite::Note;

/// What happened to one file.
///
/// ```
/// assert_ne!(weft_migrate::report::Outcome::Changed, weft_migrate::report::Outcome::Failed);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Rewritten (or, under --check/--diff, would be).
    Changed,
    /// Nothing to change.
    Unchanged,
    /// Left untouched because of an error.
    Failed,
}

/// One file's entry.
///
/// ```
/// let f = weft_migrate::report::FileReport { path: "src/a.rs".into(), outcome: weft_migrate::report::Outcome::Unchanged, error: None, notes: vec![], bridged: 0, lines: 3 };
/// let mut r = weft_migrate::report::Report::default();
/// r.files.push(f);
/// r.summarize();
/// assert_eq!(r.summary.lines, 3);
/// ```
#[derive(Clone, Debug, Serialize)]
pub struct FileReport {
    /// The path as given or found.
    pub path: String,
    /// What happened.
    pub outcome: Outcome,
    /// Why it failed, for a failed file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Notes: what was bridged or not converted, and why.
    pub notes: Vec<Note>,
    /// Bridged calls left in this file.
    pub bridged: usize,
    /// Lines in the file.
    pub lines: usize,
}

/// The whole run.
///
/// ```
/// let r = weft_migrate::report::Report::default();
/// assert_eq!(r.exit_code(false), 0);
/// assert!(r.to_text().contains("0 scanned"));
/// ```
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    /// Every file, in path order.
    pub files: Vec<FileReport>,
    /// Conversions made, by kind, over all files.
    pub conversions: BTreeMap<String, usize>,
    /// Whether Cargo.toml changed (or would).
    pub manifest_changed: bool,
    /// An error editing Cargo.toml.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest_error: Option<String>,
    /// Summary counts.
    pub summary: Summary,
    /// Seconds the syntactic pass took (reading, writing and the compiler
    /// loop excluded).
    pub rewrite_seconds: f64,
    /// The compiler loop's results, when it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check: Option<crate::check::CheckReport>,
}

/// Counts over the run.
///
/// ```
/// assert_eq!(weft_migrate::report::Summary::default().failed, 0);
/// ```
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Summary {
    /// Files looked at.
    pub scanned: usize,
    /// Files changed (or that would change).
    pub changed: usize,
    /// Files with nothing to change.
    pub unchanged: usize,
    /// Files left untouched because of an error.
    pub failed: usize,
    /// Calls still awaiting a future through weft-compat.
    pub bridged: usize,
    /// Lines scanned.
    pub lines: usize,
}

impl Report {
    /// Recomputes the summary from the files.
    ///
    /// ```
    /// let mut r = weft_migrate::report::Report::default();
    /// r.summarize();
    /// assert_eq!(r.summary.scanned, 0);
    /// ```
    pub fn summarize(&mut self) {
        let mut s = Summary {
            scanned: self.files.len(),
            ..Summary::default()
        };
        for f in &self.files {
            match f.outcome {
                Outcome::Changed => s.changed += 1,
                Outcome::Unchanged => s.unchanged += 1,
                Outcome::Failed => s.failed += 1,
            }
            s.bridged += f.bridged;
            s.lines += f.lines;
        }
        self.summary = s;
    }

    /// 0 done, 1 changes needed under `--check`, 2 errors.
    ///
    /// ```
    /// let mut r = weft_migrate::report::Report::default();
    /// r.manifest_changed = true;
    /// assert_eq!(r.exit_code(true), 1);
    /// ```
    pub fn exit_code(&self, check: bool) -> i32 {
        let abandoned = self.check.as_ref().is_some_and(|c| c.failure.is_some());
        if self.summary.failed > 0 || self.manifest_error.is_some() || abandoned {
            2
        } else if check && (self.summary.changed > 0 || self.manifest_changed) {
            1
        } else {
            0
        }
    }

    /// `file:line:col: message` lines and the summary.
    ///
    /// ```
    /// let r = weft_migrate::report::Report::default();
    /// assert!(r.to_text().starts_with("weft-migrate:"));
    /// ```
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for f in &self.files {
            if let Some(e) = &f.error {
                out.push_str(&format!("{}: error: {e}\n", f.path));
            }
            for n in &f.notes {
                out.push_str(&format!(
                    "{}:{}:{}: {}\n",
                    f.path, n.line, n.column, n.message
                ));
            }
        }
        if let Some(e) = &self.manifest_error {
            out.push_str(&format!("Cargo.toml: error: {e}\n"));
        }
        let s = &self.summary;
        out.push_str(&format!(
            "weft-migrate: {} scanned, {} changed, {} unchanged, {} failed; {} bridged calls left; Cargo.toml {}\n",
            s.scanned,
            s.changed,
            s.unchanged,
            s.failed,
            s.bridged,
            if self.manifest_changed { "changed" } else { "unchanged" }
        ));
        if let Some(c) = &self.check {
            out.push_str(&check_text(c, s.bridged));
        }
        if !self.conversions.is_empty() {
            let kinds: Vec<String> = self
                .conversions
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect();
            out.push_str(&format!("conversions: {}\n", kinds.join(", ")));
        }
        out
    }

    /// The report as JSON.
    ///
    /// ```
    /// let r = weft_migrate::report::Report::default();
    /// assert!(r.to_json().contains("\"summary\""));
    /// ```
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}

/// The check loop's lines of the text report.
fn check_text(c: &crate::check::CheckReport, bridged: usize) -> String {
    let mut out = String::new();
    if let Some(w) = &c.warning {
        out.push_str(&format!("weft-migrate: warning: {w}\n"));
    }
    for r in &c.repairs {
        out.push_str(&format!(
            "{}:{}: repaired ({}): {}\n",
            r.path, r.line, r.kind, r.cause
        ));
    }
    for r in &c.rolled_back {
        let what = if let Some(ty) = r.item.strip_prefix("(type) ") {
            format!(
                "the mapping of `{ty}` (the type kept as it was, at its declaration and every use)"
            )
        } else if let Some(at) = r.item.strip_prefix("(doc example, async) ") {
            format!(
                "the doc example at {at} (kept async: its doctest did not compile; its calls \
                 of functions made direct are bridged)"
            )
        } else if let Some(at) = r.item.strip_prefix("(doc example) ") {
            format!("the doc example at {at} (left as it was: its doctest did not compile)")
        } else {
            format!("`{}` (kept async, bridged at its boundary)", r.item)
        };
        out.push_str(&format!(
            "{}:{}: rolled back {what}: {}\n",
            r.path, r.line, r.cause
        ));
    }
    if let Some(f) = &c.failure {
        out.push_str(&format!("weft-migrate: error: {f}\n"));
    }
    if c.input_built {
        out.push_str(&format!(
            "check: {}; {} items converted, {} rolled back, {} bridges left, {} repairs; {} cargo checks in {:.1}s\n",
            if c.built { "builds" } else { "does not build (restored)" },
            c.items_converted,
            c.rolled_back.len(),
            bridged,
            c.repairs.len(),
            c.checks,
            c.seconds
        ));
    }
    if let Some(t) = &c.tests {
        out.push_str(&format!(
            "tests: {} passed before, {} after\n",
            t.passed_before, t.passed_after
        ));
        for r in &t.regressed {
            out.push_str(&format!("tests: passed before, fails after: {r}\n"));
        }
    }
    out
}
