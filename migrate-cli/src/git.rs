//! Like `cargo fix`: refuse to rewrite files with uncommitted changes.

use std::path::Path;
use std::process::Command;

/// Files under `paths` (relative to `dir`) that git reports as modified,
/// added or untracked. An empty list when `dir` is not in a git work tree
/// or git is not installed (nothing to protect then).
///
/// ```
/// let dir = std::env::temp_dir();
/// // Not a repository (usually): nothing dirty.
/// let _ = weft_migrate::git::dirty_files(&dir, &[]);
/// ```
pub fn dirty_files(dir: &Path, paths: &[String]) -> Vec<String> {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .args(["status", "--porcelain", "--untracked-files=all", "--"]);
    cmd.args(paths);
    match cmd.output() {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.len() > 3)
            .map(|l| l[3..].to_string())
            .collect(),
        _ => Vec::new(),
    }
}
