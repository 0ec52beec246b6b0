//! I/O helpers where tokio has them (`tokio::io::*`), so migrated code
//! keeps its paths: the process's standard streams on fibers ([`stdin`],
//! [`stdout`], [`stderr`]), an in-memory [`duplex`] stream, [`split`]
//! of a stream into halves for two fibers, and a [`BufWriter`] that, like
//! tokio's, passes reads through to the stream it buffers writes for.
//!
//! Reading stdin suspends the calling fiber, never the thread, and so does
//! writing to a stdout or stderr whose reader is slow. weft never sets
//! `O_NONBLOCK` on these descriptors: their open file description is
//! usually shared with the shell and other processes (a terminal, a pipe
//! of a shell pipeline), and the flag would make *their* reads and writes
//! fail with `EAGAIN`. Instead each handle works on a duplicate of the
//! descriptor and:
//!
//! - on pipes and sockets uses per-call non-blocking I/O (`preadv2` /
//!   `pwritev2` with `RWF_NOWAIT`) and waits for readiness in the backend
//!   when the kernel says "would block";
//! - on terminals (where the kernel refuses `RWF_NOWAIT`) waits for
//!   readiness, confirms it with a zero-timeout `poll`, and then reads at
//!   most the bytes the kernel reports available (`FIONREAD`) or writes at
//!   most `PIPE_BUF` bytes, which cannot block; only another process
//!   consuming the same terminal input in between could make that read
//!   wait;
//! - on regular files (`< file`, `> file`) reads and writes on the blocking
//!   pool, as `weft::fs` does.
//!
//! The handles are unbuffered on the write side (each `write` is one system
//! call; wrap them in `BufWriter` for many small writes) and do not share
//! std's buffers: output written with `println!` sits in std's line buffer,
//! so flush std's stdout before mixing the two. [`Stdin`] has its own read
//! buffer, so it implements `BufRead` (`read_line`, `lines`); data it has
//! buffered is not seen by another `Stdin` handle, so keep one handle per
//! reader.
//!
//! ```no_run
//! use std::io::{BufRead, Write};
//!
//! weft::run(|_env| {
//!     let mut out = weft::io::stdout();
//!     for line in weft::io::stdin().lines() {
//!         let line = line.unwrap();
//!         writeln!(out, "you said: {line}").unwrap();
//!     }
//! });
//! ```

mod buf_writer;
mod duplex;
mod split;
mod stdio;

pub use buf_writer::BufWriter;
pub use duplex::{duplex, DuplexStream};
pub use split::{split, ReadHalf, WriteHalf};
pub use stdio::{stderr, stdin, stdout, Stderr, Stdin, Stdout};
