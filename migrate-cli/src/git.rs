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

/// The files under `dir` that git does not ignore (tracked, or untracked
/// and not matched by `.gitignore`); `None` outside a git work tree.
///
/// ```
/// // Outside a repository there is no list: every file counts.
/// let d = std::env::temp_dir().join(format!("wm-git-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&d).unwrap();
/// assert!(weft_migrate::git::not_ignored(&d).is_none());
/// ```
pub fn not_ignored(dir: &Path) -> Option<std::collections::HashSet<std::path::PathBuf>> {
    let out = Command::new("git")
        .current_dir(dir)
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
            "--full-name",
        ])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let top = Command::new("git")
        .current_dir(dir)
        .args(["rev-parse", "--show-toplevel"])
        .output()
        .ok()?;
    let top = std::path::PathBuf::from(String::from_utf8_lossy(&top.stdout).trim());
    Some(
        out.stdout
            .split(|b| *b == 0)
            .filter(|s| !s.is_empty())
            .map(|s| top.join(String::from_utf8_lossy(s).as_ref()))
            .collect(),
    )
}
