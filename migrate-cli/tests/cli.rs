//! The command line on temporary crates: --check, --diff, --format json,
//! the dirty-tree refusal, bad input, idempotence, Cargo.toml edits.

use std::path::Path;
use std::process::{Command, Output};

const TOKIO_LIB: &str = r#"// A small tokio library.
use tokio::sync::Mutex;

/// Adds one.
pub async fn bump(m: &Mutex<u32>) -> u32 {
    let mut g = m.lock().await;
    *g += 1;
    *g
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn bumps() {
        let m = tokio::sync::Mutex::new(1);
        assert_eq!(super::bump(&m).await, 2);
    }
}
"#;

const MANIFEST: &str = r#"[package]
name = "demo"
version = "0.1.0"
edition = "2021"

[dependencies]
tokio = { version = "1", features = ["full"] }
serde = "1" # keep this comment
"#;

fn krate() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(d.path().join("src")).unwrap();
    std::fs::write(d.path().join("Cargo.toml"), MANIFEST).unwrap();
    std::fs::write(d.path().join("src/lib.rs"), TOKIO_LIB).unwrap();
    d
}

/// Runs `weft-migrate rewrite` syntactic only (these crates are not
/// built; the compiler loop has its own tests in `check.rs`).
fn wm(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_weft-migrate"))
        .current_dir(dir)
        .args(["rewrite", "--no-check"])
        .args(args)
        .output()
        .unwrap()
}

fn read(dir: &Path, p: &str) -> Vec<u8> {
    std::fs::read(dir.join(p)).unwrap()
}

#[test]
fn check_exits_1_and_changes_nothing() {
    let d = krate();
    let out = wm(d.path(), &["--check"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(read(d.path(), "src/lib.rs"), TOKIO_LIB.as_bytes());
    assert_eq!(read(d.path(), "Cargo.toml"), MANIFEST.as_bytes());
}

#[test]
fn diff_prints_and_changes_nothing() {
    let d = krate();
    let out = wm(d.path(), &["--diff"]);
    assert_eq!(out.status.code(), Some(0));
    let diff = String::from_utf8(out.stdout).unwrap();
    assert!(diff.contains("--- a/src/lib.rs"), "{diff}");
    assert!(
        diff.contains("+pub fn bump(m: &Mutex<u32>) -> u32 {"),
        "{diff}"
    );
    assert!(
        diff.contains("-tokio = { version = \"1\", features = [\"full\"] }"),
        "{diff}"
    );
    assert_eq!(read(d.path(), "src/lib.rs"), TOKIO_LIB.as_bytes());
}

#[test]
fn rewrite_then_second_run_is_a_no_op() {
    let d = krate();
    let out = wm(d.path(), &["--allow-dirty"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lib = String::from_utf8(read(d.path(), "src/lib.rs")).unwrap();
    assert!(
        lib.starts_with("// A small tokio library.\nuse weft::sync::Mutex;\n"),
        "{lib}"
    );
    assert!(lib.contains("    #[weft::test]\n    fn bumps() {"), "{lib}");
    assert!(lib.contains("assert_eq!(super::bump(&m), 2);"), "{lib}");
    let toml = String::from_utf8(read(d.path(), "Cargo.toml")).unwrap();
    assert!(toml.contains("serde = \"1\" # keep this comment"), "{toml}");
    assert!(
        toml.contains(&format!("weft = \"{}\"", env!("CARGO_PKG_VERSION"))),
        "{toml}"
    );
    assert!(!toml.contains("tokio"), "{toml}");
    assert!(!toml.contains("weft-compat"), "{toml}");
    // Second run: nothing to do.
    let again = wm(d.path(), &["--check"]);
    assert_eq!(
        again.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}

#[test]
fn json_report() {
    let d = krate();
    std::fs::write(
        d.path().join("src/remote.rs"),
        "pub async fn f(c: &Client) -> u8 { c.get().await }\n",
    )
    .unwrap();
    let out = wm(d.path(), &["--check", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["summary"]["scanned"], 2);
    assert_eq!(v["summary"]["changed"], 2);
    assert_eq!(v["summary"]["bridged"], 1);
    assert_eq!(v["conversions"]["async fn"], 3);
    let remote = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "src/remote.rs")
        .unwrap();
    assert_eq!(remote["notes"][0]["line"], 1);
    assert!(remote["notes"][0]["message"]
        .as_str()
        .unwrap()
        .contains("weft_compat::await_future"));
    // With a bridge left, weft-compat is needed: the diff shows it.
    let diff = wm(d.path(), &["--diff"]);
    assert!(String::from_utf8_lossy(&diff.stdout)
        .contains(&format!("+weft-compat = \"{}\"", env!("CARGO_PKG_VERSION"))));
}

fn git(dir: &Path, args: &[&str]) {
    let st = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
}

#[test]
fn dirty_tree_is_refused_unless_allowed() {
    let d = krate();
    git(d.path(), &["init", "-q"]);
    git(d.path(), &["add", "-A"]);
    git(d.path(), &["commit", "-qm", "init"]);
    // Clean: allowed.
    let check = wm(d.path(), &["--check"]);
    assert_eq!(check.status.code(), Some(1));
    std::fs::write(d.path().join("src/extra.rs"), "pub fn x() {}\n").unwrap();
    let out = wm(d.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("uncommitted changes") && err.contains("src/extra.rs"),
        "{err}"
    );
    assert_eq!(read(d.path(), "src/lib.rs"), TOKIO_LIB.as_bytes());
    let out = wm(d.path(), &["--allow-dirty"]);
    assert_eq!(out.status.code(), Some(0));
    assert_ne!(read(d.path(), "src/lib.rs"), TOKIO_LIB.as_bytes());
}

#[test]
fn bad_inputs_are_left_untouched_and_reported() {
    let d = krate();
    let bad: Vec<(&str, Vec<u8>)> = vec![
        (
            "src/broken.rs",
            b"async fn f( { tokio::spawn(async {}).await }\n".to_vec(),
        ),
        ("src/latin1.rs", b"// caf\xe9\nasync fn g() {}\n".to_vec()),
        ("src/blob.rs", b"async fn h() {}\0\x01\x02".to_vec()),
    ];
    for (p, bytes) in &bad {
        std::fs::write(d.path().join(p), bytes).unwrap();
    }
    std::os::unix::fs::symlink("loop.rs", d.path().join("src/loop.rs")).unwrap();
    let out = wm(
        d.path(),
        &[
            "--allow-dirty",
            "src/lib.rs",
            "src/broken.rs",
            "src/latin1.rs",
            "src/blob.rs",
            "src/loop.rs",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("src/broken.rs: error: does not parse"),
        "{err}"
    );
    assert!(err.contains("src/latin1.rs: error: not UTF-8"), "{err}");
    assert!(err.contains("src/blob.rs: error: binary file"), "{err}");
    assert!(err.contains("src/loop.rs: error: cannot read"), "{err}");
    assert!(
        err.contains("5 scanned, 1 changed, 0 unchanged, 4 failed"),
        "{err}"
    );
    for (p, bytes) in &bad {
        assert_eq!(&read(d.path(), p), bytes, "{p} is byte-for-byte unchanged");
    }
    // The good file was still rewritten.
    assert!(String::from_utf8(read(d.path(), "src/lib.rs"))
        .unwrap()
        .contains("pub fn bump"));
}

#[test]
fn only_converts_the_selection_and_bridges_the_boundary() {
    let d = krate();
    std::fs::write(
        d.path().join("src/other.rs"),
        "pub async fn caller(m: &tokio::sync::Mutex<u32>) -> u32 {\n    crate::bump(m).await\n}\n",
    )
    .unwrap();
    let out = wm(
        d.path(),
        &["--allow-dirty", "--only", "src/other.rs", "--no-manifest"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(read(d.path(), "src/lib.rs"), TOKIO_LIB.as_bytes());
    let other = String::from_utf8(read(d.path(), "src/other.rs")).unwrap();
    assert_eq!(
        other,
        "pub fn caller(m: &weft::sync::Mutex<u32>) -> u32 {\n    weft_compat::await_future(crate::bump(m))\n}\n"
    );
}

#[test]
fn config_file_maps_user_functions() {
    let d = krate();
    std::fs::write(
        d.path().join("src/db.rs"),
        "pub async fn load(db: &Db) -> u8 {\n    db_client::query(db).await + db.ping().await\n}\n",
    )
    .unwrap();
    std::fs::write(
        d.path().join("weft-migrate.toml"),
        "[functions]\n\"db_client::query\" = \"db_client::blocking::query\"\n\n[direct]\nnames = [\"ping\"]\n",
    )
    .unwrap();
    let out = wm(d.path(), &["--allow-dirty", "src/db.rs", "--no-manifest"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(read(d.path(), "src/db.rs")).unwrap(),
        "pub fn load(db: &Db) -> u8 {\n    db_client::blocking::query(db) + db.ping()\n}\n"
    );
    std::fs::write(d.path().join("weft-migrate.toml"), "[nonsense]\n").unwrap();
    let out = wm(d.path(), &["--check"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("weft-migrate.toml"));
}

#[test]
fn path_dependencies_from_flags() {
    let d = krate();
    let out = wm(
        d.path(),
        &["--allow-dirty", "--weft-path", "/opt/weft/runtime"],
    );
    assert_eq!(out.status.code(), Some(0));
    let toml = String::from_utf8(read(d.path(), "Cargo.toml")).unwrap();
    assert!(
        toml.contains("weft = { path = \"/opt/weft/runtime\" }"),
        "{toml}"
    );
}

#[test]
fn gitignored_files_are_skipped() {
    let d = krate();
    std::fs::write(d.path().join(".gitignore"), "src/generated.rs\n").unwrap();
    let generated = "pub async fn gen() { tokio::task::yield_now().await }\n";
    std::fs::write(d.path().join("src/generated.rs"), generated).unwrap();
    git(d.path(), &["init", "-q"]);
    git(d.path(), &["add", "-A"]);
    git(d.path(), &["commit", "-qm", "init"]);
    let out = wm(d.path(), &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 scanned, 1 changed"));
    assert_eq!(read(d.path(), "src/generated.rs"), generated.as_bytes());
}

/// A workspace directory whose root manifest has no package, with the
/// demo crate as its member `demo`.
fn workspace_with_member() -> tempfile::TempDir {
    let ws = tempfile::tempdir().unwrap();
    std::fs::write(
        ws.path().join("Cargo.toml"),
        "[workspace]\nmembers = [\"demo\"]\n",
    )
    .unwrap();
    let member = ws.path().join("demo");
    std::fs::create_dir_all(member.join("src")).unwrap();
    std::fs::write(member.join("Cargo.toml"), MANIFEST).unwrap();
    std::fs::write(member.join("src/lib.rs"), TOKIO_LIB).unwrap();
    ws
}

#[test]
fn paths_given_from_elsewhere_edit_the_manifest_of_their_own_crate() {
    let ws = workspace_with_member();
    let out = wm(ws.path(), &["--allow-dirty", "demo/src"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let member_toml = String::from_utf8(read(ws.path(), "demo/Cargo.toml")).unwrap();
    assert!(
        member_toml.contains(&format!("weft = \"{}\"", env!("CARGO_PKG_VERSION"))),
        "{member_toml}"
    );
    assert!(!member_toml.contains("tokio"), "{member_toml}");
    assert_eq!(
        read(ws.path(), "Cargo.toml"),
        b"[workspace]\nmembers = [\"demo\"]\n",
        "the workspace manifest was edited"
    );
    let lib = String::from_utf8(read(ws.path(), "demo/src/lib.rs")).unwrap();
    assert!(lib.contains("use weft::sync::Mutex;"), "{lib}");
}

#[test]
fn paths_in_two_crates_are_refused_before_anything_changes() {
    let ws = workspace_with_member();
    let other = ws.path().join("other");
    std::fs::create_dir_all(other.join("src")).unwrap();
    std::fs::write(other.join("Cargo.toml"), MANIFEST.replace("demo", "other")).unwrap();
    std::fs::write(other.join("src/lib.rs"), TOKIO_LIB).unwrap();
    let out = wm(ws.path(), &["--allow-dirty", "demo/src", "other/src"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("belong to different crates"), "{err}");
    assert_eq!(read(ws.path(), "demo/src/lib.rs"), TOKIO_LIB.as_bytes());
    assert_eq!(read(ws.path(), "other/src/lib.rs"), TOKIO_LIB.as_bytes());
}

#[test]
fn a_workspace_root_manifest_is_reported_not_broken() {
    let ws = workspace_with_member();
    // Sources at the workspace root itself: its manifest cannot take
    // dependencies, so it is left valid and the run says why.
    std::fs::create_dir_all(ws.path().join("src")).unwrap();
    std::fs::write(ws.path().join("src/lib.rs"), TOKIO_LIB).unwrap();
    let out = wm(ws.path(), &["--allow-dirty"]);
    assert_ne!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no [package]"), "{err}");
    assert_eq!(
        read(ws.path(), "Cargo.toml"),
        b"[workspace]\nmembers = [\"demo\"]\n"
    );
}

#[test]
fn only_matching_nothing_is_an_error_and_changes_nothing() {
    let d = krate();
    let before = read(d.path(), "src/lib.rs");
    let out = wm(
        d.path(),
        &["--allow-dirty", "--only", "no_such_fn", "--only", "bump"],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--only no_such_fn: matches no file and no function"),
        "{err}"
    );
    assert!(
        !err.contains("bump"),
        "a name that matches is not listed: {err}"
    );
    assert_eq!(read(d.path(), "src/lib.rs"), before);
}

#[test]
fn a_run_outside_any_crate_is_an_error() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("a.rs"), "async fn f() {}\n").unwrap();
    let out = wm(d.path(), &["--allow-dirty"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("not inside a crate (no Cargo.toml"), "{err}");
    assert_eq!(
        std::fs::read(d.path().join("a.rs")).unwrap(),
        b"async fn f() {}\n"
    );
}

#[test]
fn help_has_no_doc_example_fences() {
    for args in [&["--help"][..], &["rewrite", "--help"][..]] {
        let out = Command::new(env!("CARGO_BIN_EXE_weft-migrate"))
            .args(args)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success());
        assert!(text.contains("Usage: weft-migrate"), "{text}");
        assert!(!text.contains("```"), "{text}");
        assert!(!text.contains("try_parse_from"), "{text}");
    }
}

#[test]
fn without_a_path_weft_is_required_at_this_version() {
    let d = krate();
    let out = wm(d.path(), &["--allow-dirty"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest = String::from_utf8(read(d.path(), "Cargo.toml")).unwrap();
    let want = format!("weft = \"{}\"", env!("CARGO_PKG_VERSION"));
    assert!(manifest.contains(&want), "{manifest}");
}

#[test]
fn generated_code_is_formatted_in_a_rustfmt_clean_file_only() {
    let src = "pub async fn pick(\n    mut a: tokio::sync::mpsc::Receiver<u32>,\n    mut b: tokio::sync::mpsc::Receiver<u32>,\n) -> u32 {\n    tokio::select! {\n        Some(x) = a.recv() => x,\n        Some(y) = b.recv() => y + 1,\n    }\n}\n";
    let d = krate();
    std::fs::write(d.path().join("src/lib.rs"), src).unwrap();
    let out = wm(d.path(), &["--allow-dirty"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lib = String::from_utf8(read(d.path(), "src/lib.rs")).unwrap();
    assert!(
        lib.contains("    match weft::fiber::first(\n        || match a.recv() {\n"),
        "{lib}"
    );
    // A file that was not rustfmt-clean is not reflowed.
    let d = krate();
    let messy = src.replace("-> u32 {", "-> u32   {");
    std::fs::write(d.path().join("src/lib.rs"), &messy).unwrap();
    let out = wm(d.path(), &["--allow-dirty"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lib = String::from_utf8(read(d.path(), "src/lib.rs")).unwrap();
    assert!(lib.contains("-> u32   {"), "{lib}");
    assert!(lib.contains("match weft::fiber::first(||"), "{lib}");
}
