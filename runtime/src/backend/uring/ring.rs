//! The io_uring backend: completions instead of readiness.
//!
//! A fiber's op becomes one submission queue entry whose `user_data` is a
//! key in `ops`; the fiber suspends, and the scheduler's `wait` reaps
//! completions and resumes the fibers they belong to. Submissions are
//! batched: they reach the kernel when the scheduler polls or parks, in the
//! same `io_uring_enter` that waits for completions.
//!
//! THE INVARIANT (kernel-owned memory): once an entry that points at a
//! buffer has been pushed, the kernel may read or write that buffer until
//! the entry's completion is reaped. So an op's buffer is never released
//! before its completion: a cancelled fiber submits `ASYNC_CANCEL` for its
//! op and then waits, uninterruptibly, for the op's own completion before it
//! unwinds ([`run_op`]); and the backend does not free the ring or the
//! wake-up buffer while anything is in flight ([`Drop`]).

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::panic::Location;
use std::sync::Arc;
use std::time::Duration;

use io_uring::{opcode, squeue, types, IoUring, Probe};
use slab::Slab;

use super::{with_driver, Driver};
use crate::backend_api::{
    await_op, op_completed, op_submitted, suspend_at, suspend_protected, Backend, CancelledOp,
    InFlightOp, Resumer, WaitKind, Waker,
};

/// `user_data` of the eventfd read that wakes a parked scheduler.
const WAKE_TOKEN: u64 = u64::MAX;
/// `user_data` of `ASYNC_CANCEL` entries (their own completions are not
/// interesting: the cancelled op's completion is).
const CANCEL_TOKEN: u64 = u64::MAX - 1;
/// `user_data` of fire-and-forget entries that point at no memory (a
/// `CLOSE` of a dropped file): nobody waits for their completion.
const FORGET_TOKEN: u64 = u64::MAX - 2;

const RING_ENTRIES: u32 = 256;

/// `IORING_ENTER_GETEVENTS`: run completion work (and wait, if asked).
const ENTER_GETEVENTS: u32 = 1;

/// How many in-flight ops were cancelled with ASYNC_CANCEL (process-wide;
/// tests read it to prove the cancel path really ran).
pub(crate) static CANCELS_SUBMITTED: std::sync::atomic::AtomicU64 =
    std::sync::atomic::AtomicU64::new(0);

/// Opcodes the runtime relies on; a kernel that lacks one is refused at
/// start-up (and `auto` falls back to posix).
const REQUIRED: &[(u8, &str)] = &[
    (opcode::Read::CODE, "READ"),
    (opcode::Write::CODE, "WRITE"),
    (opcode::Readv::CODE, "READV"),
    (opcode::Writev::CODE, "WRITEV"),
    (opcode::Recv::CODE, "RECV"),
    (opcode::Send::CODE, "SEND"),
    (opcode::SendMsg::CODE, "SENDMSG"),
    (opcode::RecvMsg::CODE, "RECVMSG"),
    (opcode::Accept::CODE, "ACCEPT"),
    (opcode::Connect::CODE, "CONNECT"),
    (opcode::PollAdd::CODE, "POLL_ADD"),
    (opcode::AsyncCancel::CODE, "ASYNC_CANCEL"),
];

struct Op {
    resumer: Option<Resumer>,
    /// The completion: its result and its `IORING_CQE_F_*` flags.
    result: Option<(i32, u32)>,
    /// The fiber stopped waiting (cancelled) for an op that points at no
    /// memory: reaping its completion just frees the slot.
    orphaned: bool,
}

pub(crate) struct UringBackend {
    ring: IoUring,
    ops: Slab<Op>,
    /// Entries pushed but not yet handed to the kernel.
    unsubmitted: usize,
    waker: Arc<EventFdWaker>,
    /// Target of the outstanding eventfd read; boxed so its address is
    /// stable, and only freed after that read's completion (see Drop).
    wake_buf: Box<u64>,
    wake_armed: bool,
    /// Which opcodes this kernel supports, for the ops that fall back to
    /// another path when theirs is missing (OPENAT2, STATX, FSYNC, CLOSE).
    probe: Probe,
    /// `IORING_FEAT_RW_CUR_POS`: offset -1 reads and writes use (and
    /// advance) the file position.
    cur_pos: bool,
    /// The ring was set up with `DEFER_TASKRUN` (see [`setup_ring`]):
    /// completions are posted only inside an `io_uring_enter` that asks
    /// for events, so a poll that sees pending work must make one.
    deferred: bool,
}

struct EventFdWaker {
    fd: OwnedFd,
}

impl Waker for EventFdWaker {
    fn wake(&self) {
        let one: u64 = 1;
        // SAFETY: writing 8 bytes from a local to an eventfd we own.
        let r = unsafe { libc::write(self.fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
        if r < 0 {
            let e = io::Error::last_os_error();
            // EAGAIN means the counter is saturated: a wake-up is pending anyway.
            if e.kind() != io::ErrorKind::WouldBlock {
                tracing::error!(error = %e, "weft: failed to wake a parked io_uring scheduler");
            }
        }
    }
}

impl UringBackend {
    /// Sets up a ring and checks the kernel supports what the runtime
    /// uses. The error says why io_uring cannot be used here.
    pub(crate) fn new() -> io::Result<Self> {
        let (ring, deferred) = setup_ring().map_err(|e| {
            let why = match e.raw_os_error() {
                Some(libc::ENOSYS) => "the kernel has no io_uring (ENOSYS)".to_string(),
                Some(libc::EPERM) => {
                    let knob = std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled").unwrap_or_default();
                    format!("io_uring is not permitted here (EPERM; kernel.io_uring_disabled = {}, or a seccomp filter)", knob.trim())
                }
                _ => format!("io_uring_setup failed: {e}"),
            };
            io::Error::new(e.kind(), why)
        })?;
        if !ring.params().is_feature_ext_arg() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "this kernel's io_uring lacks IORING_FEAT_EXT_ARG (needs Linux 5.11+)",
            ));
        }
        let mut probe = Probe::new();
        ring.submitter().register_probe(&mut probe)?;
        for (code, name) in REQUIRED {
            if !probe.is_supported(*code) {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    format!("this kernel's io_uring lacks the {name} opcode"),
                ));
            }
        }
        // SAFETY: eventfd returns a new descriptor we own, or -1.
        let efd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if efd < 0 {
            return Err(io::Error::last_os_error());
        }
        let cur_pos = ring.params().is_feature_rw_cur_pos();
        Ok(UringBackend {
            probe,
            cur_pos,
            deferred,
            ring,
            ops: Slab::new(),
            unsubmitted: 0,
            waker: Arc::new(EventFdWaker {
                // SAFETY: `efd` was just returned by eventfd and is ours.
                fd: unsafe { OwnedFd::from_raw_fd(efd) },
            }),
            wake_buf: Box::new(0),
            wake_armed: false,
        })
    }

    fn push(&mut self, entry: squeue::Entry) {
        loop {
            // SAFETY: every entry we push either points at memory that the
            // submitting fiber keeps alive until the completion is reaped
            // (enforced by run_op), or at `wake_buf` (kept until Drop has
            // reaped its completion), or at nothing (ASYNC_CANCEL, POLL_ADD).
            let pushed = unsafe { self.ring.submission().push(&entry) };
            if pushed.is_ok() {
                self.unsubmitted += 1;
                return;
            }
            // Queue full: hand what we have to the kernel and retry.
            if let Err(e) = self.ring.submit() {
                tracing::error!(error = %e, "weft: io_uring submit failed");
            }
            self.unsubmitted = 0;
            self.reap();
        }
    }

    /// Makes room for `n` entries in the submission queue, handing what
    /// it holds to the kernel if needed, so a linked chain is pushed whole
    /// into one submission (a chain cut by a submit would lose its link).
    fn reserve(&mut self, n: usize) {
        let free = {
            let sq = self.ring.submission();
            sq.capacity() - sq.len()
        };
        if free < n {
            if let Err(e) = self.ring.submit() {
                tracing::error!(error = %e, "weft: io_uring submit failed");
            }
            self.unsubmitted = 0;
            self.reap();
        }
    }

    fn start(&mut self, entry: squeue::Entry) -> usize {
        let key = self.ops.insert(Op {
            resumer: None,
            result: None,
            orphaned: false,
        });
        self.push(entry.user_data(key as u64));
        key
    }

    /// Stores the resumer of op `key`, or resumes at once if it completed.
    fn set_resumer(&mut self, key: usize, r: Resumer) {
        let op = &mut self.ops[key];
        if op.result.is_some() {
            r.resume();
        } else {
            op.resumer = Some(r);
        }
    }

    fn result(&self, key: usize) -> Option<(i32, u32)> {
        self.ops.get(key).and_then(|o| o.result)
    }

    fn finish(&mut self, key: usize) -> Option<(i32, u32)> {
        self.ops.try_remove(key).and_then(|o| o.result)
    }

    fn arm_wake(&mut self) {
        if self.wake_armed {
            return;
        }
        let buf: *mut u64 = &mut *self.wake_buf;
        let entry = opcode::Read::new(types::Fd(self.waker.fd.as_raw_fd()), buf.cast(), 8)
            .build()
            .user_data(WAKE_TOKEN);
        self.push(entry);
        self.wake_armed = true;
    }

    /// Moves completions to their ops and resumes the waiting fibers. No
    /// allocation: the completion queue is walked in place (resuming a
    /// fiber only queues it, it touches neither the ring nor `ops`'
    /// other entries).
    fn reap(&mut self) {
        let mut cq = self.ring.completion();
        cq.sync();
        for cqe in &mut cq {
            let (token, result) = (cqe.user_data(), (cqe.result(), cqe.flags()));
            match token {
                WAKE_TOKEN => self.wake_armed = false,
                CANCEL_TOKEN | FORGET_TOKEN => {}
                key => {
                    let key = key as usize;
                    let Some(op) = self.ops.get_mut(key) else {
                        continue;
                    };
                    if op.orphaned {
                        self.ops.remove(key);
                        continue;
                    }
                    op.result = Some(result);
                    if let Some(r) = op.resumer.take() {
                        r.resume();
                    }
                }
            }
        }
    }

    /// Hands the queued entries to the kernel now (without waiting).
    fn flush(&mut self) {
        if self.unsubmitted > 0 {
            if let Err(e) = self.ring.submit() {
                tracing::error!(error = %e, "weft: io_uring submit failed");
            }
            self.unsubmitted = 0;
        }
    }

    /// Whether the kernel holds completion work that only an
    /// `io_uring_enter` asking for events will post (`DEFER_TASKRUN`
    /// rings; the kernel raises `IORING_SQ_TASKRUN` for it).
    fn completions_deferred(&mut self) -> bool {
        self.deferred && self.ring.submission().taskrun()
    }

    /// Submits the queued entries and posts finished completions, without
    /// waiting for any.
    fn enter_nowait(&mut self) -> io::Result<usize> {
        if !self.deferred {
            return self.ring.submit();
        }
        // SAFETY: a plain io_uring_enter with no argument structure; the
        // entries it submits are covered by `push`'s contract.
        unsafe {
            self.ring.submitter().enter::<libc::sigset_t>(
                self.unsubmitted as u32,
                0,
                ENTER_GETEVENTS,
                None,
            )
        }
    }

    fn in_flight(&self) -> usize {
        self.ops.len()
    }
}

impl Backend for UringBackend {
    fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let block = timeout != Some(Duration::ZERO);
        if !block && self.unsubmitted == 0 && !self.completions_deferred() {
            // Nothing to hand over and no wish to wait: completions are
            // in shared memory, no system call needed to see them.
            self.reap();
            return Ok(());
        }
        if block {
            self.arm_wake();
        }
        let submitted = if !block {
            self.enter_nowait()
        } else if let Some(t) = timeout {
            let ts = types::Timespec::new()
                .sec(t.as_secs())
                .nsec(t.subsec_nanos());
            let args = types::SubmitArgs::new().timespec(&ts);
            self.ring.submitter().submit_with_args(1, &args)
        } else {
            self.ring.submit_and_wait(1)
        };
        self.unsubmitted = 0;
        match submitted {
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::ETIME) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => {}
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {}
            Err(e) => return Err(e),
        }
        self.reap();
        Ok(())
    }

    fn waker(&self) -> Arc<dyn Waker> {
        self.waker.clone()
    }

    fn has_pending_io(&self) -> bool {
        self.in_flight() > 0 || self.unsubmitted > 0
    }

    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
}

impl Drop for UringBackend {
    fn drop(&mut self) {
        // Fire-and-forget entries (closes of dropped files) may still be
        // queued: hand them to the kernel so no descriptor leaks.
        self.flush();
        // Every fiber has finished, so every op's completion was reaped
        // (orphaned ops point at no memory); only the eventfd read may
        // still be in flight. Cancel it and wait for its completion
        // before `wake_buf` is freed.
        if self.wake_armed {
            self.push(
                opcode::AsyncCancel::new(WAKE_TOKEN)
                    .build()
                    .user_data(CANCEL_TOKEN),
            );
            while self.wake_armed {
                if self.ring.submit_and_wait(1).is_err() {
                    // Cannot confirm: keep the buffer alive forever rather
                    // than risk the kernel writing into freed memory.
                    std::mem::forget(std::mem::replace(&mut self.wake_buf, Box::new(0)));
                    break;
                }
                self.reap();
            }
        }
    }
}

/// Creates the ring. Where the kernel allows it (Linux 6.1+), with
/// `SINGLE_ISSUER | DEFER_TASKRUN | TASKRUN_FLAG`: completion work
/// (a socket turning readable, a read finishing) then runs only when this
/// thread enters the kernel asking for events, in one batch, instead of
/// interrupting the thread as each arrives. A ring belongs to one
/// scheduler, and a scheduler never leaves the thread that created it
/// (`Runtime` is not `Send`), so the single-issuer rule holds. Older
/// kernels refuse the flags with `EINVAL`; the ring is then made without
/// them. Returns the ring and whether completions are deferred.
fn setup_ring() -> io::Result<(IoUring, bool)> {
    let deferred = IoUring::builder()
        .setup_single_issuer()
        .setup_defer_taskrun()
        .setup_taskrun_flag()
        .build(RING_ENTRIES);
    match deferred {
        Ok(ring) => Ok((ring, true)),
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            Ok((IoUring::builder().build(RING_ENTRIES)?, false))
        }
        Err(e) => Err(e),
    }
}

fn with_uring<R>(f: impl FnOnce(&mut UringBackend) -> R) -> R {
    with_driver(|d| match d {
        Driver::Uring(u) => f(u),
        _ => unreachable!("uring op on a scheduler with another backend"),
    })
    .expect("uring op outside a runtime")
}

/// Whether this thread's scheduler runs the io_uring backend.
pub(crate) fn active() -> bool {
    with_driver(|d| matches!(d, Driver::Uring(_))).unwrap_or(false)
}

/// Whether this thread's scheduler runs the io_uring backend and its
/// kernel supports `opcode` (probed once per ring with `Probe`). Ops
/// whose opcode is missing take their other path.
pub(crate) fn supports(opcode: u8) -> bool {
    with_driver(|d| match d {
        Driver::Uring(u) => u.probe.is_supported(opcode),
        _ => false,
    })
    .unwrap_or(false)
}

/// Whether reads and writes at offset -1 use the file position
/// (`IORING_FEAT_RW_CUR_POS`) on this thread's ring.
pub(crate) fn supports_cur_pos() -> bool {
    with_driver(|d| match d {
        Driver::Uring(u) => u.cur_pos && u.probe.is_supported(opcode::Read::CODE),
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

/// Submits `entry` and suspends the fiber until its completion; returns
/// the completion's result (`-errno` on failure). A cancellation point.
///
/// # Safety
/// Every buffer `entry` points at must stay valid until this returns or
/// unwinds; this function guarantees it does not return or unwind before
/// the kernel is done with the entry.
pub(crate) unsafe fn run_op(entry: squeue::Entry, location: &'static Location<'static>) -> i32 {
    // SAFETY: forwarded from the caller.
    unsafe { run_op_inner(entry, location).0 }
}

/// [`run_op`] that also returns the completion's `IORING_CQE_F_*` flags.
///
/// # Safety
/// As for [`run_op`].
pub(crate) unsafe fn run_op_with_flags(
    entry: squeue::Entry,
    location: &'static Location<'static>,
) -> (i32, u32) {
    // SAFETY: forwarded from the caller.
    unsafe { run_op_inner(entry, location) }
}

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
/// As for [`run_op`].
unsafe fn run_op_inner(entry: squeue::Entry, location: &'static Location<'static>) -> (i32, u32) {
    crate::fiber::check();
    let kind = wait_kind_of(&entry);
    let mut op = UringOp {
        key: with_uring(|u| u.start(entry)),
    };
    op_submitted(kind, op.key);
    match await_op(&mut op, location, kind) {
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
    }
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
fn wait_kind_of(entry: &squeue::Entry) -> WaitKind {
    let code = entry.get_opcode() as u8;
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
/// [`run_op_inner`]: a cancelled fiber cancels both entries and waits,
/// uninterruptibly, for both completions before it unwinds.
///
/// # Safety
/// As for [`run_op`], for the buffers of both entries.
pub(crate) unsafe fn run_linked_pair(
    first: squeue::Entry,
    second: squeue::Entry,
    location: &'static Location<'static>,
) -> (i32, i32) {
    let kind = wait_kind_of(&first);
    let keys = with_uring(|u| {
        u.reserve(2);
        let head = u.start(first.flags(squeue::Flags::IO_LINK));
        (head, u.start(second))
    });
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
    results
}

/// [`run_op`] for entries that point at no memory at all (`FSYNC`): a
/// cancelled fiber submits `ASYNC_CANCEL` and unwinds at once, without
/// waiting for the op, whose completion is later reaped and dropped. The
/// entry is handed to the kernel before the fiber unwinds, so the kernel
/// holds its own reference to the file and the caller may close its
/// descriptor.
///
/// # Safety
/// `entry` must point at no memory of the caller's.
pub(crate) unsafe fn run_op_detachable(
    entry: squeue::Entry,
    location: &'static Location<'static>,
) -> i32 {
    let kind = wait_kind_of(&entry);
    let key = with_uring(|u| u.start(entry));
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
            res
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
    let res = unsafe { run_op(entry, location) };
    cqe_result(res).map(drop)
}

/// Native io_uring versions of the fd ops. Each returns `None` when the
/// kernel answered `EAGAIN`: the caller then waits for readiness and
/// retries. (Our fds are `O_NONBLOCK` for the posix path; Linux 6.x arms
/// its internal poll for sockets anyway, measured: no `EAGAIN` in the TCP
/// suite, but older kernels may return it.)
pub(crate) mod native {
    use std::io;
    use std::panic::Location;

    use io_uring::{opcode, types};

    use std::os::fd::FromRawFd;

    use super::{cqe_result, run_op, run_op_with_flags};

    /// `IORING_RECVSEND_POLL_FIRST` (in a receive's `ioprio`).
    const POLL_FIRST: u16 = 1;
    /// `IORING_CQE_F_SOCK_NONEMPTY`: the socket held more data after the
    /// receive.
    const SOCK_NONEMPTY: u32 = 1 << 2;

    fn finish(res: i32) -> Option<io::Result<usize>> {
        if res == -libc::EAGAIN {
            None
        } else {
            Some(cqe_result(res))
        }
    }

    /// `recv` into `buf`.
    pub(crate) fn recv(
        fd: i32,
        buf: &mut [u8],
        flags: i32,
        at: &'static Location<'static>,
    ) -> Option<io::Result<usize>> {
        recv_hinted(fd, buf, flags, false, at).map(|(r, _)| r)
    }

    /// `recv` into `buf` that may skip a receive bound to fail: with
    /// `poll_first` (the caller's last receive left the socket empty) the
    /// kernel waits for data before trying (`IORING_RECVSEND_POLL_FIRST`;
    /// asked only of the 6.1+ rings that defer task work, which all know
    /// the flag). Returns the result and whether the socket still held
    /// data after it (`IORING_CQE_F_SOCK_NONEMPTY`).
    pub(crate) fn recv_hinted(
        fd: i32,
        buf: &mut [u8],
        flags: i32,
        poll_first: bool,
        at: &'static Location<'static>,
    ) -> Option<(io::Result<usize>, bool)> {
        let poll_first = poll_first && super::with_uring(|u| u.deferred);
        let len = buf.len().min(u32::MAX as usize) as u32;
        let entry = opcode::Recv::new(types::Fd(fd), buf.as_mut_ptr(), len)
            .flags(flags)
            .ioprio(if poll_first { POLL_FIRST } else { 0 })
            .build();
        // SAFETY: `buf` is borrowed for this whole call, and run_op does not
        // return or unwind before the kernel is done with it.
        let (res, cqe_flags) = unsafe { run_op_with_flags(entry, at) };
        finish(res).map(|r| (r, cqe_flags & SOCK_NONEMPTY != 0))
    }

    /// `send` from `buf` with MSG_NOSIGNAL.
    /// With `poll_first` (the caller just saw the socket full) the kernel
    /// waits for room before trying, as in [`recv_hinted`].
    pub(crate) fn send(
        fd: i32,
        buf: &[u8],
        poll_first: bool,
        at: &'static Location<'static>,
    ) -> Option<io::Result<usize>> {
        let poll_first = poll_first && super::with_uring(|u| u.deferred);
        let len = buf.len().min(u32::MAX as usize) as u32;
        let entry = opcode::Send::new(types::Fd(fd), buf.as_ptr(), len)
            .flags(libc::MSG_NOSIGNAL)
            .ioprio(if poll_first { POLL_FIRST } else { 0 })
            .build();
        // SAFETY: as in `recv`.
        finish(unsafe { run_op(entry, at) })
    }

    /// `splice` of up to `len` bytes from `from` (at `off_from`, or -1
    /// for a pipe or the file position) to `to` (likewise).
    pub(crate) fn splice(
        from: i32,
        off_from: i64,
        to: i32,
        off_to: i64,
        len: u32,
        at: &'static Location<'static>,
    ) -> Option<io::Result<usize>> {
        let entry =
            opcode::Splice::new(types::Fd(from), off_from, types::Fd(to), off_to, len).build();
        // SAFETY: SPLICE points at no memory of ours, only descriptors.
        finish(unsafe { run_op(entry, at) })
    }

    /// `read` at the file position (`offset` u64::MAX) or at `offset`.
    pub(crate) fn read(
        fd: i32,
        buf: &mut [u8],
        offset: u64,
        at: &'static Location<'static>,
    ) -> Option<io::Result<usize>> {
        let len = buf.len().min(u32::MAX as usize) as u32;
        let entry = opcode::Read::new(types::Fd(fd), buf.as_mut_ptr(), len)
            .offset(offset)
            .build();
        // SAFETY: as in `recv`.
        finish(unsafe { run_op(entry, at) })
    }

    /// `write` at the file position (`offset` u64::MAX) or at `offset`.
    pub(crate) fn write(
        fd: i32,
        buf: &[u8],
        offset: u64,
        at: &'static Location<'static>,
    ) -> Option<io::Result<usize>> {
        let len = buf.len().min(u32::MAX as usize) as u32;
        let entry = opcode::Write::new(types::Fd(fd), buf.as_ptr(), len)
            .offset(offset)
            .build();
        // SAFETY: as in `recv`.
        finish(unsafe { run_op(entry, at) })
    }

    /// `readv` at the file position (`offset` u64::MAX) or at `offset`.
    pub(crate) fn readv(
        fd: i32,
        bufs: &mut [std::io::IoSliceMut<'_>],
        offset: u64,
        at: &'static Location<'static>,
    ) -> Option<io::Result<usize>> {
        let count = bufs.len().min(1024) as u32;
        let entry = opcode::Readv::new(types::Fd(fd), bufs.as_mut_ptr().cast(), count)
            .offset(offset)
            .build();
        // SAFETY: the iovec array and the buffers it points at are borrowed
        // for this whole call (IoSliceMut is ABI-compatible with iovec).
        finish(unsafe { run_op(entry, at) })
    }

    /// `writev` at the file position (`offset` u64::MAX) or at `offset`.
    pub(crate) fn writev(
        fd: i32,
        bufs: &[std::io::IoSlice<'_>],
        offset: u64,
        at: &'static Location<'static>,
    ) -> Option<io::Result<usize>> {
        let count = bufs.len().min(1024) as u32;
        let entry = opcode::Writev::new(types::Fd(fd), bufs.as_ptr().cast(), count)
            .offset(offset)
            .build();
        // SAFETY: as in `readv`.
        finish(unsafe { run_op(entry, at) })
    }

    /// `connect` to `addr`. `None` on `EAGAIN`/`EINPROGRESS`: the caller
    /// waits for the handshake by readiness.
    pub(crate) fn connect(
        fd: i32,
        addr: &socket2::SockAddr,
        at: &'static Location<'static>,
    ) -> Option<io::Result<usize>> {
        let entry = opcode::Connect::new(types::Fd(fd), addr.as_ptr().cast(), addr.len()).build();
        // SAFETY: `addr` is borrowed for this whole call.
        let res = unsafe { run_op(entry, at) };
        if res == -libc::EINPROGRESS {
            return None;
        }
        finish(res)
    }

    /// `accept4` with close-on-exec and non-blocking flags.
    pub(crate) fn accept(
        fd: i32,
        storage: *mut libc::sockaddr_storage,
        len: *mut libc::socklen_t,
        at: &'static Location<'static>,
    ) -> Option<io::Result<usize>> {
        let entry = opcode::Accept::new(types::Fd(fd), storage.cast(), len)
            .flags(libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK)
            .build();
        // SAFETY: the caller keeps `storage` and `len` alive and exclusive
        // for this call; run_op waits for the completion. A connection
        // accepted after all by a cancelled accept is returned (run_op).
        finish(unsafe { run_op(entry, at) })
    }

    /// Takes ownership of a descriptor an op's completion returned.
    fn owned(res: i32) -> io::Result<std::os::fd::OwnedFd> {
        // SAFETY: a non-negative result of OPENAT/OPENAT2 is a fresh
        // descriptor that nobody else owns.
        cqe_result(res).map(|fd| unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) })
    }

    /// `openat(2)`. A descriptor opened after all by a cancelled open is
    /// returned (and the cancellation delivered later, see `run_op_inner`).
    pub(crate) fn openat(
        dir: i32,
        path: &std::ffi::CStr,
        flags: i32,
        mode: u32,
        at: &'static Location<'static>,
    ) -> io::Result<std::os::fd::OwnedFd> {
        let entry = opcode::OpenAt::new(types::Fd(dir), path.as_ptr())
            .flags(flags)
            .mode(mode as libc::mode_t)
            .build();
        // SAFETY: `path` is borrowed for this whole call and run_op waits
        // for the completion (the kernel copies the name at submission).
        owned(unsafe { run_op(entry, at) })
    }

    /// `openat2(2)` with `resolve` flags; `mode` only with `O_CREAT` /
    /// `O_TMPFILE` (masked to 0o7777, as `open(2)` does). A descriptor
    /// opened after all by a cancelled open is returned, as by `openat`.
    pub(crate) fn openat2(
        dir: i32,
        path: &std::ffi::CStr,
        flags: i32,
        mode: u32,
        resolve: u64,
        at: &'static Location<'static>,
    ) -> io::Result<std::os::fd::OwnedFd> {
        let creates = flags & libc::O_CREAT != 0 || flags & libc::O_TMPFILE == libc::O_TMPFILE;
        let how = types::OpenHow::new()
            .flags(u64::from(flags as u32))
            .mode(if creates { u64::from(mode & 0o7777) } else { 0 })
            .resolve(resolve);
        let entry = opcode::OpenAt2::new(types::Fd(dir), path.as_ptr(), &how).build();
        // SAFETY: `path` and `how` live on this frame for the whole call
        // and run_op waits for the completion.
        owned(unsafe { run_op(entry, at) })
    }

    /// `statx(2)` of `path` in `dir` (`AT_EMPTY_PATH` and an empty path:
    /// of `dir` itself) into `out`.
    pub(crate) fn statx(
        dir: i32,
        path: &std::ffi::CStr,
        flags: i32,
        mask: u32,
        out: &mut libc::statx,
        at: &'static Location<'static>,
    ) -> io::Result<()> {
        let entry = opcode::Statx::new(
            types::Fd(dir),
            path.as_ptr(),
            (out as *mut libc::statx).cast(),
        )
        .flags(flags)
        .mask(mask)
        .build();
        // SAFETY: `path` and `out` are borrowed for this whole call and
        // run_op does not return or unwind before the kernel is done.
        cqe_result(unsafe { run_op(entry, at) }).map(drop)
    }

    /// `fsync(2)`, or `fdatasync(2)` with `data_only`. Points at no
    /// memory, so a cancelled fiber unwinds at once (the flush goes on).
    pub(crate) fn fsync(
        fd: i32,
        data_only: bool,
        at: &'static Location<'static>,
    ) -> io::Result<()> {
        let flags = if data_only {
            types::FsyncFlags::DATASYNC
        } else {
            types::FsyncFlags::empty()
        };
        let entry = opcode::Fsync::new(types::Fd(fd)).flags(flags).build();
        // SAFETY: FSYNC points at no memory.
        cqe_result(unsafe { super::run_op_detachable(entry, at) }).map(drop)
    }

    /// `sendmsg(2)` with `flags`. `None` on `EAGAIN`.
    ///
    /// # Safety
    /// `msg` and everything it points at (iovecs, data, control bytes,
    /// address) must stay valid for the whole call.
    pub(crate) unsafe fn sendmsg(
        fd: i32,
        msg: *const libc::msghdr,
        flags: i32,
        at: &'static Location<'static>,
    ) -> Option<io::Result<usize>> {
        let entry = opcode::SendMsg::new(types::Fd(fd), msg)
            .flags(flags as u32)
            .build();
        // SAFETY: forwarded from the caller; run_op waits for completion.
        finish(unsafe { run_op(entry, at) })
    }

    /// `recvmsg(2)` with `flags`. `None` on `EAGAIN`. A receive that
    /// completes after its fiber was cancelled is returned like any other
    /// (`msg` filled in), so the caller takes the descriptors it carried.
    ///
    /// # Safety
    /// `msg` and everything it points at must stay valid and exclusive
    /// for the whole call.
    pub(crate) unsafe fn recvmsg(
        fd: i32,
        msg: *mut libc::msghdr,
        flags: i32,
        at: &'static Location<'static>,
    ) -> Option<io::Result<usize>> {
        let entry = opcode::RecvMsg::new(types::Fd(fd), msg)
            .flags(flags as u32)
            .build();
        // SAFETY: forwarded from the caller; run_op waits for completion.
        finish(unsafe { run_op(entry, at) })
    }
}
