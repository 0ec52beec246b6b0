//! TCP on fibers: echo over loopback with many connections in one switch,
//! cancellation of blocked accept/read/connect, and faults.

use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use std::time::Duration;

use weft::net::{TcpListener, TcpStream};
use weft::Switch;

fn echo_once(conn: TcpStream) -> weft::Result<()> {
    let mut conn = conn;
    let mut buf = [0u8; 1024];
    loop {
        let n = conn.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        conn.write_all(&buf[..n])?;
    }
}

#[test]
fn thousand_concurrent_connections_in_one_switch() {
    weft::run(|_env| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        const N: usize = 1000;
        Switch::run(|sw| {
            sw.fork_daemon(|| -> weft::Result<()> {
                Switch::run(|conns| loop {
                    let (c, _) = listener.accept()?;
                    conns.fork(move || echo_once(c));
                })
            });
            let done = std::cell::Cell::new(0);
            Switch::run(|clients| {
                for i in 0..N {
                    let done = &done;
                    clients.fork(move || -> weft::Result<()> {
                        let mut c = TcpStream::connect(addr)?;
                        let msg = format!("client {i} says hi");
                        c.write_all(msg.as_bytes())?;
                        c.shutdown(Shutdown::Write)?;
                        let mut back = String::new();
                        c.read_to_string(&mut back)?;
                        assert_eq!(back, msg);
                        done.set(done.get() + 1);
                        Ok(())
                    });
                }
                Ok(())
            })?;
            assert_eq!(done.get(), N);
            Ok(())
        })
        .unwrap();
    });
}

#[test]
fn cancelled_accept_and_read_unwind_and_close() {
    weft::run(|_env| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        // accept blocked forever, cancelled by the timeout
        let r = weft::time::timeout(Duration::from_millis(20), || listener.accept());
        assert!(r.is_err());
        // read blocked forever, cancelled; the stream is dropped and closed,
        // so the peer sees end-of-file.
        let client = TcpStream::connect(addr).unwrap();
        let (mut server_side, _) = listener.accept().unwrap();
        let r = weft::time::timeout(Duration::from_millis(20), move || {
            let mut c = client;
            let mut b = [0u8; 8];
            c.read(&mut b)
        });
        assert!(r.is_err());
        let mut rest = Vec::new();
        assert_eq!(server_side.read_to_end(&mut rest).unwrap(), 0);
    });
}

#[test]
fn connection_refused_is_a_clear_error() {
    weft::run(|_env| {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        drop(l);
        let e = TcpStream::connect(addr).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ConnectionRefused);
    });
}

#[test]
fn peer_reset_mid_read_is_an_error_and_others_keep_working() {
    weft::run(|_env| {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let rude = TcpStream::connect(addr).unwrap();
        let (mut victim, _) = l.accept().unwrap();
        let polite = TcpStream::connect(addr).unwrap();
        let (other, _) = l.accept().unwrap();
        Switch::run(|sw| {
            sw.fork(|| {
                let mut b = [0u8; 16];
                let e = victim.read(&mut b).unwrap_err();
                assert_eq!(e.kind(), ErrorKind::ConnectionReset);
            });
            rude.set_linger(Some(Duration::ZERO)).unwrap();
            drop(rude); // RST
            (&polite).write_all(b"still here").unwrap();
            let mut b = [0u8; 10];
            (&other).read_exact(&mut b).unwrap();
            assert_eq!(&b, b"still here");
            Ok(())
        })
        .unwrap();
    });
}

#[test]
fn json_over_bufreader() {
    use std::io::{BufRead, BufReader};
    weft::run(|_env| {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let (lines, _) = weft::fiber::both(
            || {
                let (c, _) = l.accept().unwrap();
                BufReader::new(&c)
                    .lines()
                    .map(|l| l.unwrap())
                    .collect::<Vec<_>>()
            },
            || {
                let c = TcpStream::connect(addr).unwrap();
                let mut w = std::io::BufWriter::new(&c);
                for i in 0..100 {
                    writeln!(w, "line {i}").unwrap();
                }
                w.flush().unwrap();
                drop(w);
                c.shutdown(Shutdown::Write).unwrap();
            },
        );
        assert_eq!(lines.len(), 100);
        assert_eq!(lines[99], "line 99");
    });
}

#[test]
fn owned_halves_read_and_write_from_different_fibers_and_reunite() {
    use std::io::{BufRead, BufReader, Read, Write};
    weft::run(|_env| {
        let listener = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        weft::Switch::run(|sw| {
            // The peer echoes lines until end of stream, then says "bye".
            sw.fork(move || {
                let (peer, _) = listener.accept().unwrap();
                let mut lines = BufReader::new(&peer);
                let mut line = String::new();
                while lines.read_line(&mut line).unwrap() > 0 {
                    (&peer).write_all(line.as_bytes()).unwrap();
                    line.clear();
                }
                (&peer).write_all(b"bye").unwrap();
            });
            let stream = weft::net::TcpStream::connect(addr).unwrap();
            let (mut reader, mut writer) = stream.into_split();
            let (got, ()) = weft::fiber::both(
                || {
                    let mut all = String::new();
                    reader.read_to_string(&mut all).unwrap();
                    all
                },
                || {
                    for i in 0..3 {
                        writeln!(writer, "line {i}").unwrap();
                    }
                    // Dropping the writer half shuts down the write side:
                    // the peer sees end of stream and answers "bye".
                    drop(writer);
                },
            );
            assert_eq!(got, "line 0\nline 1\nline 2\nbye");
            Ok(())
        })
        .unwrap();
        // Two halves of one stream reunite; halves of different ones do not.
        let listener = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (a, _) = weft::fiber::both(
            || weft::net::TcpStream::connect(addr).unwrap(),
            || listener.accept().unwrap(),
        );
        let (b, _) = weft::fiber::both(
            || weft::net::TcpStream::connect(addr).unwrap(),
            || listener.accept().unwrap(),
        );
        let (ra, wa) = a.into_split();
        let (rb, wb) = b.into_split();
        let weft::net::ReuniteError(ra, wb) = ra.reunite(wb).unwrap_err();
        assert!(ra.reunite(wa).is_ok());
        assert!(rb.reunite(wb).is_ok());
    });
}

#[test]
fn tcp_socket_binds_the_leaving_address_and_shares_a_port_with_reuseport() {
    use weft::net::TcpSocket;
    weft::run(|_env| {
        // Two listeners on one port: only possible with SO_REUSEPORT.
        let first = TcpSocket::new_v4().unwrap();
        first.set_reuseport(true).unwrap();
        first.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = first.local_addr().unwrap();
        let second = TcpSocket::new_v4().unwrap();
        second.set_reuseport(true).unwrap();
        second.bind(addr).unwrap();
        let listeners = [first.listen(16).unwrap(), second.listen(16).unwrap()];
        let without = TcpSocket::new_v4().unwrap();
        assert_eq!(
            without.bind(addr).unwrap_err().kind(),
            ErrorKind::AddrInUse,
            "a socket without SO_REUSEPORT cannot join"
        );

        Switch::run(|sw| {
            for l in &listeners {
                sw.fork_daemon(move || -> weft::Result<()> {
                    loop {
                        let (conn, peer) = l.accept()?;
                        // Tell the client where its connection came from.
                        (&conn).write_all(peer.to_string().as_bytes())?;
                        conn.shutdown(Shutdown::Write)?;
                    }
                });
            }
            for _ in 0..8 {
                let client = TcpSocket::new_v4()?;
                client.set_nodelay(true)?;
                client.bind("127.0.0.1:0".parse().unwrap())?;
                let from = client.local_addr()?;
                let mut stream = client.connect(addr)?;
                assert!(stream.nodelay()?, "options set before connect stay");
                assert_eq!(stream.local_addr()?, from);
                let mut seen = String::new();
                stream.read_to_string(&mut seen)?;
                assert_eq!(seen, from.to_string());
            }
            Ok(())
        })
        .unwrap();
    });
}

#[test]
fn tcp_socket_connect_errors_are_reported_and_listen_picks_a_port() {
    use weft::net::TcpSocket;
    weft::run(|_env| {
        let gone = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = gone.local_addr().unwrap();
        drop(gone);
        let e = TcpSocket::new_v4().unwrap().connect(addr).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e}");
        // A v4 socket cannot reach a v6 address.
        if let Ok(s) = TcpSocket::new_v4() {
            assert!(s.connect("[::1]:9".parse().unwrap()).is_err());
        }
        // Listening without a bind picks a port, as listen(2) does.
        let l = TcpSocket::new_v4().unwrap().listen(8).unwrap();
        assert_ne!(l.local_addr().unwrap().port(), 0);
    });
}

#[test]
fn a_stream_used_by_weft_then_handed_to_std_keeps_working_on_both_sides() {
    weft::run(|_env| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (mut s, (mut peer, _)) = weft::fiber::both(
            || TcpStream::connect(addr).unwrap(),
            || listener.accept().unwrap(),
        );
        // Registered with this thread's reactor by a read that had to wait.
        let (got, ()) = weft::fiber::both(
            || {
                let mut b = [0u8; 3];
                s.read_exact(&mut b).unwrap();
                b
            },
            || peer.write_all(b"one").unwrap(),
        );
        assert_eq!(&got, b"one");

        let mut std_stream = s.into_std().unwrap();
        std_stream.set_nonblocking(false).unwrap();
        std_stream.write_all(b"two").unwrap();
        let mut b = [0u8; 3];
        peer.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"two");
        peer.write_all(b"three").unwrap();
        let mut b = [0u8; 5];
        std_stream.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"three");
        drop(std_stream);
        // The peer sees the close, and the reactor still serves others.
        let mut rest = Vec::new();
        assert_eq!(peer.read_to_end(&mut rest).unwrap(), 0);
        let listener = listener.into_std().unwrap();
        let listener = TcpListener::from_std(listener).unwrap();
        let (c, _) = weft::fiber::both(
            || TcpStream::connect(addr).unwrap(),
            || listener.accept().unwrap(),
        );
        assert_eq!(c.peer_addr().unwrap(), addr);
    });
}

#[test]
fn a_write_half_shut_down_explicitly_still_reads_the_answer() {
    weft::run(|_env| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (client, (server, _)) = weft::fiber::both(
            || TcpStream::connect(addr).unwrap(),
            || listener.accept().unwrap(),
        );
        let (mut r, mut w) = client.into_split();
        let (answer, ()) = weft::fiber::both(
            || {
                w.write_all(b"how many bytes?").unwrap();
                // Through a borrow, as a `&mut OwnedWriteHalf` parameter would.
                let half: &mut weft::net::OwnedWriteHalf = &mut w;
                half.shutdown(Shutdown::Write).unwrap();
                assert!(half.write(b"late").is_err(), "writes after shutdown fail");
                let mut answer = String::new();
                r.read_to_string(&mut answer).unwrap();
                answer
            },
            || {
                let mut q = Vec::new();
                (&server).read_to_end(&mut q).unwrap();
                (&server).write_all(q.len().to_string().as_bytes()).unwrap();
                server.shutdown(Shutdown::Write).unwrap();
            },
        );
        assert_eq!(answer, "15");
        drop(w); // a second shutdown on drop is harmless
    });
}

/// tokio's `split`: borrowed halves copy a MiB both ways between two
/// fibers of one scope (a proxy leg), the write half's shutdown reaches
/// the peer as end of stream, and the stream is whole again afterwards.
#[test]
fn borrowed_halves_proxy_a_mib_and_give_the_stream_back() {
    weft::run(|_env| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let data: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
        let (mut client, (mut server, _)) = weft::fiber::both(
            || TcpStream::connect(addr).unwrap(),
            || listener.accept().unwrap(),
        );
        let (copied, echoed) = weft::fiber::both(
            || {
                let (mut rd, mut wr) = server.split();
                assert_eq!(rd.as_ref().local_addr().unwrap(), addr);
                let n = std::io::copy(&mut rd, &mut wr).unwrap();
                wr.shutdown(Shutdown::Write).unwrap();
                n
            },
            || {
                let (mut rd, mut wr) = client.split();
                let (_, back) = weft::fiber::both(
                    || {
                        wr.write_all(&data).unwrap();
                        wr.shutdown(Shutdown::Write).unwrap();
                    },
                    || {
                        let mut back = Vec::new();
                        rd.read_to_end(&mut back).unwrap();
                        back
                    },
                );
                back
            },
        );
        assert_eq!(copied, data.len() as u64);
        assert!(echoed == data, "the echo differs from what was sent");
        // Both halves are gone: the streams are usable whole again.
        assert_eq!(server.local_addr().unwrap(), addr);
        assert_eq!(client.read(&mut [0u8; 1]).unwrap(), 0);
    });
}
