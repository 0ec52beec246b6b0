//! Receiving descriptors passed with a message (`SCM_RIGHTS`), and the
//! error when they did not all fit.

use std::io;
use std::os::fd::OwnedFd;

use crate::backend::{ops, IoSource};

/// The error inside the `io::Error` that `recv_with_fds` returns when the
/// descriptors sent with a message did not all arrive (the kernel set
/// `MSG_CTRUNC`: the process ran out of descriptor slots, or the message
/// carried more than fit). The descriptors that did arrive have already
/// been closed, so nothing leaks; the message's data bytes were consumed.
///
/// ```
/// let e = weft::net::TruncatedFds { bytes: 3, arrived: 1 };
/// let io = std::io::Error::other(e);
/// let inner = io.get_ref().unwrap().downcast_ref::<weft::net::TruncatedFds>().unwrap();
/// assert_eq!(inner.arrived, 1);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "descriptors passed with a message were truncated (MSG_CTRUNC): {arrived} arrived and were \
     closed; {bytes} data bytes were consumed"
)]
pub struct TruncatedFds {
    /// Data bytes of the message that were read (and are lost with it).
    pub bytes: usize,
    /// Descriptors that arrived before the truncation (all closed).
    pub arrived: usize,
}

#[track_caller]
pub(super) fn recv_with_fds(
    source: &IoSource,
    buf: &mut [u8],
    fds: &mut Vec<OwnedFd>,
) -> io::Result<usize> {
    let got = ops::recv_with_fds(source, buf, fds, ops::MAX_FDS_PER_MESSAGE)?;
    match got.truncated {
        None => Ok(got.bytes),
        Some(arrived) => Err(io::Error::other(TruncatedFds {
            bytes: got.bytes,
            arrived,
        })),
    }
}
