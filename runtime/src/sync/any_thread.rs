//! The `blocking_*` methods (tokio's names): the same waits, callable from
//! a thread that runs no fiber, such as a `std::thread` or a
//! [`weft::blocking`](crate::blocking) pool thread.

use crate::{BackendKind, Runtime};

/// Runs `wait` in the calling fiber, or, on a thread outside any fiber, in
/// a one-fiber runtime started for the call: the wait suspends that fiber
/// and so parks the thread, and fibers on other threads wake it as they
/// would any waiter. The runtime uses the posix backend, which starts in
/// about 10 µs (an io_uring ring costs about 50).
///
/// Panics if that runtime cannot start (the process is out of descriptors).
#[track_caller]
pub(crate) fn wait_on_any_thread<T>(wait: impl FnOnce() -> T) -> T {
    if crate::fiber::in_fiber() {
        return wait();
    }
    match Runtime::builder().backend(BackendKind::Posix).build() {
        Ok(rt) => rt.run(|_env| wait()),
        Err(e) => panic!("weft: cannot start a runtime to wait on this thread: {e}"),
    }
}
