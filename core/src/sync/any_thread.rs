//! The `blocking_*` methods (tokio's names): the same waits, callable from
//! a thread that runs no fiber, such as a `std::thread` or a
//! `weft::blocking` pool thread.

/// Runs `wait` in the calling fiber, or, on a thread outside any fiber, in
/// a fiber of its own on a scheduler without I/O started for the call
/// (`fiber::alone`): the wait suspends that fiber and so parks the thread,
/// and fibers on other threads wake it as they would any waiter.
///
/// Panics if that fiber cannot start (no memory for its stack).
#[track_caller]
pub(crate) fn wait_on_any_thread<T>(wait: impl FnOnce() -> T) -> T {
    if crate::fiber::in_fiber() {
        return wait();
    }
    crate::fiber::alone::run_alone(wait)
}
