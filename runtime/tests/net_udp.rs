//! UDP on fibers: loopback datagrams over IPv4 and IPv6, peek, multicast
//! on the loopback interface, socket options, and cancellation of a
//! blocked receive.

mod common;

use std::cell::Cell;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use common::{assert_socket_closed, inode, mock_run};
use weft::net::UdpSocket;
use weft::Switch;

#[test]
fn send_to_and_recv_from_keep_message_boundaries_v4() {
    weft::run(|_env| {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b_addr = b.local_addr().unwrap();
        for msg in [&b"first"[..], b"", b"third one"] {
            assert_eq!(a.send_to(msg, b_addr).unwrap(), msg.len());
        }
        let mut buf = [0u8; 64];
        for expected in [&b"first"[..], b"", b"third one"] {
            let (n, from) = b.recv_from(&mut buf).unwrap();
            assert_eq!(&buf[..n], expected);
            assert_eq!(from, a.local_addr().unwrap());
        }
    });
}

#[test]
fn ipv6_loopback_round_trip() {
    weft::run(|_env| {
        let a = UdpSocket::bind("[::1]:0").unwrap();
        let b = UdpSocket::bind((Ipv6Addr::LOCALHOST, 0)).unwrap();
        a.send_to(b"six", b.local_addr().unwrap()).unwrap();
        let mut buf = [0u8; 8];
        let (n, from) = b.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"six");
        assert!(matches!(from, SocketAddr::V6(_)));
        assert_eq!(from, a.local_addr().unwrap());
    });
}

#[test]
fn connected_sockets_send_and_recv_and_filter_strangers() {
    weft::run(|_env| {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        let stranger = UdpSocket::bind("127.0.0.1:0").unwrap();
        a.connect(b.local_addr().unwrap()).unwrap();
        b.connect(a.local_addr().unwrap()).unwrap();
        assert_eq!(a.peer_addr().unwrap(), b.local_addr().unwrap());
        // A connected socket drops datagrams from anyone but its peer.
        stranger.send_to(b"spam", b.local_addr().unwrap()).unwrap();
        a.send(b"from a").unwrap();
        let mut buf = [0u8; 16];
        let n = b.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"from a");
        b.send(b"from b").unwrap();
        let n = a.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"from b");
    });
}

#[test]
fn peek_and_peek_from_leave_the_datagram_queued() {
    weft::run(|_env| {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        a.send_to(b"one", b.local_addr().unwrap()).unwrap();
        a.send_to(b"two", b.local_addr().unwrap()).unwrap();
        let mut buf = [0u8; 8];
        let n = b.peek(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"one");
        let (n, from) = b.peek_from(&mut buf).unwrap();
        assert_eq!((&buf[..n], from), (&b"one"[..], a.local_addr().unwrap()));
        let (n, _) = b.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"one");
        let n = b.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"two");
    });
}

#[test]
fn recv_waits_for_a_datagram_sent_later() {
    weft::run(|_env| {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        let (got, ()) = weft::fiber::both(
            || {
                let mut buf = [0u8; 8];
                let (n, _) = b.recv_from(&mut buf).unwrap();
                buf[..n].to_vec()
            },
            || {
                weft::fiber::yield_now(); // the receiver is blocked by now
                a.send_to(b"late", b.local_addr().unwrap()).unwrap();
            },
        );
        assert_eq!(got, b"late");
    });
}

#[test]
fn many_fibers_receive_each_datagram_exactly_once() {
    weft::run(|_env| {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = server.local_addr().unwrap();
        const FIBERS: usize = 8;
        const EACH: usize = 25;
        let seen = std::cell::RefCell::new(Vec::new());
        Switch::run(|sw| {
            for _ in 0..FIBERS {
                sw.fork(|| {
                    let mut buf = [0u8; 8];
                    for _ in 0..EACH {
                        let n = server.recv(&mut buf).unwrap();
                        let v = u32::from_le_bytes(buf[..n].try_into().unwrap());
                        seen.borrow_mut().push(v);
                    }
                });
            }
            for i in 0..(FIBERS * EACH) as u32 {
                client.send_to(&i.to_le_bytes(), addr)?;
                if i % 16 == 0 {
                    weft::fiber::yield_now(); // let receivers drain the queue
                }
            }
            Ok(())
        })
        .unwrap();
        let mut seen = seen.into_inner();
        seen.sort_unstable();
        assert_eq!(seen, (0..(FIBERS * EACH) as u32).collect::<Vec<_>>());
    });
}

#[test]
fn multicast_v4_on_the_loopback_interface() {
    weft::run(|_env| {
        let group = Ipv4Addr::new(239, 255, 42, 99);
        let receiver = UdpSocket::bind("0.0.0.0:0").unwrap();
        receiver
            .join_multicast_v4(&group, &Ipv4Addr::LOCALHOST)
            .unwrap();
        let port = receiver.local_addr().unwrap().port();
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        sender.set_multicast_if_v4(&Ipv4Addr::LOCALHOST).unwrap();
        assert!(sender.multicast_loop_v4().unwrap());
        sender.set_multicast_ttl_v4(1).unwrap();
        sender.send_to(b"to the group", (group, port)).unwrap();
        let mut buf = [0u8; 32];
        let (n, from) = receiver.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"to the group");
        assert_eq!(from, sender.local_addr().unwrap());
        receiver
            .leave_multicast_v4(&group, &Ipv4Addr::LOCALHOST)
            .unwrap();
        // Leaving twice is an error: the membership is really gone.
        assert!(receiver
            .leave_multicast_v4(&group, &Ipv4Addr::LOCALHOST)
            .is_err());
    });
}

#[test]
fn multicast_v6_join_and_leave_on_loopback() {
    weft::run(|_env| {
        // SAFETY: if_nametoindex reads a NUL-terminated name.
        let lo = unsafe { libc::if_nametoindex(c"lo".as_ptr()) };
        assert_ne!(lo, 0, "no loopback interface");
        let s = UdpSocket::bind("[::]:0").unwrap();
        let group: Ipv6Addr = "ff01::4242".parse().unwrap(); // interface-local scope
        s.join_multicast_v6(&group, lo).unwrap();
        s.set_multicast_loop_v6(false).unwrap();
        assert!(!s.multicast_loop_v6().unwrap());
        s.leave_multicast_v6(&group, lo).unwrap();
        assert!(s.leave_multicast_v6(&group, lo).is_err());
    });
}

#[test]
fn broadcast_ttl_and_buffer_options() {
    weft::run(|_env| {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        assert!(!s.broadcast().unwrap());
        s.set_broadcast(true).unwrap();
        assert!(s.broadcast().unwrap());
        s.set_ttl(9).unwrap();
        assert_eq!(s.ttl().unwrap(), 9);
        s.set_buffer_sizes(Some(100_000), Some(50_000)).unwrap();
        let (r, w) = s.buffer_sizes().unwrap();
        // Linux doubles the requested value for its bookkeeping.
        assert!(r >= 100_000 && w >= 50_000, "{r} {w}");
        assert!(s.take_error().unwrap().is_none());
    });
}

#[test]
fn connected_send_to_a_closed_port_reports_refused() {
    weft::run(|_env| {
        let gone = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = gone.local_addr().unwrap();
        drop(gone);
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.connect(addr).unwrap();
        s.send(b"anyone?").unwrap();
        // The ICMP port-unreachable comes back as an error on the next
        // receive of a connected socket.
        let mut buf = [0u8; 8];
        let e = s.recv(&mut buf).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused);
    });
}

#[test]
fn from_std_makes_the_socket_non_blocking() {
    mock_run(|_env| {
        let std_socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let a = UdpSocket::from_std(std_socket).unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        a.send_to(b"cap", b.local_addr().unwrap()).unwrap();
        let mut buf = [0u8; 4];
        assert_eq!(b.recv(&mut buf).unwrap(), 3);
        // from_std made the socket non-blocking: a recv with nothing queued
        // suspends the fiber instead of the thread (the timeout fires).
        assert!(weft::time::timeout(Duration::from_secs(60), || a.recv(&mut buf)).is_err());
    });
}

#[test]
fn cancelled_recv_unwinds_closes_the_socket_and_leaves_others_working() {
    mock_run(|_env| {
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        let shared = UdpSocket::bind("127.0.0.1:0").unwrap();
        let shared_addr = shared.local_addr().unwrap();

        // A recv on a socket owned by the cancelled code: it unwinds, its
        // destructors run, and the socket is closed.
        let owned = UdpSocket::bind("127.0.0.1:0").unwrap();
        let ino = inode(&owned);
        let unwound = Cell::new(false);
        struct Flag<'a>(&'a Cell<bool>);
        impl Drop for Flag<'_> {
            fn drop(&mut self) {
                self.0.set(true);
            }
        }
        let r = weft::time::timeout(Duration::from_secs(3600), || {
            let _flag = Flag(&unwound);
            let s = owned;
            let mut buf = [0u8; 8];
            s.recv_from(&mut buf)
        });
        assert!(r.is_err(), "the recv was not cancelled");
        assert!(unwound.get());
        assert_socket_closed(ino);

        // A cancelled recv on a shared socket leaves it as if it had never
        // waited: the next datagram goes to the next receiver.
        let r = weft::time::timeout(Duration::from_secs(60), || {
            let mut buf = [0u8; 8];
            shared.recv(&mut buf)
        });
        assert!(r.is_err());
        let (n, ()) = weft::fiber::both(
            || {
                let mut buf = [0u8; 8];
                shared.recv(&mut buf).unwrap()
            },
            || {
                sender.send_to(b"after", shared_addr).unwrap();
            },
        );
        assert_eq!(n, 5);
    });
}

#[test]
fn sockets_work_across_runtime_threads() {
    let receiver = std::sync::Arc::new(UdpSocket::bind("127.0.0.1:0").unwrap());
    let addr = receiver.local_addr().unwrap();
    let r2 = receiver.clone();
    let t = std::thread::spawn(move || {
        weft::run(|_env| {
            let mut buf = [0u8; 16];
            let (n, _) = r2.recv_from(&mut buf).unwrap();
            buf[..n].to_vec()
        })
    });
    weft::run(|_env| {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.send_to(b"cross-thread", addr).unwrap();
    });
    assert_eq!(t.join().unwrap(), b"cross-thread");
}

#[test]
fn the_net_capability_mirrors_the_ambient_api() {
    let dir = common::TempDir::new("net-cap");
    weft::run(|env| {
        let net = env.net();
        let net2 = net.clone();
        let udp = net.bind_udp("127.0.0.1:0").unwrap();
        let other = UdpSocket::bind("127.0.0.1:0").unwrap();
        other.send_to(b"u", udp.local_addr().unwrap()).unwrap();
        assert_eq!(udp.recv(&mut [0u8; 1]).unwrap(), 1);

        let tcp = net.listen_tcp("127.0.0.1:0").unwrap();
        let c = net2.connect_tcp(tcp.local_addr().unwrap()).unwrap();
        assert_eq!(tcp.accept().unwrap().1, c.local_addr().unwrap());

        let addrs = net.lookup_host(("127.0.0.1", 9)).unwrap();
        assert_eq!(addrs, [SocketAddr::from(([127, 0, 0, 1], 9))]);

        let path = dir.path("stream");
        let l = net.listen_unix(&path).unwrap();
        let _s = net.connect_unix(&path).unwrap();
        assert!(l.accept().is_ok());
        let d = net.bind_unix_datagram(dir.path("dgram")).unwrap();
        net.unbound_unix_datagram()
            .unwrap()
            .send_to(b"d", dir.path("dgram"))
            .unwrap();
        assert_eq!(d.recv(&mut [0u8; 1]).unwrap(), 1);
    });
}
