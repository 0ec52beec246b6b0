//! Time on the scheduler's clock: [`sleep`], [`sleep_until`], [`timeout`],
//! [`Instant`], [`interval`], and the [`Clock`] capability.
//!
//! With a mock clock (`Runtime::builder().mock_clock(true)`), time stands
//! still while any fiber can run and jumps to the next timer when every
//! fiber is idle, so tests of timeouts run instantly and deterministically.

use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::rc::Rc;
use std::time::Duration;

use crate::cancel::{self, CancelCtx, CancelReason, Cancelled};
use crate::fiber::scheduler;
use crate::fiber::task::suspend_at;

pub(crate) mod clock;
pub(crate) mod timers;

use timers::TimerAction;

/// A point in time on the runtime's clock (monotonic; virtual under a mock
/// clock). Outside a runtime it reads the system clock.
///
/// ```
/// use std::time::Duration;
/// weft::run(|_env| {
///     let start = weft::time::Instant::now();
///     weft::time::sleep(Duration::from_millis(5));
///     assert!(start.elapsed() >= Duration::from_millis(5));
/// });
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(std::time::Instant);

impl Instant {
    /// The current time on this thread's runtime clock.
    ///
    /// ```
    /// let a = weft::time::Instant::now();
    /// assert!(weft::time::Instant::now() >= a);
    /// ```
    pub fn now() -> Instant {
        scheduler::with(|s| Instant(s.clock.start() + Duration::from_nanos(s.clock.now_nanos())))
            .unwrap_or_else(|| Instant(std::time::Instant::now()))
    }

    /// Time passed since `self` (zero if `self` is in the future).
    ///
    /// ```
    /// let t = weft::time::Instant::now();
    /// let _ = t.elapsed();
    /// ```
    pub fn elapsed(&self) -> Duration {
        Instant::now().saturating_duration_since(*self)
    }

    /// `self - earlier`, or zero if `earlier` is later.
    ///
    /// ```
    /// use std::time::Duration;
    /// let a = weft::time::Instant::now();
    /// let b = a + Duration::from_secs(1);
    /// assert_eq!(b.saturating_duration_since(a), Duration::from_secs(1));
    /// assert_eq!(a.saturating_duration_since(b), Duration::ZERO);
    /// ```
    pub fn saturating_duration_since(&self, earlier: Instant) -> Duration {
        self.0.saturating_duration_since(earlier.0)
    }

    /// `self - earlier` (zero if `earlier` is later, like std).
    ///
    /// ```
    /// let a = weft::time::Instant::now();
    /// assert_eq!(a.duration_since(a), std::time::Duration::ZERO);
    /// ```
    pub fn duration_since(&self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }

    /// `self + d`, or `None` on overflow.
    ///
    /// ```
    /// let a = weft::time::Instant::now();
    /// assert!(a.checked_add(std::time::Duration::from_secs(1)).is_some());
    /// ```
    pub fn checked_add(&self, d: Duration) -> Option<Instant> {
        self.0.checked_add(d).map(Instant)
    }

    /// The `std::time::Instant` this stands for.
    ///
    /// ```
    /// let a = weft::time::Instant::now();
    /// let _std: std::time::Instant = a.into_std();
    /// ```
    pub fn into_std(self) -> std::time::Instant {
        self.0
    }

    /// Wraps a `std::time::Instant`.
    ///
    /// ```
    /// let a = weft::time::Instant::from_std(std::time::Instant::now());
    /// let _ = a.elapsed();
    /// ```
    pub fn from_std(i: std::time::Instant) -> Instant {
        Instant(i)
    }
}

/// Wraps a `std::time::Instant` (same as [`Instant::from_std`]).
///
/// ```
/// let std_now = std::time::Instant::now();
/// let t: weft::time::Instant = std_now.into();
/// assert_eq!(t.into_std(), std_now);
/// ```
impl From<std::time::Instant> for Instant {
    fn from(i: std::time::Instant) -> Instant {
        Instant(i)
    }
}

/// The `std::time::Instant` this stands for (same as
/// [`Instant::into_std`]). Under a mock clock it is the virtual time, laid
/// on the system clock's scale from the runtime's start.
///
/// ```
/// let t = weft::time::Instant::now();
/// let back: std::time::Instant = t.into();
/// assert_eq!(weft::time::Instant::from(back), t);
/// ```
impl From<Instant> for std::time::Instant {
    fn from(i: Instant) -> std::time::Instant {
        i.0
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        Instant(self.0 + d)
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, d: Duration) {
        self.0 += d;
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;
    fn sub(self, d: Duration) -> Instant {
        Instant(self.0 - d)
    }
}

impl SubAssign<Duration> for Instant {
    fn sub_assign(&mut self, d: Duration) {
        self.0 -= d;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, other: Instant) -> Duration {
        self.saturating_duration_since(other)
    }
}

/// Suspends the fiber for `duration`. A cancellation point.
///
/// ```
/// weft::run(|_env| weft::time::sleep(std::time::Duration::from_millis(1)));
/// ```
#[track_caller]
pub fn sleep(duration: Duration) {
    let location = std::panic::Location::caller();
    let deadline = scheduler::expect("sleep", |s| s.clock.now_nanos())
        .saturating_add(duration_nanos(duration));
    sleep_nanos(location, deadline);
}

/// Suspends the fiber until `deadline`. A cancellation point.
///
/// ```
/// use std::time::Duration;
/// weft::run(|_env| {
///     let t = weft::time::Instant::now() + Duration::from_millis(2);
///     weft::time::sleep_until(t);
///     assert!(weft::time::Instant::now() >= t);
/// });
/// ```
#[track_caller]
pub fn sleep_until(deadline: Instant) {
    let location = std::panic::Location::caller();
    let nanos = scheduler::expect("sleep_until", |s| s.clock.nanos_of(deadline.0));
    sleep_nanos(location, nanos);
}

fn duration_nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn sleep_nanos(location: &'static std::panic::Location<'static>, deadline: u64) {
    let mut key = None;
    let r = suspend_at(
        location,
        crate::console::events::WaitKind::Sleep,
        true,
        |resumer| {
            key = Some(scheduler::with(|s| {
                s.timers
                    .borrow_mut()
                    .add(deadline, TimerAction::Resume(resumer))
            }));
        },
    );
    if let Err(c) = r {
        if let Some(Some(key)) = key {
            scheduler::with(|s| s.timers.borrow_mut().remove(key));
        }
        c.unwind();
    }
    // Woken by the timer, but cancelled before it ran again: the sleep
    // hands nothing over, so unwind here as at any cancellation point.
    crate::fiber::check();
}

/// The error of a [`timeout`] that expired.
///
/// ```
/// let e = weft::time::Elapsed(std::time::Duration::from_secs(1));
/// assert_eq!(e.to_string(), "timed out after 1s");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("timed out after {0:?}")]
pub struct Elapsed(pub Duration);

impl From<Elapsed> for std::io::Error {
    fn from(e: Elapsed) -> Self {
        std::io::Error::new(std::io::ErrorKind::TimedOut, e)
    }
}

/// Runs `f`, cancelling it if it has not finished after `duration`.
///
/// Cancellation unwinds `f` from its blocking call (destructors run), and
/// `timeout` returns `Err(Elapsed)`. If the caller itself is cancelled,
/// that cancellation keeps unwinding instead.
///
/// ```
/// use std::time::Duration;
/// weft::run(|_env| {
///     let slow = weft::time::timeout(Duration::from_millis(5), || {
///         weft::time::sleep(Duration::from_secs(10));
///     });
///     assert!(slow.is_err());
///     let fast = weft::time::timeout(Duration::from_secs(10), || 3);
///     assert_eq!(fast, Ok(3));
/// });
/// ```
#[track_caller]
pub fn timeout<T>(duration: Duration, f: impl FnOnce() -> T) -> Result<T, Elapsed> {
    let deadline = scheduler::expect("timeout", |s| s.clock.now_nanos())
        .saturating_add(duration_nanos(duration));
    run_with_deadline(deadline, f).map_err(|()| Elapsed(duration))
}

/// Like [`timeout`], with an absolute deadline.
///
/// ```
/// use std::time::Duration;
/// weft::run(|_env| {
///     let at = weft::time::Instant::now() + Duration::from_millis(1);
///     assert!(weft::time::timeout_at(at, || weft::fiber::await_cancel()).is_err());
/// });
/// ```
#[track_caller]
pub fn timeout_at<T>(deadline: Instant, f: impl FnOnce() -> T) -> Result<T, Elapsed> {
    let (nanos, now) = scheduler::expect("timeout_at", |s| {
        (s.clock.nanos_of(deadline.0), s.clock.now_nanos())
    });
    run_with_deadline(nanos, f)
        .map_err(|()| Elapsed(Duration::from_nanos(nanos.saturating_sub(now))))
}

fn run_with_deadline<T>(deadline: u64, f: impl FnOnce() -> T) -> Result<T, ()> {
    let (fiber, outer) = cancel::current();
    let ctx: Rc<CancelCtx> = CancelCtx::child(&outer);
    let key = scheduler::with(|s| {
        s.timers.borrow_mut().add(
            deadline,
            TimerAction::Cancel(Rc::downgrade(&ctx), Cancelled::new(CancelReason::Timeout)),
        )
    })
    .expect("checked by the caller");
    let guard = cancel::enter_ctx(&fiber, &ctx);
    let result = cancel::catch_cancelled(f);
    drop(guard);
    scheduler::with(|s| s.timers.borrow_mut().remove(key));
    match result {
        Ok(v) => Ok(v),
        Err(c) => {
            if outer.is_cancelled() || c.reason() != &CancelReason::Timeout {
                c.unwind()
            }
            Err(())
        }
    }
}

/// A clock capability: code that takes a `Clock` can be tested with a mock
/// one. Get it from [`crate::Env::clock`].
///
/// ```
/// use std::time::Duration;
/// weft::run(|env| {
///     let clock = env.clock();
///     let t0 = clock.now();
///     clock.sleep(Duration::from_millis(1));
///     assert!(clock.now() > t0);
/// });
/// ```
#[derive(Clone, Debug)]
pub struct Clock {
    _private: (),
}

impl Clock {
    #[doc(hidden)]
    pub fn new() -> Self {
        Clock { _private: () }
    }

    /// The current time.
    ///
    /// ```
    /// weft::run(|env| { let _ = env.clock().now(); });
    /// ```
    pub fn now(&self) -> Instant {
        Instant::now()
    }

    /// Sleeps for `d`.
    ///
    /// ```
    /// weft::run(|env| env.clock().sleep(std::time::Duration::ZERO));
    /// ```
    #[track_caller]
    pub fn sleep(&self, d: Duration) {
        sleep(d)
    }

    /// Sleeps until `t`.
    ///
    /// ```
    /// weft::run(|env| env.clock().sleep_until(weft::time::Instant::now()));
    /// ```
    #[track_caller]
    pub fn sleep_until(&self, t: Instant) {
        sleep_until(t)
    }

    /// Whether this is a mock clock.
    ///
    /// ```
    /// weft::run(|env| assert!(!env.clock().is_mock()));
    /// ```
    pub fn is_mock(&self) -> bool {
        scheduler::with(|s| s.clock.is_mock()).unwrap_or(false)
    }

    /// Moves a mock clock forward by `d`, firing the timers that fall due.
    /// Panics on the system clock.
    ///
    /// ```
    /// use std::time::Duration;
    /// weft::Runtime::builder().mock_clock(true).build().unwrap().run(|env| {
    ///     let t0 = env.clock().now();
    ///     env.clock().advance(Duration::from_secs(3600));
    ///     assert_eq!(env.clock().now() - t0, Duration::from_secs(3600));
    /// });
    /// ```
    pub fn advance(&self, d: Duration) {
        scheduler::expect("Clock::advance", |s| {
            assert!(
                s.clock.is_mock(),
                "Clock::advance needs a mock clock (Runtime::builder().mock_clock(true))"
            );
            s.clock
                .advance_to(s.clock.now_nanos().saturating_add(duration_nanos(d)));
        });
    }
}

impl Clock {
    /// Sets a mock clock to `time` (Eio's `Mock.Clock.set_time`). The
    /// timers due by then fire the next time the scheduler looks at its
    /// timers (at the latest once every fiber is idle, before the mock
    /// clock moves on by itself). Setting the current time again does
    /// nothing.
    ///
    /// Panics on the system clock, and if `time` is earlier than now: the
    /// runtime's clock is monotonic, and sleeps and timeouts rely on it.
    ///
    /// ```
    /// use std::time::Duration;
    /// weft::Runtime::builder().mock_clock(true).build().unwrap().run(|env| {
    ///     let clock = env.clock();
    ///     let wake_at = clock.now() + Duration::from_secs(30);
    ///     let woke = weft::fiber::first(
    ///         || { clock.sleep_until(wake_at); clock.now() },
    ///         || { clock.set_time(wake_at + Duration::from_secs(1)); weft::fiber::await_cancel() },
    ///     );
    ///     assert_eq!(woke, wake_at + Duration::from_secs(1));
    /// });
    /// ```
    #[track_caller]
    pub fn set_time(&self, time: Instant) {
        scheduler::expect("Clock::set_time", |s| {
            assert!(
                s.clock.is_mock(),
                "Clock::set_time needs a mock clock (Runtime::builder().mock_clock(true))"
            );
            let now = s.clock.now_nanos();
            let target = s.clock.nanos_of(time.0);
            let earlier = time.0 < s.clock.start() || target < now;
            assert!(
                !earlier,
                "Clock::set_time: {time:?} is earlier than the mock clock's current time \
                 (the clock only moves forward)"
            );
            s.clock.advance_to(target);
        });
    }
}

/// What [`Interval::tick`] does when ticks were missed (tokio's meaning).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MissedTickBehavior {
    /// Fire the missed ticks back to back (the default, as in tokio).
    #[default]
    Burst,
    /// Skip to the next multiple of the period after now.
    Skip,
    /// Restart the schedule from now.
    Delay,
}

/// Ticks every `period`, the first tick at once (like `tokio::time::interval`).
///
/// ```
/// use std::time::Duration;
/// weft::run(|_env| {
///     let mut iv = weft::time::interval(Duration::from_millis(1));
///     iv.tick();
///     iv.tick();
/// });
/// ```
#[track_caller]
pub fn interval(period: Duration) -> Interval {
    interval_at(Instant::now(), period)
}

/// Ticks every `period` starting at `start`.
///
/// ```
/// use std::time::Duration;
/// weft::run(|_env| {
///     let mut iv = weft::time::interval_at(weft::time::Instant::now(), Duration::from_millis(1));
///     let t = iv.tick();
///     assert!(t <= weft::time::Instant::now());
/// });
/// ```
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(!period.is_zero(), "interval period must be non-zero");
    Interval {
        next: start,
        period,
        missed: MissedTickBehavior::Burst,
    }
}

/// A periodic timer; see [`interval`].
#[derive(Debug)]
pub struct Interval {
    next: Instant,
    period: Duration,
    missed: MissedTickBehavior,
}

impl Interval {
    /// Sleeps until the next tick and returns its scheduled time.
    ///
    /// ```
    /// use std::time::Duration;
    /// weft::run(|_env| {
    ///     let mut iv = weft::time::interval(Duration::from_millis(2));
    ///     let a = iv.tick();
    ///     let b = iv.tick();
    ///     assert_eq!(b - a, Duration::from_millis(2));
    /// });
    /// ```
    #[track_caller]
    pub fn tick(&mut self) -> Instant {
        let scheduled = self.next;
        sleep_until(scheduled);
        let now = Instant::now();
        self.next = match self.missed {
            MissedTickBehavior::Burst => scheduled + self.period,
            MissedTickBehavior::Delay => now.max(scheduled) + self.period,
            MissedTickBehavior::Skip => {
                let mut n = scheduled + self.period;
                if n <= now {
                    let behind = (now - scheduled).as_nanos() / self.period.as_nanos().max(1);
                    n = scheduled + self.period * (behind as u32 + 1);
                }
                n
            }
        };
        scheduled
    }

    /// Sets what happens after missed ticks.
    ///
    /// ```
    /// let mut iv = weft::time::interval_at(weft::time::Instant::now(), std::time::Duration::from_secs(1));
    /// iv.set_missed_tick_behavior(weft::time::MissedTickBehavior::Skip);
    /// assert_eq!(iv.missed_tick_behavior(), weft::time::MissedTickBehavior::Skip);
    /// ```
    pub fn set_missed_tick_behavior(&mut self, b: MissedTickBehavior) {
        self.missed = b;
    }

    /// The current missed-tick behaviour.
    ///
    /// ```
    /// let iv = weft::time::interval_at(weft::time::Instant::now(), std::time::Duration::from_secs(1));
    /// assert_eq!(iv.missed_tick_behavior(), weft::time::MissedTickBehavior::Burst);
    /// ```
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed
    }

    /// The period.
    ///
    /// ```
    /// let iv = weft::time::interval_at(weft::time::Instant::now(), std::time::Duration::from_secs(1));
    /// assert_eq!(iv.period(), std::time::Duration::from_secs(1));
    /// ```
    pub fn period(&self) -> Duration {
        self.period
    }

    /// Restarts the schedule: the next tick is one period from now.
    ///
    /// ```
    /// let mut iv = weft::time::interval_at(weft::time::Instant::now(), std::time::Duration::from_secs(1));
    /// iv.reset();
    /// ```
    pub fn reset(&mut self) {
        self.next = Instant::now() + self.period;
    }
}
