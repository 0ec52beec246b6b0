//! The kernel's socket buffer sizes, shared by the stream types
//! (`TcpStream`, `UnixStream`) whose `set_buffer_sizes`/`buffer_sizes`
//! call these.

use std::io;

use socket2::SockRef;

/// Sets the receive and/or send buffer size of `sock` (`SO_RCVBUF`,
/// `SO_SNDBUF`); `None` leaves that one as it is.
pub(crate) fn set(sock: SockRef<'_>, recv: Option<usize>, send: Option<usize>) -> io::Result<()> {
    if let Some(n) = recv {
        sock.set_recv_buffer_size(n)?;
    }
    if let Some(n) = send {
        sock.set_send_buffer_size(n)?;
    }
    Ok(())
}

/// The (receive, send) buffer sizes of `sock`.
pub(crate) fn get(sock: SockRef<'_>) -> io::Result<(usize, usize)> {
    Ok((sock.recv_buffer_size()?, sock.send_buffer_size()?))
}
