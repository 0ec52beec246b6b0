//! The peer's credentials of a connected Unix stream (`SO_PEERCRED`).

/// The process credentials of a Unix socket's peer, as the kernel
/// recorded them when the connection was made (`SO_PEERCRED`).
///
/// ```
/// weft::run(|_env| {
///     let (a, _b) = weft::net::UnixStream::pair().unwrap();
///     let cred = a.peer_cred().unwrap();
///     assert_eq!(cred.pid, Some(std::process::id() as i32));
/// });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UCred {
    /// The peer's effective user id.
    pub uid: u32,
    /// The peer's effective group id.
    pub gid: u32,
    /// The peer's process id, if the system reports it.
    pub pid: Option<i32>,
}

impl UCred {
    /// The peer's effective user id (tokio's accessor for [`UCred::uid`]).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let (a, _b) = weft::net::UnixStream::pair().unwrap();
    ///     assert_eq!(a.peer_cred().unwrap().uid(), unsafe { libc::geteuid() });
    /// });
    /// ```
    pub fn uid(&self) -> u32 {
        self.uid
    }

    /// The peer's effective group id (tokio's accessor for [`UCred::gid`]).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let (a, _b) = weft::net::UnixStream::pair().unwrap();
    ///     assert_eq!(a.peer_cred().unwrap().gid(), unsafe { libc::getegid() });
    /// });
    /// ```
    pub fn gid(&self) -> u32 {
        self.gid
    }

    /// The peer's process id, if the system reports it (tokio's accessor
    /// for [`UCred::pid`]).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let (a, _b) = weft::net::UnixStream::pair().unwrap();
    ///     assert_eq!(a.peer_cred().unwrap().pid(), Some(std::process::id() as i32));
    /// });
    /// ```
    pub fn pid(&self) -> Option<i32> {
        self.pid
    }
}
