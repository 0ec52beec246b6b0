//! One look at every live fiber of a process (its live tables).

use serde::{Deserialize, Serialize};
use weft::console::events::{field, is_live, split_location, State, WaitKind};
use weft::console::layout::{monotonic_ns, Gauges, SlotView, View, WATCHDOG_OWNER};
use weft::console::ring::Arena;

use crate::Attached;

/// Every live fiber of a process, per scheduler thread.
///
/// ```no_run
/// let a = weft_console::Attached::open(1234)?;
/// let snap = weft_console::Snapshot::take(&a);
/// println!("{}", serde_json::to_string_pretty(&snap).unwrap());
/// # Ok::<(), weft_console::ConsoleError>(())
/// ```
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Snapshot {
    /// The process.
    pub pid: u32,
    /// Its scheduler threads that record.
    pub threads: Vec<ThreadInfo>,
    /// Its live fibers, by thread then id.
    pub fibers: Vec<FiberInfo>,
    /// Live fibers the tables had no room for (not listed).
    pub unlisted: u64,
}

/// A scheduler thread.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ThreadInfo {
    /// Its OS thread id.
    pub tid: u64,
    /// Its scheduler id.
    pub scheduler: u64,
    /// Events it recorded so far.
    pub events: u64,
    /// Fibers in its run queue (at its last maintenance pass).
    #[serde(default)]
    pub run_queue: u64,
    /// Live fibers it holds (idem).
    #[serde(default)]
    pub live_fibers: u64,
    /// Armed timers (idem).
    #[serde(default)]
    pub timers: u64,
    /// io_uring operations its fibers have in flight.
    #[serde(default)]
    pub ops_in_flight: u64,
    /// Jobs its fibers have on the blocking pool.
    #[serde(default)]
    pub blocking_jobs: u64,
}

/// A live fiber.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct FiberInfo {
    /// The fiber id (`weft::fiber::id`).
    pub id: u64,
    /// Its name, if it has one.
    pub name: Option<String>,
    /// `running`, `runnable` or `waiting`.
    pub state: String,
    /// Its switch (cancellation context) id, in hex.
    pub switch: String,
    /// The fiber that created it (0: none).
    pub parent: u64,
    /// The OS thread it lives on.
    pub thread: u64,
    /// What it waits on when waiting (`lock`, `recv`, `read`, `sleep`,
    /// `accept`, `join`...: `weft::console::events::WaitKind::name`).
    pub waiting_on: Option<String>,
    /// Where it blocks (`file:line`), when waiting.
    pub blocked_at: Option<String>,
    /// How long it has been waiting, when waiting.
    pub blocked_for_ms: Option<f64>,
    /// How long it has been running without suspending or yielding, when
    /// running (its thread runs nothing else meanwhile).
    #[serde(default)]
    pub running_for_ms: Option<f64>,
    /// Where it was forked or spawned, when known.
    pub spawned_at: Option<String>,
    /// How many times it ran.
    pub runs: u64,
    /// How long it ran in total.
    pub busy_ms: f64,
}

/// Whether a slot belongs to a running scheduler (not free, being
/// claimed, or a watchdog's).
fn is_scheduler(slot: &SlotView<'_>) -> bool {
    let owner = slot.owner();
    owner != 0 && owner != u64::MAX && owner & WATCHDOG_OWNER == 0
}

impl ThreadInfo {
    /// A scheduler thread's slot header: ids, event count and gauges.
    fn of_slot(slot: &SlotView<'_>) -> ThreadInfo {
        let Gauges {
            run_queue,
            fibers: live_fibers,
            timers,
            ops_in_flight,
            blocking_jobs,
        } = slot.gauges();
        ThreadInfo {
            tid: slot.thread(),
            scheduler: slot.owner(),
            events: slot.ring.written(),
            run_queue,
            live_fibers,
            timers,
            ops_in_flight,
            blocking_jobs,
        }
    }

    /// The scheduler threads of a console file, without reading the live
    /// tables (cheap enough to do every few milliseconds).
    ///
    /// ```
    /// # use std::sync::atomic::AtomicU64;
    /// use weft::console::layout::{Geometry, View};
    /// let g = Geometry { slots: 2, ring_capacity: 4, live_capacity: 4, arena_words: 16 };
    /// let words: Vec<AtomicU64> = (0..g.total_words()).map(|_| AtomicU64::new(0)).collect();
    /// let view = View::init(&words, g, 9);
    /// view.slot(1).claim(3, 77);
    /// let threads = weft_console::ThreadInfo::all(&view);
    /// assert_eq!((threads.len(), threads[0].tid, threads[0].scheduler), (1, 77, 3));
    /// ```
    pub fn all(view: &View<'_>) -> Vec<ThreadInfo> {
        (0..view.geometry().slots)
            .map(|i| view.slot(i))
            .filter(is_scheduler)
            .map(|s| ThreadInfo::of_slot(&s))
            .collect()
    }
}

/// `file:line` of a location word, if its file is known.
pub(crate) fn location(arena: &Arena<'_>, word: u64) -> Option<String> {
    let (file, line) = split_location(word);
    arena.get(file).map(|f| format!("{f}:{line}"))
}

impl Snapshot {
    /// Reads the live tables of an attached process.
    ///
    /// ```no_run
    /// let a = weft_console::Attached::open(1234)?;
    /// for f in weft_console::Snapshot::take(&a).fibers {
    ///     println!("{} {}", f.id, f.state);
    /// }
    /// # Ok::<(), weft_console::ConsoleError>(())
    /// ```
    pub fn take(attached: &Attached) -> Snapshot {
        Self::of_view(attached.pid(), &attached.view())
    }

    /// Reads the live tables of a console file's view.
    ///
    /// ```
    /// # use std::sync::atomic::AtomicU64;
    /// use weft::console::layout::{Geometry, View};
    /// let g = Geometry { slots: 1, ring_capacity: 4, live_capacity: 4, arena_words: 16 };
    /// let words: Vec<AtomicU64> = (0..g.total_words()).map(|_| AtomicU64::new(0)).collect();
    /// let view = View::init(&words, g, 9);
    /// assert!(weft_console::Snapshot::of_view(9, &view).fibers.is_empty());
    /// ```
    pub fn of_view(pid: u32, view: &View<'_>) -> Snapshot {
        let arena = view.arena();
        let time = view.time_base();
        let now = monotonic_ns();
        let mut threads = Vec::new();
        let mut fibers = Vec::new();
        for slot in (0..view.geometry().slots).map(|i| view.slot(i)) {
            if !is_scheduler(&slot) {
                continue;
            }
            let tid = slot.thread();
            threads.push(ThreadInfo::of_slot(&slot));
            let mut mine = Vec::new();
            for i in 0..slot.live.len() {
                let Some(e) = slot.live.read(i) else { continue };
                if !is_live(&e) {
                    continue;
                }
                let state = State::from_word(e[field::STATE]);
                let waiting = state == Some(State::Waiting);
                mine.push(FiberInfo {
                    id: e[field::FIBER],
                    name: arena.get(e[field::NAME] as u32),
                    state: state.map_or("unknown", State::name).to_string(),
                    switch: format!("{:x}", e[field::SWITCH]),
                    parent: e[field::PARENT],
                    thread: tid,
                    waiting_on: if waiting {
                        WaitKind::from_word(e[field::WAITING_ON]).map(|k| k.name().to_string())
                    } else {
                        None
                    },
                    blocked_at: if waiting {
                        location(&arena, e[field::BLOCKED_AT])
                    } else {
                        None
                    },
                    blocked_for_ms: waiting
                        .then(|| now.saturating_sub(time.to_ns(e[field::SINCE])) as f64 / 1e6),
                    running_for_ms: (state == Some(State::Running))
                        .then(|| now.saturating_sub(time.to_ns(e[field::SINCE])) as f64 / 1e6),
                    spawned_at: location(&arena, e[field::SPAWN_AT]),
                    runs: e[field::RUNS],
                    busy_ms: time.span_ns(e[field::BUSY_TICKS]) as f64 / 1e6,
                });
            }
            mine.sort_by_key(|f| f.id);
            fibers.extend(mine);
        }
        Snapshot {
            pid,
            threads,
            fibers,
            unlisted: view.live_overflow(),
        }
    }

    /// A table for people: one line per fiber.
    ///
    /// ```
    /// let s = weft_console::Snapshot { pid: 1, threads: vec![], fibers: vec![], unlisted: 0 };
    /// assert!(s.to_text().starts_with("process 1: 0 fibers"));
    /// ```
    pub fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "process {}: {} fibers on {} threads{}",
            self.pid,
            self.fibers.len(),
            self.threads.len(),
            if self.unlisted > 0 {
                format!(" ({} not listed: tables full)", self.unlisted)
            } else {
                String::new()
            }
        );
        let _ = writeln!(
            out,
            "{:>6} {:<16} {:<9} {:>10} {:<12} {:<14} WHERE",
            "ID", "NAME", "STATE", "FOR", "ON", "SWITCH"
        );
        for f in &self.fibers {
            let _ = writeln!(
                out,
                "{:>6} {:<16} {:<9} {:>10} {:<12} {:<14} {}",
                f.id,
                f.name.as_deref().unwrap_or("-"),
                f.state,
                f.blocked_for_ms
                    .map(|ms| format!("{ms:.0}ms"))
                    .unwrap_or_default(),
                f.waiting_on.as_deref().unwrap_or(""),
                f.switch,
                f.blocked_at.as_deref().unwrap_or("")
            );
        }
        out
    }
}
