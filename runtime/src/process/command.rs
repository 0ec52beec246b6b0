//! [`Command`]: a process builder with std's and tokio's methods.

use std::ffi::OsStr;
use std::io;
use std::path::Path;
use std::process::{ExitStatus, Output, Stdio};

use super::{Child, SpawnError};

/// A process builder, shaped like `std::process::Command` and tokio's
/// (same method names and arguments), whose [`spawn`](Command::spawn)
/// returns a fiber-friendly [`Child`].
///
/// Defaults as in std: [`spawn`](Command::spawn) and
/// [`status`](Command::status) inherit all three stdio streams;
/// [`output`](Command::output) pipes stdout and stderr and gives the child
/// a null stdin, for the streams you did not set yourself.
///
/// Spawning itself (std's `fork`/`posix_spawn` + `exec`) runs on the
/// calling thread, as in tokio: it takes well under a millisecond and
/// returns once the program has started or failed to.
///
/// ```
/// use weft::process::Command;
///
/// weft::run(|_env| {
///     let out = Command::new("sh")
///         .arg("-c")
///         .arg("echo \"$GREETING from $(pwd)\"")
///         .env("GREETING", "hello")
///         .current_dir("/")
///         .output()
///         .unwrap();
///     assert!(out.status.success());
///     assert_eq!(out.stdout, b"hello from /\n");
/// });
/// ```
#[derive(Debug)]
pub struct Command {
    std: std::process::Command,
    stdin_set: bool,
    stdout_set: bool,
    stderr_set: bool,
    kill_on_drop: bool,
    kill_on_cancel: bool,
}

impl Command {
    /// A command to run `program` (looked up in `PATH` if it has no `/`).
    ///
    /// ```
    /// let cmd = weft::process::Command::new("ls");
    /// assert_eq!(cmd.as_std().get_program(), "ls");
    /// ```
    pub fn new(program: impl AsRef<OsStr>) -> Command {
        Command::from(std::process::Command::new(program))
    }

    /// Adds one argument.
    ///
    /// ```
    /// let mut cmd = weft::process::Command::new("echo");
    /// cmd.arg("a").arg("b");
    /// assert_eq!(cmd.as_std().get_args().count(), 2);
    /// ```
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        self.std.arg(arg);
        self
    }

    /// Adds several arguments.
    ///
    /// ```
    /// let mut cmd = weft::process::Command::new("echo");
    /// cmd.args(["a", "b", "c"]);
    /// assert_eq!(cmd.as_std().get_args().count(), 3);
    /// ```
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.std.args(args);
        self
    }

    /// Sets an environment variable for the child.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let out = weft::process::Command::new("sh").args(["-c", "echo $X"]).env("X", "1").output().unwrap();
    ///     assert_eq!(out.stdout, b"1\n");
    /// });
    /// ```
    pub fn env(&mut self, key: impl AsRef<OsStr>, val: impl AsRef<OsStr>) -> &mut Command {
        self.std.env(key, val);
        self
    }

    /// Sets several environment variables.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let out = weft::process::Command::new("sh")
    ///         .args(["-c", "echo $A$B"])
    ///         .envs([("A", "x"), ("B", "y")])
    ///         .output()
    ///         .unwrap();
    ///     assert_eq!(out.stdout, b"xy\n");
    /// });
    /// ```
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.std.envs(vars);
        self
    }

    /// Removes an environment variable from the child's environment.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let out = weft::process::Command::new("sh")
    ///         .args(["-c", "echo \"[$X]\""])
    ///         .env("X", "1")
    ///         .env_remove("X")
    ///         .output()
    ///         .unwrap();
    ///     assert_eq!(out.stdout, b"[]\n");
    /// });
    /// ```
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Command {
        self.std.env_remove(key);
        self
    }

    /// Starts the child with an empty environment (plus what is set
    /// afterwards).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let out = weft::process::Command::new("/usr/bin/env").env_clear().env("ONLY", "me").output().unwrap();
    ///     assert_eq!(out.stdout, b"ONLY=me\n");
    /// });
    /// ```
    pub fn env_clear(&mut self) -> &mut Command {
        self.std.env_clear();
        self
    }

    /// The child's working directory.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let out = weft::process::Command::new("pwd").current_dir("/tmp").output().unwrap();
    ///     assert_eq!(out.stdout, b"/tmp\n");
    /// });
    /// ```
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Command {
        self.std.current_dir(dir);
        self
    }

    /// The child's stdin: [`Stdio::piped`] makes [`Child::stdin`] a
    /// fiber-friendly [`ChildStdin`](super::ChildStdin).
    ///
    /// ```
    /// use weft::process::{Command, Stdio};
    /// weft::run(|_env| {
    ///     let mut c = Command::new("cat").stdin(Stdio::null()).spawn().unwrap();
    ///     assert!(c.stdin.is_none());
    ///     assert!(c.wait().unwrap().success()); // cat read end-of-file at once
    /// });
    /// ```
    pub fn stdin(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdin(cfg);
        self.stdin_set = true;
        self
    }

    /// The child's stdout.
    ///
    /// ```
    /// use weft::process::{Command, Stdio};
    /// weft::run(|_env| {
    ///     let out = Command::new("echo").arg("hi").stdout(Stdio::null()).output().unwrap();
    ///     assert!(out.stdout.is_empty());
    /// });
    /// ```
    pub fn stdout(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdout(cfg);
        self.stdout_set = true;
        self
    }

    /// The child's stderr.
    ///
    /// ```
    /// use weft::process::{Command, Stdio};
    /// weft::run(|_env| {
    ///     let c = Command::new("sh").args(["-c", "echo e >&2"]).stderr(Stdio::piped()).spawn().unwrap();
    ///     assert_eq!(c.wait_with_output().unwrap().stderr, b"e\n");
    /// });
    /// ```
    pub fn stderr(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stderr(cfg);
        self.stderr_set = true;
        self
    }

    /// Whether dropping the [`Child`] kills the process with `SIGKILL` if
    /// it has not been reaped (tokio's meaning; default `false`). Either way the process is reaped, in the background
    /// if need be.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let child = weft::process::Command::new("sleep").arg("30").kill_on_drop(true).spawn().unwrap();
    ///     drop(child); // killed now, reaped by the background reaper
    /// });
    /// ```
    pub fn kill_on_drop(&mut self, kill: bool) -> &mut Command {
        self.kill_on_drop = kill;
        self
    }

    /// Whether cancelling a fiber blocked in [`Child::wait`] (or
    /// `wait_with_output`, [`status`](Command::status),
    /// [`output`](Command::output)) kills the child with `SIGKILL` and reaps
    /// it before the fiber unwinds. Default `true`: structured concurrency
    /// means work started by a cancelled fiber stops with it. `false`
    /// leaves the child running (and the dropped handle follows
    /// [`kill_on_drop`](Command::kill_on_drop)).
    ///
    /// ```
    /// use std::time::Duration;
    /// weft::run(|_env| {
    ///     let mut child = weft::process::Command::new("sleep").arg("30").spawn().unwrap();
    ///     let pid = child.id().unwrap();
    ///     let r = weft::time::timeout(Duration::from_millis(10), || child.wait());
    ///     assert!(r.is_err());            // timed out...
    ///     assert_eq!(child.id(), None);   // ...and the child was killed and reaped
    ///     # let _ = pid;
    /// });
    /// ```
    pub fn kill_on_cancel(&mut self, kill: bool) -> &mut Command {
        self.kill_on_cancel = kill;
        self
    }

    /// Runs the child as user `id` (Unix `setuid`; tokio's `uid`).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let me = unsafe { libc::getuid() };
    ///     let out = weft::process::Command::new("id").arg("-u").uid(me).output().unwrap();
    ///     assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), me.to_string());
    /// });
    /// ```
    pub fn uid(&mut self, id: u32) -> &mut Command {
        std::os::unix::process::CommandExt::uid(&mut self.std, id);
        self
    }

    /// Runs the child as group `id` (Unix `setgid`; tokio's `gid`).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let g = unsafe { libc::getgid() };
    ///     let out = weft::process::Command::new("id").arg("-g").gid(g).output().unwrap();
    ///     assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), g.to_string());
    /// });
    /// ```
    pub fn gid(&mut self, id: u32) -> &mut Command {
        std::os::unix::process::CommandExt::gid(&mut self.std, id);
        self
    }

    /// The child's `argv[0]` (tokio's `arg0`).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let out = weft::process::Command::new("sh").args(["-c", "echo $0"]).arg0("named").output().unwrap();
    ///     assert_eq!(out.stdout, b"named\n");
    /// });
    /// ```
    pub fn arg0(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        std::os::unix::process::CommandExt::arg0(&mut self.std, arg);
        self
    }

    /// Puts the child in process group `pgroup` (0: a new group led by
    /// the child; tokio's `process_group`).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let mut child = weft::process::Command::new("sleep").arg("5").process_group(0).spawn().unwrap();
    ///     let pid = child.id().unwrap() as i32;
    ///     assert_eq!(unsafe { libc::getpgid(pid) }, pid);
    ///     child.kill().unwrap();
    /// });
    /// ```
    pub fn process_group(&mut self, pgroup: i32) -> &mut Command {
        std::os::unix::process::CommandExt::process_group(&mut self.std, pgroup);
        self
    }

    /// Starts the program. Errors name the program ([`SpawnError`]) and
    /// keep std's [`io::ErrorKind`] (`NotFound` for a missing program).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let mut child = weft::process::Command::new("true").spawn().unwrap();
    ///     assert!(child.wait().unwrap().success());
    ///     let missing = weft::process::Command::new("no-such-program-here").spawn();
    ///     assert_eq!(missing.unwrap_err().kind(), std::io::ErrorKind::NotFound);
    /// });
    /// ```
    pub fn spawn(&mut self) -> io::Result<Child> {
        let inner = self
            .std
            .spawn()
            .map_err(|e| SpawnError::wrap(self.std.get_program(), e))?;
        Child::new(inner, self.kill_on_drop, self.kill_on_cancel)
    }

    /// Spawns, waits for the exit and returns its status; stdio is
    /// inherited unless set. Cancellation: see
    /// [`kill_on_cancel`](Command::kill_on_cancel).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let s = weft::process::Command::new("false").status().unwrap();
    ///     assert_eq!(s.code(), Some(1));
    /// });
    /// ```
    #[track_caller]
    pub fn status(&mut self) -> io::Result<ExitStatus> {
        self.spawn()?.wait()
    }

    /// Spawns and collects everything: stdout and stderr are piped and read
    /// concurrently, stdin is null, unless you set them. Cancellation: see
    /// [`kill_on_cancel`](Command::kill_on_cancel).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let out = weft::process::Command::new("echo").arg("hello").output().unwrap();
    ///     assert_eq!(out.stdout, b"hello\n");
    ///     assert!(out.stderr.is_empty());
    /// });
    /// ```
    #[track_caller]
    pub fn output(&mut self) -> io::Result<Output> {
        let defaults = [!self.stdin_set, !self.stdout_set, !self.stderr_set];
        if defaults[0] {
            self.std.stdin(Stdio::null());
        }
        if defaults[1] {
            self.std.stdout(Stdio::piped());
        }
        if defaults[2] {
            self.std.stderr(Stdio::piped());
        }
        let child = self.spawn();
        // Put back the unset (= inherit) state for later spawns.
        if defaults[0] {
            self.std.stdin(Stdio::inherit());
        }
        if defaults[1] {
            self.std.stdout(Stdio::inherit());
        }
        if defaults[2] {
            self.std.stderr(Stdio::inherit());
        }
        child?.wait_with_output()
    }

    /// The std builder inside, to read it back (`get_program`, `get_args`,
    /// `get_envs`, ...).
    ///
    /// ```
    /// let mut cmd = weft::process::Command::new("ls");
    /// cmd.arg("-l");
    /// assert_eq!(cmd.as_std().get_args().collect::<Vec<_>>(), ["-l"]);
    /// ```
    pub fn as_std(&self) -> &std::process::Command {
        &self.std
    }

    /// The std builder inside, for settings weft does not mirror
    /// (`std::os::unix::process::CommandExt`: `uid`, `gid`,
    /// `process_group`, `arg0`, `pre_exec`, ...). Stdio set here is not seen
    /// by [`output`](Command::output)'s defaults; use
    /// [`stdin`](Command::stdin) and friends for that.
    ///
    /// ```
    /// use std::os::unix::process::CommandExt;
    /// weft::run(|_env| {
    ///     let mut cmd = weft::process::Command::new("sh");
    ///     cmd.args(["-c", "echo $0"]);
    ///     cmd.as_std_mut().arg0("renamed");
    ///     assert_eq!(cmd.output().unwrap().stdout, b"renamed\n");
    /// });
    /// ```
    pub fn as_std_mut(&mut self) -> &mut std::process::Command {
        &mut self.std
    }
}

/// Wraps a std builder (tokio has the same conversion).
///
/// ```
/// let std_cmd = std::process::Command::new("true");
/// let cmd = weft::process::Command::from(std_cmd);
/// assert_eq!(cmd.as_std().get_program(), "true");
/// ```
impl From<std::process::Command> for Command {
    fn from(std: std::process::Command) -> Command {
        Command {
            std,
            stdin_set: false,
            stdout_set: false,
            stderr_set: false,
            kill_on_drop: false,
            kill_on_cancel: true,
        }
    }
}
