//! The event clock. Writers stamp events with [`ticks`]: the CPU's
//! time-stamp counter where it is invariant (x86_64 with `constant_tsc`
//! and `nonstop_tsc`: one counter for every core, at a fixed rate), which
//! costs a fraction of a `clock_gettime` call, else `CLOCK_MONOTONIC`
//! nanoseconds. The file's header says which, with one (ticks, ns) pair
//! taken when the file was made; a reader turns ticks into
//! `CLOCK_MONOTONIC` nanoseconds with a [`TimeBase`], which it calibrates
//! against that pair (the TSC is the same counter in every process).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

/// Whether [`ticks`] reads the TSC (set before the first event is written).
static USE_TSC: AtomicBool = AtomicBool::new(false);
/// Event-clock ticks per microsecond, roughly (set with `USE_TSC`).
static TICKS_PER_US: AtomicU64 = AtomicU64::new(1000);

/// How a console file's times are counted.
///
/// ```
/// use weft::console::clock::ClockKind;
/// assert_eq!(ClockKind::from_word(1), ClockKind::Tsc);
/// assert_eq!(ClockKind::from_word(0), ClockKind::MonotonicNs);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum ClockKind {
    /// `CLOCK_MONOTONIC` nanoseconds.
    MonotonicNs = 0,
    /// Time-stamp counter ticks.
    Tsc = 1,
}

impl ClockKind {
    /// The kind a header word names (anything unknown reads as ns).
    ///
    /// ```
    /// use weft::console::clock::ClockKind;
    /// assert_eq!(ClockKind::from_word(7), ClockKind::MonotonicNs);
    /// ```
    pub fn from_word(w: u64) -> ClockKind {
        if w == ClockKind::Tsc as u64 {
            ClockKind::Tsc
        } else {
            ClockKind::MonotonicNs
        }
    }
}

/// The `CLOCK_MONOTONIC` time in nanoseconds (the same in every process of
/// the machine).
///
/// ```
/// let a = weft::console::clock::monotonic_ns();
/// assert!(weft::console::clock::monotonic_ns() >= a);
/// ```
#[inline]
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to write into.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn read_tsc() -> u64 {
    // SAFETY: RDTSC exists on every x86_64 CPU and has no preconditions.
    unsafe { core::arch::x86_64::_rdtsc() }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn read_tsc() -> u64 {
    monotonic_ns()
}

/// Whether this machine's TSC can stamp events (read once): x86_64, and
/// `/proc/cpuinfo` lists `constant_tsc` and `nonstop_tsc`. The variable
/// `WEFT_CONSOLE_CLOCK=monotonic` forces `CLOCK_MONOTONIC`.
///
/// ```
/// let _ = weft::console::clock::tsc_usable();
/// ```
pub fn tsc_usable() -> bool {
    static USABLE: OnceLock<bool> = OnceLock::new();
    *USABLE.get_or_init(|| {
        if !cfg!(target_arch = "x86_64")
            || std::env::var("WEFT_CONSOLE_CLOCK").as_deref() == Ok("monotonic")
        {
            return false;
        }
        let Ok(info) = std::fs::read_to_string("/proc/cpuinfo") else {
            return false;
        };
        let flags = info
            .lines()
            .find(|l| l.starts_with("flags"))
            .unwrap_or_default();
        let has = |f: &str| flags.split_whitespace().any(|w| w == f);
        has("constant_tsc") && has("nonstop_tsc")
    })
}

/// Chooses the clock events are stamped with for this process and returns
/// it (the same answer every time). Called when the file is made.
pub(crate) fn choose() -> ClockKind {
    let tsc = tsc_usable();
    TICKS_PER_US.store(
        if tsc { measure_tsc_per_us() } else { 1000 },
        Ordering::Relaxed,
    );
    USE_TSC.store(tsc, Ordering::Relaxed);
    if tsc {
        ClockKind::Tsc
    } else {
        ClockKind::MonotonicNs
    }
}

/// TSC ticks per microsecond, from 200 us of spinning against
/// `CLOCK_MONOTONIC`: good to a few percent, which is all the hooks need
/// (they compare run lengths with a threshold; readers calibrate their own
/// exact rate).
fn measure_tsc_per_us() -> u64 {
    let (t0, ns0) = pair(ClockKind::Tsc);
    let (mut t1, mut ns1) = (t0, ns0);
    while ns1.saturating_sub(ns0) < 200_000 {
        (t1, ns1) = pair(ClockKind::Tsc);
    }
    (t1.saturating_sub(t0) * 1000 / ns1.saturating_sub(ns0).max(1)).max(1)
}

/// Event-clock ticks in `ns` nanoseconds (roughly, for thresholds).
///
/// ```
/// assert!(weft::console::clock::ticks_in_ns(2000) >= 2);
/// ```
pub fn ticks_in_ns(ns: u64) -> u64 {
    ns.saturating_mul(TICKS_PER_US.load(Ordering::Relaxed)) / 1000
}

/// The event clock now: TSC ticks where [`tsc_usable`] (once the
/// console file is made), else `CLOCK_MONOTONIC` nanoseconds.
///
/// ```
/// let a = weft::console::clock::ticks();
/// assert!(weft::console::clock::ticks() >= a);
/// ```
#[inline]
pub fn ticks() -> u64 {
    if USE_TSC.load(Ordering::Relaxed) {
        read_tsc()
    } else {
        monotonic_ns()
    }
}

/// A (ticks, ns) pair read as close together as the machine allows: the
/// TSC is read on both sides of the clock and averaged, and of a few
/// tries the tightest is kept (a try the OS interrupted is wide).
///
/// ```
/// let (t, ns) = weft::console::clock::pair(weft::console::clock::ClockKind::MonotonicNs);
/// assert!(t > 0 && ns > 0);
/// ```
pub fn pair(kind: ClockKind) -> (u64, u64) {
    match kind {
        ClockKind::MonotonicNs => {
            let ns = monotonic_ns();
            (ns, ns)
        }
        ClockKind::Tsc => {
            let mut best = (u64::MAX, 0, 0);
            for _ in 0..5 {
                let a = read_tsc();
                let ns = monotonic_ns();
                let b = read_tsc();
                let gap = b.saturating_sub(a);
                if gap < best.0 {
                    best = (gap, a + gap / 2, ns);
                }
            }
            (best.1, best.2)
        }
    }
}

/// Turns a file's ticks into `CLOCK_MONOTONIC` nanoseconds.
///
/// ```
/// use weft::console::clock::{ClockKind, TimeBase};
/// let tb = TimeBase::identity();
/// assert_eq!(tb.to_ns(123), 123);
/// assert_eq!(tb.span_ns(40), 40);
/// assert_eq!(tb.kind(), ClockKind::MonotonicNs);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TimeBase {
    kind: ClockKind,
    ticks0: u64,
    ns0: u64,
    ns_per_tick: f64,
}

/// How far apart the two pairs of a calibration must be at least (the
/// conversion's error is the pairs' error, ~100 ns, over this distance).
const MIN_CALIBRATION: Duration = Duration::from_millis(50);

impl TimeBase {
    /// Ticks that are already nanoseconds.
    ///
    /// ```
    /// assert_eq!(weft::console::clock::TimeBase::identity().to_ns(5), 5);
    /// ```
    pub fn identity() -> TimeBase {
        TimeBase {
            kind: ClockKind::MonotonicNs,
            ticks0: 0,
            ns0: 0,
            ns_per_tick: 1.0,
        }
    }

    /// The conversion for a file whose clock is `kind` with the pair
    /// (`ticks0`, `ns0`) taken when it was made: the rate comes from that
    /// pair and one read now (after a short sleep when the file is younger
    /// than 50 ms, so the rate is exact to a few parts per million).
    ///
    /// ```
    /// use weft::console::clock::{pair, ClockKind, TimeBase};
    /// let (t, ns) = pair(ClockKind::MonotonicNs);
    /// let tb = TimeBase::calibrate(ClockKind::MonotonicNs, t, ns);
    /// assert_eq!(tb.to_ns(t + 10), ns + 10);
    /// ```
    pub fn calibrate(kind: ClockKind, ticks0: u64, ns0: u64) -> TimeBase {
        if kind == ClockKind::MonotonicNs {
            return TimeBase::identity();
        }
        let age = Duration::from_nanos(monotonic_ns().saturating_sub(ns0));
        if age < MIN_CALIBRATION {
            std::thread::sleep(MIN_CALIBRATION - age);
        }
        let (ticks1, ns1) = pair(kind);
        let dt = ticks1.saturating_sub(ticks0);
        let ns_per_tick = if dt == 0 {
            1.0
        } else {
            ns1.saturating_sub(ns0) as f64 / dt as f64
        };
        TimeBase {
            kind,
            ticks0,
            ns0,
            ns_per_tick,
        }
    }

    /// The clock the ticks come from.
    ///
    /// ```
    /// use weft::console::clock::{ClockKind, TimeBase};
    /// assert_eq!(TimeBase::identity().kind(), ClockKind::MonotonicNs);
    /// ```
    pub fn kind(&self) -> ClockKind {
        self.kind
    }

    /// The `CLOCK_MONOTONIC` time of a tick count (0 stays 0: "never").
    ///
    /// ```
    /// assert_eq!(weft::console::clock::TimeBase::identity().to_ns(0), 0);
    /// ```
    pub fn to_ns(&self, ticks: u64) -> u64 {
        if ticks == 0 || self.kind == ClockKind::MonotonicNs {
            return ticks;
        }
        let delta = ticks as i128 - self.ticks0 as i128;
        let ns = self.ns0 as f64 + delta as f64 * self.ns_per_tick;
        ns.max(1.0) as u64
    }

    /// The length in nanoseconds of a span of `ticks`.
    ///
    /// ```
    /// assert_eq!(weft::console::clock::TimeBase::identity().span_ns(7), 7);
    /// ```
    pub fn span_ns(&self, ticks: u64) -> u64 {
        (ticks as f64 * self.ns_per_tick) as u64
    }
}
