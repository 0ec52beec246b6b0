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

#[test]
fn live_entries_read_whole_while_written() {
    let w = Arc::new(words(ENTRY_WORDS));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (w, stop) = (w.clone(), stop.clone());
        std::thread::spawn(move || {
            let t = LiveTable::new(&w);
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                t.update(0, |e| e.iter_mut().for_each(|f| *f = i));
            }
        })
    };
    let t = LiveTable::new(&w);
    let mut seen = 0;
    for _ in 0..20_000 {
        if let Some(e) = t.read(0) {
            assert!(e.iter().all(|&f| f == e[0]), "a torn entry: {e:?}");
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
