//! The workspace's per-test time limit (`.cargo/test-runner`, cargo's
//! runner for every binary): a test still running past `WEFT_TEST_TIMEOUT`
//! is named and its harness killed; everything else passes through.
//! Checked on stand-in harnesses that print libtest's 60-second warning.

mod common;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn runner() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../.cargo/test-runner")
}

/// A stand-in test harness (a shell script in a `deps/` directory, where
/// cargo puts test binaries).
fn harness(dir: &common::TempDir, name: &str, body: &str) -> PathBuf {
    let deps = dir.path("deps");
    std::fs::create_dir_all(&deps).unwrap();
    let path = deps.join(name);
    std::fs::write(&path, format!("#!/usr/bin/env bash\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn a_test_past_the_limit_is_named_and_its_harness_killed() {
    let dir = common::TempDir::new("time-limit-hang");
    let bin = harness(
        &dir,
        "hangs",
        "echo 'test quick::one ... ok'\n\
         echo 'test stuck::two has been running for over 60 seconds'\n\
         exec sleep 600",
    );
    let out = Command::new(runner())
        .arg(&bin)
        .env("WEFT_TEST_TIMEOUT", "63") // 3 s after the warning
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(101), "stderr: {stderr}");
    assert!(stdout.contains("test quick::one ... ok"), "{stdout}");
    assert!(
        stderr.contains("test stuck::two is still running after 63s"),
        "{stderr}"
    );
}

#[test]
fn a_harness_within_the_limit_passes_through_untouched() {
    let dir = common::TempDir::new("time-limit-ok");
    let bin = harness(
        &dir,
        "slow_but_fine",
        "echo 'test slow::one has been running for over 60 seconds'\n\
         echo 'test slow::one ... ok'\n\
         read -r line; echo \"stdin: $line\"\n\
         printf 'last line without a newline'\n\
         exit 3",
    );
    let mut child = Command::new(runner())
        .arg(&bin)
        .env("WEFT_TEST_TIMEOUT", "70") // warned, then finished: not killed
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"fed\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(3), "the harness's own status");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "test slow::one has been running for over 60 seconds\n\
         test slow::one ... ok\n\
         stdin: fed\n\
         last line without a newline"
    );
}

#[test]
fn a_program_outside_deps_is_run_as_is() {
    let out = Command::new(runner())
        .args(["/bin/sh", "-c", "echo plain; exit 7"])
        .env("WEFT_TEST_TIMEOUT", "60")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(7));
    assert_eq!(out.stdout, b"plain\n");
}
