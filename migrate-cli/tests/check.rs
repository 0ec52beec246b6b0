//! The compiler in the loop, on fixture crates: each repair kind, a
//! rollback, and a crate that cannot be made to build (left byte for byte,
//! exit 2). The fixtures are built against this workspace's weft, offline,
//! in the target directory the end-to-end tests share, so tokio and weft
//! are checked once for all of them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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
        if e.file_name() == "target" {
            continue;
        }
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// Every file under `dir` (but `target/`), with its bytes.
fn snapshot_tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_name() == "target" {
                continue;
            }
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.push((e.path(), std::fs::read(e.path()).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// Copies fixture `name` and runs `weft-migrate rewrite` (with the
/// compiler loop) on it, depending on weft at `weft_path` (default: this
/// workspace's).
fn migrate(name: &str, weft_path: Option<&str>) -> (tempfile::TempDir, PathBuf, Output) {
    migrate_with(name, weft_path, |_| {}, &[])
}

/// [`migrate`], with `prepare` run on the copy first and `extra`
/// arguments (paths, flags) given.
fn migrate_with(
    name: &str,
    weft_path: Option<&str>,
    prepare: impl FnOnce(&Path),
    extra: &[&str],
) -> (tempfile::TempDir, PathBuf, Output) {
    let ws = workspace();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(name);
    copy_dir(&ws.join("migrate-cli/tests/fixtures").join(name), &dir);
    prepare(&dir);
    let weft = weft_path.map_or_else(|| ws.join("runtime").display().to_string(), str::to_string);
    let compat = ws.join("compat").display().to_string();
    let target = ws.join("target/e2e").display().to_string();
    let args = vec![
        "rewrite",
        "--allow-dirty",
        "--offline",
        "--check-target-dir",
        &target,
        "--weft-path",
        &weft,
        "--compat-path",
        &compat,
    ];
    let out = Command::new(env!("CARGO_BIN_EXE_weft-migrate"))
        .current_dir(&dir)
        // The fixtures' own warnings are not what this test is about.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .args(&args)
        .args(extra)
        .output()
        .unwrap();
    (tmp, dir, out)
}

/// The report's lines about the loop, without timings.
fn loop_lines(stderr: &str) -> String {
    stderr
        .lines()
        .filter(|l| {
            l.contains("repaired (") || l.contains("rolled back ") || l.starts_with("check:")
        })
        .map(|l| match l.find(" cargo checks in ") {
            Some(i) => format!("{} cargo checks", &l[..i]),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn repairs_unwrap_a_bridge_drop_an_await_and_bridge_a_future() {
    let (_tmp, dir, out) = migrate("check-repairs", None);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("check: builds;"), "{err}");
    insta::assert_snapshot!("repairs_report", loop_lines(&err));
    insta::assert_snapshot!(
        "repairs_lib",
        std::fs::read_to_string(dir.join("src/lib.rs")).unwrap()
    );
}

#[test]
fn an_item_that_still_fails_is_rolled_back_and_bridged() {
    let (_tmp, dir, out) = migrate("check-rollback", None);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("1 rolled back"), "{err}");
    insta::assert_snapshot!("rollback_report", loop_lines(&err));
    insta::assert_snapshot!(
        "rollback_lib",
        std::fs::read_to_string(dir.join("src/lib.rs")).unwrap()
    );
}

#[test]
fn a_mapped_type_that_breaks_async_code_is_rolled_back_at_its_declaration() {
    // `Notify` is declared in shared.rs; an async block in waiter.rs awaits
    // its `notified()`. Mapped to weft's, that call "is not a future" in
    // async code: no repair (dropping the `.await` would block inside a
    // future), the type goes back to tokio's in every file.
    let (_tmp, dir, out) = migrate("check-type-rollback", None);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("rolled back the mapping of `tokio::sync::Notify`"),
        "{err}"
    );
    assert!(!err.contains("repaired (drop .await)"), "{err}");
    insta::assert_snapshot!("type_rollback_report", loop_lines(&err));
    for f in ["src/shared.rs", "src/waiter.rs"] {
        let text = std::fs::read_to_string(dir.join(f)).unwrap();
        assert!(!text.contains("weft::sync::Notify"), "{f}: {text}");
        insta::assert_snapshot!(format!("type_rollback_{}", &f[4..f.len() - 3]), text);
    }
}

#[test]
fn a_doc_example_whose_doctest_no_longer_compiles_is_given_back() {
    // `cargo check` does not build doctests: the loop compiles them
    // (`cargo test --doc`), keeps an example that fails async (its calls
    // of the crate's functions made direct bridged), compiles again, and
    // leaves one that still fails as it was; the manifest keeps tokio,
    // which those examples still name.
    let (_tmp, dir, out) = migrate_with("check-doc-rollback", None, |_| {}, &["--verify-tests"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    for at in ["src/lib.rs:16", "src/lib.rs:29"] {
        assert!(
            err.contains(&format!("rolled back the doc example at {at} (kept async")),
            "{err}"
        );
    }
    assert!(
        err.contains("rolled back the doc example at src/lib.rs:44 (left as it was"),
        "{err}"
    );
    // The third example works kept async; the fourth cannot (a borrowed
    // local would have to go to a fiber, and awaiting the direct call
    // does not compile), and the run names it.
    assert!(err.contains("tests: 5 passed before, 4 after"), "{err}");
    assert!(
        err.contains("passed before, fails after: doctests fixture_check_doc_rollback::src/lib.rs"),
        "{err}"
    );
    insta::assert_snapshot!("doc_rollback_report", loop_lines(&err));
    insta::assert_snapshot!(
        "doc_rollback_lib",
        std::fs::read_to_string(dir.join("src/lib.rs")).unwrap()
    );
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("tokio"), "{manifest}");
}

#[test]
fn a_crate_that_cannot_be_made_to_build_is_left_byte_for_byte_with_exit_2() {
    let ws = workspace();
    let fixture = ws.join("migrate-cli/tests/fixtures/check-rollback");
    let before = snapshot_tree(&fixture);
    // A weft path with no crate: no rollback can make the output build.
    let (_tmp, dir, out) = migrate("check-rollback", Some("/nonexistent/weft"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("does not build, so every file was restored"),
        "{err}"
    );
    assert!(
        err.contains("/nonexistent/weft"),
        "the compiler's error is shown: {err}"
    );
    let after: Vec<(PathBuf, Vec<u8>)> = snapshot_tree(&dir)
        .into_iter()
        .map(|(p, b)| (fixture.join(p.strip_prefix(&dir).unwrap()), b))
        .collect();
    assert_eq!(before, after, "every file as it was");
}

#[test]
fn a_crate_that_did_not_build_is_rewritten_from_syntax_with_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"broken\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("src/lib.rs"),
        "pub async fn f() -> u32 { let x: u32 = \"no\"; x }\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_weft-migrate"))
        .current_dir(dir)
        .args([
            "rewrite",
            "--allow-dirty",
            "--offline",
            "--weft-path",
            "/w",
            "--compat-path",
            "/c",
        ])
        .arg("--check-target-dir")
        .arg(workspace().join("target/e2e"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("did not build before the rewrite"), "{err}");
    assert!(
        err.contains("mismatched types"),
        "the first error is named: {err}"
    );
    let lib = std::fs::read_to_string(dir.join("src/lib.rs")).unwrap();
    assert!(lib.starts_with("pub fn f()"), "{lib}");
}

#[test]
fn a_caller_outside_the_run_rolls_its_callee_back() {
    // Only src/ is rewritten; tests/ still awaits `twice`, so the
    // compiler's error there names the callee to give back.
    let outside = "#[tokio::test]\nasync fn outside() {\n    assert_eq!(fixture_check_rollback::twice().await, 5);\n}\n";
    let (_tmp, dir, out) = migrate_with(
        "check-rollback",
        None,
        |d| {
            std::fs::create_dir_all(d.join("tests")).unwrap();
            std::fs::write(d.join("tests/outside.rs"), outside).unwrap();
        },
        &["src"],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("rolled back `twice`"), "{err}");
    assert!(err.contains("check: builds;"), "{err}");
    assert_eq!(
        std::fs::read_to_string(dir.join("tests/outside.rs")).unwrap(),
        outside
    );
    let lib = std::fs::read_to_string(dir.join("src/lib.rs")).unwrap();
    assert!(lib.contains("pub async fn twice()"), "{lib}");
}

#[test]
fn verify_tests_runs_the_tests_before_and_after() {
    let (_tmp, _dir, out) = migrate_with("check-rollback", None, |_| {}, &["--verify-tests"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    // The fixture's one test (and its doctest-free lib) passes on tokio
    // and on weft.
    assert!(err.contains("tests: 1 passed before, 1 after"), "{err}");
    assert!(!err.contains("passed before, fails after"), "{err}");
}

#[test]
fn a_mapped_call_whose_streams_stayed_tokio_s_goes_back_to_tokio_alone() {
    // `letters.rs` (outside the run) reads by polling: its type stays
    // tokio's, so `tokio::io::copy` mapped to `std::io::copy` does not
    // build. Only that call goes back to tokio (bridged: the function is
    // direct); the rest of the function stays converted, and the crate's
    // test passes on weft.
    let (_tmp, dir, out) = migrate_with(
        "check-kept-copy",
        None,
        |_| {},
        &["--verify-tests", "src/lib.rs"],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("repaired (keep a tokio call)"), "{err}");
    assert!(err.contains("0 rolled back"), "{err}");
    assert!(err.contains("tests: 1 passed before, 1 after"), "{err}");
    let lib = std::fs::read_to_string(dir.join("src/lib.rs")).unwrap();
    assert!(
        lib.contains("weft_compat::await_future(tokio::io::copy(&mut from, &mut to))?"),
        "{lib}"
    );
    assert!(lib.contains("pub fn letters("), "{lib}");
    insta::assert_snapshot!("kept_copy_report", loop_lines(&err));
    insta::assert_snapshot!("kept_copy_lib", lib);
}

#[test]
fn a_mapped_type_whose_method_made_a_value_tokio_code_keeps_is_rolled_back() {
    // `on_shutdown.rs` (outside the run) keeps `token().cancelled()` in a
    // field of tokio_util's `WaitForCancellationFuture`. With the token
    // mapped in `shutdown.rs`, `cancelled()` returns `()` there and the
    // error names no weft type: the method that made the value blames the
    // token's mapping, which goes back to tokio_util's everywhere.
    let (_tmp, dir, out) = migrate_with(
        "check-kept-token",
        None,
        |_| {},
        &["--verify-tests", "src/lib.rs", "src/shutdown.rs"],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("rolled back the mapping of `tokio_util::sync::CancellationToken`"),
        "{err}"
    );
    assert!(err.contains("tests: 1 passed before, 1 after"), "{err}");
    let shutdown = std::fs::read_to_string(dir.join("src/shutdown.rs")).unwrap();
    assert!(
        shutdown.contains("use tokio_util::sync::CancellationToken;"),
        "{shutdown}"
    );
    assert!(!shutdown.contains("weft::sync"), "{shutdown}");
    insta::assert_snapshot!("kept_token_report", loop_lines(&err));
    insta::assert_snapshot!("kept_token_shutdown", shutdown);
}

#[test]
fn a_callee_made_direct_that_async_code_still_uses_as_a_future_is_rolled_back() {
    // `runner.rs` (outside the run) is handed `countdown` as a function
    // that returns a future, and `countdown` races the library method
    // `on_shutdown_requested` (declared in `handle.rs`) in a
    // `tokio::select!`. Made direct, each value "is not a future" where it
    // is used: the loop gives back the callee, not the function the
    // error sits in. `start_countdown` (which hands `countdown` to the
    // runner, through a bridge that is "not a future" too: no repair
    // unwraps it) and `wait_then` (which only awaited the method) stay
    // converted. Before, both were rolled back, with the test, and
    // nothing stayed converted.
    let (_tmp, dir, out) = migrate_with(
        "check-callee-rollback",
        None,
        |_| {},
        &[
            "--verify-tests",
            "src/lib.rs",
            "src/handle.rs",
            "src/subsystems.rs",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("rolled back `countdown`"), "{err}");
    assert!(err.contains("rolled back `on_shutdown_requested`"), "{err}");
    assert!(err.contains("2 rolled back"), "{err}");
    assert!(err.contains("tests: 2 passed before, 2 after"), "{err}");
    let subsystems = std::fs::read_to_string(dir.join("src/subsystems.rs")).unwrap();
    assert!(
        subsystems.contains("pub async fn countdown(h: Handle) -> u32 {\n    tokio::select! {"),
        "{subsystems}"
    );
    assert!(
        subsystems.contains("pub fn wait_then(h: Handle)"),
        "{subsystems}"
    );
    assert!(
        subsystems.contains("pub fn start_countdown(h: Handle)"),
        "{subsystems}"
    );
    let handle = std::fs::read_to_string(dir.join("src/handle.rs")).unwrap();
    assert!(
        handle.contains("pub async fn on_shutdown_requested(&self)"),
        "{handle}"
    );
    insta::assert_snapshot!("callee_rollback_report", loop_lines(&err));
    insta::assert_snapshot!("callee_rollback_subsystems", subsystems);
}

#[test]
fn a_future_left_unused_is_bridged_even_when_the_build_first_succeeds_at_the_last_round() {
    // tokio-graceful-shutdown: the build first succeeded at the round that
    // only judges, and its warnings (a future a timeout closure returned,
    // unawaited) were left. With no repair round at all, the first check
    // is that round: the warning still gets its bridge, inside the
    // closure, and the test that waits passes.
    let ws = workspace();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("check-late-warning");
    copy_dir(
        &ws.join("migrate-cli/tests/fixtures/check-late-warning"),
        &dir,
    );
    let mut opts = weft_migrate::RunOptions::new(&dir);
    opts.allow_dirty = true;
    opts.only = vec!["tests".into()];
    opts.table.dependencies.weft_path = Some(ws.join("runtime").display().to_string());
    opts.table.dependencies.compat_path = Some(ws.join("compat").display().to_string());
    opts.check = Some(weft_migrate::check::CheckOptions {
        target_dir: Some(ws.join("target/e2e")),
        offline: true,
        verify_tests: true,
        repair_rounds: 0,
        ..Default::default()
    });
    let out = weft_migrate::run(&opts).unwrap();
    let report = out.report.to_text();
    let test = std::fs::read_to_string(dir.join("tests/wait.rs")).unwrap();
    assert!(
        test.contains("|| weft_compat::await_future(ev.wait())"),
        "{test}\n{report}"
    );
    let check = out.report.check.as_ref().expect("checked");
    assert!(check.built, "{report}");
    let tests = check.tests.as_ref().expect("tests run");
    assert_eq!(
        (tests.passed_before, tests.passed_after),
        (1, 1),
        "{report}"
    );
}
