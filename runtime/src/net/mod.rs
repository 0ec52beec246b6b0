//! Networking on fibers: every blocking call suspends the fiber, never the
//! thread, and every stream implements `std::io::Read` and `Write`.
//!
//! - TCP: [`TcpListener`], [`TcpStream`], [`TcpSocket`] (options set
//!   before connecting or listening); UDP: [`UdpSocket`].
//! - Unix-domain sockets: [`UnixListener`], [`UnixStream`],
//!   [`UnixDatagram`], with descriptor passing (`send_with_fds` /
//!   `recv_with_fds`).
//! - [`run_server`]: an accept loop with a fiber per connection.
//! - [`Net`]: the same operations as a capability (`env.net()`).
//!
//! The [`tcp`] and [`unix`] modules also name each kind's owned halves
//! (`into_split`) and borrowed halves (`split`), where tokio's
//! `tokio::net::tcp` and `tokio::net::unix` do.

mod addr;
mod borrowed_split;
mod buffers;
mod cap;
mod server;
mod split;
pub mod tcp;
mod tcp_socket;
mod udp;
pub mod unix;

pub use addr::{lookup_host, ToSocketAddrs};
pub use borrowed_split::{ReadHalf, WriteHalf};
pub use cap::Net;
pub use server::{run_server, Listener, ServerOptions};
pub use split::{OwnedReadHalf, OwnedWriteHalf, ReuniteError};
pub use tcp::{ListenOptions, TcpListener, TcpStream};
pub use tcp_socket::TcpSocket;
pub use udp::UdpSocket;
pub use unix::{TruncatedFds, UCred, UnixDatagram, UnixListener, UnixStream};
