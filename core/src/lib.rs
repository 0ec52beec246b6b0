//! weft-core: the fiber core of weft, with no OS I/O.
//!
//! Fibers and their stacks, the per-thread scheduler, cancellation
//! contexts, switches and the combinators above them, the synchronisation
//! primitives, timers and the runtime-event recording of weft-console.
//! The core defines the interface an I/O backend implements
//! ([`backend_api`]: wait with a deadline, wake from another thread, the
//! op protocol); the backends and the OS-facing API (`net`, `fs`,
//! `process`, ...) live in `weft`, which re-exports this crate, so users
//! name everything here through `weft` (`weft::Switch`, `weft::fiber`,
//! `weft::sync`, ...).
//!
//! ```
//! weft::run(|_env| {
//!     let (a, b) = weft::fiber::both(|| 1, || 2);
//!     assert_eq!(a + b, 3);
//! });
//! ```

#![warn(missing_docs)]

#[doc(hidden)]
pub mod backend_api;
pub mod cancel;
pub mod console;
mod error;
pub mod fiber;
pub mod switch;
mod switch_error;
pub mod sync;
pub mod time;

pub use error::{Error, Result};
pub use switch::{FiberOutput, Switch};
pub use sync::{Promise, Resolver};
