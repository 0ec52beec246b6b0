//! Child processes on fibers: `weft::process`, shaped like
//! `std::process` and `tokio::process` (same names, so tokio code maps one
//! to one).
//!
//! - [`Command`] builds and starts a process; [`Child`] is the running
//!   process, with its piped stdio as public fields.
//! - [`ChildStdin`] (`Write`), [`ChildStdout`] and [`ChildStderr`] (`Read`)
//!   are non-blocking pipe ends in the backend: reads and writes suspend
//!   only the calling fiber, on both backends, and work inside
//!   `BufReader`/`BufWriter`. They convert into [`Stdio`] to connect one
//!   child to another.
//! - [`Child::wait`] suspends the fiber, not the thread: it waits on a
//!   pidfd in the backend (Linux 5.3+), or on the blocking pool where there
//!   is none (`WEFT_PROCESS_WAIT=thread` forces that fallback).
//! - **Cancellation.** A fiber cancelled in `wait`, `wait_with_output`,
//!   `status` or `output` kills the child (`SIGKILL`) and reaps it before
//!   unwinding; [`Command::kill_on_cancel`]`(false)` opts out.
//! - **Reaping.** A pid is reaped exactly once. A [`Child`] dropped before
//!   its process was reaped hands it to a background thread
//!   (`weft-reaper`, started on first need) that reaps it when it exits,
//!   so no zombie is left, as with tokio. [`Command::kill_on_drop`] kills
//!   it first.
//! - `SIGPIPE`: writing to a child that closed its stdin is an `EPIPE`
//!   error, because Rust programs ignore `SIGPIPE` (std sets that up before
//!   `main`).
//!
//! [`Stdio`], [`ExitStatus`] and [`Output`] are std's own types.
//!
//! ```
//! use std::io::{BufRead, BufReader};
//! use weft::process::{Command, Stdio};
//!
//! weft::run(|_env| {
//!     // printf | tr, connected by a pipe between the two children.
//!     let mut first = Command::new("printf").arg("one\\ntwo\\n").stdout(Stdio::piped()).spawn().unwrap();
//!     let pipe: Stdio = first.stdout.take().unwrap().try_into().unwrap();
//!     let mut second = Command::new("tr").args(["a-z", "A-Z"]).stdin(pipe).stdout(Stdio::piped()).spawn().unwrap();
//!     let lines: Vec<String> = BufReader::new(second.stdout.take().unwrap())
//!         .lines()
//!         .collect::<Result<_, _>>()
//!         .unwrap();
//!     assert_eq!(lines, ["ONE", "TWO"]);
//!     assert!(first.wait().unwrap().success());
//!     assert!(second.wait().unwrap().success());
//! });
//! ```

mod child;
mod command;
mod error;
mod pipe;
mod reaper;
mod wait;

pub use child::Child;
pub use command::Command;
pub use error::SpawnError;
pub use pipe::{ChildStderr, ChildStdin, ChildStdout};
pub use std::process::{ExitStatus, Output, Stdio};
