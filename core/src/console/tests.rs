//! The ring, the live table and the arena under wrap-around, slow readers
//! and a writer that outruns its reader.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use super::ring::{Arena, LiveTable, Payload, Ring, ENTRY_WORDS, RECORD_WORDS};

fn words(n: usize) -> Vec<AtomicU64> {
    (0..n).map(|_| AtomicU64::new(0)).collect()
}

/// A payload whose every word derives from `i`, so a torn record shows.
fn record(i: u64) -> Payload {
    [
        i,
        i ^ 0xAAAA,
        i.wrapping_mul(3),
        i + 7,
        !i,
        i << 1,
        i.rotate_left(17),
    ]
}

fn check(p: &Payload) -> u64 {
    let i = p[0];
    assert_eq!(*p, record(i), "a torn record");
    i
}

#[test]
fn wraps_around_and_keeps_the_newest() {
    let w = words(1 + 8 * RECORD_WORDS);
    let ring = Ring::new(&w[0], &w[1..]);
    let (mut pos, mut out) = (0, Vec::new());
    for i in 0..5 {
        ring.push(&record(i));
    }
    assert_eq!(ring.read(&mut pos, &mut out), 0);
    assert_eq!(out.iter().map(check).collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
    // Ten more: the ring (8) wraps; the reader is at 5, so 15 - 8 - 5 = 2 lost.
    out.clear();
    for i in 5..15 {
        ring.push(&record(i));
    }
    assert_eq!(ring.read(&mut pos, &mut out), 2);
    assert_eq!(
        out.iter().map(check).collect::<Vec<_>>(),
        (7..15).collect::<Vec<_>>()
    );
    assert_eq!(pos, 15);
    // Nothing new: nothing read, nothing lost.
    out.clear();
    assert_eq!(ring.read(&mut pos, &mut out), 0);
    assert!(out.is_empty());
}

#[test]
fn a_reader_past_a_reset_ring_starts_over() {
    let w = words(1 + 4 * RECORD_WORDS);
    let ring = Ring::new(&w[0], &w[1..]);
    ring.push(&record(1));
    let (mut pos, mut out) = (10, Vec::new());
    assert_eq!(ring.read(&mut pos, &mut out), 0);
    assert_eq!(out.iter().map(check).collect::<Vec<_>>(), [1]);
}

/// A writer thread pushes as fast as it can into a small ring while a slow
/// reader follows: every record read is whole and in order, and read plus
/// lost is exactly what was written.
#[test]
fn a_writer_that_outruns_its_reader_loses_records_but_never_corrupts() {
    const N: u64 = 200_000;
    let w = Arc::new(words(1 + 64 * RECORD_WORDS));
    let done = Arc::new(AtomicBool::new(false));
    let writer = {
        let (w, done) = (w.clone(), done.clone());
        std::thread::spawn(move || {
            let ring = Ring::new(&w[0], &w[1..]);
            for i in 0..N {
                ring.push(&record(i));
            }
            done.store(true, Ordering::Release);
        })
    };
    let ring = Ring::new(&w[0], &w[1..]);
    let (mut pos, mut out) = (0u64, Vec::new());
    let (mut read, mut lost, mut last) = (0u64, 0u64, None::<u64>);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let finished = done.load(Ordering::Acquire);
        out.clear();
        lost += ring.read(&mut pos, &mut out);
        for p in &out {
            let i = check(p);
            assert!(
                last.is_none_or(|l| i > l),
                "out of order: {i} after {last:?}"
            );
            last = Some(i);
            read += 1;
        }
        if finished {
            // One more pass after the writer finished saw everything.
            out.clear();
            lost += ring.read(&mut pos, &mut out);
            read += out.iter().map(check).count() as u64;
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the writer never finished"
        );
        // A slow reader.
        std::thread::yield_now();
    }
    writer.join().unwrap();
    assert_eq!(read + lost, N, "every record is read or counted lost");
    assert_eq!(pos, N);
}

/// A writer frees, refills, publishes and changes one entry as fast as it
/// can while a reader reads it: every copy read is one whole life of the
/// entry (fixed fields all from the fiber its key names) and one whole
/// version (the field it describes from that same change).
#[test]
fn live_entries_read_whole_while_written() {
    use super::ring::{KEY_FIELD, VERSION_FIELD};
    const DESCRIBED: usize = 5;
    const FIXED: [usize; 4] = [1, 2, 6, 7];
    let w = Arc::new(words(ENTRY_WORDS));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (w, stop) = (w.clone(), stop.clone());
        std::thread::spawn(move || {
            let t = LiveTable::new(&w);
            let mut key = 0u64;
            while !stop.load(Ordering::Relaxed) {
                key += 1;
                t.publish(0, KEY_FIELD, 0);
                for f in FIXED {
                    t.set(0, f, key);
                }
                t.set(0, DESCRIBED, key << 8);
                t.publish(0, VERSION_FIELD, key << 8);
                t.publish(0, KEY_FIELD, key);
                for change in 1..4 {
                    let version = (key << 8) | change;
                    t.set(0, DESCRIBED, version);
                    t.publish(0, VERSION_FIELD, version);
                    // A real entry changes at most twice per fiber run.
                    for _ in 0..200 {
                        std::hint::spin_loop();
                    }
                }
            }
        })
    };
    let t = LiveTable::new(&w);
    let mut seen = 0;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while seen < 2_000 && std::time::Instant::now() < deadline {
        if let Some(e) = t.read(0) {
            if e[KEY_FIELD] == 0 {
                continue;
            }
            for f in FIXED {
                assert_eq!(e[f], e[KEY_FIELD], "a fixed field of another life: {e:?}");
            }
            assert_eq!(e[DESCRIBED], e[VERSION_FIELD], "a torn version: {e:?}");
            assert_eq!(
                e[VERSION_FIELD] >> 8,
                e[KEY_FIELD],
                "a version of another life"
            );
            seen += 1;
        }
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    assert!(seen > 0, "no consistent read at all");
}

#[test]
fn the_arena_refuses_what_does_not_fit_and_keeps_what_did() {
    let w = words(1 + 6);
    let arena = Arena::new(&w[0], &w[1..]);
    let a = arena.append("src/bin/echo.rs").unwrap(); // 1 + 2 words
    assert_eq!(arena.append("another/long/name.rs"), None); // needs 1 + 3
    let b = arena.append("x").unwrap();
    assert_eq!(arena.get(a).as_deref(), Some("src/bin/echo.rs"));
    assert_eq!(arena.get(b).as_deref(), Some("x"));
    assert_eq!(arena.get(b + 2), None, "beyond what was published");
}

#[test]
fn event_ticks_convert_to_the_monotonic_clock_in_order() {
    use super::clock::{monotonic_ns, pair, ClockKind, TimeBase};
    for kind in [ClockKind::MonotonicNs, ClockKind::Tsc] {
        if kind == ClockKind::Tsc && !super::clock::tsc_usable() {
            continue;
        }
        let (t0, ns0) = pair(kind);
        let tb = TimeBase::calibrate(kind, t0, ns0);
        let (t1, ns1) = pair(kind);
        let (t2, _) = pair(kind);
        let (c1, c2) = (tb.to_ns(t1), tb.to_ns(t2));
        assert!(c2 >= c1, "{kind:?}: order kept");
        // A generous bound: the conversion is a line through two pairs
        // taken at least 50 ms apart, so it is off by far less than this.
        let off = c1.abs_diff(ns1);
        assert!(off < 20_000_000, "{kind:?}: {off} ns off the clock");
        assert!(monotonic_ns() >= ns1);
        assert_eq!(tb.to_ns(0), 0, "0 stays 'never'");
    }
}

#[test]
fn every_wait_kind_round_trips_through_its_word_with_its_own_name() {
    use super::events::WaitKind;
    let mut names = std::collections::HashSet::new();
    let mut w = 1;
    while let Some(kind) = WaitKind::from_word(w) {
        assert_eq!(kind as u64, w, "{kind:?}");
        assert!(names.insert(kind.name()), "{} twice", kind.name());
        w += 1;
    }
    assert_eq!(names.len(), 36, "every kind is reachable from a word");
    assert_eq!(WaitKind::from_word(0), None);
}

/// Puts `SHORT_RUN_NS` back when a test that changed it ends.
struct ShortRunNs(u64);

impl Drop for ShortRunNs {
    fn drop(&mut self) {
        super::SHORT_RUN_NS.store(self.0, Ordering::Relaxed);
    }
}

/// Back-to-back short runs are batched: no record per run, one `Batch`
/// record per batch, and each run is counted exactly once (in a `Run`
/// record or in one batch); fibers born and finished inside a batch are
/// counted in it instead of recorded, and so are switches opened inside
/// it; the header names the fiber a batching thread runs.
/// The console file is per process: the tests here that run a monitored
/// scheduler take turns (each reads its own slot, and the last scheduler
/// out removes the file).
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The console file as it is now, and this thread's slot index in it.
fn read_own_slot() -> (Vec<AtomicU64>, usize) {
    let path = super::layout::path_for(std::process::id());
    let bytes = std::fs::read(path).expect("the console file");
    let words: Vec<AtomicU64> = bytes
        .chunks(8)
        .map(|c| AtomicU64::new(u64::from_le_bytes(c.try_into().unwrap())))
        .collect();
    let view = super::layout::View::open(&words).unwrap();
    let slot = (0..view.geometry().slots)
        .find(|&i| view.slot(i).owner() != 0)
        .expect("this thread's slot");
    (words, slot)
}

#[test]
fn dense_short_runs_are_batched_and_each_run_is_counted_once() {
    use super::events::{Event, WaitKind};
    use super::layout::{self, View};
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    // Every run is short (and an idle gap would be 20 s), whatever the
    // speed of this build.
    let _restore = ShortRunNs(super::SHORT_RUN_NS.swap(1_000_000_000, Ordering::Relaxed));
    const N: u64 = 500;
    let path = layout::path_for(std::process::id());
    let config = crate::fiber::scheduler::SchedulerConfig {
        console: true,
        ..crate::fiber::scheduler::SchedulerConfig::from_env()
    };
    crate::fiber::alone::run_alone_with(config, || {
        let main = crate::fiber::id().as_u64();
        let pause = || crate::time::sleep(std::time::Duration::from_millis(1));
        pause();
        for _ in 0..N {
            crate::Switch::run(|sw| {
                sw.fork(|| {});
                Ok(())
            })
            .unwrap();
        }
        // Suspending lets the scheduler close the batch before it parks.
        pause();
        let bytes = std::fs::read(&path).expect("the console file");
        let words: Vec<AtomicU64> = bytes
            .chunks(8)
            .map(|c| AtomicU64::new(u64::from_le_bytes(c.try_into().unwrap())))
            .collect();
        let view = View::open(&words).unwrap();
        let slot = (0..view.geometry().slots)
            .map(|i| view.slot(i))
            .find(|s| s.owner() != 0)
            .expect("this thread's slot");
        assert_eq!(
            slot.running().0,
            main,
            "the header names the fiber running in the batch"
        );
        let mut payloads = Vec::new();
        assert_eq!(slot.ring.read(&mut 0, &mut payloads), 0, "nothing lost");
        let events: Vec<(u64, Event)> = payloads.iter().filter_map(Event::decode).collect();
        let first_pause = events
            .iter()
            .position(|(_, e)| {
                matches!(e, Event::Suspended { fiber, on, .. }
                        if *fiber == main && *on == WaitKind::Sleep as u64)
            })
            .expect("the first pause is recorded (the thread timed runs then)");
        let after = &events[first_pause + 1..];
        let (mut timed_runs, mut batched_runs, mut batches) = (0, 0, 0);
        let (mut created, mut exited, mut born_in_batches) = (0, 0, 0);
        let (mut switches_recorded, mut switches_in_batches) = (0, 0);
        for (t, e) in after {
            match *e {
                Event::Run { .. } => timed_runs += 1,
                Event::Batch {
                    start,
                    runs,
                    fibers,
                    switches,
                } => {
                    assert!(start <= *t, "a batch ends after it began");
                    batches += 1;
                    batched_runs += runs;
                    born_in_batches += fibers;
                    switches_in_batches += switches;
                }
                Event::SwitchCreated { fiber, .. } if fiber == main => switches_recorded += 1,
                Event::Created { parent, .. } if parent == main => created += 1,
                Event::Exited { .. } => exited += 1,
                _ => {}
            }
        }
        assert!(batches > 0 && batched_runs > 0, "the runs were batched");
        // Main's run after the first pause, then a child's run and
        // main's next run per fork.
        assert_eq!(timed_runs + batched_runs, 2 * N + 1, "each run once");
        assert_eq!(created + born_in_batches, N, "each child once");
        assert_eq!(exited, created, "a recorded child is recorded exiting");
        assert_eq!(
            switches_recorded + switches_in_batches,
            N,
            "each switch once"
        );
    });
    assert!(!path.exists());
}

/// A fiber created inside a batch takes the table entry of a named fiber
/// that finished (the registry reuses its key): published when the batch
/// ends, it shows no name and no busy time of the fiber before it (a guard
/// for any cut of the fields batched creation writes: leaving them out
/// needs freeing to clear them, which was tried and cost time; see
/// docs/bench-2026-12-07c-console.txt, section 4).
#[test]
fn a_batched_fiber_in_a_reused_entry_shows_nothing_of_the_one_before() {
    use super::events::{field, Event};
    use super::layout::View;
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let _restore = ShortRunNs(super::SHORT_RUN_NS.swap(1_000_000_000, Ordering::Relaxed));
    let config = crate::fiber::scheduler::SchedulerConfig {
        console: true,
        ..crate::fiber::scheduler::SchedulerConfig::from_env()
    };
    crate::fiber::alone::run_alone_with(config, || {
        let entry_of = |id: u64| {
            let (words, slot) = read_own_slot();
            let view = View::open(&words).unwrap();
            let live = &view.slot(slot).live;
            (0..live.len())
                .filter_map(|i| live.read(i).map(|e| (i, e)))
                .find(|(_, e)| e[field::FIBER] == id)
        };
        // Enough back-to-back short runs to batch.
        for _ in 0..200 {
            crate::Switch::run(|sw| {
                sw.fork(|| {});
                Ok(())
            })
            .unwrap();
        }
        let old = std::cell::Cell::new(0);
        let (gate, open) = crate::sync::promise::Promise::<()>::new();
        let old_index = crate::Switch::run(|sw| {
            sw.fork_named("old", || {
                old.set(crate::fiber::id().as_u64());
                gate.await_();
            });
            crate::fiber::yield_now();
            let (i, e) = entry_of(old.get()).expect("a named fiber is published at once");
            assert_ne!(e[field::NAME], 0, "the named fiber shows its name");
            open.resolve(());
            Ok(i)
        })
        .unwrap();
        let new = std::cell::Cell::new(0);
        let (gate, open) = crate::sync::promise::Promise::<()>::new();
        crate::Switch::run(|sw| {
            sw.fork(|| {
                new.set(crate::fiber::id().as_u64());
                gate.await_();
            });
            // Suspending lets the scheduler close the batch before it
            // parks: the new fiber is published then.
            crate::time::sleep(std::time::Duration::from_millis(1));
            let (i, e) = entry_of(new.get()).expect("published when its batch ended");
            assert_eq!(i, old_index, "the new fiber reuses the old one's entry");
            assert_eq!(e[field::NAME], 0, "no name of the fiber before");
            assert_eq!(e[field::BUSY_TICKS], 0, "no busy time of the fiber before");
            let (words, slot) = read_own_slot();
            let view = View::open(&words).unwrap();
            let mut payloads = Vec::new();
            view.slot(slot).ring.read(&mut 0, &mut payloads);
            let created = payloads
                .iter()
                .filter_map(Event::decode)
                .find_map(|(_, e)| match e {
                    Event::Created { fiber, name, .. } if fiber == new.get() => Some(name),
                    _ => None,
                });
            assert_eq!(
                created,
                Some(0),
                "its Created record, stamped at the batch's end, has no name"
            );
            open.resolve(());
            Ok(())
        })
        .unwrap();
    });
}
