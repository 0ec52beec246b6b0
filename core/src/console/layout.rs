//! The console file's layout: a header, one region per scheduler thread
//! (its ring header, event ring and live-fiber table), then the string
//! arena. All of it is `AtomicU64` words.
//!
//! ```text
//! header    HEADER_WORDS     magic, version, pid, sizes, arena head, counters
//! slot i    SLOT_HEADER_WORDS owner (scheduler id, 0 = free), ring head, thread id,
//!                             gauges (run queue, fibers, timers, ops, blocking jobs),
//!                             while batching: the running fiber, its table index,
//!                             when the batch began
//!           ring              ring_capacity x RECORD_WORDS
//!           live table        live_capacity x ENTRY_WORDS (index = registry key)
//! arena     arena_words
//! ```

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use super::clock::{self, ClockKind, TimeBase};
use super::ring::{Arena, LiveTable, Ring, ENTRY_WORDS, RECORD_WORDS};

/// "WEFTCON1".
pub const MAGIC: u64 = u64::from_le_bytes(*b"WEFTCON1");
/// The layout version this crate writes and reads.
pub const VERSION: u64 = 3;
/// Words of the file header.
pub const HEADER_WORDS: usize = 64;
/// Words of each slot's header.
pub const SLOT_HEADER_WORDS: usize = 16;

mod header {
    pub const MAGIC: usize = 0;
    pub const VERSION: usize = 1;
    pub const PID: usize = 2;
    pub const SLOTS: usize = 3;
    pub const RING_CAPACITY: usize = 4;
    pub const LIVE_CAPACITY: usize = 5;
    pub const ARENA_WORDS: usize = 6;
    pub const ARENA_HEAD: usize = 7;
    pub const LIVE_OVERFLOW: usize = 8;
    pub const CLOCK_KIND: usize = 9;
    pub const CLOCK_TICKS0: usize = 10;
    pub const CLOCK_NS0: usize = 11;
}

/// Words of a slot's header after owner, ring head and thread id.
mod slot_header {
    pub const RUN_QUEUE: usize = 3;
    pub const FIBERS: usize = 4;
    pub const TIMERS: usize = 5;
    pub const OPS_IN_FLIGHT: usize = 6;
    pub const BLOCKING_JOBS: usize = 7;
    pub const RUNNING_FIBER: usize = 8;
    pub const RUNNING_INDEX: usize = 9;
    pub const BATCH_START: usize = 10;
}

/// What a scheduler thread holds, published by its scheduler at each
/// maintenance pass (every few dozen fiber switches, and before it parks).
///
/// ```
/// let g = weft::console::layout::Gauges::default();
/// assert_eq!(g.run_queue + g.fibers, 0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Gauges {
    /// Fibers in the run queue.
    pub run_queue: u64,
    /// Live fibers.
    pub fibers: u64,
    /// Armed timers.
    pub timers: u64,
    /// io_uring operations its fibers have in flight.
    pub ops_in_flight: u64,
    /// Jobs its fibers have on the blocking pool.
    pub blocking_jobs: u64,
}

/// Owner ids with this bit belong to a scheduler's watchdog thread (its
/// ring holds stall events), not to a scheduler.
pub const WATCHDOG_OWNER: u64 = 1 << 62;

/// The sizes a console file is made with.
///
/// ```
/// let g = weft::console::layout::Geometry::DEFAULT;
/// assert!(g.total_words() > g.slots);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    /// Scheduler threads that can record at once.
    pub slots: usize,
    /// Event records per thread before the ring overwrites.
    pub ring_capacity: usize,
    /// Live fibers per thread the table can show.
    pub live_capacity: usize,
    /// Words of string storage (file names, fiber names).
    pub arena_words: usize,
}

impl Geometry {
    /// 16 threads, 8192 events and 16384 live fibers each, 1 MiB of strings
    /// (42 MiB of file, sparse: pages exist only once written).
    pub const DEFAULT: Geometry = Geometry {
        slots: 16,
        ring_capacity: 8192,
        live_capacity: 16384,
        arena_words: 1 << 17,
    };

    fn slot_words(&self) -> usize {
        SLOT_HEADER_WORDS + self.ring_capacity * RECORD_WORDS + self.live_capacity * ENTRY_WORDS
    }

    /// The file's size in words.
    ///
    /// ```
    /// use weft::console::layout::Geometry;
    /// let g = Geometry { slots: 1, ring_capacity: 1, live_capacity: 1, arena_words: 1 };
    /// assert_eq!(g.total_words(), 64 + 16 + 8 + 16 + 1);
    /// ```
    pub fn total_words(&self) -> usize {
        HEADER_WORDS + self.slots * self.slot_words() + self.arena_words
    }
}

/// Why a mapped file is not a console file this crate can read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LayoutError {
    /// Too short, or not starting with the magic word.
    #[error("not a weft console file")]
    NotConsole,
    /// Written by another layout version.
    #[error("weft console file version {0}, this reader knows {VERSION}")]
    Version(u64),
    /// Sizes in the header that do not fit the file.
    #[error("weft console file is truncated or corrupt")]
    Corrupt,
}

/// A console file's words, with its geometry.
///
/// ```
/// use std::sync::atomic::AtomicU64;
/// use weft::console::layout::{Geometry, View};
/// let g = Geometry { slots: 1, ring_capacity: 4, live_capacity: 4, arena_words: 16 };
/// let words: Vec<AtomicU64> = (0..g.total_words()).map(|_| AtomicU64::new(0)).collect();
/// View::init(&words, g, 42);
/// let view = View::open(&words).unwrap();
/// assert_eq!(view.pid(), 42);
/// ```
#[derive(Clone, Copy)]
pub struct View<'a> {
    words: &'a [AtomicU64],
    geometry: Geometry,
}

/// One scheduler thread's region.
#[derive(Clone, Copy)]
pub struct SlotView<'a> {
    header: &'a [AtomicU64; SLOT_HEADER_WORDS],
    /// Its event ring.
    pub ring: Ring<'a>,
    /// Its live-fiber table.
    pub live: LiveTable<'a>,
}

impl<'a> SlotView<'a> {
    /// The scheduler id owning the slot (0: free).
    ///
    /// ```
    /// # use std::sync::atomic::AtomicU64;
    /// # use weft::console::layout::{Geometry, View};
    /// # let g = Geometry { slots: 1, ring_capacity: 4, live_capacity: 4, arena_words: 16 };
    /// # let words: Vec<AtomicU64> = (0..g.total_words()).map(|_| AtomicU64::new(0)).collect();
    /// let view = View::init(&words, g, 1);
    /// assert_eq!(view.slot(0).owner(), 0);
    /// ```
    pub fn owner(&self) -> u64 {
        self.header[0].load(Ordering::Acquire)
    }

    /// The OS thread id of the owner.
    ///
    /// ```
    /// # use std::sync::atomic::AtomicU64;
    /// # use weft::console::layout::{Geometry, View};
    /// # let g = Geometry { slots: 1, ring_capacity: 4, live_capacity: 4, arena_words: 16 };
    /// # let words: Vec<AtomicU64> = (0..g.total_words()).map(|_| AtomicU64::new(0)).collect();
    /// let view = View::init(&words, g, 1);
    /// assert!(view.slot(0).claim(7, 99));
    /// assert_eq!(view.slot(0).thread(), 99);
    /// ```
    pub fn thread(&self) -> u64 {
        self.header[2].load(Ordering::Relaxed)
    }

    /// The thread's gauges, as its scheduler last published them.
    ///
    /// ```
    /// # use std::sync::atomic::AtomicU64;
    /// # use weft::console::layout::{Gauges, Geometry, View};
    /// # let g = Geometry { slots: 1, ring_capacity: 4, live_capacity: 4, arena_words: 16 };
    /// # let words: Vec<AtomicU64> = (0..g.total_words()).map(|_| AtomicU64::new(0)).collect();
    /// let view = View::init(&words, g, 1);
    /// let gauges = Gauges { run_queue: 2, fibers: 5, timers: 1, ops_in_flight: 3, blocking_jobs: 0 };
    /// view.slot(0).set_gauges(&gauges);
    /// assert_eq!(view.slot(0).gauges(), gauges);
    /// ```
    pub fn gauges(&self) -> Gauges {
        let g = |i: usize| self.header[i].load(Ordering::Relaxed);
        Gauges {
            run_queue: g(slot_header::RUN_QUEUE),
            fibers: g(slot_header::FIBERS),
            timers: g(slot_header::TIMERS),
            ops_in_flight: g(slot_header::OPS_IN_FLIGHT),
            blocking_jobs: g(slot_header::BLOCKING_JOBS),
        }
    }

    /// Publishes the thread's gauges (its owner only).
    ///
    /// ```
    /// # use std::sync::atomic::AtomicU64;
    /// # use weft::console::layout::{Gauges, Geometry, View};
    /// # let g = Geometry { slots: 1, ring_capacity: 4, live_capacity: 4, arena_words: 16 };
    /// # let words: Vec<AtomicU64> = (0..g.total_words()).map(|_| AtomicU64::new(0)).collect();
    /// let view = View::init(&words, g, 1);
    /// view.slot(0).set_gauges(&Gauges { fibers: 1, ..Gauges::default() });
    /// assert_eq!(view.slot(0).gauges().fibers, 1);
    /// ```
    pub fn set_gauges(&self, g: &Gauges) {
        let set = |i: usize, v: u64| self.header[i].store(v, Ordering::Relaxed);
        set(slot_header::RUN_QUEUE, g.run_queue);
        set(slot_header::FIBERS, g.fibers);
        set(slot_header::TIMERS, g.timers);
        set(slot_header::OPS_IN_FLIGHT, g.ops_in_flight);
        set(slot_header::BLOCKING_JOBS, g.blocking_jobs);
    }

    /// While the thread batches short runs (see `weft::console`): the
    /// fiber it runs now, its live-table index (its entry's fields are
    /// written even when its key is not yet), and when the batch began;
    /// `(0, _, _)` when not batching (then the table's state words say
    /// which fiber runs). Between two runs of a batch it still names the
    /// last one (the scheduler only takes the next fiber from its queue
    /// then). A fiber's entry keeps its state of before the batch until
    /// its run ends.
    ///
    /// ```
    /// # use std::sync::atomic::AtomicU64;
    /// # use weft::console::layout::{Geometry, View};
    /// # let g = Geometry { slots: 1, ring_capacity: 4, live_capacity: 4, arena_words: 16 };
    /// # let words: Vec<AtomicU64> = (0..g.total_words()).map(|_| AtomicU64::new(0)).collect();
    /// let view = View::init(&words, g, 1);
    /// view.slot(0).set_batch_start(300);
    /// view.slot(0).set_running(12, 2);
    /// assert_eq!(view.slot(0).running(), (12, 2, 300));
    /// ```
    pub fn running(&self) -> (u64, u64, u64) {
        let fiber = self.header[slot_header::RUNNING_FIBER].load(Ordering::Acquire);
        let index = self.header[slot_header::RUNNING_INDEX].load(Ordering::Relaxed);
        let since = self.header[slot_header::BATCH_START].load(Ordering::Relaxed);
        (fiber, index, since)
    }

    /// Names the fiber the batching thread runs now (`0`: none).
    ///
    /// ```
    /// # use std::sync::atomic::AtomicU64;
    /// # use weft::console::layout::{Geometry, View};
    /// # let g = Geometry { slots: 1, ring_capacity: 4, live_capacity: 4, arena_words: 16 };
    /// # let words: Vec<AtomicU64> = (0..g.total_words()).map(|_| AtomicU64::new(0)).collect();
    /// let view = View::init(&words, g, 1);
    /// view.slot(0).set_running(0, 0);
    /// assert_eq!(view.slot(0).running().0, 0);
    /// ```
    #[inline(always)]
    pub fn set_running(&self, fiber: u64, index: u64) {
        self.header[slot_header::RUNNING_INDEX].store(index, Ordering::Relaxed);
        self.header[slot_header::RUNNING_FIBER].store(fiber, Ordering::Release);
    }

    /// Ends the naming of a running fiber (its run ended).
    ///
    /// ```
    /// # use std::sync::atomic::AtomicU64;
    /// # use weft::console::layout::{Geometry, View};
    /// # let g = Geometry { slots: 1, ring_capacity: 4, live_capacity: 4, arena_words: 16 };
    /// # let words: Vec<AtomicU64> = (0..g.total_words()).map(|_| AtomicU64::new(0)).collect();
    /// let view = View::init(&words, g, 1);
    /// view.slot(0).set_running(3, 1);
    /// view.slot(0).clear_running();
    /// assert_eq!(view.slot(0).running().0, 0);
    /// ```
    #[inline(always)]
    pub fn clear_running(&self) {
        self.header[slot_header::RUNNING_FIBER].store(0, Ordering::Release);
    }

    /// Records when the thread's current batch began (in the file's clock).
    ///
    /// ```
    /// # use std::sync::atomic::AtomicU64;
    /// # use weft::console::layout::{Geometry, View};
    /// # let g = Geometry { slots: 1, ring_capacity: 4, live_capacity: 4, arena_words: 16 };
    /// # let words: Vec<AtomicU64> = (0..g.total_words()).map(|_| AtomicU64::new(0)).collect();
    /// let view = View::init(&words, g, 1);
    /// view.slot(0).set_batch_start(9);
    /// assert_eq!(view.slot(0).running().2, 9);
    /// ```
    pub fn set_batch_start(&self, ticks: u64) {
        self.header[slot_header::BATCH_START].store(ticks, Ordering::Relaxed);
    }

    /// Takes a free slot for scheduler `owner` on OS thread `tid`; false if
    /// taken. Clears the ring and the live table.
    ///
    /// ```
    /// # use std::sync::atomic::AtomicU64;
    /// # use weft::console::layout::{Geometry, View};
    /// # let g = Geometry { slots: 1, ring_capacity: 4, live_capacity: 4, arena_words: 16 };
    /// # let words: Vec<AtomicU64> = (0..g.total_words()).map(|_| AtomicU64::new(0)).collect();
    /// let view = View::init(&words, g, 1);
    /// assert!(view.slot(0).claim(7, 1));
    /// assert!(!view.slot(0).claim(8, 1));
    /// ```
    pub fn claim(&self, owner: u64, tid: u64) -> bool {
        if self.header[0]
            .compare_exchange(0, u64::MAX, Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
        {
            return false;
        }
        for i in 0..self.live.len() {
            self.live.clear(i);
        }
        self.set_running(0, 0);
        self.set_batch_start(0);
        self.header[1].store(0, Ordering::Relaxed);
        self.header[2].store(tid, Ordering::Relaxed);
        self.set_gauges(&Gauges::default());
        self.header[0].store(owner, Ordering::Release);
        true
    }

    /// Frees the slot (its scheduler stopped).
    ///
    /// ```
    /// # use std::sync::atomic::AtomicU64;
    /// # use weft::console::layout::{Geometry, View};
    /// # let g = Geometry { slots: 1, ring_capacity: 4, live_capacity: 4, arena_words: 16 };
    /// # let words: Vec<AtomicU64> = (0..g.total_words()).map(|_| AtomicU64::new(0)).collect();
    /// let view = View::init(&words, g, 1);
    /// view.slot(0).claim(7, 1);
    /// view.slot(0).release();
    /// assert_eq!(view.slot(0).owner(), 0);
    /// ```
    pub fn release(&self) {
        self.header[0].store(0, Ordering::Release);
    }
}

impl<'a> View<'a> {
    /// Writes a fresh header for process `pid` into zeroed `words`.
    ///
    /// ```
    /// # use std::sync::atomic::AtomicU64;
    /// # use weft::console::layout::{Geometry, View};
    /// # let g = Geometry { slots: 1, ring_capacity: 4, live_capacity: 4, arena_words: 16 };
    /// # let words: Vec<AtomicU64> = (0..g.total_words()).map(|_| AtomicU64::new(0)).collect();
    /// assert_eq!(View::init(&words, g, 5).pid(), 5);
    /// ```
    pub fn init(words: &'a [AtomicU64], geometry: Geometry, pid: u64) -> View<'a> {
        assert_eq!(
            words.len(),
            geometry.total_words(),
            "a file of the geometry's size"
        );
        let h = &words[..HEADER_WORDS];
        h[header::VERSION].store(VERSION, Ordering::Relaxed);
        h[header::PID].store(pid, Ordering::Relaxed);
        h[header::SLOTS].store(geometry.slots as u64, Ordering::Relaxed);
        h[header::RING_CAPACITY].store(geometry.ring_capacity as u64, Ordering::Relaxed);
        h[header::LIVE_CAPACITY].store(geometry.live_capacity as u64, Ordering::Relaxed);
        h[header::ARENA_WORDS].store(geometry.arena_words as u64, Ordering::Relaxed);
        let view = View { words, geometry };
        view.set_clock(ClockKind::MonotonicNs);
        h[header::MAGIC].store(MAGIC, Ordering::Release);
        view
    }

    /// Records that times in this file are counted by `kind`, with a
    /// (ticks, ns) pair read now (before any event is written).
    ///
    /// ```
    /// # use std::sync::atomic::AtomicU64;
    /// # use weft::console::layout::{Geometry, View};
    /// use weft::console::clock::ClockKind;
    /// # let g = Geometry { slots: 1, ring_capacity: 4, live_capacity: 4, arena_words: 16 };
    /// # let words: Vec<AtomicU64> = (0..g.total_words()).map(|_| AtomicU64::new(0)).collect();
    /// let view = View::init(&words, g, 5);
    /// view.set_clock(ClockKind::MonotonicNs);
    /// assert_eq!(view.clock_kind(), ClockKind::MonotonicNs);
    /// ```
    pub fn set_clock(&self, kind: ClockKind) {
        let (ticks0, ns0) = clock::pair(kind);
        let h = &self.words[..HEADER_WORDS];
        h[header::CLOCK_TICKS0].store(ticks0, Ordering::Relaxed);
        h[header::CLOCK_NS0].store(ns0, Ordering::Relaxed);
        h[header::CLOCK_KIND].store(kind as u64, Ordering::Release);
    }

    /// How this file's times are counted.
    ///
    /// ```
    /// # use std::sync::atomic::AtomicU64;
    /// # use weft::console::layout::{Geometry, View};
    /// # let g = Geometry { slots: 1, ring_capacity: 4, live_capacity: 4, arena_words: 16 };
    /// # let words: Vec<AtomicU64> = (0..g.total_words()).map(|_| AtomicU64::new(0)).collect();
    /// let view = View::init(&words, g, 5);
    /// assert_eq!(view.clock_kind(), weft::console::clock::ClockKind::MonotonicNs);
    /// ```
    pub fn clock_kind(&self) -> ClockKind {
        ClockKind::from_word(self.words[header::CLOCK_KIND].load(Ordering::Acquire))
    }

    /// The file's first clock reading: every time in it is later (state
    /// words keep times relative to it; see `events::split_state_word`).
    ///
    /// ```
    /// # use std::sync::atomic::AtomicU64;
    /// # use weft::console::layout::{Geometry, View};
    /// # let g = Geometry { slots: 1, ring_capacity: 4, live_capacity: 4, arena_words: 16 };
    /// # let words: Vec<AtomicU64> = (0..g.total_words()).map(|_| AtomicU64::new(0)).collect();
    /// let view = View::init(&words, g, 5);
    /// assert!(view.clock_origin() > 0);
    /// ```
    pub fn clock_origin(&self) -> u64 {
        self.words[header::CLOCK_TICKS0].load(Ordering::Relaxed)
    }

    /// The conversion of this file's times to `CLOCK_MONOTONIC` ns (may
    /// sleep up to 50 ms when the file is younger than that; see
    /// [`TimeBase::calibrate`]).
    ///
    /// ```
    /// # use std::sync::atomic::AtomicU64;
    /// # use weft::console::layout::{Geometry, View};
    /// # let g = Geometry { slots: 1, ring_capacity: 4, live_capacity: 4, arena_words: 16 };
    /// # let words: Vec<AtomicU64> = (0..g.total_words()).map(|_| AtomicU64::new(0)).collect();
    /// let view = View::init(&words, g, 5);
    /// assert_eq!(view.time_base().to_ns(17), 17);
    /// ```
    pub fn time_base(&self) -> TimeBase {
        let kind = self.clock_kind();
        TimeBase::calibrate(
            kind,
            self.words[header::CLOCK_TICKS0].load(Ordering::Relaxed),
            self.words[header::CLOCK_NS0].load(Ordering::Relaxed),
        )
    }

    /// Reads the header of a mapped file and checks it.
    ///
    /// ```
    /// use std::sync::atomic::AtomicU64;
    /// let words: Vec<AtomicU64> = (0..100).map(|_| AtomicU64::new(0)).collect();
    /// assert!(weft::console::layout::View::open(&words).is_err());
    /// ```
    pub fn open(words: &'a [AtomicU64]) -> Result<View<'a>, LayoutError> {
        if words.len() < HEADER_WORDS || words[header::MAGIC].load(Ordering::Acquire) != MAGIC {
            return Err(LayoutError::NotConsole);
        }
        let get = |i: usize| words[i].load(Ordering::Relaxed) as usize;
        let version = get(header::VERSION) as u64;
        if version != VERSION {
            return Err(LayoutError::Version(version));
        }
        let geometry = Geometry {
            slots: get(header::SLOTS),
            ring_capacity: get(header::RING_CAPACITY),
            live_capacity: get(header::LIVE_CAPACITY),
            arena_words: get(header::ARENA_WORDS),
        };
        let sane = geometry.slots <= 4096
            && geometry.ring_capacity > 0
            && geometry.ring_capacity <= 1 << 24
            && geometry.live_capacity <= 1 << 24
            && geometry.arena_words <= 1 << 28;
        if !sane || geometry.total_words() != words.len() {
            return Err(LayoutError::Corrupt);
        }
        Ok(View { words, geometry })
    }

    /// The sizes.
    ///
    /// ```
    /// # use std::sync::atomic::AtomicU64;
    /// # use weft::console::layout::{Geometry, View};
    /// # let g = Geometry { slots: 1, ring_capacity: 4, live_capacity: 4, arena_words: 16 };
    /// # let words: Vec<AtomicU64> = (0..g.total_words()).map(|_| AtomicU64::new(0)).collect();
    /// assert_eq!(View::init(&words, g, 5).geometry(), g);
    /// ```
    pub fn geometry(&self) -> Geometry {
        self.geometry
    }

    /// The writing process's id.
    ///
    /// ```
    /// # use std::sync::atomic::AtomicU64;
    /// # use weft::console::layout::{Geometry, View};
    /// # let g = Geometry { slots: 1, ring_capacity: 4, live_capacity: 4, arena_words: 16 };
    /// # let words: Vec<AtomicU64> = (0..g.total_words()).map(|_| AtomicU64::new(0)).collect();
    /// assert_eq!(View::init(&words, g, 5).pid(), 5);
    /// ```
    pub fn pid(&self) -> u64 {
        self.words[header::PID].load(Ordering::Relaxed)
    }

    /// Live fibers the tables could not show (a registry key beyond
    /// `live_capacity`).
    ///
    /// ```
    /// # use std::sync::atomic::AtomicU64;
    /// # use weft::console::layout::{Geometry, View};
    /// # let g = Geometry { slots: 1, ring_capacity: 4, live_capacity: 4, arena_words: 16 };
    /// # let words: Vec<AtomicU64> = (0..g.total_words()).map(|_| AtomicU64::new(0)).collect();
    /// assert_eq!(View::init(&words, g, 5).live_overflow(), 0);
    /// ```
    pub fn live_overflow(&self) -> u64 {
        self.words[header::LIVE_OVERFLOW].load(Ordering::Relaxed)
    }

    pub(crate) fn count_live_overflow(&self) {
        self.words[header::LIVE_OVERFLOW].fetch_add(1, Ordering::Relaxed);
    }

    /// Slot `i` (`i < geometry().slots`).
    ///
    /// ```
    /// # use std::sync::atomic::AtomicU64;
    /// # use weft::console::layout::{Geometry, View};
    /// # let g = Geometry { slots: 2, ring_capacity: 4, live_capacity: 4, arena_words: 16 };
    /// # let words: Vec<AtomicU64> = (0..g.total_words()).map(|_| AtomicU64::new(0)).collect();
    /// let view = View::init(&words, g, 5);
    /// assert_eq!(view.slot(1).ring.capacity(), 4);
    /// ```
    pub fn slot(&self, i: usize) -> SlotView<'a> {
        assert!(i < self.geometry.slots, "slot {i} out of range");
        let g = self.geometry;
        let start = HEADER_WORDS + i * g.slot_words();
        let header: &[AtomicU64; SLOT_HEADER_WORDS] = self.words[start..start + SLOT_HEADER_WORDS]
            .try_into()
            .expect("a slot header is SLOT_HEADER_WORDS long");
        let ring_start = start + SLOT_HEADER_WORDS;
        let ring_end = ring_start + g.ring_capacity * RECORD_WORDS;
        let live_end = ring_end + g.live_capacity * ENTRY_WORDS;
        SlotView {
            header,
            ring: Ring::new(&header[1], &self.words[ring_start..ring_end]),
            live: LiveTable::new(&self.words[ring_end..live_end]),
        }
    }

    /// The string arena.
    ///
    /// ```
    /// # use std::sync::atomic::AtomicU64;
    /// # use weft::console::layout::{Geometry, View};
    /// # let g = Geometry { slots: 1, ring_capacity: 4, live_capacity: 4, arena_words: 16 };
    /// # let words: Vec<AtomicU64> = (0..g.total_words()).map(|_| AtomicU64::new(0)).collect();
    /// let view = View::init(&words, g, 5);
    /// let id = view.arena().append("x").unwrap();
    /// assert_eq!(view.arena().get(id).unwrap(), "x");
    /// ```
    pub fn arena(&self) -> Arena<'a> {
        let start = self.words.len() - self.geometry.arena_words;
        Arena::new(&self.words[header::ARENA_HEAD], &self.words[start..])
    }
}

/// The directory console files live in: `$XDG_RUNTIME_DIR` when it names
/// a directory, else `/tmp`.
///
/// ```
/// assert!(weft::console::layout::directory().is_absolute());
/// ```
pub fn directory() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(d) if !d.is_empty() && std::path::Path::new(&d).is_dir() => PathBuf::from(d),
        _ => PathBuf::from("/tmp"),
    }
}

/// The console file of process `pid`: `weft-console-<pid>.ring` in
/// [`directory`].
///
/// ```
/// let p = weft::console::layout::path_for(42);
/// assert!(p.ends_with("weft-console-42.ring"));
/// ```
pub fn path_for(pid: u32) -> PathBuf {
    directory().join(file_name(pid))
}

/// `weft-console-<pid>.ring`.
///
/// ```
/// assert_eq!(weft::console::layout::file_name(7), "weft-console-7.ring");
/// ```
pub fn file_name(pid: u32) -> String {
    format!("weft-console-{pid}.ring")
}

/// The PID a console file name names, if it is one.
///
/// ```
/// use weft::console::layout::pid_of_file_name;
/// assert_eq!(pid_of_file_name("weft-console-7.ring"), Some(7));
/// assert_eq!(pid_of_file_name("other"), None);
/// ```
pub fn pid_of_file_name(name: &str) -> Option<u32> {
    name.strip_prefix("weft-console-")?
        .strip_suffix(".ring")?
        .parse()
        .ok()
}

/// Whether process `pid` exists (it may belong to another user).
///
/// ```
/// assert!(weft::console::layout::process_alive(std::process::id()));
/// ```
pub fn process_alive(pid: u32) -> bool {
    if pid == 0 || pid > i32::MAX as u32 {
        return false;
    }
    // SAFETY: kill with signal 0 only checks that the process exists.
    let r = unsafe { libc::kill(pid as libc::pid_t, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// The `CLOCK_MONOTONIC` time in nanoseconds (see [`clock::monotonic_ns`]).
///
/// ```
/// let a = weft::console::layout::monotonic_ns();
/// assert!(weft::console::layout::monotonic_ns() >= a);
/// ```
pub use super::clock::monotonic_ns;
