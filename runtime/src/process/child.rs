//! [`Child`]: a running (or exited) child process.

use std::io::{self, Read};
use std::process::{ExitStatus, Output};

use super::reaper::{self, Orphan};
use super::wait::ExitWatch;
use super::{ChildStderr, ChildStdin, ChildStdout};
use crate::cancel;
use crate::fiber;

/// A child process started by [`Command::spawn`](super::Command::spawn).
///
/// Shaped like tokio's `Child`: the piped ends are public fields to
/// `take()`, [`wait`](Child::wait) suspends only the calling fiber, and
/// [`kill`](Child::kill) kills *and* waits.
///
/// - **Cancellation.** A fiber cancelled while blocked in `wait` (or in
///   [`wait_with_output`](Child::wait_with_output), `status`, `output`)
///   kills the child with `SIGKILL` and reaps it before it unwinds, unless
///   the command said [`kill_on_cancel(false)`](super::Command::kill_on_cancel);
///   then the child keeps running and this handle is dropped like any other.
/// - **Drop.** Dropping a `Child` does not kill it (unless
///   [`kill_on_drop(true)`](super::Command::kill_on_drop)) and never leaves
///   a zombie: a child that has not been reaped yet goes to the background
///   reaper thread, which reaps it when it exits (see the module docs).
/// - A pid is reaped exactly once; after that [`id`](Child::id) is `None`.
///
/// ```
/// use weft::process::Command;
///
/// weft::run(|_env| {
///     let mut child = Command::new("sh").args(["-c", "exit 3"]).spawn().unwrap();
///     assert!(child.id().is_some());
///     let status = child.wait().unwrap();
///     assert_eq!(status.code(), Some(3));
///     assert_eq!(child.id(), None); // reaped
/// });
/// ```
#[derive(Debug)]
pub struct Child {
    /// The child's stdin, if it was [`Stdio::piped`](super::Stdio::piped).
    pub stdin: Option<ChildStdin>,
    /// The child's stdout, if it was piped.
    pub stdout: Option<ChildStdout>,
    /// The child's stderr, if it was piped.
    pub stderr: Option<ChildStderr>,
    /// `None` only while being dropped.
    inner: Option<std::process::Child>,
    /// `None` only while being dropped.
    watch: Option<ExitWatch>,
    status: Option<ExitStatus>,
    kill_on_drop: bool,
    kill_on_cancel: bool,
}

impl Child {
    pub(crate) fn new(
        mut inner: std::process::Child,
        kill_on_drop: bool,
        kill_on_cancel: bool,
    ) -> io::Result<Child> {
        let watch = ExitWatch::open(inner.id());
        let (stdin, stdout, stderr) =
            (inner.stdin.take(), inner.stdout.take(), inner.stderr.take());
        // Build the handle first so that a failure below drops a complete
        // Child (which hands the process to the reaper) rather than leak it.
        let mut child = Child {
            stdin: None,
            stdout: None,
            stderr: None,
            inner: Some(inner),
            watch: Some(watch),
            status: None,
            kill_on_drop,
            kill_on_cancel,
        };
        child.stdin = stdin.map(ChildStdin::from_std).transpose()?;
        child.stdout = stdout.map(ChildStdout::from_std).transpose()?;
        child.stderr = stderr.map(ChildStderr::from_std).transpose()?;
        Ok(child)
    }

    fn inner(&mut self) -> &mut std::process::Child {
        self.inner
            .as_mut()
            .expect("the std child is only taken in Drop")
    }

    /// The OS process id, or `None` once the child has been reaped (its pid
    /// may then belong to another process), as in tokio.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let mut c = weft::process::Command::new("true").spawn().unwrap();
    ///     assert!(c.id().unwrap() > 0);
    ///     c.wait().unwrap();
    ///     assert!(c.id().is_none());
    /// });
    /// ```
    pub fn id(&self) -> Option<u32> {
        match self.status {
            Some(_) => None,
            None => self.inner.as_ref().map(|c| c.id()),
        }
    }

    /// Reaps the child if it has exited, without waiting: `Ok(None)` while
    /// it runs. After the first `Some`, keeps returning that status.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let mut c = weft::process::Command::new("sleep").arg("5").spawn().unwrap();
    ///     assert!(c.try_wait().unwrap().is_none());
    ///     c.kill().unwrap();
    ///     assert!(c.try_wait().unwrap().is_some());
    /// });
    /// ```
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if let Some(s) = self.status {
            return Ok(Some(s));
        }
        let s = self.inner().try_wait()?;
        self.status = s;
        Ok(s)
    }

    /// Closes the child's stdin (if piped, as std and tokio do, so a child
    /// reading it can finish), then suspends the fiber until the child
    /// exits and reaps it. The thread keeps running other fibers.
    ///
    /// A cancellation point: a cancelled fiber kills and reaps the child
    /// before unwinding, unless the command set `kill_on_cancel(false)`.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let status = weft::process::Command::new("sh").args(["-c", "exit 7"]).spawn().unwrap().wait().unwrap();
    ///     assert_eq!(status.code(), Some(7));
    /// });
    /// ```
    #[track_caller]
    pub fn wait(&mut self) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        self.guard_cancel(|c| c.wait_exit())
    }

    /// Sends `SIGKILL` and waits for the child to exit (tokio's `kill`).
    /// `Ok` if it had already exited.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let mut c = weft::process::Command::new("sleep").arg("30").spawn().unwrap();
    ///     c.kill().unwrap();
    ///     use std::os::unix::process::ExitStatusExt;
    ///     assert_eq!(c.wait().unwrap().signal(), Some(9));
    /// });
    /// ```
    #[track_caller]
    pub fn kill(&mut self) -> io::Result<()> {
        self.start_kill()?;
        self.wait_exit().map(drop)
    }

    /// Sends `SIGKILL` and returns at once; reap it later with
    /// [`wait`](Child::wait) or [`try_wait`](Child::try_wait). `Ok` if it
    /// has already been reaped.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let mut c = weft::process::Command::new("sleep").arg("30").spawn().unwrap();
    ///     c.start_kill().unwrap();
    ///     assert!(!c.wait().unwrap().success());
    /// });
    /// ```
    pub fn start_kill(&mut self) -> io::Result<()> {
        if self.status.is_some() {
            return Ok(());
        }
        // The pid cannot have been reused: we have not reaped it.
        self.inner().kill()
    }

    /// Closes stdin, reads stdout and stderr to the end concurrently (two
    /// fibers, so a child filling one pipe while we read the other cannot
    /// deadlock), waits for the exit, and returns all three.
    ///
    /// Streams that were not piped come back empty. Cancellation as for
    /// [`wait`](Child::wait).
    ///
    /// ```
    /// use weft::process::{Command, Stdio};
    /// weft::run(|_env| {
    ///     let child = Command::new("sh")
    ///         .args(["-c", "echo out; echo err >&2"])
    ///         .stdout(Stdio::piped())
    ///         .stderr(Stdio::piped())
    ///         .spawn()
    ///         .unwrap();
    ///     let out = child.wait_with_output().unwrap();
    ///     assert_eq!(out.stdout, b"out\n");
    ///     assert_eq!(out.stderr, b"err\n");
    ///     assert!(out.status.success());
    /// });
    /// ```
    #[track_caller]
    pub fn wait_with_output(mut self) -> io::Result<Output> {
        drop(self.stdin.take());
        let stdout = self.stdout.take();
        let stderr = self.stderr.take();
        self.guard_cancel(move |child| {
            let (out, err) = fiber::both(|| read_all(stdout), || read_all(stderr));
            let status = child.wait_exit()?;
            Ok(Output {
                status,
                stdout: out?,
                stderr: err?,
            })
        })
    }

    /// Waits for the exit and reaps, with no cancellation handling.
    #[track_caller]
    fn wait_exit(&mut self) -> io::Result<ExitStatus> {
        loop {
            if let Some(s) = self.try_wait()? {
                return Ok(s);
            }
            let pid = self.inner().id();
            let watch = self.watch.as_ref().expect("only taken in Drop");
            watch.wait(pid)?;
        }
    }

    /// Runs `f`; if the fiber is cancelled inside it and `kill_on_cancel`
    /// is set, kills and reaps the child (uninterruptibly) before the
    /// cancellation goes on unwinding.
    fn guard_cancel<T>(&mut self, f: impl FnOnce(&mut Child) -> T) -> T {
        if !self.kill_on_cancel {
            return f(self);
        }
        match cancel::catch_cancelled(|| f(self)) {
            Ok(v) => v,
            Err(c) => {
                let _ = self.start_kill();
                // SIGKILL cannot be caught, so this wait is short; it runs
                // in a fresh cancellation context so the pending
                // cancellation does not interrupt it.
                if let Err(e) = cancel::protect(|| self.wait_exit()) {
                    tracing::warn!(error = %e, "weft: could not reap a child killed on cancellation");
                }
                c.unwind()
            }
        }
    }
}

fn read_all(stream: Option<impl Read>) -> io::Result<Vec<u8>> {
    let mut v = Vec::new();
    if let Some(mut s) = stream {
        s.read_to_end(&mut v)?;
    }
    Ok(v)
}

impl Drop for Child {
    fn drop(&mut self) {
        let (Some(mut inner), Some(watch)) = (self.inner.take(), self.watch.take()) else {
            return;
        };
        if self.status.is_some() {
            return;
        }
        if self.kill_on_drop {
            let _ = inner.kill();
        }
        // Reaped now, or gone (ECHILD): nothing is left to do. Otherwise
        // the background reaper takes it.
        if let Ok(None) = inner.try_wait() {
            reaper::adopt(Orphan {
                child: inner,
                pidfd: watch.into_pidfd(),
            });
        }
    }
}
