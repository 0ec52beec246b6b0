//! The ring: submission batching, the op slab (each in-flight entry's
//! resumer and completion), reaping, parking in `io_uring_enter`, the
//! eventfd that wakes a parked ring, and setup with the opcode probe.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::time::Duration;

use io_uring::{opcode, squeue, types, IoUring, Probe};
use slab::Slab;

use crate::backend_api::{Backend, Resumer, Waker};

/// `user_data` of the eventfd read that wakes a parked scheduler.
const WAKE_TOKEN: u64 = u64::MAX;
/// `user_data` of `ASYNC_CANCEL` entries (their own completions are not
/// interesting: the cancelled op's completion is).
pub(super) const CANCEL_TOKEN: u64 = u64::MAX - 1;
/// `user_data` of fire-and-forget entries that point at no memory (a
/// `CLOSE` of a dropped file): nobody waits for their completion.
pub(super) const FORGET_TOKEN: u64 = u64::MAX - 2;

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

pub(super) struct Op {
    pub(super) resumer: Option<Resumer>,
    /// The completion: its result and its `IORING_CQE_F_*` flags.
    result: Option<(i32, u32)>,
    /// The fiber stopped waiting (cancelled) for an op that points at no
    /// memory: reaping its completion just frees the slot.
    pub(super) orphaned: bool,
}

pub(crate) struct UringBackend {
    ring: IoUring,
    pub(super) ops: Slab<Op>,
    /// Entries pushed but not yet handed to the kernel.
    unsubmitted: usize,
    waker: Arc<EventFdWaker>,
    /// Target of the outstanding eventfd read; boxed so its address is
    /// stable, and only freed after that read's completion (see Drop).
    wake_buf: Box<u64>,
    wake_armed: bool,
    /// Which opcodes this kernel supports, for the ops that fall back to
    /// another path when theirs is missing (OPENAT2, STATX, FSYNC, CLOSE).
    pub(super) probe: Probe,
    /// `IORING_FEAT_RW_CUR_POS`: offset -1 reads and writes use (and
    /// advance) the file position.
    pub(super) cur_pos: bool,
    /// The ring was set up with `DEFER_TASKRUN` (see [`setup_ring`]):
    /// completions are posted only inside an `io_uring_enter` that asks
    /// for events, so a poll that sees pending work must make one.
    pub(super) deferred: bool,
    /// An eventfd registered with the ring (`IORING_REGISTER_EVENTFD`):
    /// the kernel signals it as completions arrive (and, on a
    /// `DEFER_TASKRUN` ring, as completion work is queued), so a park hook
    /// can watch it. Made at the first park in a hook.
    cq_notify: Option<OwnedFd>,
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
    /// `parked_by_hook`: the ring is made without `DEFER_TASKRUN` (see
    /// [`setup_ring`]).
    pub(crate) fn new(parked_by_hook: bool) -> io::Result<Self> {
        let (ring, deferred) = setup_ring(!parked_by_hook).map_err(|e| {
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
            cq_notify: None,
        })
    }

    /// Whether reads and writes at offset -1 use (and advance) the file
    /// position (`IORING_FEAT_RW_CUR_POS`).
    pub(crate) fn cur_pos(&self) -> bool {
        self.cur_pos
    }

    pub(super) fn push(&mut self, entry: squeue::Entry) {
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
    pub(super) fn reserve(&mut self, n: usize) {
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

    pub(super) fn start(&mut self, entry: squeue::Entry) -> usize {
        let key = self.ops.insert(Op {
            resumer: None,
            result: None,
            orphaned: false,
        });
        self.push(entry.user_data(key as u64));
        key
    }

    /// Stores the resumer of op `key`, or resumes at once if it completed.
    pub(super) fn set_resumer(&mut self, key: usize, r: Resumer) {
        let op = &mut self.ops[key];
        if op.result.is_some() {
            r.resume();
        } else {
            op.resumer = Some(r);
        }
    }

    pub(super) fn result(&self, key: usize) -> Option<(i32, u32)> {
        self.ops.get(key).and_then(|o| o.result)
    }

    pub(super) fn finish(&mut self, key: usize) -> Option<(i32, u32)> {
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

    /// The eventfd the ring signals on completions, registering it first.
    fn cq_notify_fd(&mut self) -> io::Result<RawFd> {
        if let Some(fd) = &self.cq_notify {
            return Ok(fd.as_raw_fd());
        }
        // SAFETY: eventfd returns a new descriptor we own, or -1.
        let efd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if efd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `efd` was just returned by eventfd and is ours.
        let fd = unsafe { OwnedFd::from_raw_fd(efd) };
        self.ring.submitter().register_eventfd(fd.as_raw_fd())?;
        // Completions that arrived before the registration signalled
        // nothing: one signal of our own makes the first park look.
        let one: u64 = 1;
        // SAFETY: writing 8 bytes from a local to an eventfd we own.
        unsafe { libc::write(fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
        Ok(self.cq_notify.insert(fd).as_raw_fd())
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
    pub(super) fn flush(&mut self) {
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

    fn park_fd(&mut self) -> Option<RawFd> {
        if self.deferred {
            // A deferred ring's eventfd is signalled late for completions
            // that arrive while this thread sleeps in the hook's loop (see
            // `Builder::parked_by_hook`): no descriptor, so the hook looks
            // at the ring every millisecond instead of waiting on it.
            static SAID: std::sync::Once = std::sync::Once::new();
            SAID.call_once(|| tracing::warn!("weft: a park hook runs on an io_uring backend built without `parked_by_hook`; it polls the ring every millisecond"));
            return None;
        }
        let fd = match self.cq_notify_fd() {
            Ok(fd) => fd,
            Err(e) => {
                tracing::warn!(error = %e, "weft: cannot register an eventfd with io_uring; the park hook polls the ring instead");
                return None;
            }
        };
        // A waker's eventfd write must complete a read, whose completion
        // signals `fd`; and every queued entry must reach the kernel.
        self.arm_wake();
        self.flush();
        Some(fd)
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
/// `SINGLE_ISSUER | TASKRUN_FLAG`, and with `DEFER_TASKRUN` when `defer`:
/// completion work (a socket turning readable, a read finishing) then runs
/// only when this thread enters the kernel asking for events, in one batch,
/// instead of interrupting the thread as each arrives. Without `defer`
/// (the thread parks in another event loop, see
/// [`crate::runtime::Builder::parked_by_hook`]) it is `COOP_TASKRUN`: the
/// work runs when the thread next leaves the kernel, a sleeping thread is
/// woken for it, and each completion signals the registered eventfd at
/// once. A ring belongs to one scheduler, and a scheduler never leaves the
/// thread that created it (`Runtime` is not `Send`), so the single-issuer
/// rule holds. Older kernels refuse the flags with `EINVAL`; the ring is
/// then made without them. Returns the ring and whether completions are
/// deferred.
fn setup_ring(defer: bool) -> io::Result<(IoUring, bool)> {
    let mut builder = IoUring::builder();
    builder.setup_single_issuer().setup_taskrun_flag();
    if defer {
        builder.setup_defer_taskrun();
    } else {
        builder.setup_coop_taskrun();
    }
    match builder.build(RING_ENTRIES) {
        Ok(ring) => Ok((ring, defer)),
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            Ok((IoUring::builder().build(RING_ENTRIES)?, false))
        }
        Err(e) => Err(e),
    }
}
