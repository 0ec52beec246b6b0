//! Networking on fibers: every blocking call suspends the fiber, never the
//! thread, and every stream implements `std::io::Read` and `Write`.
//!
//! - TCP: [`TcpListener`], [`TcpStream`]; UDP: [`UdpSocket`].
//! - Unix-domain sockets: [`UnixListener`], [`UnixStream`],
//!   [`UnixDatagram`], with descriptor passing (`send_with_fds` /
//!   `recv_with_fds`).
//! - [`run_server`]: an accept loop with a fiber per connection.
//! - [`Net`]: the same operations as a capability (`env.net()`).

mod addr;
mod cap;
mod server;
mod tcp;
mod tcp_split;
mod udp;
mod unix;

pub use addr::{lookup_host, ToSocketAddrs};
pub use cap::Net;
pub use server::{run_server, Listener, ServerOptions};
pub use tcp::{ListenOptions, TcpListener, TcpStream};
pub use tcp_split::{OwnedReadHalf, OwnedWriteHalf, ReuniteError};
pub use udp::UdpSocket;
pub use unix::{TruncatedFds, UCred, UnixDatagram, UnixListener, UnixStream};
