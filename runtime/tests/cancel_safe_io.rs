//! Cancellation never loses what an I/O call already took from the
//! kernel. tokio documents `read`, `recv_from` and `accept` as cancel
//! safe: a read dropped by `select!` or `timeout` consumed no data, an
//! accept consumed no connection. On io_uring, an op can complete after
//! its fiber was cancelled (data arrived before the `ASYNC_CANCEL` was
//! processed); its result must then reach the caller, with the
//! cancellation delivered at the next cancellation point, instead of
//! being dropped (bytes gone from the stream, a connection reset).
//!
//! Each test makes that race happen without timing: the reader's op is
//! queued, then, before the scheduler next enters the kernel, another
//! fiber delivers the data (loopback delivery happens inside `send`) and
//! cancels the reader. Whatever the interleaving, every byte (or
//! connection) must be seen exactly once: by the cancelled call, or by
//! the next one.

use std::cell::RefCell;
use std::io::{Read, Write};
use std::net::Shutdown;

use weft::fiber;
use weft::net::{TcpListener, TcpStream, UdpSocket, UnixStream};

/// Runs `op` in a fiber that is cancelled (by `first`) right after
/// `trigger` ran, while `op` is blocked; returns what `op` returned, if
/// it returned at all before the cancellation unwound it.
fn cancel_after<T>(op: impl FnOnce() -> T, trigger: impl FnOnce()) -> Option<T> {
    let out = RefCell::new(None);
    fiber::first(
        || {
            let v = op();
            *out.borrow_mut() = Some(v);
            fiber::await_cancel()
        },
        trigger,
    );
    out.into_inner()
}

/// Fifty rounds: `read` is queued and cancelled right after `send`
/// delivered a few bytes. Returns what the cancelled reads returned
/// followed by the rest of the stream (read after the sender's EOF), and
/// what was sent.
fn cancelled_reads(
    mut read: impl FnMut(&mut [u8]) -> std::io::Result<usize>,
    mut send: impl FnMut(&[u8]),
    end: impl FnOnce(),
) -> (Vec<u8>, Vec<u8>) {
    let mut sent = Vec::new();
    let mut seen = Vec::new();
    for round in 0..50u8 {
        let msg = [round; 7];
        sent.extend_from_slice(&msg);
        let mut buf = [0u8; 64];
        if let Some(n) = cancel_after(|| read(&mut buf), || send(&msg)) {
            seen.extend_from_slice(&buf[..n.unwrap()]);
        }
    }
    end();
    let mut buf = [0u8; 64];
    loop {
        match read(&mut buf).unwrap() {
            0 => return (seen, sent),
            n => seen.extend_from_slice(&buf[..n]),
        }
    }
}

#[test]
fn a_cancelled_tcp_read_loses_no_bytes() {
    weft::run(|_env| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let writer = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (reader, _) = listener.accept().unwrap();
        let (seen, sent) = cancelled_reads(
            |buf| (&reader).read(buf),
            |msg| (&writer).write_all(msg).unwrap(),
            || writer.shutdown(Shutdown::Write).unwrap(),
        );
        assert_eq!(seen, sent, "bytes were lost by cancelled reads");
    });
}

#[test]
fn a_cancelled_unix_read_loses_no_bytes() {
    weft::run(|_env| {
        let (reader, writer) = UnixStream::pair().unwrap();
        let (seen, sent) = cancelled_reads(
            |buf| (&reader).read(buf),
            |msg| (&writer).write_all(msg).unwrap(),
            || writer.shutdown(Shutdown::Write).unwrap(),
        );
        assert_eq!(seen, sent, "bytes were lost by cancelled reads");
    });
}

#[test]
fn a_cancelled_udp_receive_loses_no_datagram() {
    weft::run(|_env| {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = a.local_addr().unwrap();
        let (seen, sent) = cancelled_reads(
            |buf| a.recv_from(buf).map(|(n, _)| n),
            |msg| {
                b.send_to(msg, to).unwrap();
            },
            // An empty datagram marks the end.
            || {
                b.send_to(&[], to).unwrap();
            },
        );
        assert_eq!(seen, sent, "datagrams were lost by cancelled receives");
    });
}

#[test]
fn a_cancelled_accept_loses_no_connection() {
    weft::run(|_env| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        for round in 0..20 {
            let client = RefCell::new(None);
            let r = cancel_after(
                || listener.accept(),
                || {
                    // A blocking std connect: the handshake completes in
                    // the kernel (the backlog) before it returns.
                    *client.borrow_mut() = Some(std::net::TcpStream::connect(addr).unwrap());
                },
            );
            let client = client.into_inner().unwrap();
            let (conn, peer) = match r {
                Some(r) => r.unwrap(),
                // Not taken by the cancelled accept: the next one has it.
                // A second client queued behind it keeps that accept from
                // waiting forever if the connection was lost.
                None => {
                    let marker = std::net::TcpStream::connect(addr).unwrap();
                    let first = listener.accept().unwrap();
                    if first.1 != marker.local_addr().unwrap() {
                        let _ = listener.accept().unwrap();
                    }
                    first
                }
            };
            assert_eq!(
                peer,
                client.local_addr().unwrap(),
                "round {round}: the connection accepted is not the client's"
            );
            // Alive on both sides: the server's end was not closed.
            (&conn).write_all(b"x").unwrap();
            let mut b = [0u8; 1];
            (&client).read_exact(&mut b).unwrap();
        }
    });
}
