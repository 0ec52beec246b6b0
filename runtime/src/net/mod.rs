//! Networking on fibers: every blocking call suspends the fiber, never the
//! thread, and every stream implements `std::io::Read` and `Write`.
//!
//! - TCP: [`TcpListener`], [`TcpStream`]; UDP: [`UdpSocket`].

mod addr;
mod tcp;
mod udp;

pub use addr::{lookup_host, ToSocketAddrs};
pub use tcp::{ListenOptions, TcpListener, TcpStream};
pub use udp::UdpSocket;
