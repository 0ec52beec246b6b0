//! Bad input: one line on stderr and exit status 2, nothing else touched.

mod common;

use common::run_cli;

fn assert_refused(args: &[&str], expect: &str) {
    let out = run_cli(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(out.stdout.is_empty(), "{args:?} printed to stdout");
    assert!(stderr.contains(expect), "{args:?}: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
}

#[test]
fn a_pid_with_no_process_is_refused() {
    // Above the kernel's pid_max (at most 2^22), so never a process.
    let pid = (i32::MAX - 1).to_string();
    assert_refused(&["snapshot", &pid], "no process with PID");
    assert_refused(&["top", &pid], "no process with PID");
}

#[test]
fn a_running_program_without_monitoring_is_refused() {
    let me = std::process::id().to_string();
    assert_refused(&["snapshot", &me, "--format", "json"], "not a weft program");
    let out = std::env::temp_dir().join(format!("weft-console-test-{me}.jsonl"));
    let out_s = out.display().to_string();
    assert_refused(&["record", &me, "-o", &out_s], "not a weft program");
    assert!(!out.exists(), "no recording file is left behind");
}

#[test]
fn an_exited_program_is_refused_and_its_stale_file_removed() {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    let stale = weft::console::layout::path_for(pid);
    std::fs::write(&stale, b"left by a crash").unwrap();
    assert_refused(&["snapshot", &pid.to_string()], "has exited");
    assert!(!stale.exists(), "the stale file was removed");
}

#[test]
fn a_file_that_is_not_a_recording_is_refused() {
    let path = std::env::temp_dir().join(format!(
        "weft-console-not-a-recording-{}",
        std::process::id()
    ));
    std::fs::write(&path, "hello\n").unwrap();
    assert_refused(
        &[
            "export",
            &path.display().to_string(),
            "--format",
            "perfetto",
        ],
        "not a weft-console recording",
    );
    std::fs::remove_file(&path).unwrap();
}
