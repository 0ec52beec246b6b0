//! Synchronisation between fibers, on one thread or across threads.
//!
//! Every blocking method is a cancellation point: a cancelled fiber unwinds
//! from it and leaves the primitive as if it had never waited (an item or
//! permit meant for it goes to the next waiter).
//!
//! - Eio's primitives: [`Promise`], [`Stream`], [`Mutex`], [`RwLock`],
//!   [`Condition`], [`Semaphore`], [`Pool`], [`Lazy`].
//! - tokio's, with tokio's meaning so migrated code keeps its behaviour
//!   (`async` methods become fiber-blocking ones): [`mpsc`], [`oneshot`],
//!   [`broadcast`], [`watch`], [`Notify`], [`Barrier`], [`OnceCell`] (and [`Mutex`],
//!   [`RwLock`], [`Semaphore`] above, whose API follows tokio's too).
//! - tokio_util's [`CancellationToken`] (shutdown handles, cancellable from
//!   any thread; its `run_until_cancelled` cancels the closure as weft
//!   cancels a fiber).

mod any_thread;
pub(crate) mod barrier;
pub mod broadcast;
pub(crate) mod cancellation_token;
pub(crate) mod condition;
pub(crate) mod lazy;
pub mod mpsc;
pub(crate) mod mutex;
pub(crate) mod notify;
pub(crate) mod once_cell;
pub mod oneshot;
pub(crate) mod pool;
pub(crate) mod promise;
pub(crate) mod rwlock;
pub(crate) mod semaphore;
pub(crate) mod short_lock;
pub(crate) mod stream;
pub(crate) mod wait_queue;
pub mod watch;
mod write_once;

pub use barrier::{Barrier, BarrierWaitResult};
pub use cancellation_token::{CancellationToken, DropGuard, DropGuardRef};
pub use condition::Condition;
pub use lazy::Lazy;
pub use mutex::{Mutex, MutexGuard, OwnedMutexGuard, TryLockError};
pub use notify::Notify;
pub use once_cell::{OnceCell, SetError};
pub use pool::Pool;
pub use promise::{Promise, Resolver};
pub use rwlock::{
    OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock, RwLockReadGuard, RwLockWriteGuard,
};
pub use semaphore::{
    AcquireError, OwnedSemaphorePermit, Semaphore, SemaphorePermit, TryAcquireError,
};
pub use stream::Stream;
