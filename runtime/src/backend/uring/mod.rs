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
//! unwinds ([`run_op_with`]); and the backend does not free the ring or the
//! wake-up buffer while anything is in flight ([`Drop`]).

pub(crate) mod native;
mod op;
mod ring;

pub(crate) use op::{
    close_later, cqe_result, poll_ready, run_linked_pair, run_op, run_op_detachable, run_op_with,
    submit_queued, supports,
};
pub(crate) use ring::{UringBackend, CANCELS_SUBMITTED};
