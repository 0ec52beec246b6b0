//! Cancellation of fibers blocked in TCP accept, read, write and connect:
//! the fiber unwinds (destructors run), its socket is closed, and shared
//! sockets keep working. Loopback only; the mock clock makes "cancel it
//! once it is stuck" deterministic.

mod common;

use std::cell::Cell;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::time::Duration;

use common::{assert_socket_closed, fd_count, inode, mock_run, run_in_child};
use weft::net::{ListenOptions, TcpListener, TcpStream};

struct Flag<'a>(&'a Cell<bool>);

impl Drop for Flag<'_> {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

#[test]
fn cancelled_accept_closes_an_owned_listener_and_spares_a_shared_one() {
    mock_run(|_env| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let ino = inode(&listener);
        let unwound = Cell::new(false);
        let r = weft::time::timeout(Duration::from_secs(60), || {
            let _flag = Flag(&unwound);
            let l = listener;
            l.accept()
        });
        assert!(r.is_err() && unwound.get());
        assert_socket_closed(ino);

        let shared = TcpListener::bind("127.0.0.1:0").unwrap();
        assert!(weft::time::timeout(Duration::from_secs(60), || shared.accept()).is_err());
        let c = TcpStream::connect(shared.local_addr().unwrap()).unwrap();
        let (s, peer) = shared.accept().unwrap();
        assert_eq!(peer, c.local_addr().unwrap());
        drop(s);
    });
}

#[test]
fn cancelled_read_closes_the_stream_and_the_peer_sees_eof() {
    mock_run(|_env| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        let ino = inode(&client);
        let unwound = Cell::new(false);
        let r = weft::time::timeout(Duration::from_secs(60), || {
            let _flag = Flag(&unwound);
            let mut c = client;
            c.read(&mut [0u8; 16])
        });
        assert!(r.is_err() && unwound.get());
        assert_socket_closed(ino);
        assert_eq!((&server).read(&mut [0u8; 16]).unwrap(), 0);
    });
}

#[test]
fn cancelled_write_on_a_full_buffer_closes_the_stream() {
    mock_run(|_env| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        client.set_buffer_sizes(None, Some(8192)).unwrap();
        server.set_buffer_sizes(Some(8192), None).unwrap();
        let ino = inode(&client);
        let unwound = Cell::new(false);
        const BIG: usize = 32 << 20; // far more than both buffers hold
        let r = weft::time::timeout(Duration::from_secs(60), || {
            let _flag = Flag(&unwound);
            let mut c = client;
            c.write_all(&vec![5u8; BIG])
        });
        assert!(r.is_err(), "the write never blocked");
        assert!(unwound.get());
        assert_socket_closed(ino);
        // The peer gets what was written before the cancellation, then EOF.
        let mut got = Vec::new();
        let n = (&server).read_to_end(&mut got).unwrap();
        assert!(n > 0 && n < BIG, "{n}");
        assert!(got.iter().all(|&b| b == 5));
    });
}

/// A listener with backlog 0 holds one connection in its accept queue;
/// with the queue full, the kernel drops the next SYN, so that connect
/// stays in progress. Cancelling it closes the socket the connect made
/// (it is created inside `connect`, so this checks the descriptor count,
/// in a child process where nothing else opens descriptors).
#[test]
fn cancelled_connect_to_a_full_accept_queue_closes_its_socket() {
    if !run_in_child("cancelled_connect_to_a_full_accept_queue_closes_its_socket") {
        return;
    }
    mock_run(|_env| {
        let listener =
            TcpListener::bind_with("127.0.0.1:0", ListenOptions::default().backlog(0)).unwrap();
        let addr = listener.local_addr().unwrap();
        let first = TcpStream::connect(addr).unwrap();
        // Wait (thread-blocking, bounded) until the first connection sits
        // in the accept queue: from then on the queue is full.
        let mut pfd = libc::pollfd {
            fd: listener.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: poll on one valid pollfd.
        assert_eq!(unsafe { libc::poll(&mut pfd, 1, 5000) }, 1);

        let before = fd_count();
        let unwound = Cell::new(false);
        let r = weft::time::timeout(Duration::from_secs(10), || {
            let _flag = Flag(&unwound);
            TcpStream::connect(addr)
        });
        assert!(r.is_err(), "connect did not block on the full accept queue");
        assert!(unwound.get());
        assert_eq!(
            fd_count(),
            before,
            "the cancelled connect leaked its socket"
        );
        drop((first, listener));
    });
}
