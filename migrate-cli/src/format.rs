//! Formatting what a rewrite generated (a converted `select!` is built as
//! one line): rustfmt over the file, but only for a file that was
//! rustfmt-clean before, so a hand-formatted file is never reflowed.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// `text` as rustfmt formats it (run in `dir`, so the crate's
/// `rustfmt.toml` applies); `None` when rustfmt is missing or fails.
///
/// ```
/// let f = weft_migrate::format::rustfmt("fn  f( ) { }\n", "2021", std::path::Path::new("."));
/// if let Some(f) = f {
///     assert_eq!(f, "fn f() {}\n");
/// }
/// ```
pub fn rustfmt(text: &str, edition: &str, dir: &Path) -> Option<String> {
    let mut child = Command::new(std::env::var_os("RUSTFMT").unwrap_or_else(|| "rustfmt".into()))
        .args(["--edition", edition, "--emit", "stdout", "--quiet"])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut stdin = child.stdin.take()?;
    let input = text.to_string();
    // Written from a thread: rustfmt may fill its stdout before reading
    // all of its stdin.
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().ok()?;
    let written = writer.join().ok()?.is_ok();
    (out.status.success() && written)
        .then(|| String::from_utf8(out.stdout).ok())
        .flatten()
}

/// `new` formatted when `old` was already formatted (and rustfmt
/// succeeds); `new` as it is otherwise.
///
/// ```
/// let dir = std::path::Path::new(".");
/// let kept = weft_migrate::format::format_if_clean("fn  f() {}\n", "fn  g( ) {}\n", "2021", dir);
/// assert_eq!(kept, "fn  g( ) {}\n"); // the original was not rustfmt-clean
/// ```
pub fn format_if_clean(old: &str, new: &str, edition: &str, dir: &Path) -> String {
    match rustfmt(old, edition, dir) {
        Some(f) if f == old => rustfmt(new, edition, dir).unwrap_or_else(|| new.to_string()),
        _ => new.to_string(),
    }
}

/// The crate's edition as its manifest says (`2015` when it says none).
///
/// ```
/// assert_eq!(weft_migrate::format::edition(std::path::Path::new("/nonexistent/Cargo.toml")), "2015");
/// ```
pub fn edition(manifest: &Path) -> String {
    std::fs::read_to_string(manifest)
        .ok()
        .and_then(|t| t.parse::<toml_edit::DocumentMut>().ok())
        .and_then(|d| {
            d.get("package")?
                .get("edition")?
                .as_str()
                .map(str::to_string)
        })
        .unwrap_or_else(|| "2015".to_string())
}
