//! One look at every live fiber of a process (its live tables).

use serde::{Deserialize, Serialize};
use weft::console::clock::TimeBase;
use weft::console::events::{field, is_live, split_location, split_state_word, State, WaitKind};
use weft::console::layout::{monotonic_ns, Gauges, SlotView, View, WATCHDOG_OWNER};
use weft::console::ring::Arena;
use weft::console::ring::Entry;

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
    /// How long it has been waiting, when waiting (when it began waiting
    /// inside a batch of short runs, since the batch began: at most one
    /// batch, a few dozen short runs, too long).
    pub blocked_for_ms: Option<f64>,
    /// How long it has been running without suspending or yielding, when
    /// running (its thread runs nothing else meanwhile).
    #[serde(default)]
    pub running_for_ms: Option<f64>,
    /// Where it was forked or spawned, when known.
    pub spawned_at: Option<String>,
    /// How many times it ran.
    pub runs: u64,
    /// How long its timed runs took in total (runs inside a batch of
    /// short runs count in `runs` only: see `weft::console`, "Batches").
    pub busy_ms: f64,
}

/// What turns a live-table entry into a [`FiberInfo`].
struct Reading<'a> {
    arena: &'a Arena<'a>,
    time: &'a TimeBase,
    origin: u64,
    now: u64,
    tid: u64,
}

impl Reading<'_> {
    fn fiber(&self, id: u64, e: &Entry) -> FiberInfo {
        let (arena, time, now) = (self.arena, self.time, self.now);
        let (state, on, since) = split_state_word(e[field::STATE], self.origin);
        let waiting = state == Some(State::Waiting);
        let for_ms = || now.saturating_sub(time.to_ns(since)) as f64 / 1e6;
        FiberInfo {
            id,
            name: arena.get(e[field::NAME] as u32),
            state: state.map_or("unknown", State::name).to_string(),
            switch: format!("{:x}", e[field::SWITCH]),
            parent: e[field::PARENT],
            thread: self.tid,
            waiting_on: if waiting {
                WaitKind::from_word(on).map(|k| k.name().to_string())
            } else {
                None
            },
            blocked_at: if waiting {
                location(arena, e[field::BLOCKED_AT])
            } else {
                None
            },
            blocked_for_ms: waiting.then(for_ms),
            running_for_ms: (state == Some(State::Running)).then(for_ms),
            spawned_at: location(arena, e[field::SPAWN_AT]),
            runs: e[field::RUNS],
            busy_ms: time.span_ns(e[field::BUSY_TICKS]) as f64 / 1e6,
        }
    }
}

/// The fiber a batching thread runs now (see `SlotView::running`): its
/// id, its entry's fields and since when it runs (the batch's start), when
/// the header names one and did not change while read.
fn running_in_batch(slot: &SlotView<'_>) -> Option<(u64, Entry, u64)> {
    let (id, index, since) = slot.running();
    let index = usize::try_from(index).ok()?;
    if id == 0 || index >= slot.live.len() {
        return None;
    }
    let mut e = [0; weft::console::ring::ENTRY_FIELDS];
    for (f, v) in e.iter_mut().enumerate() {
        *v = slot.live.get(index, f);
    }
    std::sync::atomic::fence(std::sync::atomic::Ordering::Acquire);
    (slot.running() == (id, index as u64, since)).then_some((id, e, since))
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
            let read = Reading {
                arena: &arena,
                time: &time,
                origin: view.clock_origin(),
                now,
                tid,
            };
            for i in 0..slot.live.len() {
                let Some(e) = slot.live.read(i) else { continue };
                if !is_live(&e) {
                    continue;
                }
                mine.push(read.fiber(e[field::FIBER], &e));
            }
            if let Some((id, e, since)) = running_in_batch(&slot) {
                // The header is newer than the entry's state (of before
                // the batch); a fiber created in the batch is not listed.
                mine.retain(|f| f.id != id);
                let mut f = read.fiber(id, &e);
                f.state = State::Running.name().to_string();
                f.waiting_on = None;
                f.blocked_at = None;
                f.blocked_for_ms = None;
                f.running_for_ms = Some(now.saturating_sub(time.to_ns(since)) as f64 / 1e6);
                mine.push(f);
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;
    use weft::console::layout::Geometry;

    /// The words of a one-slot file.
    fn file() -> Vec<AtomicU64> {
        let g = Geometry {
            slots: 1,
            ring_capacity: 4,
            live_capacity: 4,
            arena_words: 16,
        };
        (0..g.total_words()).map(|_| AtomicU64::new(0)).collect()
    }

    /// The file with its slot claimed; its table holds fiber 5, waiting
    /// since the file's first clock reading, and fiber 6's fields written
    /// but not published (a fiber created in a batch).
    fn setup(words: &[AtomicU64]) -> View<'_> {
        use weft::console::events::state_word;
        let g = Geometry {
            slots: 1,
            ring_capacity: 4,
            live_capacity: 4,
            arena_words: 16,
        };
        let view = View::init(words, g, 9);
        let slot = view.slot(0);
        assert!(slot.claim(1, 77));
        let origin = view.clock_origin();
        let waiting = state_word(State::Waiting, WaitKind::Recv as u64, origin);
        let e = slot.live.entry(1);
        e.set(field::PARENT, 1);
        e.publish(field::STATE, waiting);
        e.publish(field::FIBER, 5);
        let e = slot.live.entry(2);
        e.set(field::PARENT, 5);
        e.set(field::RUNS, 3);
        e.publish(field::STATE, state_word(State::Runnable, 0, origin));
        view
    }

    #[test]
    fn a_batching_thread_s_running_fiber_shows_as_running_listed_or_not() {
        let words = file();
        let view = setup(&words);
        let slot = view.slot(0);
        let of = |snap: &Snapshot, id| snap.fibers.iter().find(|f| f.id == id).cloned();

        let before = Snapshot::of_view(9, &view);
        assert_eq!(of(&before, 5).unwrap().state, "waiting");
        assert!(of(&before, 6).is_none(), "not published, not running");

        slot.set_batch_start(view.clock_origin());
        slot.set_running(5, 1);
        let five = of(&Snapshot::of_view(9, &view), 5).unwrap();
        assert_eq!(five.state, "running", "the header is newer than the entry");
        assert!(five.running_for_ms.is_some() && five.blocked_at.is_none());

        slot.set_running(6, 2);
        let snap = Snapshot::of_view(9, &view);
        let six = of(&snap, 6).expect("the running fiber the table does not list");
        assert_eq!(
            (six.state.as_str(), six.parent, six.runs),
            ("running", 5, 3)
        );
        assert_eq!(of(&snap, 5).unwrap().state, "waiting");

        slot.clear_running();
        assert!(of(&Snapshot::of_view(9, &view), 6).is_none());
    }
}
