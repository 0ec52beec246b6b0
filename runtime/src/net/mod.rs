//! Networking on fibers: every blocking call suspends the fiber, never the
//! thread, and every stream implements `std::io::Read` and `Write`.

mod addr;
mod tcp;

pub use addr::{lookup_host, ToSocketAddrs};
pub use tcp::{ListenOptions, TcpListener, TcpStream};
