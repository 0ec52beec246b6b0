//! Helpers shared by the networking tests: descriptor leak checks that
//! are safe while other tests run in parallel, temporary directories, and
//! re-running one test in a child process.

#![allow(dead_code)] // each test file uses a different subset

use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Runs `f` on a runtime with the mock clock: timeouts fire as soon as
/// every fiber is blocked, so "cancel it while it is stuck" is
/// deterministic and instant.
pub fn mock_run<T>(f: impl FnOnce(&weft::Env) -> T) -> T {
    weft::Runtime::builder()
        .mock_clock(true)
        .build()
        .expect("runtime")
        .run(f)
}

/// The inode behind a descriptor (sockets and pipes have unique ones).
pub fn inode(fd: &impl AsRawFd) -> u64 {
    // SAFETY: fstat on an open descriptor into a zeroed stat buffer.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        assert_eq!(libc::fstat(fd.as_raw_fd(), &mut st), 0, "fstat");
        st.st_ino
    }
}

/// How many of this process's descriptors refer to `kind:[inode]`
/// (`kind` is "socket" or "pipe"). Unlike a plain descriptor count this
/// stays exact while other tests open and close descriptors in parallel.
pub fn open_refs(kind: &str, ino: u64) -> usize {
    let wanted = format!("{kind}:[{ino}]");
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|target| target.as_os_str() == wanted.as_str())
        .count()
}

/// Asserts that no descriptor of this process refers to socket `ino`.
#[track_caller]
pub fn assert_socket_closed(ino: u64) {
    assert_eq!(
        open_refs("socket", ino),
        0,
        "socket inode {ino} is still open"
    );
}

/// Number of open descriptors (exact only when nothing else runs).
pub fn fd_count() -> usize {
    // The directory handle itself is one of the entries.
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .count()
        - 1
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("weft-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).expect("create temp dir");
        TempDir(dir)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    pub fn dir(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// If this process is the child started by [`run_in_child`] for `test`,
/// returns true (run the body); otherwise re-runs the test binary with
/// only `test` selected and `WEFT_TEST_CHILD=test` set, asserts that it
/// passed, and returns false. Use it for tests that change process-wide
/// state (resource limits) that must not leak into the other tests.
#[track_caller]
pub fn run_in_child(test: &str) -> bool {
    if std::env::var("WEFT_TEST_CHILD").as_deref() == Ok(test) {
        return true;
    }
    let exe = std::env::current_exe().expect("current_exe");
    let out = std::process::Command::new(exe)
        .args([test, "--exact", "--test-threads=1", "--nocapture"])
        .env("WEFT_TEST_CHILD", test)
        .output()
        .expect("spawn the test binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "child run of {test} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    // Make sure the child really ran the test (the filter matched).
    assert!(
        stdout.contains("1 passed"),
        "child run of {test} did not run it:\n{stdout}"
    );
    false
}

/// Sets the soft `RLIMIT_NOFILE` and returns the previous one. Only call
/// this in a child started by [`run_in_child`].
pub fn set_nofile_limit(soft: u64) -> u64 {
    // SAFETY: getrlimit/setrlimit with a valid rlimit struct.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim), 0);
        let old = lim.rlim_cur;
        lim.rlim_cur = soft;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &lim), 0, "setrlimit");
        old
    }
}

/// The lowest descriptor number not in use.
pub fn lowest_free_fd() -> u64 {
    let used: std::collections::HashSet<u64> = std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    // The directory's own descriptor was in the listing but is closed now.
    (0..)
        .find(|n| !used.contains(n) || !is_open(*n))
        .expect("a free fd")
}

fn is_open(fd: u64) -> bool {
    // SAFETY: F_GETFD only queries the descriptor table.
    unsafe { libc::fcntl(fd as libc::c_int, libc::F_GETFD) >= 0 }
}

/// A non-blocking pipe: (read end, write end).
pub fn pipe() -> (std::os::fd::OwnedFd, std::os::fd::OwnedFd) {
    use std::os::fd::FromRawFd;
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two descriptors we then own.
    unsafe {
        assert_eq!(
            libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC),
            0
        );
        (
            std::os::fd::OwnedFd::from_raw_fd(fds[0]),
            std::os::fd::OwnedFd::from_raw_fd(fds[1]),
        )
    }
}
