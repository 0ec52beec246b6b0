//! `Pool`: reuse expensive resources (connections, buffers), at most
//! `max_size` of them live at once (Eio's `Pool`, Lwt's `Lwt_pool`).

use std::fmt;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe, Location};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::fiber::task::suspend_at;
use crate::sync::wait_queue::WaitQueue;

type Create<T> = Box<dyn Fn() -> T + Send + Sync>;
type Validate<T> = Box<dyn Fn(&T) -> bool + Send + Sync>;
type Dispose<T> = Box<dyn Fn(T) + Send + Sync>;

struct State<T> {
    idle: Vec<T>,
    /// Resources that exist (idle or in use) or are being created.
    live: usize,
    waiters: WaitQueue<T>,
}

/// A pool of at most `max_size` resources, created on demand by `create`
/// and handed to one user at a time.
///
/// - Before a resource is reused (taken from the idle ones, or handed
///   over by its last user to a waiter), `validate` (if set) checks it; a
///   rejected one is given to `dispose` and a new one is created.
/// - When `use_`'s closure returns, panics or is cancelled, its resource
///   goes back to the pool (the next `validate` decides if it is still
///   good), or straight to the longest-waiting user.
/// - If `create` fails (panics), that use fails and the slot is freed, so
///   later uses retry.
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
/// weft::run(|_env| {
///     let created = Arc::new(AtomicUsize::new(0));
///     let counter = created.clone();
///     let pool = weft::sync::Pool::new(2, move || {
///         counter.fetch_add(1, Ordering::SeqCst);
///         Vec::<u8>::with_capacity(1024)
///     });
///     let pool = &pool;
///     weft::fiber::all((0..10).map(|i| move || pool.use_(|buf| {
///         buf.clear();
///         buf.push(i);
///         weft::fiber::yield_now();
///     })));
///     assert_eq!(created.load(Ordering::SeqCst), 2);
/// });
/// ```
pub struct Pool<T> {
    max_size: usize,
    create: Create<T>,
    validate: Option<Validate<T>>,
    dispose: Option<Dispose<T>>,
    state: Arc<Mutex<State<T>>>,
}

impl<T> Pool<T> {
    /// A pool of at most `max_size` (≥ 1) resources made by `create`.
    ///
    /// ```
    /// let pool = weft::sync::Pool::new(4, || 0u32);
    /// assert_eq!(pool.max_size(), 4);
    /// ```
    pub fn new(max_size: usize, create: impl Fn() -> T + Send + Sync + 'static) -> Self {
        assert!(max_size >= 1, "a pool needs max_size >= 1");
        Pool {
            max_size,
            create: Box::new(create),
            validate: None,
            dispose: None,
            state: Arc::new(Mutex::new(State {
                idle: Vec::new(),
                live: 0,
                waiters: WaitQueue::new(),
            })),
        }
    }

    /// Checks an idle resource before reuse; `false` disposes of it.
    ///
    /// ```
    /// let pool = weft::sync::Pool::new(1, || 0u32).validate(|n| *n < 3);
    /// ```
    pub fn validate(mut self, validate: impl Fn(&T) -> bool + Send + Sync + 'static) -> Self {
        self.validate = Some(Box::new(validate));
        self
    }

    /// Frees a resource that `validate` rejected.
    ///
    /// ```
    /// let pool = weft::sync::Pool::new(1, || 0u32).dispose(|n| println!("closing {n}"));
    /// ```
    pub fn dispose(mut self, dispose: impl Fn(T) + Send + Sync + 'static) -> Self {
        self.dispose = Some(Box::new(dispose));
        self
    }

    /// The most resources that live at once.
    ///
    /// ```
    /// assert_eq!(weft::sync::Pool::new(3, || ()).max_size(), 3);
    /// ```
    pub fn max_size(&self) -> usize {
        self.max_size
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` with a resource: an idle valid one, a new one while fewer
    /// than `max_size` exist, or the next one released (waiting in FIFO
    /// order; a released one is validated too). A cancellation point while
    /// waiting: a fiber already cancelled that would have to wait unwinds
    /// with `Cancelled` at once.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let pool = weft::sync::Pool::new(1, || String::from("conn"));
    ///     let len = pool.use_(|c| c.len());
    ///     assert_eq!(len, 4);
    /// });
    /// ```
    #[track_caller]
    pub fn use_<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        let mut resource = self.acquire(Location::caller());
        let out = catch_unwind(AssertUnwindSafe(|| f(&mut resource)));
        self.release(resource);
        match out {
            Ok(v) => v,
            Err(p) => resume_unwind(p),
        }
    }

    fn acquire(&self, location: &'static Location<'static>) -> T {
        loop {
            let mut st = self.lock();
            if let Some(r) = st.idle.pop() {
                drop(st);
                if let Some(r) = self.validated(r) {
                    return r;
                }
                continue;
            }
            if st.live < self.max_size {
                st.live += 1;
                drop(st);
                return match catch_unwind(AssertUnwindSafe(|| (self.create)())) {
                    Ok(r) => r,
                    Err(p) => {
                        self.lock().live -= 1;
                        self.wake_for_free_slot();
                        resume_unwind(p)
                    }
                };
            }
            // Wait for a user to hand its resource over.
            let mut key = None;
            let r = suspend_at(
                location,
                crate::console::events::WaitKind::Pool,
                true,
                |resumer| {
                    let mut st = st;
                    key = Some(st.waiters.push(resumer));
                },
            );
            // No key: the fiber was already cancelled and never waited.
            let handed = key.and_then(|k| self.lock().waiters.take(k));
            match (r, handed) {
                (Ok(()), Some(resource)) => match self.validated(resource) {
                    Some(resource) => return resource,
                    // Rejected and disposed of: its slot is free, so the
                    // next round creates a replacement.
                    None => continue,
                },
                // Woken because a slot was freed: go round again.
                (Ok(()), None) => continue,
                (Err(c), handed) => {
                    // A resource is only handed to a waiter whose wake-up
                    // won, so this is defensive: never lose one.
                    if let Some(resource) = handed {
                        self.release(resource);
                    }
                    c.unwind()
                }
            }
        }
    }

    /// `validate`s a resource about to be reused (idle, or handed over by
    /// its last user); a rejected one frees its slot and goes to `dispose`.
    fn validated(&self, resource: T) -> Option<T> {
        if self.validate.as_ref().is_none_or(|v| v(&resource)) {
            return Some(resource);
        }
        self.lock().live -= 1;
        if let Some(d) = &self.dispose {
            d(resource);
        }
        None
    }

    fn release(&self, resource: T) {
        let mut st = self.lock();
        match st.waiters.wake_one_with(resource) {
            Ok(()) => {}
            Err(resource) => st.idle.push(resource),
        }
    }

    fn wake_for_free_slot(&self) {
        self.lock().waiters.wake_one();
    }
}

impl<T> fmt::Debug for Pool<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.lock();
        f.debug_struct("Pool")
            .field("max_size", &self.max_size)
            .field("live", &st.live)
            .field("idle", &st.idle.len())
            .field("waiting", &st.waiters.len())
            .finish()
    }
}
