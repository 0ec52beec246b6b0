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
pub mod cancel;
mod error;
pub mod fiber;
pub mod fs;
pub mod net;
pub mod runtime;
pub mod switch;
pub mod sync;
pub mod task;
pub mod time;
mod trace;

pub use backend::BackendKind;
pub use blocking::blocking;
pub use error::{Error, Result};
pub use runtime::{run, Builder, Env, Runtime};
pub use switch::{FiberOutput, Switch};
pub use sync::{Promise, Resolver};
pub use task::{spawn, JoinError, JoinHandle};
pub use trace::dump;

/// The README's example, compiled and run as a doctest so it stays true.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
