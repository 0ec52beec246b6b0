//! Unix-domain sockets on fibers: listener/stream/datagram round trips,
//! addresses, half-close, peer credentials, resets, cancellation of every
//! blocking call (with the socket closed afterwards), and many
//! connections at once.

mod common;

use std::cell::Cell;
use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use std::time::Duration;

use common::{assert_socket_closed, fd_count, inode, mock_run, run_in_child, TempDir};
use weft::net::{UnixDatagram, UnixListener, UnixStream};
use weft::Switch;

/// Sets a flag when dropped: proves a cancelled fiber ran its destructors.
struct Flag<'a>(&'a Cell<bool>);

impl Drop for Flag<'_> {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

#[test]
fn listener_and_stream_round_trip_with_addresses() {
    let dir = TempDir::new("unix-rt");
    let path = dir.path("sock");
    weft::run(|_env| {
        let listener = UnixListener::bind(&path).unwrap();
        assert_eq!(
            listener.local_addr().unwrap().as_pathname(),
            Some(path.as_path())
        );
        Switch::run(|sw| {
            sw.fork(|| -> weft::Result<()> {
                let (mut conn, peer) = listener.accept()?;
                assert!(peer.is_unnamed(), "{peer:?}");
                assert_eq!(conn.local_addr()?.as_pathname(), Some(path.as_path()));
                let mut req = [0u8; 4];
                conn.read_exact(&mut req)?;
                conn.write_all(&req.map(|b| b.to_ascii_uppercase()))?;
                Ok(())
            });
            let mut client = UnixStream::connect(&path)?;
            assert_eq!(client.peer_addr()?.as_pathname(), Some(path.as_path()));
            assert!(client.local_addr()?.is_unnamed());
            client.write_all(b"ping")?;
            let mut reply = [0u8; 4];
            client.read_exact(&mut reply)?;
            assert_eq!(&reply, b"PING");
            Ok(())
        })
        .unwrap();
    });
}

#[test]
fn binding_an_existing_path_is_addr_in_use() {
    let dir = TempDir::new("unix-inuse");
    let path = dir.path("sock");
    weft::run(|_env| {
        let _l = UnixListener::bind(&path).unwrap();
        let e = UnixListener::bind(&path).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AddrInUse);
        let e = UnixStream::connect(dir.path("nobody")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
    });
}

#[test]
fn read_and_write_through_shared_references_concurrently() {
    weft::run(|_env| {
        let (a, b) = UnixStream::pair().unwrap();
        const N: usize = 256 * 1024; // more than a socket buffer holds
        let data: Vec<u8> = (0..N).map(|i| (i % 251) as u8).collect();
        // Both directions at once, each through `&UnixStream`: a writer on
        // each side and a reader on each side, four fibers.
        let (got_b, got_a) = weft::fiber::both(
            || {
                weft::fiber::both(
                    || (&a).write_all(&data).unwrap(),
                    || {
                        let mut v = vec![0; N];
                        (&b).read_exact(&mut v).unwrap();
                        v
                    },
                )
                .1
            },
            || {
                weft::fiber::both(
                    || (&b).write_all(&data).unwrap(),
                    || {
                        let mut v = vec![0; N];
                        (&a).read_exact(&mut v).unwrap();
                        v
                    },
                )
                .1
            },
        );
        assert!(got_b == data && got_a == data);
    });
}

#[test]
fn half_close_peer_reads_eof_and_can_still_reply() {
    let dir = TempDir::new("unix-half");
    let path = dir.path("sock");
    weft::run(|_env| {
        let listener = UnixListener::bind(&path).unwrap();
        let client = UnixStream::connect(&path).unwrap();
        let (server, _) = listener.accept().unwrap();
        (&client).write_all(b"request").unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        let mut req = Vec::new();
        (&server).read_to_end(&mut req).unwrap(); // returns at EOF
        assert_eq!(req, b"request");
        (&server).write_all(b"reply after EOF").unwrap();
        drop(server);
        let mut reply = String::new();
        (&client).read_to_string(&mut reply).unwrap();
        assert_eq!(reply, "reply after EOF");
        // Writing after our own shutdown(Write) is a broken pipe, not a signal.
        assert_eq!(
            (&client).write(b"x").unwrap_err().kind(),
            ErrorKind::BrokenPipe
        );
    });
}

#[test]
fn peer_credentials_name_this_process() {
    let dir = TempDir::new("unix-cred");
    let path = dir.path("sock");
    weft::run(|_env| {
        let listener = UnixListener::bind(&path).unwrap();
        let client = UnixStream::connect(&path).unwrap();
        let (server, _) = listener.accept().unwrap();
        for s in [&client, &server] {
            let cred = s.peer_cred().unwrap();
            assert_eq!(cred.pid, Some(std::process::id() as i32));
            // SAFETY: geteuid and getegid only read this process's ids.
            let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
            assert_eq!((cred.uid, cred.gid), (uid, gid));
        }
    });
}

#[test]
fn peek_and_from_std() {
    weft::run(|_env| {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let a = UnixStream::from_std(a).unwrap();
        let b = UnixStream::from_std(b).unwrap();
        (&a).write_all(b"look").unwrap();
        let mut buf = [0u8; 4];
        assert_eq!(b.peek(&mut buf).unwrap(), 4);
        (&b).read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"look");
    });
}

#[test]
fn peer_reset_mid_read_is_connection_reset() {
    weft::run(|_env| {
        let (server, client) = UnixStream::pair().unwrap();
        // The client leaves data unread and closes: on Unix sockets that
        // is what resets the connection for the other side.
        (&server).write_all(b"never read").unwrap();
        let (err, ()) = weft::fiber::both(
            || {
                let mut buf = [0u8; 8];
                (&server).read(&mut buf).unwrap_err()
            },
            || drop(client),
        );
        assert_eq!(err.kind(), ErrorKind::ConnectionReset);
    });
}

#[test]
fn peer_gone_mid_write_is_broken_pipe() {
    weft::run(|_env| {
        let (server, client) = UnixStream::pair().unwrap();
        let (err, ()) = weft::fiber::both(
            || {
                // Writes until the buffer is full and the fiber blocks; the
                // peer closes meanwhile.
                let chunk = [7u8; 64 * 1024];
                loop {
                    if let Err(e) = (&server).write_all(&chunk) {
                        break e;
                    }
                }
            },
            || drop(client),
        );
        assert_eq!(err.kind(), ErrorKind::BrokenPipe);
    });
}

#[test]
fn datagrams_by_path_unbound_and_pair() {
    let dir = TempDir::new("unix-dgram");
    let (pa, pb) = (dir.path("a"), dir.path("b"));
    weft::run(|env| {
        let a = UnixDatagram::bind(&pa).unwrap();
        let b = env.net().bind_unix_datagram(&pb).unwrap();
        assert_eq!(a.local_addr().unwrap().as_pathname(), Some(pa.as_path()));
        a.send_to(b"one", &pb).unwrap();
        a.send_to(b"two!", &pb).unwrap();
        let mut buf = [0u8; 16];
        let (n, from) = b.recv_from(&mut buf).unwrap();
        assert_eq!(
            (&buf[..n], from.as_pathname()),
            (&b"one"[..], Some(pa.as_path()))
        );
        assert_eq!(b.peek(&mut buf).unwrap(), 4);
        assert_eq!(b.recv(&mut buf).unwrap(), 4);

        // An unbound sender is unnamed; it can receive once connected.
        let anon = UnixDatagram::unbound().unwrap();
        anon.send_to(b"anon", &pb).unwrap();
        let (n, from) = b.recv_from(&mut buf).unwrap();
        assert!(from.is_unnamed() && n == 4);
        b.connect(&pa).unwrap();
        assert_eq!(b.peer_addr().unwrap().as_pathname(), Some(pa.as_path()));
        b.send(b"back").unwrap();
        assert_eq!(a.recv(&mut buf).unwrap(), 4);
        b.send_to_addr(b"addr", &a.local_addr().unwrap()).unwrap();
        assert_eq!(a.recv(&mut buf).unwrap(), 4);

        let (x, y) = UnixDatagram::pair().unwrap();
        let (got, ()) = weft::fiber::both(
            || {
                let mut buf = [0u8; 8];
                let n = y.recv(&mut buf).unwrap();
                buf[..n].to_vec()
            },
            || {
                x.send(b"paired").unwrap();
            },
        );
        assert_eq!(got, b"paired");
    });
}

#[test]
fn cancelled_accept_read_and_recv_unwind_and_close_their_sockets() {
    let dir = TempDir::new("unix-cancel");
    let path = dir.path("sock");
    mock_run(|_env| {
        // accept on a listener owned by the cancelled code
        let listener = UnixListener::bind(&path).unwrap();
        let ino = inode(&listener);
        let unwound = Cell::new(false);
        let r = weft::time::timeout(Duration::from_secs(60), || {
            let _flag = Flag(&unwound);
            let l = listener;
            l.accept()
        });
        assert!(r.is_err() && unwound.get());
        assert_socket_closed(ino);
        std::fs::remove_file(&path).unwrap();

        // accept on a shared listener: cancelled, then a later accept
        // still gets the next connection (nothing was lost).
        let listener = UnixListener::bind(&path).unwrap();
        assert!(weft::time::timeout(Duration::from_secs(60), || listener.accept()).is_err());
        let _c = UnixStream::connect(&path).unwrap();
        assert!(listener.accept().is_ok());

        // read on a stream
        let (a, b) = UnixStream::pair().unwrap();
        let ino = inode(&a);
        unwound.set(false);
        let r = weft::time::timeout(Duration::from_secs(60), || {
            let _flag = Flag(&unwound);
            let mut a = a;
            a.read(&mut [0u8; 8])
        });
        assert!(r.is_err() && unwound.get());
        assert_socket_closed(ino);
        // The peer sees the close as end-of-file.
        assert_eq!((&b).read(&mut [0u8; 8]).unwrap(), 0);

        // recv on a datagram socket
        let (a, _b) = UnixDatagram::pair().unwrap();
        let ino = inode(&a);
        let r = weft::time::timeout(Duration::from_secs(60), move || a.recv(&mut [0u8; 8]));
        assert!(r.is_err());
        assert_socket_closed(ino);
    });
}

#[test]
fn cancelled_write_on_a_full_buffer_unwinds_and_closes() {
    mock_run(|_env| {
        let (writer, reader) = UnixStream::pair().unwrap();
        writer.set_buffer_sizes(None, Some(4096)).unwrap();
        let ino = inode(&writer);
        let unwound = Cell::new(false);
        let r = weft::time::timeout(Duration::from_secs(60), || {
            let _flag = Flag(&unwound);
            let mut w = writer;
            // Far more than the buffers hold: the fiber blocks in write.
            w.write_all(&vec![1u8; 8 << 20])
        });
        assert!(r.is_err(), "the write was not cancelled");
        assert!(unwound.get());
        assert_socket_closed(ino);
        // What was written before the cancellation is readable, then EOF.
        let mut got = Vec::new();
        let n = (&reader).read_to_end(&mut got).unwrap();
        assert!(n > 0 && n < 8 << 20, "{n}");
        assert!(got.iter().all(|&b| b == 1));
    });
}

#[test]
fn cancelled_send_on_a_full_datagram_queue_leaves_the_socket_usable() {
    mock_run(|_env| {
        let (a, b) = UnixDatagram::pair().unwrap();
        // Fill the receiver's queue until a send blocks; the timeout
        // cancels that send.
        let sent = Cell::new(0usize);
        let r = weft::time::timeout(Duration::from_secs(60), || loop {
            a.send(&[0u8; 512]).unwrap();
            sent.set(sent.get() + 1);
        });
        assert!(r.is_err());
        assert!(sent.get() > 0);
        // Drain everything that was queued; the cancelled send left no
        // partial message behind.
        let mut buf = [0u8; 1024];
        for _ in 0..sent.get() {
            assert_eq!(b.recv(&mut buf).unwrap(), 512);
        }
        // The socket still sends, and a blocked sender is woken once the
        // receiver makes room.
        let ((), n) = weft::fiber::both(
            || {
                for _ in 0..sent.get() + 5 {
                    a.send(b"again").unwrap();
                }
            },
            || {
                let mut n = 0;
                for _ in 0..sent.get() + 5 {
                    n += b.recv(&mut buf).unwrap();
                }
                n
            },
        );
        assert_eq!(n, 5 * (sent.get() + 5));
    });
}

/// A Unix connect to a listener whose backlog is full waits (retrying),
/// and cancelling it closes the socket it made. The socket is created
/// inside `connect`, so the check is a descriptor count, in a child
/// process where no other test opens descriptors.
#[test]
fn cancelled_connect_to_a_full_backlog_closes_its_socket() {
    if !run_in_child("cancelled_connect_to_a_full_backlog_closes_its_socket") {
        return;
    }
    let dir = TempDir::new("unix-connect");
    let path = dir.path("sock");
    mock_run(|_env| {
        let listener = UnixListener::bind_with_backlog(&path, 0).unwrap();
        // Backlog 0 still admits one pending connection; the next is
        // refused with EAGAIN, which connect turns into waiting.
        let first = UnixStream::connect(&path).unwrap();
        let before = fd_count();
        let unwound = Cell::new(false);
        let r = weft::time::timeout(Duration::from_secs(10), || {
            let _flag = Flag(&unwound);
            UnixStream::connect(&path)
        });
        assert!(r.is_err(), "connect did not block on the full backlog");
        assert!(unwound.get());
        assert_eq!(
            fd_count(),
            before,
            "the cancelled connect leaked its socket"
        );

        // Once the queue has room, a waiting connect completes.
        let (second, ()) = weft::fiber::both(
            || UnixStream::connect(&path).unwrap(),
            || {
                weft::time::sleep(Duration::from_millis(5)); // connect is waiting
                let _ = listener.accept().unwrap();
            },
        );
        drop((first, second));
    });
}

#[test]
fn a_stream_is_used_from_two_runtime_threads_at_once() {
    let (a, b) = UnixStream::pair().unwrap();
    let a = std::sync::Arc::new(a);
    let a2 = a.clone();
    const N: usize = 512 * 1024;
    // Thread 1 reads from `a` while thread 2 writes to `a`: one socket,
    // registered with two reactors.
    let reader = std::thread::spawn(move || {
        weft::run(|_env| {
            let mut v = vec![0u8; N];
            (&*a2).read_exact(&mut v).unwrap();
            v
        })
    });
    let writer = {
        let a = a.clone();
        std::thread::spawn(move || weft::run(|_env| (&*a).write_all(&vec![2u8; N]).unwrap()))
    };
    weft::run(|_env| {
        weft::fiber::both(
            || (&b).write_all(&vec![3u8; N]).unwrap(),
            || {
                let mut v = vec![0u8; N];
                (&b).read_exact(&mut v).unwrap();
                assert!(v.iter().all(|&x| x == 2));
            },
        );
    });
    writer.join().unwrap();
    assert!(reader.join().unwrap().iter().all(|&x| x == 3));
}

#[test]
fn thousand_concurrent_unix_connections_in_one_switch() {
    let dir = TempDir::new("unix-1000");
    let path = dir.path("sock");
    weft::run(|_env| {
        let listener = UnixListener::bind(&path).unwrap();
        const N: usize = 1000;
        let open_now = Cell::new(0usize);
        let peak = Cell::new(0usize);
        let served = Cell::new(0usize);
        // Handlers reply only once all N connections are open at once.
        let (all_open, resolver) = weft::Promise::new();
        let resolver = std::cell::RefCell::new(Some(resolver));
        Switch::run(|sw| {
            sw.fork_daemon(|| {
                weft::net::run_server(
                    &listener,
                    weft::net::ServerOptions::new(),
                    |conn, _| -> weft::Result<()> {
                        open_now.set(open_now.get() + 1);
                        peak.set(peak.get().max(open_now.get()));
                        if open_now.get() == N {
                            if let Some(r) = resolver.borrow_mut().take() {
                                r.resolve(());
                            }
                        }
                        let mut msg = Vec::new();
                        (&conn).read_to_end(&mut msg)?;
                        all_open.await_();
                        (&conn).write_all(&msg)?;
                        open_now.set(open_now.get() - 1);
                        Ok(())
                    },
                )
            });
            Switch::run(|clients| {
                for i in 0..N {
                    let (path, served) = (&path, &served);
                    clients.fork(move || -> weft::Result<()> {
                        let c = UnixStream::connect(path)?;
                        let msg = format!("client {i}");
                        (&c).write_all(msg.as_bytes())?;
                        c.shutdown(Shutdown::Write)?;
                        let mut back = String::new();
                        (&c).read_to_string(&mut back)?;
                        assert_eq!(back, msg);
                        served.set(served.get() + 1);
                        Ok(())
                    });
                }
                Ok(())
            })?;
            Ok(())
        })
        .unwrap();
        assert_eq!(served.get(), N);
        assert_eq!(peak.get(), N, "the connections were not all open at once");
    });
}

#[test]
fn owned_halves_work_in_separate_fibers_and_dropping_the_writer_sends_eof() {
    weft::run(|_env| {
        let (a, b) = UnixStream::pair().unwrap();
        let (mut reader, mut writer): (
            weft::net::unix::OwnedReadHalf,
            weft::net::unix::OwnedWriteHalf,
        ) = a.into_split();
        let (echoed, ()) = weft::fiber::both(
            || {
                let mut all = String::new();
                reader.read_to_string(&mut all).unwrap();
                all
            },
            || {
                weft::fiber::both(
                    || {
                        for i in 0..3 {
                            writeln!(writer, "line {i}").unwrap();
                        }
                        // The peer's read_to_end below only ends because
                        // dropping the writer shuts the write side down.
                        drop(writer);
                    },
                    || {
                        let mut got = Vec::new();
                        (&b).read_to_end(&mut got).unwrap();
                        (&b).write_all(&got).unwrap();
                        (&b).write_all(b"bye").unwrap();
                        b.shutdown(Shutdown::Write).unwrap();
                    },
                );
            },
        );
        assert_eq!(echoed, "line 0\nline 1\nline 2\nbye");
    });
}

#[test]
fn a_forgotten_writer_leaves_the_stream_open_until_the_reader_goes() {
    weft::run(|_env| {
        let (a, mut b) = UnixStream::pair().unwrap();
        let (reader, writer) = a.into_split();
        writer.forget();
        // No shutdown was sent: the peer's read waits instead of seeing EOF.
        let mut buf = [0u8; 8];
        assert!(weft::time::timeout(Duration::from_millis(50), || b.read(&mut buf)).is_err());
        // Dropping the last half closes the socket, and only then EOF.
        drop(reader);
        assert_eq!(b.read(&mut buf).unwrap(), 0);
    });
}

#[test]
fn halves_reunite_only_with_their_own_stream() {
    weft::run(|_env| {
        let (a, mut peer_a) = UnixStream::pair().unwrap();
        let (b, _peer_b) = UnixStream::pair().unwrap();
        let (ra, wa) = a.into_split();
        let (rb, wb) = b.into_split();
        // The alias names the error; its fields hand both halves back.
        let e: weft::net::unix::ReuniteError = ra.reunite(wb).unwrap_err();
        let weft::net::ReuniteError(ra, wb) = e;
        assert!(rb.reunite(wb).is_ok());
        // The reunited stream is whole again: not shut down, still usable.
        let mut a = ra.reunite(wa).unwrap();
        a.write_all(b"whole").unwrap();
        let mut got = [0u8; 5];
        peer_a.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"whole");
        peer_a.write_all(b"back").unwrap();
        let mut got = [0u8; 4];
        a.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"back");
    });
}
