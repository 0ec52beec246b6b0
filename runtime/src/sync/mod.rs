//! Synchronisation between fibers, on one thread or across threads.
//!
//! Every blocking method is a cancellation point: a cancelled fiber unwinds
//! from it and leaves the primitive as if it had never waited.

pub(crate) mod promise;
pub(crate) mod wait_queue;

pub use promise::{Promise, Resolver};
