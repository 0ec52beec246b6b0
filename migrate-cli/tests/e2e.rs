//! End to end: each fixture tokio crate is copied to a temporary
//! directory, migrated, checked for idempotence, built and tested against
//! this workspace's weft (path dependencies, `cargo test --offline`, a
//! shared target directory so dependencies are built once).

use std::path::{Path, PathBuf};
use std::process::Command;

use weft_migrate::{Mode, RunOptions};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let name = e.file_name();
        if name == "target" {
            continue;
        }
        let dest = to.join(&name);
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// Migrates fixture `name`, builds it and runs its tests; returns how many
/// calls stayed bridged.
fn migrate_build_test(name: &str) -> usize {
    let ws = workspace();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(name);
    copy_dir(&ws.join("migrate-cli/tests/fixtures").join(name), &dir);

    let mut opts = RunOptions::new(&dir);
    opts.allow_dirty = true;
    opts.table.dependencies.weft_path = Some(ws.join("runtime").display().to_string());
    opts.table.dependencies.compat_path = Some(ws.join("compat").display().to_string());
    let out = weft_migrate::run(&opts).unwrap();
    let report = out.report.to_text();
    assert_eq!(out.report.summary.failed, 0, "{report}");
    assert!(out.report.summary.changed > 0, "{report}");
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    assert!(!manifest.contains("tokio"), "tokio is gone:\n{manifest}");
    assert!(manifest.contains("weft = { path = "), "{manifest}");

    // A second run changes nothing.
    let again = weft_migrate::run(&RunOptions {
        mode: Mode::Check,
        ..opts.clone()
    })
    .unwrap();
    assert_eq!(
        again.report.exit_code(true),
        0,
        "{}",
        again.report.to_text()
    );

    // Offline first (dependencies already built for the workspace); a
    // fresh machine may lack a fixture's own dependencies (futures,
    // async-trait), so fetch them then.
    let cargo_test = |offline: bool| {
        let mut c = Command::new(env!("CARGO"));
        c.current_dir(&dir)
            .env("CARGO_TARGET_DIR", ws.join("target/e2e"))
            // The fixtures' own warnings (imports a migration leaves
            // unused) are not what this test is about.
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .args(["test", "--quiet"]);
        if offline {
            c.arg("--offline");
        }
        c.output().unwrap()
    };
    let mut build = cargo_test(true);
    if !build.status.success() && String::from_utf8_lossy(&build.stderr).contains("offline") {
        build = cargo_test(false);
    }
    let log = String::from_utf8_lossy(&build.stderr);
    let tail: String = log
        .lines()
        .rev()
        .take(60)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        build.status.success(),
        "the migrated {name} builds and its tests pass\n{report}\n{}\n{tail}",
        String::from_utf8_lossy(&build.stdout)
    );
    eprintln!("{name}: {} bridged calls left", out.report.summary.bridged);
    out.report.summary.bridged
}

#[test]
fn kv_server() {
    // TCP server, client, graceful shutdown: nothing left bridged.
    assert_eq!(migrate_build_test("kv"), 0);
}

#[test]
fn pipeline() {
    // Channels, JoinSet, fs and process (needs weft::process).
    assert_eq!(migrate_build_test("pipeline"), 0);
}

#[test]
fn catalog() {
    // Two stream consumers stay bridged: `collect` of a stream chain and
    // `next` of a pinned stream (futures streams have no weft target); and
    // the future a `then` closure hands the stream, a call made direct,
    // kept lazy in an async block.
    assert_eq!(migrate_build_test("catalog"), 3);
}
