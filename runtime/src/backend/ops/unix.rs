//! Unix-domain socket system calls: connect when the listener's backlog
//! is full, descriptor passing (`SCM_RIGHTS`), peer credentials, and
//! address conversion.
//!
//! The descriptor-passing ops build and parse `msghdr` control data by
//! hand; every raw step states the invariant it relies on.

use std::io;
use std::mem::{align_of, size_of};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::net::SocketAddr as UnixSocketAddr;
use std::time::Duration;

use socket2::SockAddr;

use super::{cvt, cvt_int};
use crate::backend::posix::Interest;
use crate::backend::{uring, IoSource};

/// The most descriptors one message may carry on Linux (`SCM_MAX_FD`).
pub(crate) const MAX_FDS_PER_MESSAGE: usize = 253;

/// First and last pause of [`connect_unix`] while the backlog is full.
const CONNECT_BACKOFF_START: Duration = Duration::from_millis(1);
const CONNECT_BACKOFF_MAX: Duration = Duration::from_millis(50);

/// `connect(2)` on a non-blocking Unix socket.
///
/// When the listener's backlog is full, Linux refuses a non-blocking
/// connect with `EAGAIN` instead of queueing it, and nothing signals when
/// room appears (the listener's readiness belongs to the other side). So
/// the op retries after a short sleep (1 ms doubling to 50 ms): to the
/// caller it waits like a blocking connect, and every pause is a
/// cancellation point.
#[track_caller]
pub(crate) fn connect_unix(src: &IoSource, addr: &SockAddr) -> io::Result<()> {
    let location = std::panic::Location::caller();
    let fd = src.as_raw_fd();
    let mut backoff = CONNECT_BACKOFF_START;
    crate::backend_api::io_budget();
    loop {
        // SAFETY: `addr` points at a valid sockaddr of `addr.len()` bytes.
        let r = unsafe { libc::connect(fd, addr.as_ptr().cast(), addr.len()) };
        if r == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EAGAIN) => {
                crate::time::sleep(backoff);
                backoff = (backoff * 2).min(CONNECT_BACKOFF_MAX);
            }
            // Not what Linux does for Unix sockets, but other systems
            // may queue the connect: wait for it like TCP.
            Some(libc::EINPROGRESS) => return super::net::finish_connect(src, location),
            Some(libc::EINTR) => {}
            _ => return Err(err),
        }
    }
}

/// Bytes of control data for the largest `SCM_RIGHTS` message.
// SAFETY: CMSG_SPACE is plain arithmetic on a small constant.
const CONTROL_BYTES: usize =
    unsafe { libc::CMSG_SPACE((MAX_FDS_PER_MESSAGE * size_of::<libc::c_int>()) as libc::c_uint) }
        as usize;

/// Control-message storage on the stack (no allocation per op), as `u64`
/// words so the first `cmsghdr` is suitably aligned; `len` is the byte
/// length in use.
struct ControlBuf {
    words: [u64; CONTROL_BYTES.div_ceil(size_of::<u64>())],
    len: usize,
}

// The buffer's element alignment must satisfy `cmsghdr`'s.
const _: () = assert!(align_of::<libc::cmsghdr>() <= align_of::<u64>());

impl ControlBuf {
    /// Zeroed room for one `SCM_RIGHTS` message of `n_fds` descriptors.
    fn for_fds(n_fds: usize) -> ControlBuf {
        assert!(n_fds <= MAX_FDS_PER_MESSAGE);
        // SAFETY: CMSG_SPACE is plain arithmetic; the argument is at most
        // 253 * 4 bytes, far from overflowing a c_uint.
        let len = unsafe { libc::CMSG_SPACE((n_fds * size_of::<libc::c_int>()) as libc::c_uint) }
            as usize;
        debug_assert!(len <= CONTROL_BYTES);
        ControlBuf {
            words: [0; CONTROL_BYTES.div_ceil(size_of::<u64>())],
            len,
        }
    }

    fn as_mut_ptr(&mut self) -> *mut libc::c_void {
        self.words.as_mut_ptr().cast()
    }
}

/// `sendmsg(2)` of `data` with `fds` attached as `SCM_RIGHTS`, to `to` if
/// given (unconnected datagram sockets). `MSG_NOSIGNAL`: a closed peer is
/// an `EPIPE` error, never a signal.
///
/// The descriptors travel with the first byte sent. The kernel duplicates
/// them into the message, so the caller keeps (and later closes) its own.
#[track_caller]
pub(crate) fn send_with_fds(
    src: &IoSource,
    data: &[u8],
    fds: &[BorrowedFd<'_>],
    to: Option<&SockAddr>,
) -> io::Result<usize> {
    if fds.len() > MAX_FDS_PER_MESSAGE {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "cannot send {} descriptors in one message: the limit is {MAX_FDS_PER_MESSAGE}",
                fds.len()
            ),
        ));
    }
    let mut control = ControlBuf::for_fds(fds.len());
    if !fds.is_empty() {
        // SAFETY: a msghdr that only describes the control buffer, so that
        // CMSG_FIRSTHDR can locate the first header inside it. The buffer
        // is zeroed, aligned for cmsghdr (checked at compile time above)
        // and CMSG_SPACE(n * 4) bytes long, which is room for one header
        // plus `n` ints: every write below stays inside it.
        unsafe {
            let mut msg: libc::msghdr = std::mem::zeroed();
            msg.msg_control = control.as_mut_ptr();
            msg.msg_controllen = control.len as _;
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            assert!(!cmsg.is_null(), "control buffer holds a cmsghdr");
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len =
                libc::CMSG_LEN((fds.len() * size_of::<libc::c_int>()) as libc::c_uint) as _;
            // CMSG_DATA need not be int-aligned in general: write unaligned.
            let data_ptr = libc::CMSG_DATA(cmsg).cast::<libc::c_int>();
            for (i, fd) in fds.iter().enumerate() {
                data_ptr.add(i).write_unaligned(fd.as_raw_fd());
            }
        }
    }
    if src.on_ring() {
        let mut iov = libc::iovec {
            iov_base: data.as_ptr() as *mut libc::c_void,
            iov_len: data.len(),
        };
        // SAFETY: as below; the header, `iov`, `data`, the control buffer
        // and `to` all live on this frame or are borrowed for the whole
        // call, and native::sendmsg waits for the completion (also when
        // the fiber is cancelled) before returning or unwinding.
        let r = unsafe {
            let mut msg: libc::msghdr = std::mem::zeroed();
            msg.msg_iov = &mut iov;
            msg.msg_iovlen = 1;
            if !fds.is_empty() {
                msg.msg_control = control.as_mut_ptr();
                msg.msg_controllen = control.len as _;
            }
            if let Some(addr) = to {
                msg.msg_name = addr.as_ptr() as *mut libc::c_void;
                msg.msg_namelen = addr.len();
            }
            crate::backend_api::io_budget();
            uring::native::sendmsg(
                src.as_raw_fd(),
                &msg,
                libc::MSG_NOSIGNAL,
                std::panic::Location::caller(),
            )
        };
        if let Some(r) = r {
            return r;
        }
    }
    src.retry(Interest::Write, |fd| {
        let mut iov = libc::iovec {
            iov_base: data.as_ptr() as *mut libc::c_void,
            iov_len: data.len(),
        };
        // SAFETY: the msghdr points at `iov` (which points at `data`), the
        // control buffer and `to`, all of which outlive the call; sendmsg
        // only reads through these pointers. The BorrowedFds guarantee the
        // descriptors written above are open for the duration of the call.
        unsafe {
            let mut msg: libc::msghdr = std::mem::zeroed();
            msg.msg_iov = &mut iov;
            msg.msg_iovlen = 1;
            if !fds.is_empty() {
                msg.msg_control = control.as_mut_ptr();
                msg.msg_controllen = control.len as _;
            }
            if let Some(addr) = to {
                msg.msg_name = addr.as_ptr() as *mut libc::c_void;
                msg.msg_namelen = addr.len();
            }
            cvt(libc::sendmsg(fd, &msg, libc::MSG_NOSIGNAL))
        }
    })
}

/// What [`recv_with_fds`] received.
#[derive(Debug)]
pub(crate) struct RecvFds {
    /// Data bytes read into the buffer.
    pub(crate) bytes: usize,
    /// `Some(n)` if the control data was truncated (`MSG_CTRUNC`): `n`
    /// descriptors had arrived, and all of them have been closed again.
    pub(crate) truncated: Option<usize>,
}

/// `recvmsg(2)` with room for up to `max_fds` descriptors; received
/// descriptors are appended to `fds`, close-on-exec (`MSG_CMSG_CLOEXEC`).
///
/// If the control data was truncated (more descriptors than room, or the
/// process ran out of descriptor slots while the kernel installed them),
/// every descriptor that did arrive is closed before returning and the
/// outcome says so: nothing leaks, and `fds` is left as it was.
#[track_caller]
pub(crate) fn recv_with_fds(
    src: &IoSource,
    buf: &mut [u8],
    fds: &mut Vec<OwnedFd>,
    max_fds: usize,
) -> io::Result<RecvFds> {
    let max_fds = max_fds.min(MAX_FDS_PER_MESSAGE);
    let mut control = ControlBuf::for_fds(max_fds);
    if src.on_ring() {
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: zeroed msghdr pointing at `iov` (valid for writes of
        // buf.len() bytes) and at the control buffer; all of them live on
        // this frame or are borrowed for the whole call, and
        // native::recvmsg waits for the completion before returning or
        // unwinding (the kernel writes the header, data and control).
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        if max_fds > 0 {
            msg.msg_control = control.as_mut_ptr();
            msg.msg_controllen = control.len as _;
        }
        let msg_ptr: *mut libc::msghdr = &mut msg;
        crate::backend_api::io_budget();
        // SAFETY: see above. A receive that completed after its fiber
        // was cancelled is returned like any other, so the descriptors
        // it carried are taken below.
        let r = unsafe {
            uring::native::recvmsg(
                src.as_raw_fd(),
                msg_ptr,
                libc::MSG_CMSG_CLOEXEC,
                std::panic::Location::caller(),
            )
        };
        match r {
            None => {}
            Some(Err(e)) => return Err(e),
            Some(Ok(bytes)) => {
                // Own every installed descriptor before anything else.
                let before = fds.len();
                // SAFETY: recvmsg just filled in `msg` successfully.
                unsafe { take_rights(&msg, fds) };
                if msg.msg_flags & libc::MSG_CTRUNC != 0 {
                    let arrived = fds.len() - before;
                    fds.truncate(before);
                    return Ok(RecvFds {
                        bytes,
                        truncated: Some(arrived),
                    });
                }
                return Ok(RecvFds {
                    bytes,
                    truncated: None,
                });
            }
        }
    }
    src.retry(Interest::Read, |fd| {
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: zeroed msghdr pointing at `iov` (valid for writes of
        // buf.len() bytes) and at the control buffer (valid for writes of
        // control.len bytes); both outlive the call.
        let (bytes, msg) = unsafe {
            let mut msg: libc::msghdr = std::mem::zeroed();
            msg.msg_iov = &mut iov;
            msg.msg_iovlen = 1;
            if max_fds > 0 {
                msg.msg_control = control.as_mut_ptr();
                msg.msg_controllen = control.len as _;
            }
            let n = cvt(libc::recvmsg(fd, &mut msg, libc::MSG_CMSG_CLOEXEC))?;
            (n, msg)
        };
        // From here on the kernel has installed descriptors in this
        // process: take ownership of every one of them before looking at
        // anything else, so each path below closes what it does not return.
        let before = fds.len();
        // SAFETY: `msg` is the header recvmsg just filled in: its control
        // pointer and length describe the bytes the kernel wrote.
        unsafe { take_rights(&msg, fds) };
        if msg.msg_flags & libc::MSG_CTRUNC != 0 {
            let arrived = fds.len() - before;
            fds.truncate(before); // drops, and so closes, what arrived
            return Ok(RecvFds {
                bytes,
                truncated: Some(arrived),
            });
        }
        Ok(RecvFds {
            bytes,
            truncated: None,
        })
    })
}

/// Moves every descriptor of every `SCM_RIGHTS` message in `msg`'s control
/// data into `out` as an `OwnedFd`.
///
/// # Safety
/// `msg` must be a header just filled in by a successful `recvmsg`, whose
/// `msg_control`/`msg_controllen` describe initialized control data, and
/// the descriptors it names must not be owned by anything else (they were
/// just installed by the kernel for this call).
// The length fields are `usize` with glibc but `socklen_t` elsewhere.
#[allow(clippy::unnecessary_cast)]
unsafe fn take_rights(msg: &libc::msghdr, out: &mut Vec<OwnedFd>) {
    if msg.msg_control.is_null() {
        return;
    }
    let control_end = (msg.msg_control as usize).saturating_add(msg.msg_controllen as usize);
    // SAFETY: CMSG_FIRSTHDR/CMSG_NXTHDR only return headers that lie
    // wholly inside [msg_control, msg_control + msg_controllen), or null.
    let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(msg) };
    while !cmsg.is_null() {
        // SAFETY: non-null headers from the macros are in bounds and
        // aligned (the buffer is aligned for cmsghdr).
        let hdr = unsafe { &*cmsg };
        if hdr.cmsg_level == libc::SOL_SOCKET && hdr.cmsg_type == libc::SCM_RIGHTS {
            // SAFETY: CMSG_DATA is the header pointer plus the aligned
            // header size, still within this message.
            let data = unsafe { libc::CMSG_DATA(cmsg) };
            // SAFETY: CMSG_LEN(0) is arithmetic.
            let header_len = unsafe { libc::CMSG_LEN(0) } as usize;
            let claimed = (hdr.cmsg_len as usize).saturating_sub(header_len);
            // Never read past the control data the kernel reported, even
            // if a header claimed more (it writes a truncated length on
            // MSG_CTRUNC, but do not rely on it).
            let available = control_end.saturating_sub(data as usize);
            let count = claimed.min(available) / size_of::<libc::c_int>();
            for i in 0..count {
                // SAFETY: `i < count` keeps the read inside the message's
                // data; CMSG_DATA need not be int-aligned, so read
                // unaligned. The kernel installed this descriptor for us
                // and nothing else owns it.
                unsafe {
                    let raw = data.cast::<libc::c_int>().add(i).read_unaligned();
                    out.push(OwnedFd::from_raw_fd(raw));
                }
            }
        }
        // SAFETY: `cmsg` is a valid header of `msg`.
        cmsg = unsafe { libc::CMSG_NXTHDR(msg, cmsg) };
    }
}

/// The peer's process credentials (`SO_PEERCRED`), taken when the
/// connection was made.
pub(crate) fn peer_cred(src: &IoSource) -> io::Result<libc::ucred> {
    // SAFETY: zeroed ucred (plain integers) and its exact size; the kernel
    // writes at most that many bytes.
    unsafe {
        let mut cred: libc::ucred = std::mem::zeroed();
        let mut len = size_of::<libc::ucred>() as libc::socklen_t;
        cvt_int(libc::getsockopt(
            src.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        ))?;
        Ok(cred)
    }
}

/// Converts a Unix socket address from the OS form.
pub(crate) fn to_unix_addr(addr: &SockAddr) -> io::Result<UnixSocketAddr> {
    if let Some(a) = addr.as_unix() {
        return Ok(a);
    }
    // recvfrom reports a message from an unbound sender with an empty
    // address (length 0, no family); accept and getpeername report an
    // unnamed peer as the bare family.
    if addr.len() == 0 || addr.is_unnamed() {
        return unnamed_addr();
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if let Some(name) = addr.as_abstract_namespace() {
        use std::os::linux::net::SocketAddrExt;
        return UnixSocketAddr::from_abstract_name(name);
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        "not a Unix socket address",
    ))
}

/// std's value for an unnamed Unix address (an unbound socket's).
fn unnamed_addr() -> io::Result<UnixSocketAddr> {
    // An empty pathname is encoded as a bare family field, which std
    // reads back as "unnamed"; check it, and fall back to asking the
    // kernel for an unbound socket's address if that ever changes.
    let a = UnixSocketAddr::from_pathname("")?;
    if a.is_unnamed() {
        return Ok(a);
    }
    std::os::unix::net::UnixDatagram::unbound()?.local_addr()
}

/// The OS form of a pathname Unix address.
pub(crate) fn from_unix_addr(addr: &UnixSocketAddr) -> io::Result<SockAddr> {
    match addr.as_pathname() {
        Some(p) => SockAddr::unix(p),
        None => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "only pathname Unix addresses can be bound or connected to",
        )),
    }
}
