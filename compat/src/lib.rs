//! weft-compat: futures and tokio inside weft fibers, and fibers inside
//! async code, so a codebase can move from tokio to weft one function at a
//! time (the Rust analogue of OCaml's lwt_eio).
//!
//! - [`await_future`]: a fiber waits for any `Future`; only the fiber
//!   suspends, and cancelling the fiber drops the future where tokio would
//!   have dropped it at `.await`.
//! - [`run_fiber`] / [`FiberTask`]: async code awaits a fiber; dropping the
//!   task cancels the fiber.
//! - [`tokio`]: run weft with a tokio runtime whose handle every fiber
//!   sees, so `tokio::spawn`, `tokio::net`, hyper or reqwest work from
//!   fibers; [`tokio::spawn`] returns an abort-on-drop handle.
//! - [`io`]: tokio streams as blocking-style `Read`/`Write` in fibers, and
//!   weft sockets as tokio `AsyncRead`/`AsyncWrite`.
//! - [`stream`]: `futures::Stream` as an iterator, a fiber as a `Stream`.
//!
//! # Migrating a tokio program, step by step
//!
//! The program: fetch two greetings concurrently, with a timeout.
//!
//! ```
//! // Step 0: plain tokio.
//! use std::time::Duration;
//!
//! async fn greet(name: &str, delay_ms: u64) -> String {
//!     tokio::time::sleep(Duration::from_millis(delay_ms)).await;
//!     format!("hello, {name}")
//! }
//!
//! async fn both_greetings() -> (String, String) {
//!     tokio::join!(greet("ada", 2), greet("bob", 1))
//! }
//!
//! let rt = tokio::runtime::Runtime::new().unwrap();
//! let (a, b) = rt.block_on(async {
//!     tokio::time::timeout(Duration::from_secs(1), both_greetings()).await.unwrap()
//! });
//! assert_eq!((a.as_str(), b.as_str()), ("hello, ada", "hello, bob"));
//! ```
//!
//! Step 1: the runtime becomes weft, and tokio keeps running underneath.
//! `main` is now a fiber; the async code is untouched and awaited through
//! the bridge.
//!
//! ```
//! use std::time::Duration;
//! # async fn greet(name: &str, delay_ms: u64) -> String {
//! #     tokio::time::sleep(Duration::from_millis(delay_ms)).await;
//! #     format!("hello, {name}")
//! # }
//! # async fn both_greetings() -> (String, String) {
//! #     tokio::join!(greet("ada", 2), greet("bob", 1))
//! # }
//! let (a, b) = weft_compat::tokio::run(|_env| {
//!     weft_compat::await_future(async {
//!         tokio::time::timeout(Duration::from_secs(1), both_greetings()).await.unwrap()
//!     })
//! });
//! assert_eq!(a, "hello, ada");
//! ```
//!
//! Step 2: one function at a time becomes direct style. `both_greetings`
//! is now a plain function; it still calls the async `greet` through
//! `await_future`, and runs the two calls as two fibers.
//!
//! ```
//! use std::time::Duration;
//! # async fn greet(name: &str, delay_ms: u64) -> String {
//! #     tokio::time::sleep(Duration::from_millis(delay_ms)).await;
//! #     format!("hello, {name}")
//! # }
//! fn both_greetings() -> (String, String) {
//!     weft::fiber::both(
//!         || weft_compat::await_future(greet("ada", 2)),
//!         || weft_compat::await_future(greet("bob", 1)),
//!     )
//! }
//!
//! let (a, b) = weft_compat::tokio::run(|_env| {
//!     weft::time::timeout(Duration::from_secs(1), both_greetings).unwrap()
//! });
//! assert_eq!(b, "hello, bob");
//! ```
//!
//! Step 3: the last async function goes, and with it the bridge: plain weft.
//!
//! ```
//! use std::time::Duration;
//!
//! fn greet(name: &str, delay_ms: u64) -> String {
//!     weft::time::sleep(Duration::from_millis(delay_ms));
//!     format!("hello, {name}")
//! }
//!
//! fn both_greetings() -> (String, String) {
//!     weft::fiber::both(|| greet("ada", 2), || greet("bob", 1))
//! }
//!
//! let (a, b) = weft::run(|_env| weft::time::timeout(Duration::from_secs(1), both_greetings).unwrap());
//! assert_eq!((a.as_str(), b.as_str()), ("hello, ada", "hello, bob"));
//! ```
//!
//! # Rules of the bridge
//!
//! - Inside fibers, wait for futures with [`await_future`], never with
//!   `Handle::block_on`, `futures::executor::block_on` or tokio's
//!   `blocking_*` methods: those block the scheduler thread and every fiber
//!   on it (the debug mode, [`tokio::Builder::debug`], reports it).
//! - Never hold a thread-local guard (`Handle::enter`'s `EnterGuard`, a
//!   `tracing` span's `enter()` guard, a `RefCell` borrow) across a call
//!   that may suspend the fiber: another fiber runs on the same thread in
//!   between.
//! - A future awaited from a fiber lives on the fiber's stack: very large
//!   futures need a larger `stack_size`.

#![warn(missing_docs)]

mod await_future;
mod caller_runtime;
mod fiber_task;
#[cfg(feature = "tokio")]
pub mod io;
mod spawn;
pub mod stream;
#[cfg(feature = "tokio")]
pub mod tokio;

pub use await_future::{
    await_future, await_future_protected, await_future_with_cancel, in_fiber, try_await_future,
};
pub use fiber_task::{run_fiber, Fallible, FiberTask, TaskError};
pub use spawn::spawn_detached;
pub use weft_macros::{chain, direct};

/// The outcome of `select` in [`chain!`]: which branch finished first (the
/// other was cancelled).
///
/// ```
/// let e: weft_compat::Either<u8, &str> = weft_compat::Either::Left(1);
/// assert!(matches!(e, weft_compat::Either::Left(1)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Either<L, R> {
    /// The first future won.
    Left(L),
    /// The second future won.
    Right(R),
}

/// Support for the macros' expansions; not a public API.
#[doc(hidden)]
pub mod __private {
    /// Calls `f(arg)`; lets a closure's parameter type be inferred from `arg`.
    #[inline(always)]
    pub fn call<A, R>(arg: A, f: impl FnOnce(A) -> R) -> R {
        f(arg)
    }
}
