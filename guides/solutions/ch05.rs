//! Chapter 5: [`serve_lines`], a line-based TCP server with a fiber per
//! connection.
//!
//! The reference answer (compiled with `--features solutions`); the
//! learner's starter is `guides/src/exercises/ch05.rs`, with the same contract.

use std::io::{BufRead, BufReader, Write};

use weft::net::{TcpListener, TcpStream};
use weft::Switch;

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
    let handler = &handler;
    Switch::run(|sw| loop {
        let (conn, _peer) = listener.accept()?; // an accept error ends the server
                                                // The fiber returns (): its errors end its connection only. An Err
                                                // returned from here would fail the switch and stop the server.
        sw.fork(move || {
            let _ = serve_one(conn, handler);
        });
    })
}

fn serve_one(conn: TcpStream, handler: &dyn Fn(&str) -> String) -> std::io::Result<()> {
    let mut reader = BufReader::new(&conn);
    let mut out = &conn;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(()); // end of input; dropping conn closes it
        }
        let text = line.strip_suffix('\n').unwrap_or(&line);
        let text = text.strip_suffix('\r').unwrap_or(text);
        let mut reply = handler(text);
        reply.push('\n');
        out.write_all(reply.as_bytes())?;
    }
}
