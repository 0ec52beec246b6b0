//! weft-compat: futures and tokio inside weft fibers, and fibers inside
//! async code, so a codebase can move from tokio to weft one function at a
//! time (the Rust analogue of OCaml's lwt_eio).
//!
//! - [`await_future`]: a fiber waits for any `Future`; only the fiber
//!   suspends.
//! - [`FiberTask`] / [`run_fiber`]: async code awaits a fiber; dropping the
//!   task cancels the fiber.

#![warn(missing_docs)]

mod await_future;
mod fiber_task;
#[cfg(feature = "tokio")]
pub mod io;
pub mod stream;
#[cfg(feature = "tokio")]
pub mod tokio;

pub use await_future::{
    await_future, await_future_protected, await_future_with_cancel, in_fiber, try_await_future,
};
pub use fiber_task::{run_fiber, Fallible, FiberTask, TaskError};
