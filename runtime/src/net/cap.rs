//! [`Net`]: the network as a capability.

use std::io;
use std::net::SocketAddr;
use std::path::Path;

use super::{
    lookup_host, ListenOptions, TcpListener, TcpStream, ToSocketAddrs, UdpSocket, UnixDatagram,
    UnixListener, UnixStream,
};

/// The network, as a capability handed out by [`crate::Env::net`].
///
/// Code that takes a `Net` (instead of calling `weft::net::*` directly)
/// says in its signature that it uses the network, as with Eio's
/// `Eio.Net`. Each method does what the ambient function of the same
/// meaning does; cloning is cheap.
///
/// ```
/// use std::io::{Read, Write};
///
/// fn fetch_greeting(net: &weft::net::Net, addr: std::net::SocketAddr) -> std::io::Result<String> {
///     let mut c = net.connect_tcp(addr)?;
///     let mut s = String::new();
///     c.read_to_string(&mut s)?;
///     Ok(s)
/// }
///
/// weft::run(|env| {
///     let net = env.net();
///     let l = net.listen_tcp("127.0.0.1:0").unwrap();
///     let addr = l.local_addr().unwrap();
///     let (_, greeting) = weft::fiber::both(
///         || l.accept().unwrap().0.write_all(b"hi").unwrap(),
///         || fetch_greeting(&net, addr).unwrap(),
///     );
///     assert_eq!(greeting, "hi");
/// });
/// ```
#[derive(Clone, Debug)]
pub struct Net {
    _private: (),
}

impl Net {
    pub(crate) fn new() -> Net {
        Net { _private: () }
    }

    /// [`TcpListener::bind`].
    ///
    /// ```
    /// weft::run(|env| {
    ///     let l = env.net().listen_tcp("127.0.0.1:0").unwrap();
    ///     assert!(l.local_addr().unwrap().ip().is_loopback());
    /// });
    /// ```
    #[track_caller]
    pub fn listen_tcp(&self, addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        TcpListener::bind(addr)
    }

    /// [`TcpListener::bind_with`].
    ///
    /// ```
    /// weft::run(|env| {
    ///     let opts = weft::net::ListenOptions::default().backlog(16);
    ///     let l = env.net().listen_tcp_with("127.0.0.1:0", opts).unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn listen_tcp_with(
        &self,
        addr: impl ToSocketAddrs,
        options: ListenOptions,
    ) -> io::Result<TcpListener> {
        TcpListener::bind_with(addr, options)
    }

    /// [`TcpStream::connect`].
    ///
    /// ```
    /// weft::run(|env| {
    ///     let net = env.net();
    ///     let l = net.listen_tcp("127.0.0.1:0").unwrap();
    ///     let c = net.connect_tcp(l.local_addr().unwrap()).unwrap();
    ///     assert_eq!(c.peer_addr().unwrap(), l.local_addr().unwrap());
    /// });
    /// ```
    #[track_caller]
    pub fn connect_tcp(&self, addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        TcpStream::connect(addr)
    }

    /// [`UdpSocket::bind`].
    ///
    /// ```
    /// weft::run(|env| {
    ///     let s = env.net().bind_udp("127.0.0.1:0").unwrap();
    ///     assert_ne!(s.local_addr().unwrap().port(), 0);
    /// });
    /// ```
    #[track_caller]
    pub fn bind_udp(&self, addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        UdpSocket::bind(addr)
    }

    /// [`lookup_host`]: name resolution off the scheduler thread.
    ///
    /// ```
    /// weft::run(|env| {
    ///     let addrs = env.net().lookup_host("localhost:53").unwrap();
    ///     assert!(addrs.iter().all(|a| a.port() == 53));
    /// });
    /// ```
    #[track_caller]
    pub fn lookup_host(&self, host: impl ToSocketAddrs) -> io::Result<Vec<SocketAddr>> {
        lookup_host(host)
    }

    /// [`UnixListener::bind`].
    ///
    /// ```
    /// weft::run(|env| {
    ///     let path = std::env::temp_dir().join(format!("weft-doc-net-lu-{}", std::process::id()));
    ///     let _ = std::fs::remove_file(&path);
    ///     let l = env.net().listen_unix(&path).unwrap();
    ///     std::fs::remove_file(&path).unwrap();
    /// });
    /// ```
    pub fn listen_unix(&self, path: impl AsRef<Path>) -> io::Result<UnixListener> {
        UnixListener::bind(path)
    }

    /// [`UnixStream::connect`].
    ///
    /// ```
    /// weft::run(|env| {
    ///     let path = std::env::temp_dir().join(format!("weft-doc-net-cu-{}", std::process::id()));
    ///     let _ = std::fs::remove_file(&path);
    ///     let net = env.net();
    ///     let l = net.listen_unix(&path).unwrap();
    ///     let _c = net.connect_unix(&path).unwrap();
    ///     std::fs::remove_file(&path).unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn connect_unix(&self, path: impl AsRef<Path>) -> io::Result<UnixStream> {
        UnixStream::connect(path)
    }

    /// [`UnixDatagram::bind`].
    ///
    /// ```
    /// weft::run(|env| {
    ///     let path = std::env::temp_dir().join(format!("weft-doc-net-bud-{}", std::process::id()));
    ///     let _ = std::fs::remove_file(&path);
    ///     let s = env.net().bind_unix_datagram(&path).unwrap();
    ///     std::fs::remove_file(&path).unwrap();
    /// });
    /// ```
    pub fn bind_unix_datagram(&self, path: impl AsRef<Path>) -> io::Result<UnixDatagram> {
        UnixDatagram::bind(path)
    }

    /// [`UnixDatagram::unbound`].
    ///
    /// ```
    /// weft::run(|env| {
    ///     let s = env.net().unbound_unix_datagram().unwrap();
    ///     assert!(s.local_addr().unwrap().is_unnamed());
    /// });
    /// ```
    pub fn unbound_unix_datagram(&self) -> io::Result<UnixDatagram> {
        UnixDatagram::unbound()
    }
}
