//! [`UnixListener`]: accepts Unix stream connections.

use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::net::SocketAddr;
use std::path::Path;

use socket2::{SockAddr, SockRef, Type};

use super::{new_socket, UnixStream, DEFAULT_BACKLOG};
use crate::backend::{ops, IoSource};

/// A Unix-domain stream socket server.
///
/// ```
/// use std::io::{Read, Write};
/// use weft::net::{UnixListener, UnixStream};
///
/// weft::run(|_env| {
///     let path = std::env::temp_dir().join(format!("weft-doc-listener-{}", std::process::id()));
///     let _ = std::fs::remove_file(&path);
///     let listener = UnixListener::bind(&path).unwrap();
///     weft::Switch::run(|sw| {
///         sw.fork(|| {
///             let (mut conn, _) = listener.accept().unwrap();
///             conn.write_all(b"welcome").unwrap();
///         });
///         let mut client = UnixStream::connect(&path).unwrap();
///         let mut msg = String::new();
///         client.read_to_string(&mut msg).unwrap();
///         assert_eq!(msg, "welcome");
///         Ok(())
///     })
///     .unwrap();
///     std::fs::remove_file(&path).unwrap();
/// });
/// ```
#[derive(Debug)]
pub struct UnixListener {
    pub(super) source: IoSource,
}

impl UnixListener {
    /// Creates a socket file at `path` and listens on it. Fails with
    /// `AddrInUse` if the file exists.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let path = std::env::temp_dir().join(format!("weft-doc-bind-{}", std::process::id()));
    ///     let _ = std::fs::remove_file(&path);
    ///     let l = weft::net::UnixListener::bind(&path).unwrap();
    ///     assert_eq!(l.local_addr().unwrap().as_pathname(), Some(path.as_path()));
    ///     std::fs::remove_file(&path).unwrap();
    /// });
    /// ```
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        Self::bind_with_backlog(path, DEFAULT_BACKLOG)
    }

    /// [`UnixListener::bind`] with an explicit accept queue length.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let path = std::env::temp_dir().join(format!("weft-doc-backlog-{}", std::process::id()));
    ///     let _ = std::fs::remove_file(&path);
    ///     let l = weft::net::UnixListener::bind_with_backlog(&path, 8).unwrap();
    ///     std::fs::remove_file(&path).unwrap();
    /// });
    /// ```
    pub fn bind_with_backlog(path: impl AsRef<Path>, backlog: i32) -> io::Result<UnixListener> {
        Self::bind_sockaddr(&SockAddr::unix(path)?, backlog)
    }

    /// Listens on a pathname address.
    ///
    /// ```
    /// use std::os::unix::net::SocketAddr;
    /// weft::run(|_env| {
    ///     let path = std::env::temp_dir().join(format!("weft-doc-bind-addr-{}", std::process::id()));
    ///     let _ = std::fs::remove_file(&path);
    ///     let addr = SocketAddr::from_pathname(&path).unwrap();
    ///     let l = weft::net::UnixListener::bind_addr(&addr).unwrap();
    ///     std::fs::remove_file(&path).unwrap();
    /// });
    /// ```
    pub fn bind_addr(addr: &SocketAddr) -> io::Result<UnixListener> {
        Self::bind_sockaddr(&ops::from_unix_addr(addr)?, DEFAULT_BACKLOG)
    }

    fn bind_sockaddr(addr: &SockAddr, backlog: i32) -> io::Result<UnixListener> {
        let socket = new_socket(Type::STREAM)?;
        socket.bind(addr)?;
        socket.listen(backlog)?;
        Ok(UnixListener {
            source: IoSource::new_nonblocking(OwnedFd::from(socket)),
        })
    }

    /// Waits for a connection and returns it with the peer's address
    /// (usually unnamed). A cancellation point.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let path = std::env::temp_dir().join(format!("weft-doc-accept-{}", std::process::id()));
    ///     let _ = std::fs::remove_file(&path);
    ///     let l = weft::net::UnixListener::bind(&path).unwrap();
    ///     let _c = weft::net::UnixStream::connect(&path).unwrap();
    ///     let (_s, peer) = l.accept().unwrap();
    ///     assert!(peer.is_unnamed());
    ///     std::fs::remove_file(&path).unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let (fd, addr) = ops::accept(&self.source)?;
        let stream = UnixStream {
            source: IoSource::new_nonblocking(fd),
        };
        Ok((stream, ops::to_unix_addr(&addr)?))
    }

    /// The address this listener is bound to.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let path = std::env::temp_dir().join(format!("weft-doc-laddr-{}", std::process::id()));
    ///     let _ = std::fs::remove_file(&path);
    ///     let l = weft::net::UnixListener::bind(&path).unwrap();
    ///     assert!(l.local_addr().unwrap().as_pathname().is_some());
    ///     std::fs::remove_file(&path).unwrap();
    /// });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        ops::to_unix_addr(&SockRef::from(&self.source).local_addr()?)
    }

    /// Wraps a listening `std::os::unix::net::UnixListener` (made
    /// non-blocking).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let path = std::env::temp_dir().join(format!("weft-doc-lstd-{}", std::process::id()));
    ///     let _ = std::fs::remove_file(&path);
    ///     let std_l = std::os::unix::net::UnixListener::bind(&path).unwrap();
    ///     let l = weft::net::UnixListener::from_std(std_l).unwrap();
    ///     assert!(l.local_addr().is_ok());
    ///     std::fs::remove_file(&path).unwrap();
    /// });
    /// ```
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        Ok(UnixListener {
            source: IoSource::new(OwnedFd::from(listener))?,
        })
    }
}
