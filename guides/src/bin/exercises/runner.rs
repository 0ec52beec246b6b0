//! Building the exercise tests with cargo and running them with a time
//! bound.

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Which code the exercise modules are compiled from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// The learner's files, `src/exercises/chNN.rs`.
    Starters,
    /// The reference answers, `solutions/chNN.rs` (`--features solutions`).
    Solutions,
}

impl Flavor {
    pub fn label(self) -> &'static str {
        match self {
            Flavor::Starters => "starters",
            Flavor::Solutions => "solutions",
        }
    }
}

/// Why the tests could not be built.
#[derive(Debug)]
pub enum BuildError {
    /// cargo could not be started.
    Spawn(io::Error),
    /// cargo failed (its diagnostics went to our stderr).
    Failed,
    /// cargo said nothing about a test target we need.
    Missing(String),
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BuildError::Spawn(e) => write!(f, "cannot run cargo: {e}"),
            BuildError::Failed => write!(f, "the code does not compile (cargo's errors are above)"),
            BuildError::Missing(t) => write!(f, "cargo built no test binary for `{t}`"),
        }
    }
}

/// `guides/`, where this binary's package lives.
pub fn guide_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Builds (without running) the given test targets of weft-guide in one
/// flavor, and returns each target's executable. cargo's diagnostics go to
/// our stderr as it renders them.
pub fn build_tests(
    flavor: Flavor,
    tests: &[&str],
) -> Result<BTreeMap<String, PathBuf>, BuildError> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.arg("test")
        .arg("--manifest-path")
        .arg(guide_dir().join("Cargo.toml"))
        .args([
            "-p",
            "weft-guide",
            "--no-run",
            "--message-format=json-render-diagnostics",
        ]);
    if flavor == Flavor::Solutions {
        cmd.args(["--features", "solutions"]);
    }
    for t in tests {
        cmd.args(["--test", t]);
    }
    let out = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output()
        .map_err(BuildError::Spawn)?;
    if !out.status.success() {
        return Err(BuildError::Failed);
    }
    let mut exes = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if msg["reason"] != "compiler-artifact" {
            continue;
        }
        let is_test = msg["target"]["kind"]
            .as_array()
            .is_some_and(|kinds| kinds.iter().any(|k| k == "test"));
        if let (true, Some(name), Some(exe)) = (
            is_test,
            msg["target"]["name"].as_str(),
            msg["executable"].as_str(),
        ) {
            exes.insert(name.to_string(), PathBuf::from(exe));
        }
    }
    for t in tests {
        if !exes.contains_key(*t) {
            return Err(BuildError::Missing(t.to_string()));
        }
    }
    Ok(exes)
}

/// What one run of a test binary showed.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Tests that passed.
    pub passed: Vec<String>,
    /// Tests that failed.
    pub failed: Vec<String>,
    /// The binary was killed at the time bound.
    pub timed_out: bool,
    /// What it printed (stdout, then stderr).
    pub output: String,
    /// How long it ran.
    pub elapsed: Duration,
}

impl Outcome {
    /// Every test ran and passed, and there was at least one.
    pub fn all_passed(&self) -> bool {
        !self.timed_out && self.failed.is_empty() && !self.passed.is_empty()
    }
}

/// Runs the test binary `exe` (its tests whose names contain `filter`, if
/// given), killing it after `bound`.
pub fn run_tests(exe: &Path, filter: Option<&str>, bound: Duration) -> io::Result<Outcome> {
    let mut cmd = Command::new(exe);
    if let Some(f) = filter {
        cmd.arg(f);
    }
    // Tests read fixtures relative to the package, as under `cargo test`.
    let mut child = cmd
        .current_dir(guide_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let start = Instant::now();
    let timed_out = wait_bounded(&mut child, bound)?;
    let elapsed = start.elapsed();
    let output = format!(
        "{}{}",
        stdout.join().unwrap_or_default(),
        stderr.join().unwrap_or_default()
    );
    let mut outcome = Outcome {
        timed_out,
        elapsed,
        ..Outcome::default()
    };
    for line in output.lines() {
        if let Some((name, result)) = parse_result_line(line) {
            match result {
                "ok" => outcome.passed.push(name),
                "FAILED" => outcome.failed.push(name),
                _ => {}
            }
        }
    }
    outcome.output = output;
    Ok(outcome)
}

/// Reads a child's pipe to the end on its own thread.
fn drain(pipe: Option<impl Read + Send + 'static>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Waits for `child` to exit; kills it at `bound`. True if it was killed.
fn wait_bounded(child: &mut Child, bound: Duration) -> io::Result<bool> {
    let deadline = Instant::now() + bound;
    loop {
        if child.try_wait()?.is_some() {
            return Ok(false);
        }
        if Instant::now() >= deadline {
            child.kill()?;
            child.wait()?;
            return Ok(true);
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// `test some::name ... ok` → `("some::name", "ok")`; libtest's other lines
/// give `None`.
fn parse_result_line(line: &str) -> Option<(String, &str)> {
    let rest = line.strip_prefix("test ")?;
    let (name, result) = rest.split_once(" ... ")?;
    let name = name.strip_suffix(" - should panic").unwrap_or(name);
    Some((name.to_string(), result.trim()))
}

#[cfg(test)]
mod tests {
    use super::parse_result_line;

    #[test]
    fn parses_libtest_result_lines() {
        assert_eq!(
            parse_result_line("test a::b ... ok"),
            Some(("a::b".to_string(), "ok"))
        );
        assert_eq!(
            parse_result_line("test zero_limit_panics - should panic ... FAILED"),
            Some(("zero_limit_panics".to_string(), "FAILED"))
        );
        assert_eq!(parse_result_line("running 3 tests"), None);
        assert_eq!(parse_result_line("test result: ok. 3 passed"), None);
    }
}
