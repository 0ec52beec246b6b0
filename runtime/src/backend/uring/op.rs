//! The op protocol on the ring: an entry is submitted keyed by its slot,
//! the fiber waits for the completion through the core's `await_op`, and a
//! cancelled fiber cancels the entry and waits for its completion (THE
//! INVARIANT, see the module above); the other ways to run entries (linked
//! pairs, detachable ops) and the thread's ring queries.

use std::io;
use std::os::fd::RawFd;
use std::panic::Location;

use io_uring::{opcode, squeue, types};

use super::ring::{UringBackend, CANCELS_SUBMITTED, CANCEL_TOKEN, FORGET_TOKEN};
use crate::backend::{with_driver, Driver};
use crate::backend_api::{
    await_op, op_completed, op_submitted, suspend_at, suspend_protected, CancelledOp, InFlightOp,
    Resumer, WaitKind,
};

pub(super) fn with_uring<R>(f: impl FnOnce(&mut UringBackend) -> R) -> R {
    with_driver(|d| match d {
        Driver::Uring(u) => f(u),
        _ => unreachable!("uring op on a scheduler with another backend"),
    })
    .expect("uring op outside a runtime")
}

/// Whether this thread's scheduler runs the io_uring backend and its
/// kernel supports `opcode` (probed once per ring with `Probe`). For the
/// path operations (open, stat of a path), which have no resource whose
/// backend choice they could read.
pub(crate) fn supports(opcode: u8) -> bool {
    with_driver(|d| match d {
        Driver::Uring(u) => u.probe.is_supported(opcode),
        _ => false,
    })
    .unwrap_or(false)
}

/// Queues a `CLOSE` of `fd`, which the caller gives up, for the next
/// submission (batched with other entries; a close that must flush, as
/// on NFS, does not block this thread). Returns `false`, and keeps
/// nothing, where io_uring or its `CLOSE` is not available: the caller
/// then closes the descriptor itself.
///
/// The descriptor stays allocated until the kernel closes it, so its
/// number cannot be reused by an `open` in between.
pub(crate) fn close_later(fd: RawFd) -> bool {
    with_driver(|d| match d {
        Driver::Uring(u) if u.probe.is_supported(opcode::Close::CODE) => {
            // SAFETY (of the entry): CLOSE points at no memory.
            u.push(
                opcode::Close::new(types::Fd(fd))
                    .build()
                    .user_data(FORGET_TOKEN),
            );
            true
        }
        _ => false,
    })
    .unwrap_or(false)
}

/// Hands entries still queued (closes of dropped files) to the kernel
/// without waiting: called when a runtime's `run`/`block_on` returns, since
/// an idle runtime makes no submission that would carry them, and a file
/// dropped last would stay open (a FIFO's reader would see no end-of-file)
/// until the runtime ran again or was dropped.
pub(crate) fn submit_queued() {
    with_driver(|d| {
        if let Driver::Uring(u) = d {
            u.flush();
        }
    });
}

/// Submits `entry` on this thread's ring and suspends the fiber until its
/// completion; returns the completion's result (`-errno` on failure). A
/// cancellation point. `None`, with nothing submitted, where this thread
/// has no ring (a posix scheduler, or no runtime) or its kernel lacks the
/// entry's opcode: the caller takes its other path.
///
/// # Safety
/// Every buffer `entry` points at must stay valid until this returns or
/// unwinds; this function guarantees it does not return or unwind before
/// the kernel is done with the entry.
#[inline]
pub(crate) unsafe fn run_op(
    entry: squeue::Entry,
    location: &'static Location<'static>,
) -> Option<i32> {
    // SAFETY: forwarded from the caller.
    unsafe { run_op_with(|_| Some(entry), location).map(|(res, _)| res) }
}

/// [`run_op`] of the entry `build` makes from this thread's ring (so it
/// can read the ring's settings, such as whether it defers task work, in
/// the one thread-local lookup that starts the op), returning the
/// completion's `IORING_CQE_F_*` flags too. `build` returning `None`
/// submits nothing and returns `None`.
///
/// THE INVARIANT (kernel-owned memory) is enforced here, for every op
/// that points at memory: this function returns or unwinds only after
/// the completion of the entry it pushed has been reaped. The normal path
/// suspends until it arrives; a cancelled fiber submits `ASYNC_CANCEL`
/// and then waits, uninterruptibly, for the op's own completion.
///
/// Cancellation loses nothing the op already did (tokio's reads, receives
/// and accepts are cancel safe: a dropped one consumed nothing). If the
/// op succeeded anyway (its data had arrived before the cancel was
/// processed), its result is returned like that of a wait whose resumer
/// won the race: the bytes, connection or descriptors are the caller's,
/// and the cancellation is delivered at the next cancellation point. So
/// that this cannot postpone a cancellation for ever (a read loop on a
/// busy socket), a fiber already cancelled does not start an op: it
/// unwinds here.
///
/// # Safety
/// As for [`run_op`], for the entry `build` returns.
pub(crate) unsafe fn run_op_with(
    build: impl FnOnce(&UringBackend) -> Option<squeue::Entry>,
    location: &'static Location<'static>,
) -> Option<(i32, u32)> {
    let (key, kind) = start_here(build)?;
    let mut op = UringOp { key };
    op_submitted(kind, op.key);
    Some(match await_op(&mut op, location, kind) {
        Ok(done) => {
            op_completed(kind, op.key, done.0);
            done
        }
        Err(CancelledOp {
            cancelled,
            completion,
        }) => {
            op_completed(kind, op.key, completion.map_or(-libc::ECANCELED, |d| d.0));
            match completion {
                // The cancel lost the race: the op succeeded anyway, and
                // its result is the caller's (see above).
                Some((late, flags)) if late >= 0 => (late, flags),
                _ => cancelled.unwind(),
            }
        }
    })
}

/// Pushes the entry `build` makes onto this thread's ring, in one
/// thread-local lookup; returns its key and what its fiber waits on.
/// `None` where there is no ring here, `build` declines, or the kernel
/// lacks the entry's opcode (probed once per ring). A fiber already
/// cancelled unwinds here instead, before anything is pushed.
fn start_here(
    build: impl FnOnce(&UringBackend) -> Option<squeue::Entry>,
) -> Option<(usize, WaitKind)> {
    with_driver(|d| match d {
        Driver::Uring(u) => {
            crate::fiber::check();
            let entry = build(u)?;
            let code = entry.get_opcode() as u8;
            if !u.probe.is_supported(code) {
                return None;
            }
            Some((u.start(entry), wait_kind_of(code)))
        }
        Driver::Posix(_) => None,
    })
    .flatten()
}

/// One pushed entry, keyed by its slot in the ring's op slab, as the
/// core's op protocol ([`await_op`]) sees it.
struct UringOp {
    key: usize,
}

impl InFlightOp for UringOp {
    type Completion = (i32, u32);

    fn wake_on_completion(&mut self, resumer: Resumer) {
        with_uring(|u| u.set_resumer(self.key, resumer))
    }

    fn is_complete(&mut self) -> bool {
        with_uring(|u| u.result(self.key).is_some())
    }

    fn request_cancel(&mut self) {
        with_uring(|u| {
            u.push(
                opcode::AsyncCancel::new(self.key as u64)
                    .build()
                    .user_data(CANCEL_TOKEN),
            )
        });
        CANCELS_SUBMITTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    fn finish(&mut self) -> Option<(i32, u32)> {
        with_uring(|u| u.finish(self.key))
    }
}

/// What a fiber waiting for `entry`'s completion waits on (weft-console).
fn wait_kind_of(code: u8) -> WaitKind {
    match code {
        opcode::Read::CODE | opcode::Readv::CODE => WaitKind::Read,
        opcode::Write::CODE | opcode::Writev::CODE => WaitKind::Write,
        opcode::Recv::CODE | opcode::RecvMsg::CODE => WaitKind::SocketRecv,
        opcode::Send::CODE | opcode::SendMsg::CODE => WaitKind::SocketSend,
        opcode::Accept::CODE => WaitKind::Accept,
        opcode::Connect::CODE => WaitKind::Connect,
        opcode::PollAdd::CODE => WaitKind::Poll,
        opcode::OpenAt::CODE | opcode::OpenAt2::CODE => WaitKind::Open,
        opcode::Close::CODE => WaitKind::Close,
        opcode::Fsync::CODE => WaitKind::Fsync,
        opcode::Statx::CODE => WaitKind::Stat,
        opcode::Splice::CODE => WaitKind::Splice,
        _ => WaitKind::Io,
    }
}

/// Submits `first` linked to `second` (`IOSQE_IO_LINK`: `second` starts
/// only after `first` completed in full, and fails with `ECANCELED`
/// otherwise) and suspends until both completions arrived; returns their
/// results. A cancellation point, holding THE INVARIANT like
/// [`run_op_with`]: a cancelled fiber cancels both entries and waits,
/// uninterruptibly, for both completions before it unwinds. `None`, with
/// nothing submitted, as for [`run_op`].
///
/// # Safety
/// As for [`run_op`], for the buffers of both entries.
pub(crate) unsafe fn run_linked_pair(
    first: squeue::Entry,
    second: squeue::Entry,
    location: &'static Location<'static>,
) -> Option<(i32, i32)> {
    let kind = wait_kind_of(first.get_opcode() as u8);
    let keys = with_driver(|d| match d {
        Driver::Uring(u) => {
            crate::fiber::check();
            let codes = [first.get_opcode() as u8, second.get_opcode() as u8];
            if !codes.iter().all(|c| u.probe.is_supported(*c)) {
                return None;
            }
            u.reserve(2);
            let head = u.start(first.flags(squeue::Flags::IO_LINK));
            Some((head, u.start(second)))
        }
        Driver::Posix(_) => None,
    })
    .flatten()?;
    let mut cancelled = None;
    for key in [keys.0, keys.1] {
        while with_uring(|u| u.result(key).is_none()) {
            if cancelled.is_some() {
                suspend_protected(WaitKind::CancelOp, |resumer| {
                    with_uring(|u| u.set_resumer(key, resumer))
                });
                continue;
            }
            let r = suspend_at(location, kind, true, |resumer| {
                with_uring(|u| u.set_resumer(key, resumer))
            });
            if let Err(c) = r {
                with_uring(|u| {
                    for k in [keys.0, keys.1] {
                        if u.result(k).is_none() {
                            u.push(
                                opcode::AsyncCancel::new(k as u64)
                                    .build()
                                    .user_data(CANCEL_TOKEN),
                            );
                            CANCELS_SUBMITTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                    }
                });
                cancelled = Some(c);
            }
        }
    }
    let done = "both completions were reaped above";
    let results = with_uring(|u| {
        (
            u.finish(keys.0).expect(done).0,
            u.finish(keys.1).expect(done).0,
        )
    });
    if let Some(c) = cancelled {
        c.unwind();
    }
    Some(results)
}

/// [`run_op`] for entries that point at no memory at all (`FSYNC`): a
/// cancelled fiber submits `ASYNC_CANCEL` and unwinds at once, without
/// waiting for the op, whose completion is later reaped and dropped. The
/// entry is handed to the kernel before the fiber unwinds, so the kernel
/// holds its own reference to the file and the caller may close its
/// descriptor.
///
/// `None`, with nothing submitted, as for [`run_op`].
///
/// # Safety
/// `entry` must point at no memory of the caller's.
pub(crate) unsafe fn run_op_detachable(
    entry: squeue::Entry,
    location: &'static Location<'static>,
) -> Option<i32> {
    let (key, kind) = start_here(|_| Some(entry))?;
    op_submitted(kind, key);
    let r = suspend_at(location, kind, true, |resumer| {
        with_uring(|u| u.set_resumer(key, resumer))
    });
    match r {
        Ok(()) => {
            let res = with_uring(|u| u.finish(key))
                .expect("an op is resumed only after its completion")
                .0;
            op_completed(kind, key, res);
            Some(res)
        }
        Err(cancelled) => {
            // The fiber leaves the op (finished or orphaned) behind.
            op_completed(kind, key, -libc::ECANCELED);
            with_uring(|u| {
                if u.result(key).is_some() {
                    u.finish(key);
                } else {
                    // Nothing of ours is referenced by the entry, so
                    // there is nothing to wait for (the invariant of
                    // run_op concerns memory only): leave the op to
                    // finish on its own.
                    u.ops[key].orphaned = true;
                    u.ops[key].resumer = None;
                    u.push(
                        opcode::AsyncCancel::new(key as u64)
                            .build()
                            .user_data(CANCEL_TOKEN),
                    );
                    CANCELS_SUBMITTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    u.flush();
                }
            });
            cancelled.unwind()
        }
    }
}

/// Converts a completion result to `io::Result`.
pub(crate) fn cqe_result(res: i32) -> io::Result<usize> {
    if res < 0 {
        Err(io::Error::from_raw_os_error(-res))
    } else {
        Ok(res as usize)
    }
}

/// Waits until `fd` is ready for reading (`POLLIN`) or writing
/// (`POLLOUT`); errors and hang-ups count as ready. Lets every
/// readiness-style op run on this backend too.
pub(crate) fn poll_ready(
    fd: RawFd,
    write: bool,
    location: &'static Location<'static>,
) -> io::Result<()> {
    let events = if write { libc::POLLOUT } else { libc::POLLIN } | libc::POLLERR | libc::POLLHUP;
    let entry = opcode::PollAdd::new(types::Fd(fd), events as u32).build();
    // SAFETY: POLL_ADD points at no memory.
    match unsafe { run_op(entry, location) } {
        Some(res) => cqe_result(res).map(drop),
        None => Err(io::Error::other(
            "weft: io_uring readiness wait on a thread without a ring",
        )),
    }
}
