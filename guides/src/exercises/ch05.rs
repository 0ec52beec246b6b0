//! Chapter 5: [`serve_lines`], a line-based TCP server with a fiber per
//! connection.
//!
//! This is your file: every exercise function below starts as `todo!()`.
//! Write its body to meet the contract in its documentation, then check
//! it with `cargo test -p weft-guide --test ch05` (or let
//! `cargo run -p weft-guide --bin exercises -- next` pick the exercise).
//! The reference answer is in `guides/solutions/ch05.rs`: try first.

// Until you write the bodies, their parameters are unused: the allow keeps
// the build quiet. Delete it when you are done; your answer should not need it.
#![allow(unused_variables, unused_mut)]

use weft::net::TcpListener;

// You will probably want: std::io::{BufRead, BufReader, Write}, weft::net::TcpStream, weft::Switch.

/// Serves line-based clients on `listener` until cancelled: for every line
/// a client sends, writes back `handler(line)` followed by `"\n"`.
///
/// Contract:
/// - every connection is served by its own fiber, so clients are served
///   at the same time (a client that sends half a line and waits delays
///   nobody else);
/// - a line is the text before a `"\n"` (a `"\r\n"` ending loses the
///   `"\r"` too); a last line without `"\n"` before end-of-file is
///   answered as well; replies come in the order of the lines;
/// - when the client closes its side, the server finishes its replies and
///   closes the connection;
/// - an error on one connection (I/O error, invalid UTF-8) closes that
///   connection only; the server and the other clients go on;
/// - returns only if `accept` fails; cancelling the caller cancels every
///   connection fiber and closes their sockets.
///
/// ```
/// use std::io::{BufRead, BufReader, Write};
/// use weft::net::{TcpListener, TcpStream};
/// use weft_guide::exercises::ch05::serve_lines;
///
/// weft::run(|_env| {
///     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
///     let addr = listener.local_addr().unwrap();
///     weft::Switch::run(|sw| {
///         sw.fork_daemon(|| serve_lines(&listener, |line| line.chars().rev().collect()));
///         let conn = TcpStream::connect(addr)?;
///         (&conn).write_all(b"stressed\n")?;
///         let mut reply = String::new();
///         BufReader::new(&conn).read_line(&mut reply)?;
///         assert_eq!(reply, "desserts\n");
///         Ok(())
///     })
///     .unwrap();
/// });
/// ```
pub fn serve_lines(listener: &TcpListener, handler: impl Fn(&str) -> String) -> weft::Result<()> {
    // TODO: accept connections in a loop, one fiber per connection, answering line by line.
    // Stuck? `cargo run -p weft-guide --bin exercises -- hint serve_lines`
    todo!()
}
