//! Unix-domain sockets: [`UnixListener`], [`UnixStream`] and
//! [`UnixDatagram`], with descriptor passing (`SCM_RIGHTS`), and the
//! stream's owned halves under tokio's names (`tokio::net::unix`).
//!
//! Addresses are `std::os::unix::net::SocketAddr`. Binding a pathname
//! creates a socket file that stays after the socket closes (as with
//! std): remove it yourself when you are done.
//!
//! One file per type: [`UnixStream`] (`stream.rs`), [`UnixListener`]
//! (`listener.rs`), [`UnixDatagram`] (`datagram.rs`), descriptor passing
//! (`fd_passing.rs`) and [`UCred`] (`cred.rs`).

use std::io;
use std::os::fd::OwnedFd;

use socket2::{Domain, Socket, Type};

use crate::backend::IoSource;

mod cred;
mod datagram;
mod fd_passing;
mod listener;
mod stream;

pub use cred::UCred;
pub use datagram::UnixDatagram;
use fd_passing::recv_with_fds;
pub use fd_passing::TruncatedFds;
pub use listener::UnixListener;
pub use stream::UnixStream;

/// The reading half of a [`UnixStream`] borrowed by [`UnixStream::split`].
///
/// ```
/// fn read_some(rd: &mut weft::net::unix::ReadHalf<'_>) -> std::io::Result<usize> {
///     std::io::Read::read(rd, &mut [0u8; 16])
/// }
/// ```
pub type ReadHalf<'a> = super::ReadHalf<'a, UnixStream>;

/// The writing half of a [`UnixStream`] borrowed by [`UnixStream::split`].
///
/// ```
/// fn greet(wr: &mut weft::net::unix::WriteHalf<'_>) -> std::io::Result<()> {
///     std::io::Write::write_all(wr, b"hi")
/// }
/// ```
pub type WriteHalf<'a> = super::WriteHalf<'a, UnixStream>;

/// The reading half of a [`UnixStream`], from [`UnixStream::into_split`].
///
/// ```
/// fn reader_only(r: weft::net::unix::OwnedReadHalf) -> std::io::Result<std::os::unix::net::SocketAddr> {
///     r.peer_addr()
/// }
/// ```
pub type OwnedReadHalf = super::OwnedReadHalf<UnixStream>;

/// The writing half of a [`UnixStream`], from [`UnixStream::into_split`].
///
/// ```
/// fn writer_only(w: weft::net::unix::OwnedWriteHalf) -> std::io::Result<std::os::unix::net::SocketAddr> {
///     w.local_addr()
/// }
/// ```
pub type OwnedWriteHalf = super::OwnedWriteHalf<UnixStream>;

/// Two halves of different [`UnixStream`]s were given to `reunite`.
///
/// ```
/// weft::run(|_env| {
///     let (a, _) = weft::net::UnixStream::pair().unwrap();
///     let (b, _) = weft::net::UnixStream::pair().unwrap();
///     let (ra, _wa) = a.into_split();
///     let (_rb, wb) = b.into_split();
///     let e: weft::net::unix::ReuniteError = ra.reunite(wb).unwrap_err();
///     assert_eq!(e.to_string(), "tried to reunite halves that are not from the same socket");
/// });
/// ```
pub type ReuniteError = super::ReuniteError<UnixStream>;

/// The accept queue length [`UnixListener::bind`] asks for (the kernel
/// caps it at `net.core.somaxconn`).
const DEFAULT_BACKLOG: i32 = 1024;

fn new_socket(ty: Type) -> io::Result<Socket> {
    Socket::new(Domain::UNIX, ty.nonblocking().cloexec(), None)
}

fn pair(ty: Type) -> io::Result<(IoSource, IoSource)> {
    let (a, b) = Socket::pair(Domain::UNIX, ty.nonblocking().cloexec(), None)?;
    Ok((
        IoSource::new_nonblocking(OwnedFd::from(a)),
        IoSource::new_nonblocking(OwnedFd::from(b)),
    ))
}
