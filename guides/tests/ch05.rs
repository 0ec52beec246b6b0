//! Checks for exercise 5, `serve_lines`, with real clients over loopback
//! TCP. Each test runs the server as a daemon fiber of the test's switch
//! and bounds itself with a timeout, so a broken server fails the test
//! instead of hanging it.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::time::Duration;

use weft::net::{TcpListener, TcpStream};
use weft::{fiber, time, Switch};
use weft_guide::exercises::ch05::serve_lines;

/// A correct server answers these clients in milliseconds; a wrong one
/// (one connection at a time, a reply never sent) leaves a client waiting
/// forever, and this bound turns that wait into a failure within seconds.
const LIMIT: Duration = Duration::from_secs(5);

/// Runs `clients` against a `serve_lines` server whose handler
/// upper-cases the line and prefixes its length.
fn with_server(clients: impl FnOnce(SocketAddr)) {
    weft::run(|_env| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        Switch::run(|sw| {
            sw.fork_daemon(|| {
                serve_lines(&listener, |l| format!("{}:{}", l.len(), l.to_uppercase()))
            });
            time::timeout(LIMIT, || clients(addr)).unwrap_or_else(|_| {
                panic!(
                    "the clients were still waiting for replies after {LIMIT:?} \
                     (does the server serve one connection at a time?)"
                )
            });
            Ok(())
        })
        .unwrap();
    });
}

fn read_reply(r: &mut impl BufRead) -> String {
    let mut s = String::new();
    r.read_line(&mut s).unwrap();
    s
}

#[test]
fn answers_every_line_in_order() {
    with_server(|addr| {
        let conn = TcpStream::connect(addr).unwrap();
        (&conn).write_all(b"one\ntwo\n\nthree\r\n").unwrap();
        let mut r = BufReader::new(&conn);
        assert_eq!(read_reply(&mut r), "3:ONE\n");
        assert_eq!(read_reply(&mut r), "3:TWO\n");
        assert_eq!(read_reply(&mut r), "0:\n");
        assert_eq!(read_reply(&mut r), "5:THREE\n");
    });
}

#[test]
fn a_last_line_without_newline_is_answered_then_the_connection_closes() {
    with_server(|addr| {
        let mut conn = TcpStream::connect(addr).unwrap();
        conn.write_all(b"a\nlast").unwrap();
        conn.shutdown(Shutdown::Write).unwrap();
        let mut all = String::new();
        conn.read_to_string(&mut all).unwrap(); // returns: the server closed
        assert_eq!(all, "1:A\n4:LAST\n");
    });
}

#[test]
fn a_waiting_client_does_not_block_the_others() {
    with_server(|addr| {
        // The first client sends half a line and waits.
        let slow = TcpStream::connect(addr).unwrap();
        (&slow).write_all(b"half a li").unwrap();
        // A second client must still be served.
        let fast = TcpStream::connect(addr).unwrap();
        (&fast).write_all(b"quick\n").unwrap();
        assert_eq!(read_reply(&mut BufReader::new(&fast)), "5:QUICK\n");
        // And the first one is served once it finishes its line.
        (&slow).write_all(b"ne\n").unwrap();
        assert_eq!(read_reply(&mut BufReader::new(&slow)), "11:HALF A LINE\n");
    });
}

#[test]
fn many_clients_at_once() {
    with_server(|addr| {
        let replies = fiber::all((0..20).map(|c| {
            move || {
                let conn = TcpStream::connect(addr).unwrap();
                let mut r = BufReader::new(&conn);
                let mut got = Vec::new();
                for i in 0..10 {
                    writeln!(&conn, "c{c}l{i}").unwrap();
                    fiber::yield_now(); // interleave the clients
                    got.push(read_reply(&mut r));
                }
                got
            }
        }));
        for (c, got) in replies.iter().enumerate() {
            for (i, reply) in got.iter().enumerate() {
                let line = format!("c{c}l{i}");
                assert_eq!(reply, &format!("{}:{}\n", line.len(), line.to_uppercase()));
            }
        }
    });
}

#[test]
fn a_bad_client_loses_only_its_own_connection() {
    with_server(|addr| {
        let good = TcpStream::connect(addr).unwrap();
        (&good).write_all(b"before\n").unwrap();
        let mut good_r = BufReader::new(&good);
        assert_eq!(read_reply(&mut good_r), "6:BEFORE\n");

        let mut bad = TcpStream::connect(addr).unwrap();
        bad.write_all(b"\xff\xfe not utf-8\n").unwrap();
        let mut rest = Vec::new();
        match bad.read_to_end(&mut rest) {
            Ok(_) => assert!(rest.is_empty(), "no reply to invalid input"),
            Err(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionReset),
        }

        // The server is still up, for old and new clients.
        (&good).write_all(b"after\n").unwrap();
        assert_eq!(read_reply(&mut good_r), "5:AFTER\n");
        let new = TcpStream::connect(addr).unwrap();
        (&new).write_all(b"new\n").unwrap();
        assert_eq!(read_reply(&mut BufReader::new(&new)), "3:NEW\n");
    });
}

#[test]
fn cancelling_the_server_closes_its_connections() {
    weft::run(|_env| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let client = Switch::run(|sw| {
            sw.fork_daemon(|| serve_lines(&listener, |l| l.to_string()));
            let conn = TcpStream::connect(addr)?;
            (&conn).write_all(b"ping\n")?;
            assert_eq!(read_reply(&mut BufReader::new(&conn)), "ping\n");
            Ok(conn)
        })
        .unwrap(); // the server daemon is cancelled when the body returns
        let mut rest = Vec::new();
        let r = time::timeout(LIMIT, || (&client).read_to_end(&mut rest))
            .expect("the server closed the connection");
        match r {
            Ok(n) => assert_eq!(n, 0),
            Err(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionReset),
        }
    });
}
