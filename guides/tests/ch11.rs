//! Checks for the migration exercises of chapter 11: `incr_all` and
//! `sum_values`, against stage 3's server or against small scripted
//! servers, over loopback TCP. Every test bounds itself with `LIMIT`, so
//! a wrong answer fails within seconds instead of hanging.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::time::Duration;

use kv_stage3::client::{Client, ClientError};
use weft::net::{TcpListener, TcpStream};
use weft::{fiber, time, Switch};
use weft_guide::exercises::ch11::{incr_all, sum_values};

/// A correct answer needs milliseconds.
const LIMIT: Duration = Duration::from_secs(5);

/// Runs `f` under weft with a stage 3 server whose store holds `preset`.
fn with_server(preset: &[(&str, &str)], f: impl FnOnce(SocketAddr)) {
    let server = kv_stage3::testing::start(Default::default()).unwrap();
    let addr = server.addr();
    weft::run(|_env| {
        let mut c = Client::connect(addr).unwrap();
        for (k, v) in preset {
            c.set(k, v).unwrap();
        }
        drop(c);
        time::timeout(LIMIT, || f(addr))
            .unwrap_or_else(|_| panic!("still running after {LIMIT:?}"));
    });
    server.stop().unwrap();
}

/// Reads one request line from a scripted server's connection.
fn request(conn: &TcpStream) -> String {
    let mut line = String::new();
    BufReader::new(conn).read_line(&mut line).unwrap();
    line
}

mod incr_all {
    use super::*;

    #[test]
    fn new_values_come_back_in_key_order() {
        with_server(&[("a", "10"), ("b", "20")], |addr| {
            assert_eq!(incr_all(addr, &["a", "b", "c"]).unwrap(), [11, 21, 1]);
            assert_eq!(incr_all(addr, &["c", "a"]).unwrap(), [2, 12]);
        });
    }

    #[test]
    fn no_keys_no_values() {
        with_server(&[], |addr| {
            assert_eq!(incr_all(addr, &[]).unwrap(), Vec::<i64>::new())
        });
    }

    #[test]
    fn the_first_error_is_returned() {
        with_server(&[("word", "hello")], |addr| {
            match incr_all(addr, &["a", "word", "b"]) {
                Err(ClientError::Server(why)) => assert!(why.contains("not an integer"), "{why}"),
                other => panic!("expected the server's error, got {other:?}"),
            }
        });
    }

    #[test]
    fn all_requests_are_in_flight_at_once() {
        // A scripted server that replies to nobody until all four
        // requests have arrived: one key after another never gets a reply.
        weft::run(|_env| {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            Switch::run(|sw| {
                sw.fork_daemon(|| -> weft::Result<()> {
                    let mut conns = Vec::new();
                    for _ in 0..4 {
                        let (conn, _) = listener.accept()?;
                        let _ = request(&conn);
                        conns.push(conn);
                    }
                    for (i, conn) in conns.iter().enumerate() {
                        writeln!(&*conn, "INT {i}")?;
                    }
                    fiber::await_cancel()
                });
                let got = time::timeout(LIMIT, || incr_all(addr, &["a", "b", "c", "d"]))
                    .unwrap_or_else(|_| {
                        panic!("no reply after {LIMIT:?}: were the keys sent one after another?")
                    })
                    .unwrap();
                let mut sorted = got.clone();
                sorted.sort();
                assert_eq!(sorted, [0, 1, 2, 3], "every key got its own reply");
                Ok(())
            })
            .unwrap();
        });
    }

    #[test]
    fn an_error_cancels_the_requests_still_waiting() {
        // A scripted server that answers `bad` with an error at once and
        // never answers the others.
        weft::run(|_env| {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            Switch::run(|sw| {
                sw.fork_daemon(|| -> weft::Result<()> {
                    Switch::run(|conns| loop {
                        let (conn, _) = listener.accept()?;
                        conns.fork(move || -> weft::Result<()> {
                            if request(&conn).starts_with("INCR bad") {
                                writeln!(&conn, "ERR no")?;
                            }
                            fiber::await_cancel()
                        });
                    })
                });
                let r = time::timeout(LIMIT, || incr_all(addr, &["a", "bad", "b"])).unwrap_or_else(
                    |_| panic!("still waiting after {LIMIT:?}: did the error cancel the others?"),
                );
                assert!(
                    matches!(r, Err(ClientError::Server(ref why)) if why == "no"),
                    "{r:?}"
                );
                Ok(())
            })
            .unwrap();
        });
    }
}

mod sum_values {
    use super::*;

    #[test]
    fn sums_the_values_and_a_missing_key_counts_zero() {
        with_server(&[("a", "5"), ("b", "-2"), ("c", "40")], |addr| {
            assert_eq!(sum_values(addr, &["a", "b", "c", "missing"]).unwrap(), 43);
            assert_eq!(sum_values(addr, &[]).unwrap(), 0);
        });
    }

    #[test]
    fn a_value_that_is_not_an_integer_is_an_error() {
        with_server(&[("a", "1"), ("w", "hello")], |addr| {
            match sum_values(addr, &["a", "w"]) {
                Err(ClientError::Unexpected(v)) => assert_eq!(v, "hello"),
                other => panic!("expected Unexpected(\"hello\"), got {other:?}"),
            }
        });
    }

    #[test]
    fn an_invalid_key_is_the_clients_error() {
        with_server(&[], |addr| {
            assert!(matches!(
                sum_values(addr, &["two words"]),
                Err(ClientError::Invalid(_))
            ));
        });
    }

    #[test]
    fn it_uses_one_connection() {
        // A scripted server that counts its connections and answers NIL.
        weft::run(|_env| {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let accepted = std::cell::Cell::new(0);
            Switch::run(|sw| {
                sw.fork_daemon(|| -> weft::Result<()> {
                    Switch::run(|conns| loop {
                        let (conn, _) = listener.accept()?;
                        accepted.set(accepted.get() + 1);
                        conns.fork(move || -> weft::Result<()> {
                            let mut lines = BufReader::new(&conn).lines();
                            while let Some(Ok(_)) = lines.next() {
                                writeln!(&conn, "NIL")?;
                            }
                            Ok(())
                        });
                    })
                });
                let sum = time::timeout(LIMIT, || sum_values(addr, &["a", "b", "c"]))
                    .unwrap_or_else(|_| panic!("still running after {LIMIT:?}"))
                    .unwrap();
                assert_eq!(sum, 0);
                assert_eq!(accepted.get(), 1, "one connection for all the keys");
                Ok(())
            })
            .unwrap();
        });
    }
}
