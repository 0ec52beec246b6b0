//! weft: direct-style concurrency for Rust.
//!
//! Fibers are stackful coroutines: code blocks in plain function calls
//! (`read`, `sleep`, `lock`), and a blocking call suspends the fiber, never
//! the thread. Concurrency is structured: every fiber belongs to a
//! [`Switch`], and `Switch::run` returns only when all of its fibers have
//! finished. Cancellation unwinds a fiber from its blocking call, running
//! destructors, exactly where a tokio future would have been dropped at an
//! `.await`.
//!
//! ```
//! use std::time::Duration;
//!
//! let total = weft::run(|_env| {
//!     let mut results = vec![];
//!     weft::Switch::run(|sw| {
//!         let a = sw.fork_promise(|| { weft::time::sleep(Duration::from_millis(2)); 1 });
//!         let b = sw.fork_promise(|| { weft::time::sleep(Duration::from_millis(1)); 2 });
//!         results.push(*a.await_().as_ref().unwrap());
//!         results.push(*b.await_().as_ref().unwrap());
//!         Ok(())
//!     })
//!     .unwrap();
//!     results.iter().sum::<i32>()
//! });
//! assert_eq!(total, 3);
//! ```
//!
//! See `ARCHITECTURE.md` in the repository for the layers and invariants.

#![warn(missing_docs)]

pub mod backend;
mod blocking;
pub mod executor;
pub mod fs;
pub mod io;
pub mod net;
pub mod process;
pub mod runtime;
pub mod signal;
pub mod task;
mod task_local;
mod task_set;
mod trace;

pub use weft_core::{cancel, console, fiber, switch, sync, time};

/// What the core gives its backends and runtime (`weft_core::backend_api`).
pub(crate) use weft_core::backend_api;

pub use backend::BackendKind;
pub use blocking::blocking;
pub use executor::{run_on_cores, ExecutorPool};
pub use runtime::{run, Builder, Env, Runtime};
pub use task::{spawn, AbortHandle, JoinError, JoinHandle};
pub use task_set::TaskSet;
pub use trace::{dump, Stall};
pub use weft_core::{Error, Result};
pub use weft_core::{FiberOutput, Promise, Resolver, Switch};
pub use weft_macros::{chain, direct, main, test};

/// The README's example, compiled and run as a doctest so it stays true.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// Support for the macros' expansions; not a public API.
#[doc(hidden)]
pub mod __private {
    /// What a `#[weft::test]` body may return.
    pub trait TestOutcome {
        /// Panics if the outcome is a failure.
        fn must_pass(self, backend: &str);
    }

    impl TestOutcome for () {
        fn must_pass(self, _: &str) {}
    }

    impl<T, E: std::fmt::Debug> TestOutcome for Result<T, E> {
        fn must_pass(self, backend: &str) {
            if let Err(e) = self {
                panic!("the test failed on the {backend} backend: {e:?}");
            }
        }
    }

    /// How many in-flight io_uring ops have been cancelled with
    /// ASYNC_CANCEL in this process (for tests of the cancel path).
    pub fn uring_cancels_submitted() -> u64 {
        crate::backend::uring::CANCELS_SUBMITTED.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether the next io_uring receive on `stream` will have the kernel
    /// wait for data before trying (its last receive left the socket
    /// empty); for tests of that hint.
    pub fn tcp_recv_waits_first(stream: &crate::net::TcpStream) -> bool {
        stream.recv_drained()
    }

    /// Fails a multi-backend test on the first backend that fails.
    pub fn must_pass(outcome: impl TestOutcome, backend: &str) {
        outcome.must_pass(backend)
    }
}
