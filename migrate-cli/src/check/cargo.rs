//! Running the user's cargo on the crate and reading rustc's diagnostics
//! (`--message-format=json`) and libtest's results.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;

/// How to run cargo on the crate.
///
/// ```
/// let c = weft_migrate::check::Cargo::new("/tmp/x", "/tmp/x/target/weft-migrate");
/// assert!(!c.offline);
/// ```
#[derive(Clone, Debug)]
pub struct Cargo {
    /// The program (the `CARGO` of the environment, else `cargo`).
    pub program: OsString,
    /// The crate's directory.
    pub dir: PathBuf,
    /// The target directory the checks build in (not the user's).
    pub target_dir: PathBuf,
    /// Pass `--offline`.
    pub offline: bool,
    /// Longest time one cargo command may take before it is stopped.
    pub limit: Duration,
}

/// One place of a diagnostic, in a file of the crate.
///
/// ```
/// let s = weft_migrate::check::DiagSpan { file: "src/lib.rs".into(), start: 0, end: 1, primary: true, label: None, replacement: None, machine_applicable: false };
/// assert!(s.primary);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiagSpan {
    /// The file (absolute).
    pub file: PathBuf,
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
    /// The span the message is about.
    pub primary: bool,
    /// The label rustc prints under it.
    pub label: Option<String>,
    /// A suggested replacement.
    pub replacement: Option<String>,
    /// rustc says the replacement can be applied without review.
    pub machine_applicable: bool,
}

/// One error of rustc.
///
/// ```
/// let d = weft_migrate::check::Diagnostic { code: Some("E0308".into()), message: "mismatched types".into(), rendered: String::new(), spans: vec![], children: vec![] };
/// assert!(d.primary().is_none());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// `E0308`, ...
    pub code: Option<String>,
    /// The one-line message.
    pub message: String,
    /// As rustc prints it.
    pub rendered: String,
    /// Where.
    pub spans: Vec<DiagSpan>,
    /// Notes and help, each with its message and spans (suggestions).
    pub children: Vec<(String, Vec<DiagSpan>)>,
}

impl Diagnostic {
    /// The primary span.
    ///
    /// ```
    /// let d = weft_migrate::check::Diagnostic { code: None, message: String::new(), rendered: String::new(), spans: vec![], children: vec![] };
    /// assert!(d.primary().is_none());
    /// ```
    pub fn primary(&self) -> Option<&DiagSpan> {
        self.spans.iter().find(|s| s.primary)
    }

    /// `code: message`, on one line.
    ///
    /// ```
    /// let d = weft_migrate::check::Diagnostic { code: Some("E0728".into()), message: "x".into(), rendered: String::new(), spans: vec![], children: vec![] };
    /// assert_eq!(d.headline(), "error[E0728]: x");
    /// ```
    pub fn headline(&self) -> String {
        match &self.code {
            Some(c) => format!("error[{c}]: {}", self.message),
            None => format!("error: {}", self.message),
        }
    }
}

/// What one `cargo check` said.
///
/// ```
/// let o = weft_migrate::check::CheckOutcome::default();
/// assert!(!o.success);
/// ```
#[derive(Clone, Debug, Default)]
pub struct CheckOutcome {
    /// cargo exited 0.
    pub success: bool,
    /// The errors, deduplicated (the lib and its test build repeat them).
    pub errors: Vec<Diagnostic>,
    /// The warnings, deduplicated.
    pub warnings: Vec<Diagnostic>,
    /// The end of cargo's own stderr (resolution errors and the like).
    pub stderr_tail: String,
}

/// The tests of one `cargo test` run, by `binary::name`.
///
/// ```
/// let t = weft_migrate::check::TestOutcome::default();
/// assert!(t.passed.is_empty());
/// ```
#[derive(Clone, Debug, Default)]
pub struct TestOutcome {
    /// cargo built the tests.
    pub built: bool,
    /// Tests that passed.
    pub passed: BTreeSet<String>,
    /// Tests that failed.
    pub failed: BTreeSet<String>,
}

#[derive(Deserialize)]
struct Line {
    reason: String,
    message: Option<RawDiag>,
}

#[derive(Deserialize)]
struct RawDiag {
    message: String,
    code: Option<RawCode>,
    level: String,
    spans: Vec<RawSpan>,
    children: Vec<RawDiag>,
    rendered: Option<String>,
}

#[derive(Deserialize)]
struct RawCode {
    code: String,
}

#[derive(Deserialize)]
struct RawSpan {
    file_name: String,
    byte_start: usize,
    byte_end: usize,
    is_primary: bool,
    label: Option<String>,
    suggested_replacement: Option<String>,
    suggestion_applicability: Option<String>,
    expansion: Option<Box<RawExpansion>>,
}

#[derive(Deserialize)]
struct RawExpansion {
    span: RawSpan,
}

impl RawSpan {
    /// A span inside a macro of another crate (tokio's `select!`) stands
    /// for the macro's call in the crate: follow the expansions out to
    /// the first span in a file of the workspace.
    fn in_workspace(self, ws_root: &Path) -> RawSpan {
        let mut s = self;
        loop {
            let outside = Path::new(&s.file_name).is_absolute()
                && !Path::new(&s.file_name).starts_with(ws_root);
            if !outside {
                return s;
            }
            let (primary, label) = (s.is_primary, s.label.take());
            match s.expansion.take() {
                Some(e) => {
                    s = e.span;
                    s.is_primary = primary;
                    s.label = s.label.take().or(label);
                }
                None => {
                    s.label = label;
                    return s;
                }
            }
        }
    }
}

impl Cargo {
    /// cargo for the crate at `dir`, building in `target_dir`.
    ///
    /// ```
    /// let c = weft_migrate::check::Cargo::new("a", "a/target/weft-migrate");
    /// assert_eq!(c.dir, std::path::Path::new("a"));
    /// ```
    pub fn new(dir: impl Into<PathBuf>, target_dir: impl Into<PathBuf>) -> Cargo {
        Cargo {
            program: std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()),
            dir: dir.into(),
            target_dir: target_dir.into(),
            offline: false,
            limit: Duration::from_secs(1800),
        }
    }

    fn command(&self, sub: &str) -> Command {
        let mut c = Command::new(&self.program);
        c.current_dir(&self.dir)
            .env("CARGO_TARGET_DIR", &self.target_dir)
            .arg(sub);
        if self.offline {
            c.arg("--offline");
        }
        c
    }

    /// The workspace root cargo sees for the crate (paths of diagnostics
    /// are relative to it).
    ///
    /// ```
    /// let c = weft_migrate::check::Cargo::new("/nonexistent-dir", "/tmp/t");
    /// assert!(c.workspace_root().is_err());
    /// ```
    pub fn workspace_root(&self) -> Result<PathBuf, String> {
        let mut c = self.command("metadata");
        c.args(["--no-deps", "--format-version", "1"]);
        let (ok, out, err) = run_bounded(c, self.limit)?;
        if !ok {
            return Err(tail(&err, 20));
        }
        #[derive(Deserialize)]
        struct Meta {
            workspace_root: PathBuf,
        }
        serde_json::from_str::<Meta>(&out)
            .map(|m| m.workspace_root)
            .map_err(|e| format!("cargo metadata: {e}"))
    }

    /// `cargo check --all-targets --message-format=json`; paths of the
    /// diagnostics are made absolute against `ws_root`.
    ///
    /// ```
    /// let c = weft_migrate::check::Cargo::new("/nonexistent-dir", "/tmp/t");
    /// assert!(!c.check(std::path::Path::new("/")).map(|o| o.success).unwrap_or(false));
    /// ```
    pub fn check(&self, ws_root: &Path) -> Result<CheckOutcome, String> {
        let mut c = self.command("check");
        c.args(["--all-targets", "--message-format=json"]);
        let (ok, out, err) = run_bounded(c, self.limit)?;
        let (errors, warnings) = parse_diagnostics(&out, ws_root);
        Ok(CheckOutcome {
            success: ok,
            errors,
            warnings,
            stderr_tail: tail(&err, 30),
        })
    }

    /// `cargo test --doc --no-fail-fast`: the library's doc examples that
    /// do not compile (`cargo check` does not build doctests, and cargo
    /// cannot build them without running them). See
    /// [`parse_doctest_failures`].
    ///
    /// ```
    /// let c = weft_migrate::check::Cargo::new("/nonexistent-dir", "/tmp/t");
    /// assert!(c.doctest_failures().map(|f| f.is_empty()).unwrap_or(true));
    /// ```
    pub fn doctest_failures(&self) -> Result<Vec<(String, usize, String)>, String> {
        let mut c = self.command("test");
        c.args(["--doc", "--no-fail-fast"]);
        let (_, out, _) = run_bounded(c, self.limit)?;
        Ok(parse_doctest_failures(&out))
    }

    /// `cargo test --no-fail-fast`: which tests passed and failed.
    ///
    /// ```
    /// let c = weft_migrate::check::Cargo::new("/nonexistent-dir", "/tmp/t");
    /// assert!(!c.test().map(|t| t.built).unwrap_or(false));
    /// ```
    pub fn test(&self) -> Result<TestOutcome, String> {
        let mut c = self.command("test");
        c.arg("--no-fail-fast");
        let (_, out, err) = run_bounded(c, self.limit)?;
        Ok(parse_tests(&out, &err))
    }
}

/// The doctests that did not compile in the output of `cargo test
/// --doc`: each as the file and line rustdoc names it by (`src/lib.rs -
/// f (line 12)`, the line of the example's opening fence) and its first
/// error. A doctest that compiled and failed is not listed.
///
/// ```
/// let out = "---- src/lib.rs - f (line 12) stdout ----\nerror[E0277]: `()` is not a future\nCouldn't compile the test.\n---- src/lib.rs - g (line 30) stdout ----\nTest executable failed (exit status: 101).\n\nfailures:\n";
/// let f = weft_migrate::check::parse_doctest_failures(out);
/// assert_eq!(f, [("src/lib.rs".to_string(), 12, "error[E0277]: `()` is not a future".to_string())]);
/// ```
pub fn parse_doctest_failures(stdout: &str) -> Vec<(String, usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(String, usize, String, bool)> = None;
    let mut flush = |c: Option<(String, usize, String, bool)>| {
        if let Some((f, l, e, true)) = c {
            out.push((f, l, e));
        }
    };
    for line in stdout.lines() {
        if let Some(name) = line
            .strip_prefix("---- ")
            .and_then(|r| r.strip_suffix(" stdout ----"))
        {
            flush(current.take());
            let file = name.split(" - ").next().unwrap_or(name).to_string();
            let at = name
                .rsplit("(line ")
                .next()
                .and_then(|r| r.strip_suffix(')'))
                .and_then(|n| n.parse().ok());
            current = at.map(|l| (file, l, String::new(), false));
            continue;
        }
        if line == "failures:" {
            flush(current.take());
            continue;
        }
        if let Some(c) = current.as_mut() {
            if c.2.is_empty() && line.starts_with("error") {
                c.2 = line.to_string();
            }
            if line.starts_with("Couldn't compile the test") {
                c.3 = true;
            }
        }
    }
    flush(current.take());
    out
}

/// rustc's errors and warnings in cargo's JSON messages, deduplicated (a
/// lib and its test build repeat them), with paths made absolute against
/// `ws_root` and spans inside another crate's macro (tokio's `select!`)
/// moved out to the macro's call in the crate.
///
/// ```
/// let line = r#"{"reason":"compiler-message","message":{"message":"`u32` is not a future","code":{"code":"E0277"},"level":"error","rendered":"r","children":[],
///   "spans":[{"file_name":"/reg/tokio/src/macros/select.rs","byte_start":5,"byte_end":9,"is_primary":true,"label":"`u32` is not a future",
///     "suggested_replacement":null,"suggestion_applicability":null,
///     "expansion":{"span":{"file_name":"src/lib.rs","byte_start":40,"byte_end":90,"is_primary":false,"label":null,
///       "suggested_replacement":null,"suggestion_applicability":null,"expansion":null}}}]}}"#;
/// let (errors, warnings) = weft_migrate::check::parse_diagnostics(&line.replace('\n', ""), std::path::Path::new("/ws"));
/// assert!(warnings.is_empty());
/// let p = errors[0].primary().unwrap();
/// assert_eq!((p.file.to_str().unwrap(), p.start, p.end), ("/ws/src/lib.rs", 40, 90));
/// ```
pub fn parse_diagnostics(out: &str, ws_root: &Path) -> (Vec<Diagnostic>, Vec<Diagnostic>) {
    let mut errors: Vec<Diagnostic> = Vec::new();
    let mut warnings: Vec<Diagnostic> = Vec::new();
    for line in out.lines() {
        let Ok(l) = serde_json::from_str::<Line>(line) else {
            continue;
        };
        let Some(d) = l.message.filter(|_| l.reason == "compiler-message") else {
            continue;
        };
        let list = match d.level.as_str() {
            "error" => &mut errors,
            "warning" => &mut warnings,
            _ => continue,
        };
        let diag = convert(d, ws_root);
        if !list.iter().any(|e| e.rendered == diag.rendered) {
            list.push(diag);
        }
    }
    // In the order of the source, not of the rustc runs that finished
    // first (a lib and its test build run side by side): the loop's
    // choices and its report do not depend on scheduling.
    let place = |d: &Diagnostic| {
        d.primary()
            .map(|p| (p.file.clone(), p.start, p.end))
            .unwrap_or_default()
    };
    errors.sort_by_cached_key(|d| (place(d), d.rendered.clone()));
    warnings.sort_by_cached_key(|d| (place(d), d.rendered.clone()));
    (errors, warnings)
}

/// Reads libtest's lines (`test a::b ... ok`), naming each test by the
/// binary cargo said it was running.
///
/// ```
/// let t = weft_migrate::check::parse_tests(
///     "running 2 tests\ntest a ... ok\ntest b ... FAILED\n",
///     "     Running unittests src/lib.rs (target/debug/deps/x-1)\n",
/// );
/// assert!(t.passed.contains("unittests src/lib.rs::a"));
/// assert!(t.failed.contains("unittests src/lib.rs::b"));
/// // Doctests are named without their line, which a rewrite moves.
/// let t = weft_migrate::check::parse_tests(
///     "running 2 tests\ntest src/a.rs - f (line 9) ... ok\ntest src/a.rs - f (line 30) ... ok\n",
///     "   Doc-tests x\n",
/// );
/// assert!(t.passed.contains("doctests x::src/a.rs - f #2"));
/// ```
pub fn parse_tests(stdout: &str, stderr: &str) -> TestOutcome {
    // cargo prints `Running <bin>` on stderr and the binary's results on
    // stdout, in the same order: pair the n-th `running N tests` with the
    // n-th `Running`/`Doc-tests` line.
    let bins: Vec<String> = stderr
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            if let Some(r) = l.strip_prefix("Running ") {
                Some(r.split(" (").next().unwrap_or(r).to_string())
            } else {
                l.strip_prefix("Doc-tests ")
                    .map(|r| format!("doctests {r}"))
            }
        })
        .collect();
    let mut t = TestOutcome {
        built: !bins.is_empty(),
        ..TestOutcome::default()
    };
    let mut bin = String::new();
    let mut n = 0;
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for l in stdout.lines() {
        if (l.starts_with("running ") && l.ends_with(" tests")) || l == "running 1 test" {
            bin = bins.get(n).cloned().unwrap_or_else(|| format!("#{n}"));
            n += 1;
            continue;
        }
        let Some(rest) = l.strip_prefix("test ") else {
            continue;
        };
        let (name, passed) = if let Some(name) = rest.strip_suffix(" ... ok") {
            (name, true)
        } else if let Some(name) = rest.strip_suffix(" ... FAILED") {
            (name, false)
        } else {
            continue;
        };
        // A doctest is named by its line, which a rewrite moves: name it
        // by its item and rank instead.
        let name = match name.find(" (line ") {
            Some(i) if bin.starts_with("doctests ") => {
                let end = name[i..].find(')').map_or(name.len(), |j| i + j + 1);
                let base = format!("{}{}", &name[..i], &name[end..]);
                let k = *seen
                    .entry(base.clone())
                    .and_modify(|k| *k += 1)
                    .or_insert(1);
                format!("{base} #{k}")
            }
            _ => name.to_string(),
        };
        let set = if passed { &mut t.passed } else { &mut t.failed };
        set.insert(format!("{bin}::{name}"));
    }
    t
}

fn convert(d: RawDiag, ws_root: &Path) -> Diagnostic {
    let spans = |v: Vec<RawSpan>| -> Vec<DiagSpan> {
        v.into_iter()
            .map(|s| s.in_workspace(ws_root))
            .map(|s| DiagSpan {
                file: ws_root.join(&s.file_name),
                start: s.byte_start,
                end: s.byte_end,
                primary: s.is_primary,
                label: s.label,
                replacement: s.suggested_replacement,
                machine_applicable: s.suggestion_applicability.as_deref()
                    == Some("MachineApplicable"),
            })
            .collect()
    };
    Diagnostic {
        code: d.code.map(|c| c.code),
        message: d.message,
        rendered: d.rendered.unwrap_or_default(),
        spans: spans(d.spans),
        children: d
            .children
            .into_iter()
            .map(|c| (c.message, spans(c.spans)))
            .collect(),
    }
}

/// The last `n` lines of `s`.
fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Runs `c` with its output captured, stopping it after `limit`; gives
/// (success, stdout, stderr).
fn run_bounded(mut c: Command, limit: Duration) -> Result<(bool, String, String), String> {
    c.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c
        .spawn()
        .map_err(|e| format!("cannot run {:?}: {e}", c.get_program()))?;
    let mut out = child.stdout.take();
    let mut err = child.stderr.take();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(o) = out.as_mut() {
            let _ = o.read_to_string(&mut s);
        }
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(e) = err.as_mut() {
            let _ = e.read_to_string(&mut s);
        }
        s
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) if started.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("waiting for cargo: {e}")),
        }
    };
    let out = reader.join().unwrap_or_default();
    let err = err_reader.join().unwrap_or_default();
    match status {
        Some(st) => Ok((st.success(), out, err)),
        None => Err(format!(
            "cargo did not finish within {}s; stopped",
            limit.as_secs()
        )),
    }
}
