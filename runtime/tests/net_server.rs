//! `weft::net::run_server`: failures of one connection never stop the
//! server, the connection limit holds, cancellation waits for the
//! connection fibers, graceful stop, peer resets, fatal accept errors, and
//! recovery from descriptor exhaustion (EMFILE) with backoff.

mod common;

use std::cell::{Cell, RefCell};
use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{mock_run, run_in_child, TempDir};
use weft::net::{run_server, ServerOptions, TcpListener, TcpStream, UnixListener, UnixStream};
use weft::{Promise, Switch};

/// Counts its drops: proves cancelled handlers ran their destructors.
struct DropCount<'a>(&'a Cell<usize>);

impl Drop for DropCount<'_> {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

/// Sleeps (on the mock clock) until `done()` holds: for effects that the
/// kernel delivers as I/O events, such as a reset reaching the server.
fn wait_until(done: impl Fn() -> bool) {
    while !done() {
        weft::time::sleep(Duration::from_millis(10));
    }
}

fn request(addr: std::net::SocketAddr, msg: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut c = TcpStream::connect(addr)?;
    c.write_all(msg)?;
    c.shutdown(Shutdown::Write)?;
    let mut reply = Vec::new();
    c.read_to_end(&mut reply)?;
    Ok(reply)
}

#[test]
fn handler_errors_and_panics_are_reported_and_the_server_keeps_serving() {
    weft::run(|env| {
        let listener = env.net().listen_tcp("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let failures = RefCell::new(Vec::new());
        let options = ServerOptions::new()
            .on_error(|e| failures.borrow_mut().push((e.to_string(), e.is_panic())));
        Switch::run(|sw| {
            sw.fork_daemon(|| {
                run_server(&listener, options, |mut conn, _| -> weft::Result<()> {
                    let mut req = Vec::new();
                    conn.read_to_end(&mut req)?;
                    match &req[..] {
                        b"fail" => Err(weft::Error::msg("asked to fail")),
                        b"panic" => panic!("asked to panic"),
                        _ => Ok(conn.write_all(&req)?),
                    }
                })
            });
            assert_eq!(request(addr, b"fail")?, b"");
            assert_eq!(request(addr, b"panic")?, b"");
            assert_eq!(request(addr, b"still serving")?, b"still serving");
            Ok(())
        })
        .unwrap();
        let failures = failures.into_inner();
        assert_eq!(failures.len(), 2, "{failures:?}");
        assert_eq!(failures[0], ("asked to fail".to_string(), false));
        assert!(failures[1].1 && failures[1].0.contains("asked to panic"));
    });
}

#[test]
fn max_connections_holds_and_the_rest_wait_in_the_backlog() {
    mock_run(|_env| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (release, resolver) = Promise::new();
        let (accepted, active, peak) = (Cell::new(0), Cell::new(0), Cell::new(0));
        Switch::run(|sw| {
            sw.fork_daemon(|| {
                run_server(
                    &listener,
                    ServerOptions::new().max_connections(2),
                    |conn, _| -> weft::Result<()> {
                        accepted.set(accepted.get() + 1);
                        active.set(active.get() + 1);
                        peak.set(peak.get().max(active.get()));
                        release.await_();
                        (&conn).write_all(b"done")?;
                        active.set(active.get() - 1);
                        Ok(())
                    },
                )
            });
            Switch::run(|clients| {
                for _ in 0..5 {
                    clients.fork(|| -> weft::Result<()> {
                        let mut c = TcpStream::connect(addr)?;
                        let mut reply = String::new();
                        c.read_to_string(&mut reply)?;
                        assert_eq!(reply, "done");
                        Ok(())
                    });
                }
                // Everything settles: two handlers hold the two slots, the
                // other three clients are connected but not accepted.
                weft::time::sleep(Duration::from_secs(1));
                assert_eq!((accepted.get(), active.get()), (2, 2));
                resolver.resolve(());
                Ok(())
            })?;
            Ok(())
        })
        .unwrap();
        assert_eq!(accepted.get(), 5);
        assert_eq!(peak.get(), 2);
    });
}

#[test]
fn cancelling_the_server_cancels_its_connections_and_waits_for_them() {
    mock_run(|_env| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (started, unwound) = (Cell::new(0), Cell::new(0));
        let clients = RefCell::new(Vec::new());
        let winner = weft::fiber::first(
            || -> weft::Result<&str> {
                run_server(&listener, ServerOptions::new(), |conn, _| {
                    let _guard = DropCount(&unwound);
                    started.set(started.get() + 1);
                    let mut buf = [0u8; 1];
                    let _ = (&conn).read(&mut buf); // blocks: clients send nothing
                })?;
                Ok("server returned")
            },
            || {
                for _ in 0..3 {
                    clients.borrow_mut().push(TcpStream::connect(addr).unwrap());
                }
                weft::time::sleep(Duration::from_secs(1)); // all three accepted
                assert_eq!(started.get(), 3);
                Ok("clients done")
            },
        );
        assert_eq!(winner.unwrap(), "clients done");
        // run_server returned (unwound) only after its handlers unwound.
        assert_eq!(unwound.get(), 3);
        // Their sockets are closed: each client reads end-of-file.
        for c in clients.into_inner() {
            assert_eq!((&c).read(&mut [0u8; 1]).unwrap(), 0);
        }
        // The listener is still usable afterwards.
        let _c = TcpStream::connect(addr).unwrap();
        assert!(listener.accept().is_ok());
    });
}

#[test]
fn graceful_stop_lets_connections_in_progress_finish() {
    mock_run(|_env| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopper) = Promise::new();
        let accepted = Cell::new(0);
        Switch::run(|sw| {
            let server = sw.fork_promise(|| {
                run_server(
                    &listener,
                    ServerOptions::new().stop(stop),
                    |mut conn, _| -> weft::Result<()> {
                        accepted.set(accepted.get() + 1);
                        let mut req = Vec::new();
                        conn.read_to_end(&mut req)?;
                        conn.write_all(&req)?;
                        Ok(())
                    },
                )
            });
            let mut early = TcpStream::connect(addr)?;
            weft::time::sleep(Duration::from_secs(1));
            assert_eq!(accepted.get(), 1);
            stopper.resolve(());
            // A client arriving after the stop is not accepted any more.
            let _late = TcpStream::connect(addr)?;
            weft::time::sleep(Duration::from_secs(1));
            assert_eq!(accepted.get(), 1);
            assert!(
                !server.is_resolved(),
                "stopped before its connection finished"
            );
            // The connection in progress is served to its end.
            early.write_all(b"finish me")?;
            early.shutdown(Shutdown::Write)?;
            let mut reply = Vec::new();
            early.read_to_end(&mut reply)?;
            assert_eq!(reply, b"finish me");
            assert!(server.await_().as_ref().unwrap().is_ok());
            Ok(())
        })
        .unwrap();
    });
}

#[test]
fn tcp_peer_reset_mid_read_and_mid_write_are_reported_and_others_served() {
    mock_run(|_env| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let kinds = RefCell::new(Vec::new());
        let options = ServerOptions::new().on_error(|e| {
            let io = e.downcast_ref::<std::io::Error>().expect("an io::Error");
            kinds.borrow_mut().push(io.kind());
        });
        Switch::run(|sw| {
            sw.fork_daemon(|| {
                run_server(&listener, options, |mut conn, _| -> weft::Result<()> {
                    let mut mode = [0u8; 1];
                    conn.read_exact(&mut mode)?;
                    match mode[0] {
                        b'r' => loop {
                            let mut buf = [0u8; 64];
                            if conn.read(&mut buf)? == 0 {
                                return Ok(());
                            }
                        },
                        b'w' => loop {
                            conn.write_all(&[0u8; 64 * 1024])?;
                        },
                        _ => {
                            let mut rest = Vec::new();
                            conn.read_to_end(&mut rest)?;
                            Ok(conn.write_all(&rest)?)
                        }
                    }
                })
            });
            for (i, mode) in [b"r", b"w"].into_iter().enumerate() {
                let c = TcpStream::connect(addr)?;
                (&c).write_all(mode)?;
                // The handler is now blocked reading, or writing into a
                // full buffer; reset the connection under it.
                weft::time::sleep(Duration::from_secs(1));
                c.set_linger(Some(Duration::ZERO))?;
                drop(c);
                wait_until(|| kinds.borrow().len() == i + 1);
            }
            assert_eq!(request(addr, b"echo me")?, b"cho me");
            Ok(())
        })
        .unwrap();
        let kinds = kinds.into_inner();
        assert_eq!(kinds.len(), 2, "{kinds:?}");
        assert_eq!(kinds[0], ErrorKind::ConnectionReset);
        assert!(
            matches!(kinds[1], ErrorKind::ConnectionReset | ErrorKind::BrokenPipe),
            "{kinds:?}"
        );
    });
}

#[test]
fn unix_peer_reset_mid_read_and_mid_write_are_reported_and_others_served() {
    let dir = TempDir::new("server-unix-reset");
    let path = dir.path("sock");
    mock_run(|_env| {
        let listener = UnixListener::bind(&path).unwrap();
        let kinds = RefCell::new(Vec::new());
        let options = ServerOptions::new().on_error(|e| {
            let io = e.downcast_ref::<std::io::Error>().expect("an io::Error");
            kinds.borrow_mut().push(io.kind());
        });
        Switch::run(|sw| {
            sw.fork_daemon(|| {
                run_server(&listener, options, |conn, _| -> weft::Result<()> {
                    let mut mode = [0u8; 1];
                    (&conn).read_exact(&mut mode)?;
                    match mode[0] {
                        // Leave a byte unread on the client, then read: the
                        // client's close resets the connection.
                        b'r' => {
                            (&conn).write_all(b"?")?;
                            let mut buf = [0u8; 64];
                            let n = (&conn).read(&mut buf)?;
                            Err(weft::Error::msg(format!(
                                "read {n} bytes, expected a reset"
                            )))
                        }
                        b'w' => loop {
                            (&conn).write_all(&[0u8; 64 * 1024])?;
                        },
                        _ => Ok((&conn).write_all(b"served")?),
                    }
                })
            });
            for (i, mode) in [b"r", b"w"].into_iter().enumerate() {
                let c = UnixStream::connect(&path)?;
                (&c).write_all(mode)?;
                weft::time::sleep(Duration::from_secs(1));
                drop(c);
                wait_until(|| kinds.borrow().len() == i + 1);
            }
            let c = UnixStream::connect(&path)?;
            (&c).write_all(b"e")?;
            let mut reply = String::new();
            (&c).read_to_string(&mut reply)?;
            assert_eq!(reply, "served");
            Ok(())
        })
        .unwrap();
        assert_eq!(
            kinds.into_inner(),
            [ErrorKind::ConnectionReset, ErrorKind::BrokenPipe]
        );
    });
}

#[test]
fn a_fatal_accept_error_cancels_connections_and_is_returned() {
    mock_run(|_env| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let unwound = Cell::new(0);
        let (result, _client) = weft::fiber::both(
            || {
                run_server(&listener, ServerOptions::new(), |conn, _| {
                    let _guard = DropCount(&unwound);
                    let _ = (&conn).read(&mut [0u8; 1]);
                })
            },
            || {
                let client = TcpStream::connect(addr).unwrap();
                // Let the handler block, then shut the listener down under
                // the server: accept fails with EINVAL, not a retryable error.
                weft::time::sleep(Duration::from_secs(1));
                // SAFETY: shutdown on a descriptor the listener keeps open.
                let r = unsafe { libc::shutdown(listener.as_raw_fd(), libc::SHUT_RDWR) };
                assert_eq!(r, 0);
                client
            },
        );
        let err = result.unwrap_err();
        let io = err.downcast_ref::<std::io::Error>().expect("an io::Error");
        assert_eq!(io.raw_os_error(), Some(libc::EINVAL), "{io}");
        assert_eq!(unwound.get(), 1, "the connection was not cancelled");
    });
}

/// Collects `tracing` events (level and rendered fields).
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<(tracing::Level, String)>>>);

impl Capture {
    fn warnings_containing(&self, needle: &str) -> usize {
        let events = self.0.lock().unwrap();
        events
            .iter()
            .filter(|(level, text)| *level == tracing::Level::WARN && text.contains(needle))
            .count()
    }
}

struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        use std::fmt::Write as _;
        let _ = write!(self.0, "{}={:?} ", field.name(), value);
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        let level = *event.metadata().level();
        self.0.lock().unwrap().push((level, fields.0));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// Clients use up every descriptor, so the server's accept fails with
/// EMFILE. The server backs off (one warning, many retries), keeps its
/// pending connections, and serves again once descriptors are freed. The
/// limit is lowered in a child process, never in the shared test process.
#[test]
fn run_server_survives_descriptor_exhaustion() {
    if !run_in_child("run_server_survives_descriptor_exhaustion") {
        return;
    }
    let dir = TempDir::new("server-emfile");
    let path = dir.path("sock");
    let capture = Capture::default();
    tracing::subscriber::with_default(capture.clone(), || {
        mock_run(|_env| {
            let listener = UnixListener::bind(&path).unwrap();
            let fds_before = common::fd_count();
            let old_limit = common::set_nofile_limit(common::lowest_free_fd() + 40);
            // Unix connects complete at once (queued in the backlog), so
            // this fills every free slot with client sockets.
            let mut clients = Vec::new();
            let exhausted = loop {
                match UnixStream::connect(&path) {
                    Ok(c) => clients.push(c),
                    Err(e) => break e,
                }
            };
            assert_eq!(exhausted.raw_os_error(), Some(libc::EMFILE), "{exhausted}");
            assert!(clients.len() >= 10, "only {} clients", clients.len());

            let served = Cell::new(0);
            Switch::run(|sw| {
                sw.fork_daemon(|| {
                    run_server(
                        &listener,
                        ServerOptions::new(),
                        |mut conn, _| -> weft::Result<()> {
                            served.set(served.get() + 1);
                            let mut req = Vec::new();
                            conn.read_to_end(&mut req)?;
                            conn.write_all(&req)?;
                            Ok(())
                        },
                    )
                });
                // Five (mock) seconds of failing accepts: retried with a
                // backoff, warned about once.
                weft::time::sleep(Duration::from_secs(5));
                assert_eq!(served.get(), 0);
                assert_eq!(capture.warnings_containing("cannot accept"), 1);
                assert_eq!(capture.warnings_containing("os error 24"), 1); // EMFILE

                // Free descriptors: keep the first client, close the rest.
                let first = clients.remove(0);
                drop(std::mem::take(&mut clients));
                (&first).write_all(b"served after EMFILE")?;
                first.shutdown(Shutdown::Write)?;
                let mut reply = String::new();
                (&first).read_to_string(&mut reply)?;
                assert_eq!(reply, "served after EMFILE");
                Ok(())
            })
            .unwrap();
            assert!(served.get() >= 1);
            assert_eq!(capture.warnings_containing("cannot accept"), 1);
            common::set_nofile_limit(old_limit);
            drop(listener);
            // Every connection's descriptors were closed again.
            assert_eq!(common::fd_count(), fds_before - 1);
        })
    });
}
