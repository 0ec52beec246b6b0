//! [`CancellationToken`]: tokio_util's shutdown handle, on weft's
//! cancellation. A token is shared (`Send + Sync + Clone`), cancelled once
//! from any thread, and cancels its child tokens with it.
//!
//! Waiting fibers park with a [`Resumer`] in the token's waiter table;
//! `cancel` takes the table under the lock and resumes them after it,
//! which works from any thread (a resumer wakes its fiber through the
//! fiber's home scheduler). [`CancellationToken::run_until_cancelled`]
//! runs a closure in a sub-context (Eio's `Cancel.sub`) that a watcher
//! fiber cancels when the token is cancelled, so the closure unwinds from
//! its blocking call as any weft cancellation does.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use slab::Slab;

use crate::cancel::{self, CancelReason};
use crate::fiber::task::suspend_at;
use crate::fiber::Resumer;
use crate::switch::{Start, Switch};

/// A handle to cancel work from anywhere: the target of
/// `tokio_util::sync::CancellationToken`.
///
/// Clones share one token. [`CancellationToken::cancel`] (from any thread)
/// wakes every fiber in [`CancellationToken::cancelled`], stops the
/// closures running under [`CancellationToken::run_until_cancelled`], and
/// cancels every child token; cancelling a child leaves its parent alone.
/// Dropping a token cancels nothing (see [`CancellationToken::drop_guard`]).
///
/// ```
/// use weft::sync::CancellationToken;
///
/// weft::run(|_env| {
///     let shutdown = CancellationToken::new();
///     let worker = shutdown.child_token();
///     let (served, ()) = weft::fiber::both(
///         || worker.run_until_cancelled(|| -> u32 { weft::fiber::await_cancel() }),
///         || shutdown.cancel(),
///     );
///     assert_eq!(served, None);
///     assert!(worker.is_cancelled());
/// });
/// ```
#[derive(Clone)]
pub struct CancellationToken {
    node: Arc<Node>,
}

struct Node {
    parent: Option<(Arc<Node>, usize)>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    cancelled: bool,
    /// Live children (a child removes itself when its last handle drops).
    children: Slab<Weak<Node>>,
    /// Fibers in `cancelled()`.
    waiters: Slab<Resumer>,
}

impl Node {
    fn lock(&self) -> MutexGuard<'_, State> {
        // No code that can panic runs under the lock, so a poisoned lock
        // still holds a consistent state.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some((parent, key)) = &self.parent {
            parent.lock().children.try_remove(*key);
        }
    }
}

impl CancellationToken {
    /// A token that is not cancelled.
    ///
    /// ```
    /// assert!(!weft::sync::CancellationToken::new().is_cancelled());
    /// ```
    pub fn new() -> Self {
        CancellationToken {
            node: Arc::new(Node {
                parent: None,
                state: Mutex::new(State::default()),
            }),
        }
    }

    /// A new token that is cancelled when this one is (and born cancelled
    /// if this one already is). Cancelling the child does not cancel this
    /// token.
    ///
    /// ```
    /// let parent = weft::sync::CancellationToken::new();
    /// let child = parent.child_token();
    /// child.cancel();
    /// assert!(!parent.is_cancelled());
    /// let other = parent.child_token();
    /// parent.cancel();
    /// assert!(other.is_cancelled());
    /// ```
    pub fn child_token(&self) -> CancellationToken {
        let node = Arc::new_cyclic(|me: &Weak<Node>| {
            let mut parent = self.node.lock();
            if parent.cancelled {
                Node {
                    parent: None,
                    state: Mutex::new(State {
                        cancelled: true,
                        ..State::default()
                    }),
                }
            } else {
                let key = parent.children.insert(me.clone());
                Node {
                    parent: Some((self.node.clone(), key)),
                    state: Mutex::new(State::default()),
                }
            }
        });
        CancellationToken { node }
    }

    /// Cancels this token and all its descendants, from any thread. Wakes
    /// the fibers waiting in [`CancellationToken::cancelled`]. A second
    /// call does nothing.
    ///
    /// ```
    /// let t = weft::sync::CancellationToken::new();
    /// t.cancel();
    /// t.cancel();
    /// assert!(t.is_cancelled());
    /// ```
    pub fn cancel(&self) {
        // Walk the tree without recursion; each node is locked alone.
        let mut pending = vec![self.node.clone()];
        while let Some(node) = pending.pop() {
            let (waiters, children) = {
                let mut state = node.lock();
                if state.cancelled {
                    continue;
                }
                state.cancelled = true;
                (
                    std::mem::take(&mut state.waiters),
                    std::mem::take(&mut state.children),
                )
            };
            for (_, resumer) in waiters {
                resumer.resume();
            }
            pending.extend(children.into_iter().filter_map(|(_, c)| c.upgrade()));
        }
    }

    /// Whether the token has been cancelled.
    ///
    /// ```
    /// let t = weft::sync::CancellationToken::new();
    /// assert!(!t.is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.node.lock().cancelled
    }

    /// Blocks the fiber until the token is cancelled (returns at once if it
    /// already is). A cancellation point: if the fiber itself is cancelled
    /// while it waits, it unwinds from here.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let t = weft::sync::CancellationToken::new();
    ///     let (_, ()) = weft::fiber::both(|| t.cancelled(), || t.cancel());
    ///     assert!(t.is_cancelled());
    /// });
    /// ```
    #[track_caller]
    pub fn cancelled(&self) {
        if let Err(c) = self.wait() {
            c.unwind();
        }
    }

    /// [`CancellationToken::cancelled`] on an owned token (tokio_util's
    /// `cancelled_owned`, whose future needs no borrow; a blocking call
    /// needs none either).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let t = weft::sync::CancellationToken::new();
    ///     let waiter = t.clone();
    ///     weft::fiber::both(move || waiter.cancelled_owned(), || t.cancel());
    /// });
    /// ```
    #[track_caller]
    pub fn cancelled_owned(self) {
        self.cancelled()
    }

    /// The wait of [`CancellationToken::cancelled`], returning the fiber's
    /// own cancellation instead of unwinding.
    #[track_caller]
    fn wait(&self) -> Result<(), cancel::Cancelled> {
        if self.is_cancelled() {
            return Ok(());
        }
        let mut key = None;
        let outcome = suspend_at(
            std::panic::Location::caller(),
            crate::console::events::WaitKind::Token,
            true,
            |resumer| {
                let mut state = self.node.lock();
                if state.cancelled {
                    drop(state);
                    resumer.resume();
                } else {
                    key = Some(state.waiters.insert(resumer));
                }
            },
        );
        match outcome {
            // Woken by `cancel`, which hands nothing over: a cancellation
            // of the fiber that came meanwhile is delivered here.
            Ok(()) => crate::fiber::try_check(),
            Err(c) => {
                if let Some(key) = key {
                    // Gone already if `cancel` took the table meanwhile.
                    self.node.lock().waiters.try_remove(key);
                }
                Err(c)
            }
        }
    }

    /// Runs `f` until it returns (`Some` of its value) or the token is
    /// cancelled (`None`): then `f` is cancelled like any weft
    /// cancellation, unwinding from its blocking call with destructors run.
    /// This is Eio's `Cancel.sub` with a handle: `f` runs in a sub-context
    /// of the caller's, which the token can cancel from any thread.
    ///
    /// If the token is already cancelled, `f` does not run. If `f` returns
    /// before the cancellation reaches it, its value is kept. If the
    /// caller itself is cancelled, that cancellation keeps unwinding. A
    /// panic in `f` is re-raised.
    ///
    /// ```
    /// use std::time::Duration;
    /// weft::run(|_env| {
    ///     let t = weft::sync::CancellationToken::new();
    ///     assert_eq!(t.run_until_cancelled(|| 1), Some(1));
    ///     let canceller = t.clone();
    ///     std::thread::spawn(move || canceller.cancel());
    ///     let r = t.run_until_cancelled(|| weft::time::sleep(Duration::from_secs(60)));
    ///     assert_eq!(r, None);
    /// });
    /// ```
    #[track_caller]
    pub fn run_until_cancelled<T>(&self, f: impl FnOnce() -> T) -> Option<T> {
        if self.is_cancelled() {
            return None;
        }
        let outcome = Switch::run(|sw| {
            // The watcher is a daemon: once `f` is done, the switch
            // cancels it, which withdraws its wait from the token.
            sw.spawn(None, true, Start::Next, move || {
                if self.wait().is_ok() {
                    sw.cancel(CancelReason::Other(
                        "its CancellationToken was cancelled".into(),
                    ));
                }
            });
            Ok(cancel::catch_cancelled(f))
        });
        match outcome {
            Ok(Ok(v)) => Some(v),
            // Not the caller's cancellation (`Switch::run` would have gone
            // on unwinding it): the token's.
            Ok(Err(c)) if self.is_cancelled() => {
                drop(c);
                None
            }
            Ok(Err(c)) => c.unwind(),
            Err(e) => panic!("weft: run_until_cancelled failed: {e:#}"),
        }
    }

    /// [`CancellationToken::run_until_cancelled`] on an owned token
    /// (tokio_util's `run_until_cancelled_owned`).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let t = weft::sync::CancellationToken::new();
    ///     assert_eq!(t.run_until_cancelled_owned(|| 4), Some(4));
    /// });
    /// ```
    #[track_caller]
    pub fn run_until_cancelled_owned<T>(self, f: impl FnOnce() -> T) -> Option<T> {
        self.run_until_cancelled(f)
    }

    /// A guard that cancels the token when dropped (unless disarmed).
    ///
    /// ```
    /// let t = weft::sync::CancellationToken::new();
    /// {
    ///     let _guard = t.clone().drop_guard();
    /// }
    /// assert!(t.is_cancelled());
    /// ```
    pub fn drop_guard(self) -> DropGuard {
        DropGuard { token: Some(self) }
    }

    /// A guard that cancels the token when dropped (unless disarmed),
    /// borrowing the token instead of taking it.
    ///
    /// ```
    /// let t = weft::sync::CancellationToken::new();
    /// drop(t.drop_guard_ref());
    /// assert!(t.is_cancelled());
    /// ```
    pub fn drop_guard_ref(&self) -> DropGuardRef<'_> {
        DropGuardRef { token: Some(self) }
    }
}

impl Default for CancellationToken {
    fn default() -> Self {
        CancellationToken::new()
    }
}

/// Shows whether the token is cancelled, and how many live child tokens
/// and waiting fibers it has.
///
/// ```
/// let t = weft::sync::CancellationToken::new();
/// let _child = t.child_token();
/// assert_eq!(
///     format!("{t:?}"),
///     "CancellationToken { is_cancelled: false, children: 1, waiters: 0 }"
/// );
/// ```
impl fmt::Debug for CancellationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.node.lock();
        f.debug_struct("CancellationToken")
            .field("is_cancelled", &state.cancelled)
            .field("children", &state.children.len())
            .field("waiters", &state.waiters.len())
            .finish()
    }
}

/// Cancels its token when dropped; from [`CancellationToken::drop_guard`]
/// (tokio_util's `DropGuard`).
///
/// ```
/// let t = weft::sync::CancellationToken::new();
/// let guard = t.clone().drop_guard();
/// let back = guard.disarm();
/// assert!(!back.is_cancelled());
/// ```
#[derive(Debug)]
#[must_use = "dropping the guard cancels the token at once"]
pub struct DropGuard {
    token: Option<CancellationToken>,
}

impl DropGuard {
    /// Returns the token without cancelling it.
    pub fn disarm(mut self) -> CancellationToken {
        self.token.take().expect("the token is taken only here")
    }
}

impl Drop for DropGuard {
    fn drop(&mut self) {
        if let Some(token) = self.token.take() {
            token.cancel();
        }
    }
}

/// Cancels the borrowed token when dropped; from
/// [`CancellationToken::drop_guard_ref`] (tokio_util's `DropGuardRef`).
///
/// ```
/// let t = weft::sync::CancellationToken::new();
/// let guard = t.drop_guard_ref();
/// let _same: &weft::sync::CancellationToken = guard.disarm();
/// assert!(!t.is_cancelled());
/// ```
#[derive(Debug)]
#[must_use = "dropping the guard cancels the token at once"]
pub struct DropGuardRef<'a> {
    token: Option<&'a CancellationToken>,
}

impl<'a> DropGuardRef<'a> {
    /// Returns the token without cancelling it.
    pub fn disarm(mut self) -> &'a CancellationToken {
        self.token.take().expect("the token is taken only here")
    }
}

impl Drop for DropGuardRef<'_> {
    fn drop(&mut self) {
        if let Some(token) = self.token.take() {
            token.cancel();
        }
    }
}
