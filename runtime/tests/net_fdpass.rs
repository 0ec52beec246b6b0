//! Descriptor passing over Unix sockets (SCM_RIGHTS): pipes handed across
//! a stream and a datagram socket and used on the other side, several at
//! once, close-on-exec, message boundaries, truncation (nothing leaks),
//! misuse, and cancellation of a blocked receive.
//!
//! "Nothing leaks" is checked through pipes: a non-blocking pipe's read end
//! reports end-of-file only once every copy of its write end is closed, so
//! a passed write end that stayed open anywhere in the process would show
//! up as `WouldBlock` instead.

mod common;

use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::Duration;

use common::{assert_socket_closed, inode, lowest_free_fd, mock_run, pipe, run_in_child};
use weft::net::{TruncatedFds, UnixDatagram, UnixStream};

/// Whether the descriptor has FD_CLOEXEC set.
fn cloexec(fd: &impl AsRawFd) -> bool {
    // SAFETY: F_GETFD only reads the descriptor's flags.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFD) };
    assert!(flags >= 0);
    flags & libc::FD_CLOEXEC != 0
}

/// How long [`drain`] waits for the last write end to close.
const EOF_DEADLINE: Duration = Duration::from_secs(10);

/// Reads a non-blocking pipe until end-of-file: `(bytes, true)` once every
/// write end is closed, or `(bytes, false)` if one is still open after
/// [`EOF_DEADLINE`].
///
/// It waits rather than looking once because a copy of a write end may
/// outlive our `close` for a moment without being a leak: while another
/// test in this binary starts its child process, the child holds a copy of
/// every descriptor until its `exec`. A descriptor weft leaked stays open
/// for good and still fails the check.
fn drain(read_end: &OwnedFd) -> (Vec<u8>, bool) {
    let mut f = File::from(read_end.try_clone().unwrap());
    let mut out = Vec::new();
    let mut buf = [0u8; 256];
    let deadline = std::time::Instant::now() + EOF_DEADLINE;
    loop {
        match f.read(&mut buf) {
            Ok(0) => return (out, true),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() {
                    return (out, false);
                }
                let mut pfd = libc::pollfd {
                    fd: read_end.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                };
                let ms = left.as_millis().clamp(1, i32::MAX as u128) as i32;
                // SAFETY: one valid pollfd on this frame; poll only writes
                // its revents.
                if unsafe { libc::poll(&mut pfd, 1, ms) } < 0 {
                    let e = std::io::Error::last_os_error();
                    assert_eq!(e.kind(), ErrorKind::Interrupted, "poll: {e}");
                }
            }
            Err(e) => panic!("pipe read: {e}"),
        }
    }
}

#[test]
fn a_pipe_passed_over_a_stream_is_written_on_the_other_side() {
    weft::run(|_env| {
        let (left, right) = UnixStream::pair().unwrap();
        let (read_end, write_end) = pipe();
        let ino = inode(&write_end);
        assert_eq!(left.send_with_fds(b"fd!", &[write_end.as_fd()]).unwrap(), 3);
        drop(write_end); // the message now holds the only reference

        let mut fds = Vec::new();
        let mut buf = [0u8; 16];
        let n = right.recv_with_fds(&mut buf, &mut fds).unwrap();
        assert_eq!(&buf[..n], b"fd!");
        assert_eq!(fds.len(), 1);
        assert_eq!(inode(&fds[0]), ino, "not the same pipe");
        assert!(
            cloexec(&fds[0]),
            "received descriptors must be close-on-exec"
        );

        let mut w = File::from(fds.pop().unwrap());
        w.write_all(b"written through the passed fd").unwrap();
        drop(w);
        let (got, eof) = drain(&read_end);
        assert_eq!(got, b"written through the passed fd");
        assert!(eof, "a copy of the write end is still open");
    });
}

#[test]
fn three_descriptors_in_one_message() {
    weft::run(|_env| {
        let (left, right) = UnixStream::pair().unwrap();
        let pipes: Vec<(OwnedFd, OwnedFd)> = (0..3).map(|_| pipe()).collect();
        let write_ends: Vec<_> = pipes.iter().map(|(_, w)| w.as_fd()).collect();
        left.send_with_fds(b"3", &write_ends).unwrap();
        drop(write_ends);
        let (reads, writes): (Vec<_>, Vec<_>) = pipes.into_iter().unzip();
        drop(writes);

        let mut fds = Vec::new();
        let mut buf = [0u8; 1];
        assert_eq!(right.recv_with_fds(&mut buf, &mut fds).unwrap(), 1);
        assert_eq!(fds.len(), 3);
        // They arrive in the order they were sent.
        for (i, fd) in fds.into_iter().enumerate() {
            assert!(cloexec(&fd));
            File::from(fd).write_all(&[b'a' + i as u8]).unwrap();
        }
        for (i, r) in reads.iter().enumerate() {
            assert_eq!(drain(r), (vec![b'a' + i as u8], true));
        }
    });
}

#[test]
fn the_most_descriptors_one_message_carries() {
    weft::run(|_env| {
        let (left, right) = UnixStream::pair().unwrap();
        let (read_end, write_end) = pipe();
        let many = vec![write_end.as_fd(); 253];
        left.send_with_fds(b"x", &many).unwrap();
        let too_many = vec![write_end.as_fd(); 254];
        let e = left.send_with_fds(b"x", &too_many).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        drop((many, too_many));
        drop(write_end);

        let mut fds = Vec::new();
        right.recv_with_fds(&mut [0u8; 1], &mut fds).unwrap();
        assert_eq!(fds.len(), 253);
        drop(fds);
        assert_eq!(drain(&read_end), (vec![], true));
    });
}

#[test]
fn descriptors_stay_with_their_bytes_on_a_stream() {
    weft::run(|_env| {
        let (left, right) = UnixStream::pair().unwrap();
        let (r1, w1) = pipe();
        let (r2, w2) = pipe();
        left.send_with_fds(b"a", &[w1.as_fd()]).unwrap();
        (&left).write_all(b"b").unwrap();
        left.send_with_fds(b"c", &[w2.as_fd()]).unwrap();
        drop((w1, w2));
        drop(left);

        let mut fds = Vec::new();
        let mut buf = [0u8; 16];
        // The read stops after the bytes that carried descriptors.
        let n = right.recv_with_fds(&mut buf, &mut fds).unwrap();
        assert_eq!((&buf[..n], fds.len()), (&b"a"[..], 1));
        File::from(fds.pop().unwrap()).write_all(b"1").unwrap();
        let mut rest = Vec::new();
        loop {
            let n = right.recv_with_fds(&mut buf, &mut fds).unwrap();
            if n == 0 {
                break;
            }
            rest.extend_from_slice(&buf[..n]);
        }
        assert_eq!(rest, b"bc");
        assert_eq!(fds.len(), 1);
        File::from(fds.pop().unwrap()).write_all(b"2").unwrap();
        assert_eq!(drain(&r1), (b"1".to_vec(), true));
        assert_eq!(drain(&r2), (b"2".to_vec(), true));
    });
}

#[test]
fn a_plain_read_discards_passed_descriptors_without_leaking_them() {
    weft::run(|_env| {
        let (left, right) = UnixStream::pair().unwrap();
        let (read_end, write_end) = pipe();
        left.send_with_fds(b"data", &[write_end.as_fd()]).unwrap();
        drop(write_end);
        let mut buf = [0u8; 4];
        (&right).read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"data");
        // The kernel dropped the descriptor: no copy of the write end exists.
        assert_eq!(drain(&read_end), (vec![], true));
    });
}

#[test]
fn misuse_is_a_clear_error() {
    weft::run(|_env| {
        let (left, _right) = UnixStream::pair().unwrap();
        let (_r, w) = pipe();
        let e = left.send_with_fds(b"", &[w.as_fd()]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.to_string().contains("data byte"), "{e}");
        // Sending data without descriptors is allowed (a plain send).
        assert_eq!(left.send_with_fds(b"plain", &[]).unwrap(), 5);
    });
}

#[test]
fn datagrams_carry_descriptors_even_when_empty() {
    weft::run(|_env| {
        let (a, b) = UnixDatagram::pair().unwrap();
        let (r1, w1) = pipe();
        let (r2, w2) = pipe();
        a.send_with_fds(b"", &[w1.as_fd()]).unwrap();
        a.send_with_fds(b"two", &[w2.as_fd(), w2.as_fd()]).unwrap();
        drop((w1, w2));
        let mut fds = Vec::new();
        let mut buf = [0u8; 8];
        assert_eq!(b.recv_with_fds(&mut buf, &mut fds).unwrap(), 0);
        assert_eq!(fds.len(), 1);
        File::from(fds.pop().unwrap()).write_all(b"x").unwrap();
        assert_eq!(b.recv_with_fds(&mut buf, &mut fds).unwrap(), 3);
        assert_eq!(fds.len(), 2);
        assert!(fds.iter().all(cloexec));
        drop(fds);
        assert_eq!(drain(&r1), (b"x".to_vec(), true));
        assert_eq!(drain(&r2), (vec![], true));
    });
}

#[test]
fn datagram_send_to_a_path_with_descriptors() {
    let dir = common::TempDir::new("fdpass-dgram");
    let path = dir.path("server");
    weft::run(|_env| {
        let server = UnixDatagram::bind(&path).unwrap();
        let client = UnixDatagram::unbound().unwrap();
        let (r, w) = pipe();
        let (got, ()) = weft::fiber::both(
            || {
                let mut fds = Vec::new();
                let n = server.recv_with_fds(&mut [0u8; 8], &mut fds).unwrap();
                (n, fds)
            },
            || {
                client
                    .send_to_with_fds(b"hello", &[w.as_fd()], &path)
                    .unwrap();
            },
        );
        drop(w);
        assert_eq!((got.0, got.1.len()), (5, 1));
        File::from(got.1.into_iter().next().unwrap())
            .write_all(b"ok")
            .unwrap();
        assert_eq!(drain(&r), (b"ok".to_vec(), true));
    });
}

#[test]
fn cancelled_recv_with_fds_unwinds_closes_and_loses_nothing() {
    mock_run(|_env| {
        // Owned by the cancelled code: unwinds and closes.
        let (mine, _peer) = UnixStream::pair().unwrap();
        let ino = inode(&mine);
        let r = weft::time::timeout(Duration::from_secs(60), move || {
            let mut fds = Vec::new();
            mine.recv_with_fds(&mut [0u8; 4], &mut fds)
        });
        assert!(r.is_err());
        assert_socket_closed(ino);

        // Shared: after a cancelled receive, the next message and its
        // descriptor go to the next receiver.
        let (left, right) = UnixStream::pair().unwrap();
        let mut fds = Vec::new();
        let r = weft::time::timeout(Duration::from_secs(60), || {
            right.recv_with_fds(&mut [0u8; 4], &mut fds)
        });
        assert!(r.is_err() && fds.is_empty());
        let (read_end, write_end) = pipe();
        let (n, ()) = weft::fiber::both(
            || right.recv_with_fds(&mut [0u8; 4], &mut fds).unwrap(),
            || {
                left.send_with_fds(b"late", &[write_end.as_fd()]).unwrap();
            },
        );
        drop(write_end);
        assert_eq!((n, fds.len()), (4, 1));
        drop(fds);
        assert_eq!(drain(&read_end), (vec![], true));
    });
}

/// The receiver runs out of descriptor slots while the kernel installs a
/// batch of three: the kernel reports MSG_CTRUNC after installing one.
/// `recv_with_fds` must fail with `TruncatedFds` and close that one. The
/// descriptor limit is lowered, so this runs in a child process.
#[test]
fn truncated_descriptors_are_an_error_and_the_arrived_ones_are_closed() {
    if !run_in_child("truncated_descriptors_are_an_error_and_the_arrived_ones_are_closed") {
        return;
    }
    weft::run(|_env| {
        let (left, right) = UnixStream::pair().unwrap();
        let pipes: Vec<(OwnedFd, OwnedFd)> = (0..3).map(|_| pipe()).collect();
        let write_ends: Vec<_> = pipes.iter().map(|(_, w)| w.as_fd()).collect();
        left.send_with_fds(b"xyz", &write_ends).unwrap();
        drop(write_ends);
        let (reads, writes): (Vec<_>, Vec<_>) = pipes.into_iter().unzip();
        drop(writes);

        // Exactly one free descriptor slot below the limit.
        let old = common::set_nofile_limit(lowest_free_fd() + 1);
        let mut fds = Vec::new();
        let mut buf = [0u8; 8];
        let err = right.recv_with_fds(&mut buf, &mut fds).unwrap_err();
        common::set_nofile_limit(old);

        let inner = err
            .get_ref()
            .and_then(|e| e.downcast_ref::<TruncatedFds>())
            .unwrap_or_else(|| panic!("not a TruncatedFds error: {err:?}"));
        assert_eq!(
            *inner,
            TruncatedFds {
                bytes: 3,
                arrived: 1
            }
        );
        assert!(fds.is_empty(), "a truncated batch must not be returned");
        // No write end survives anywhere: the arrived one was closed, the
        // others were dropped by the kernel.
        for r in &reads {
            assert_eq!(drain(r), (vec![], true));
        }
    });
}
