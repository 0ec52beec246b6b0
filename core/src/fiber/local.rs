//! Fiber-local variables (Eio's `Fiber.create_key` / `with_binding` /
//! `get`): a [`Key`] names a variable; [`with_binding`] binds it for the
//! length of a closure; [`get`] reads it.
//!
//! A fiber's bindings are an immutable list (newest first). Binding pushes
//! a node for the closure and pops it afterwards (also when the closure
//! unwinds), so a binding is visible only inside its closure on this fiber.
//! A fiber forked while a binding is in force starts with the parent's list
//! (one reference-count increment), so it sees the binding too, for its
//! whole life, even after the parent's closure has returned. The values are
//! shared, not copied: a `Cell` or `RefCell` bound in a parent is the same
//! cell in its children (they all live on one thread).
//!
//! Code that runs outside any fiber (before `weft::run`, or in a plain
//! thread) has a per-thread list instead; the main fiber of `weft::run`
//! starts with the bindings of the thread that called it. Work sent to
//! other threads (`weft::blocking`, an `ExecutorPool`, `run_on_cores`)
//! does not carry bindings: the values never leave their thread.

use std::any::Any;
use std::cell::RefCell;
use std::fmt;
use std::marker::PhantomData;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::fiber::scheduler;

/// One binding: a key, its value (`None` for [`without_binding`]), and the
/// bindings it shadows.
pub(crate) struct Binding {
    key: u64,
    value: Option<Rc<dyn Any>>,
    next: Option<Rc<Binding>>,
}

/// The bindings of a fiber (or of a thread outside fibers), newest first.
pub(crate) type Bindings = Option<Rc<Binding>>;

thread_local! {
    /// Bindings made outside any fiber on this thread.
    static OUTSIDE: RefCell<Bindings> = const { RefCell::new(None) };
}

/// Source of key ids; 0 means "not assigned yet".
static NEXT_KEY: AtomicU64 = AtomicU64::new(1);

/// The name of a fiber-local variable holding a `T` (Eio's
/// `Fiber.create_key`).
///
/// Keys are cheap and `const`, so they usually live in a `static`. A key
/// can be kept private to a module to control who reads or binds it.
///
/// ```
/// use weft::fiber::{self, Key};
///
/// static REQUEST_ID: Key<u64> = Key::new();
///
/// weft::run(|_env| {
///     assert_eq!(fiber::get(&REQUEST_ID), None);
///     fiber::with_binding(&REQUEST_ID, 7, || {
///         assert_eq!(fiber::get(&REQUEST_ID), Some(7));
///     });
///     assert_eq!(fiber::get(&REQUEST_ID), None);
/// });
/// ```
pub struct Key<T: 'static> {
    /// Assigned on first use (so `new` can be `const`); never changes after.
    id: AtomicU64,
    _value: PhantomData<fn() -> T>,
}

impl<T: 'static> Key<T> {
    /// A new key, distinct from every other key.
    ///
    /// ```
    /// let a: weft::fiber::Key<u8> = weft::fiber::Key::new();
    /// let b: weft::fiber::Key<u8> = weft::fiber::Key::new();
    /// weft::run(|_env| {
    ///     weft::fiber::with_binding(&a, 1, || assert_eq!(weft::fiber::get(&b), None));
    /// });
    /// ```
    pub const fn new() -> Self {
        Key {
            id: AtomicU64::new(0),
            _value: PhantomData,
        }
    }

    /// The key's id, assigning one on first use.
    fn id(&self) -> u64 {
        let id = self.id.load(Ordering::Acquire);
        if id != 0 {
            return id;
        }
        let fresh = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
        match self
            .id
            .compare_exchange(0, fresh, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => fresh,
            // Another thread assigned one first: use that.
            Err(theirs) => theirs,
        }
    }
}

impl<T: 'static> Default for Key<T> {
    fn default() -> Self {
        Key::new()
    }
}

/// A clone names the same variable.
impl<T: 'static> Clone for Key<T> {
    fn clone(&self) -> Self {
        Key {
            id: AtomicU64::new(self.id()),
            _value: PhantomData,
        }
    }
}

impl<T: 'static> fmt::Debug for Key<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("type", &std::any::type_name::<T>())
            .finish()
    }
}

/// Runs `f` with the running fiber's bindings (or the thread's, outside a
/// fiber). `f` must not suspend (no borrow is held across a switch).
fn with_bindings<R>(f: impl FnOnce(&RefCell<Bindings>) -> R) -> R {
    let mut f = Some(f);
    let in_fiber = scheduler::with_current(|fiber| {
        let f = f.take().expect("called once");
        f(&fiber.local.bindings)
    });
    match in_fiber {
        Some(r) => r,
        None => OUTSIDE.with(f.take().expect("not called in a fiber")),
    }
}

/// The bindings a fiber created now should start with: the running
/// fiber's, or the thread's when no fiber runs (the main fiber).
pub(crate) fn inherited() -> Bindings {
    with_bindings(|b| b.borrow().clone())
}

/// Runs `f` on the scheduler's stack (no fiber running) with `bindings`
/// as the ones a fiber created meanwhile inherits: a fork made on behalf
/// of a suspended fiber (a watched race's gate) inherits that fiber's.
pub(crate) fn forking_with<R>(bindings: Bindings, f: impl FnOnce() -> R) -> R {
    debug_assert!(
        scheduler::with_current(|_| ()).is_none(),
        "forking_with runs on the scheduler's stack"
    );
    let outside = OUTSIDE.with(|b| b.replace(bindings));
    let _restore = Restore(Some(outside));
    f()
}

/// Drops the running fiber's bindings when the fiber's body ends (also by
/// unwinding), on the fiber's own stack: the values are thread-bound and
/// their destructors may be user code.
pub(crate) struct ClearOnExit;

impl Drop for ClearOnExit {
    fn drop(&mut self) {
        let mine = scheduler::with_current(|fiber| fiber.local.bindings.take()).flatten();
        drop(mine);
    }
}

/// Puts back the bindings a scope replaced, when the scope ends.
struct Restore(Option<Bindings>);

impl Drop for Restore {
    fn drop(&mut self) {
        let previous = self.0.take().expect("restored once");
        // The scope's own list is dropped here, outside the borrow.
        let scope = with_bindings(|b| b.replace(previous));
        drop(scope);
    }
}

/// Runs `body` with `key` bound to `value` (or unbound, for `None`).
fn scoped<R>(key: u64, value: Option<Rc<dyn Any>>, body: impl FnOnce() -> R) -> R {
    let previous = with_bindings(|b| {
        let next = b.borrow().clone();
        b.replace(Some(Rc::new(Binding { key, value, next })))
    });
    let _restore = Restore(Some(previous));
    body()
}

/// The value bound to `key` in the running fiber, if any.
fn lookup(key: u64) -> Option<Rc<dyn Any>> {
    with_bindings(|b| {
        let head = b.borrow();
        let mut node = head.as_deref();
        while let Some(n) = node {
            if n.key == key {
                return n.value.clone();
            }
            node = n.next.as_deref();
        }
        None
    })
}

/// Runs `body` with `key` bound to `value` on this fiber (Eio's
/// `Fiber.with_binding`). The binding ends when `body` returns or unwinds;
/// fibers forked inside `body` inherit it for their whole life.
///
/// ```
/// use weft::fiber::{self, Key};
/// static USER: Key<&'static str> = Key::new();
///
/// weft::run(|_env| {
///     fiber::with_binding(&USER, "ada", || {
///         let (a, b) = fiber::both(|| fiber::get(&USER), || fiber::get(&USER));
///         assert_eq!((a, b), (Some("ada"), Some("ada")));
///         // An inner binding shadows the outer one until it ends.
///         fiber::with_binding(&USER, "bob", || assert_eq!(fiber::get(&USER), Some("bob")));
///         assert_eq!(fiber::get(&USER), Some("ada"));
///     });
/// });
/// ```
pub fn with_binding<T: 'static, R>(key: &Key<T>, value: T, body: impl FnOnce() -> R) -> R {
    scoped(key.id(), Some(Rc::new(value)), body)
}

/// Runs `body` with any binding of `key` removed (Eio's
/// `Fiber.without_binding`); fibers forked inside do not see it either.
///
/// ```
/// use weft::fiber::{self, Key};
/// static DEPTH: Key<u32> = Key::new();
///
/// weft::run(|_env| {
///     fiber::with_binding(&DEPTH, 1, || {
///         fiber::without_binding(&DEPTH, || assert_eq!(fiber::get(&DEPTH), None));
///         assert_eq!(fiber::get(&DEPTH), Some(1));
///     });
/// });
/// ```
pub fn without_binding<T: 'static, R>(key: &Key<T>, body: impl FnOnce() -> R) -> R {
    scoped(key.id(), None, body)
}

/// A clone of the value bound to `key` on the running fiber (Eio's
/// `Fiber.get`), or `None` if it is not bound. For values that are not
/// `Clone`, use [`with_value`].
///
/// ```
/// use weft::fiber::{self, Key};
/// static LEVEL: Key<u8> = Key::new();
///
/// weft::run(|_env| {
///     assert_eq!(fiber::get(&LEVEL), None);
///     assert_eq!(fiber::with_binding(&LEVEL, 3, || fiber::get(&LEVEL)), Some(3));
/// });
/// ```
pub fn get<T: Clone + 'static>(key: &Key<T>) -> Option<T> {
    with_value(key, |v| v.cloned())
}

/// Runs `f` with a reference to the value bound to `key` on the running
/// fiber (`None` if it is not bound). `f` may block: the value is kept
/// alive for it even if its binding ends meanwhile.
///
/// ```
/// use std::cell::Cell;
/// use weft::fiber::{self, Key};
/// static HITS: Key<Cell<u32>> = Key::new();
///
/// weft::run(|_env| {
///     fiber::with_binding(&HITS, Cell::new(0), || {
///         // Forked fibers share the bound cell with their parent.
///         fiber::both(
///             || fiber::with_value(&HITS, |c| c.unwrap().set(c.unwrap().get() + 1)),
///             || fiber::with_value(&HITS, |c| c.unwrap().set(c.unwrap().get() + 1)),
///         );
///         assert_eq!(fiber::with_value(&HITS, |c| c.unwrap().get()), 2);
///     });
/// });
/// ```
pub fn with_value<T: 'static, R>(key: &Key<T>, f: impl FnOnce(Option<&T>) -> R) -> R {
    let value = lookup(key.id());
    let typed = value.as_deref().map(|v| {
        v.downcast_ref::<T>()
            .expect("a key's id is bound only to its own type")
    });
    f(typed)
}
