//! What a race's losing branch received but must not keep.
//!
//! On io_uring a receive or accept runs in the kernel while its fiber
//! waits. If the fiber is cancelled (another branch of a `first` won, a
//! switch failed) after the kernel already completed the operation, the
//! bytes or the connection exist and cannot be pushed back into the
//! socket. The op then leaves them here, on the descriptor's
//! [`IoSource`](super::IoSource), and unwinds; the next receive or accept
//! on that descriptor takes them first. So a cancelled branch consumes
//! nothing, which is the commit rule of races (`fiber::any`).
//!
//! The readiness backend never needs this: it checks for cancellation
//! after the wake-up and before the syscall that would consume.

use std::collections::VecDeque;
use std::io::IoSliceMut;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use socket2::SockAddr;

/// One thing given back.
enum Unread {
    /// Bytes of a stream (a later read may take them in parts) or one
    /// datagram (taken whole; what does not fit is dropped, as `recv`
    /// truncates).
    Bytes { data: Vec<u8>, datagram: bool },
    /// A connection accepted for a cancelled `accept`.
    Accepted(OwnedFd, SockAddr),
}

/// The queue of given-back results of one descriptor, oldest first.
#[derive(Default)]
pub(crate) struct UnreadQueue {
    /// Whether `items` may hold something: lets every receive skip the
    /// lock when nothing was ever given back (the common case).
    nonempty: AtomicBool,
    items: Mutex<VecDeque<Unread>>,
}

impl UnreadQueue {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Unread>> {
        self.items.lock().unwrap_or_else(|p| p.into_inner())
    }

    #[inline]
    fn maybe_nonempty(&self) -> bool {
        self.nonempty.load(Ordering::Acquire)
    }

    fn push(&self, item: Unread) {
        self.lock().push_back(item);
        self.nonempty.store(true, Ordering::Release);
    }

    /// Drops everything given back (the descriptor leaves weft).
    pub(crate) fn clear(&self) {
        drop(std::mem::take(&mut *self.lock()));
        self.nonempty.store(false, Ordering::Release);
    }

    /// Gives back `data`, received for a fiber that was cancelled before
    /// it could use it.
    pub(crate) fn give_back_bytes(&self, data: &[u8], datagram: bool) {
        if !data.is_empty() {
            self.push(Unread::Bytes {
                data: data.to_vec(),
                datagram,
            });
        }
    }

    /// Gives back a connection accepted for a fiber that was cancelled.
    pub(crate) fn give_back_accepted(&self, fd: OwnedFd, addr: SockAddr) {
        self.push(Unread::Accepted(fd, addr));
    }

    /// Fills `buf` from given-back bytes, if there are any: `Some(n)`.
    /// With `peek`, the bytes stay.
    #[inline]
    pub(crate) fn read(&self, buf: &mut [u8], peek: bool) -> Option<usize> {
        if !self.maybe_nonempty() {
            return None;
        }
        self.read_slow(&mut [IoSliceMut::new(buf)], peek)
    }

    /// [`read`](Self::read) into several buffers.
    #[inline]
    pub(crate) fn read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> Option<usize> {
        if !self.maybe_nonempty() {
            return None;
        }
        self.read_slow(bufs, false)
    }

    #[cold]
    fn read_slow(&self, bufs: &mut [IoSliceMut<'_>], peek: bool) -> Option<usize> {
        let mut items = self.lock();
        let Some(Unread::Bytes { data, datagram }) = items.front_mut() else {
            return None;
        };
        let n = copy_into(data, bufs);
        if !peek {
            if *datagram || n == data.len() {
                items.pop_front();
            } else {
                data.drain(..n);
            }
        }
        self.nonempty.store(!items.is_empty(), Ordering::Release);
        Some(n)
    }

    /// A given-back connection, if there is one.
    #[inline]
    pub(crate) fn accept(&self) -> Option<(OwnedFd, SockAddr)> {
        if !self.maybe_nonempty() {
            return None;
        }
        self.accept_slow()
    }

    #[cold]
    fn accept_slow(&self) -> Option<(OwnedFd, SockAddr)> {
        let mut items = self.lock();
        if !matches!(items.front(), Some(Unread::Accepted(..))) {
            return None;
        }
        let Some(Unread::Accepted(fd, addr)) = items.pop_front() else {
            unreachable!("checked just above")
        };
        self.nonempty.store(!items.is_empty(), Ordering::Release);
        Some((fd, addr))
    }
}

/// Copies the front of `data` into `bufs`; returns how much.
fn copy_into(data: &[u8], bufs: &mut [IoSliceMut<'_>]) -> usize {
    let mut copied = 0;
    for buf in bufs {
        let n = buf.len().min(data.len() - copied);
        buf[..n].copy_from_slice(&data[copied..copied + n]);
        copied += n;
        if copied == data.len() {
            break;
        }
    }
    copied
}

/// Gathers the first `n` bytes of `bufs` (what a vectored read filled).
pub(crate) fn gather(bufs: &[IoSliceMut<'_>], n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n);
    for buf in bufs {
        let take = buf.len().min(n - out.len());
        out.extend_from_slice(&buf[..take]);
        if out.len() == n {
            break;
        }
    }
    out
}

/// Whether `fd` is a datagram or seqpacket socket (message boundaries).
pub(crate) fn is_datagram(fd: std::os::fd::RawFd) -> bool {
    let mut ty: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `ty` and `len` are valid for writes of their sizes.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_TYPE,
            (&mut ty as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    r == 0 && (ty == libc::SOCK_DGRAM || ty == libc::SOCK_SEQPACKET)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_bytes_are_taken_in_parts_and_in_order() {
        let q = UnreadQueue::default();
        assert_eq!(q.read(&mut [0; 4], false), None);
        q.give_back_bytes(b"hello", false);
        q.give_back_bytes(b"!", false);
        let mut buf = [0; 3];
        assert_eq!(q.read(&mut buf, true), Some(3));
        assert_eq!(&buf, b"hel");
        assert_eq!(q.read(&mut buf, false), Some(3));
        assert_eq!(&buf, b"hel");
        assert_eq!(q.read(&mut buf, false), Some(2));
        assert_eq!(&buf[..2], b"lo");
        assert_eq!(q.read(&mut buf, false), Some(1));
        assert_eq!(&buf[..1], b"!");
        assert_eq!(q.read(&mut buf, false), None);
    }

    #[test]
    fn a_datagram_is_taken_whole() {
        let q = UnreadQueue::default();
        q.give_back_bytes(b"abcdef", true);
        let mut buf = [0; 4];
        assert_eq!(q.read(&mut buf, false), Some(4));
        assert_eq!(&buf, b"abcd");
        assert_eq!(q.read(&mut buf, false), None);
    }

    #[test]
    fn vectored_reads_fill_every_buffer() {
        let q = UnreadQueue::default();
        q.give_back_bytes(b"abcdef", false);
        let (mut a, mut b) = ([0; 2], [0; 8]);
        let n = q.read_vectored(&mut [IoSliceMut::new(&mut a), IoSliceMut::new(&mut b)]);
        assert_eq!(n, Some(6));
        assert_eq!((&a, &b[..4]), (b"ab", &b"cdef"[..]));
    }
}
