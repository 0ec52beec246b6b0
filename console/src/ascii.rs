//! A recording as a text picture: one lane per scheduler thread, one
//! column per slice of time, marked with the fiber that ran longest in it.

use std::collections::HashMap;

use crate::record::{lane_of, Line, RecordedEvent};

/// The key under which a lane's columns count time spent in batches.
const BATCH: u64 = u64::MAX;

/// A text picture of a recording's timeline: one lane per scheduler
/// thread, `width` columns from the first to the last event; a column
/// shows the fiber that ran longest in it (its mark from the legend), `*`
/// a batch of short runs (see `weft::console`), `.` when none ran, and `!`
/// where the watchdog saw a stall.
///
/// ```
/// use weft_console::{Line, RecordedEvent};
/// let lines = vec![
///     Line::Header { pid: 1, version: 1 },
///     Line::Event(RecordedEvent::new(7, 0, "run", 3)),
///     Line::Event(RecordedEvent::new(7, 500, "suspended", 3)),
///     Line::Event(RecordedEvent::new(7, 1_000, "user", 0)),
/// ];
/// let text = weft_console::to_ascii(&lines, 10);
/// assert!(text.contains("|aaaaa.....|"), "{text}");
/// assert!(text.contains("a = fiber 3"), "{text}");
/// ```
pub fn to_ascii(lines: &[Line], width: usize) -> String {
    use std::fmt::Write;
    let width = width.max(1);
    let events: Vec<&RecordedEvent> = lines
        .iter()
        .filter_map(|l| match l {
            Line::Event(e) => Some(e),
            _ => None,
        })
        .collect();
    let mut names: HashMap<u64, String> = HashMap::new();
    for l in lines {
        match l {
            Line::Fiber(f) => {
                if let Some(n) = &f.name {
                    names.insert(f.id, n.clone());
                }
            }
            Line::Event(e) if e.kind == "created" => {
                if let Some(n) = &e.name {
                    names.insert(e.fiber, n.clone());
                }
            }
            _ => {}
        }
    }
    let (Some(start), Some(end)) = (
        events.iter().map(|e| e.t_ns).min(),
        events.iter().map(|e| e.t_ns).max(),
    ) else {
        return "(no events)\n".into();
    };
    let span = (end - start).max(1) as f64;
    let column = |t: u64| (((t - start) as f64 / span) * width as f64) as usize;
    let mut threads: Vec<u64> = Vec::new();
    // Per thread and column: time run by each fiber; stalls.
    let mut busy: HashMap<u64, Vec<HashMap<u64, u64>>> = HashMap::new();
    let mut stalls: HashMap<u64, Vec<bool>> = HashMap::new();
    let mut open: HashMap<u64, (u64, u64)> = HashMap::new();
    let mut marks: Vec<u64> = Vec::new();
    for e in &events {
        let lane = lane_of(e, lines);
        if !threads.contains(&lane) {
            threads.push(lane);
        }
        match e.kind.as_str() {
            "run" => {
                open.insert(e.thread, (e.fiber, e.t_ns));
            }
            "suspended" | "yielded" | "exited" => {
                let Some((fiber, from)) = open.remove(&e.thread) else {
                    continue;
                };
                if fiber != e.fiber {
                    continue;
                }
                if !marks.contains(&fiber) {
                    marks.push(fiber);
                }
                let lane = busy
                    .entry(e.thread)
                    .or_insert_with(|| vec![HashMap::new(); width]);
                // Spread the run over the columns it covers.
                let mut t = from;
                while t < e.t_ns {
                    let col = column(t).min(width - 1);
                    let col_end = start + ((col + 1) as f64 * span / width as f64).ceil() as u64;
                    let until = e.t_ns.min(col_end.max(t + 1));
                    *lane[col].entry(fiber).or_default() += until - t;
                    t = until;
                }
            }
            "batch" => {
                let from = e.start_ns.unwrap_or(e.t_ns).clamp(start, e.t_ns);
                let lane = busy
                    .entry(e.thread)
                    .or_insert_with(|| vec![HashMap::new(); width]);
                let mut t = from;
                while t < e.t_ns {
                    let col = column(t).min(width - 1);
                    let col_end = start + ((col + 1) as f64 * span / width as f64).ceil() as u64;
                    let until = e.t_ns.min(col_end.max(t + 1));
                    *lane[col].entry(BATCH).or_default() += until - t;
                    t = until;
                }
            }
            "stall" => {
                let marks = stalls.entry(lane).or_insert_with(|| vec![false; width]);
                marks[column(e.t_ns).min(width - 1)] = true;
            }
            _ => {}
        }
    }
    let mark = |fiber: u64| -> char {
        if fiber == BATCH {
            return '*';
        }
        const MARKS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        marks
            .iter()
            .position(|f| *f == fiber)
            .and_then(|i| MARKS.get(i))
            .map_or('#', |b| *b as char)
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:.3} ms, {} columns of {:.1} us",
        span / 1e6,
        width,
        span / width as f64 / 1e3
    );
    for t in &threads {
        let lane: String = (0..width)
            .map(|c| {
                if stalls.get(t).is_some_and(|s| s[c]) {
                    return '!';
                }
                busy.get(t)
                    .and_then(|l| {
                        l[c].iter()
                            .max_by_key(|(f, ns)| (**ns, std::cmp::Reverse(**f)))
                    })
                    .map_or('.', |(f, _)| mark(*f))
            })
            .collect();
        let _ = writeln!(out, "thread {t:<8} |{lane}|");
    }
    for f in &marks {
        let _ = writeln!(
            out,
            "  {} = fiber {f}{}",
            mark(*f),
            names.get(f).map(|n| format!(" ({n})")).unwrap_or_default()
        );
    }
    if events.iter().any(|e| e.kind == "batch") {
        let _ = writeln!(out, "  * = a batch of short runs");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_marks_the_columns_it_covers() {
        let mut batch = RecordedEvent::new(1, 1_000, "batch", 0);
        batch.start_ns = Some(500);
        batch.runs = Some(30);
        let lines = vec![
            Line::Header { pid: 1, version: 1 },
            Line::Event(RecordedEvent::new(1, 0, "run", 3)),
            Line::Event(RecordedEvent::new(1, 500, "yielded", 3)),
            Line::Event(batch),
        ];
        let text = to_ascii(&lines, 10);
        assert!(text.contains("|aaaaa*****|"), "{text}");
        assert!(text.contains("* = a batch of short runs"), "{text}");
    }

    #[test]
    fn the_text_timeline_has_a_lane_per_thread_and_the_longest_runner_per_column() {
        let on =
            |thread, t, kind: &str, fiber| Line::Event(RecordedEvent::new(thread, t, kind, fiber));
        // From the watchdog's own thread (99), about scheduler 1 on thread 2.
        let mut stall = RecordedEvent::new(99, 900, "stall", 5);
        stall.stalled_ms = Some(1.0);
        stall.scheduler = Some(1);
        let lines = vec![
            Line::Header { pid: 1, version: 1 },
            on(1, 0, "run", 3),
            on(1, 250, "yielded", 3),
            on(1, 250, "run", 4),
            on(1, 380, "suspended", 4),
            on(1, 380, "run", 3),
            on(1, 400, "exited", 3),
            on(2, 500, "run", 5),
            on(2, 1_000, "suspended", 5),
        ];
        let mut with_stall = lines.clone();
        with_stall.push(Line::Threads {
            t_ns: 0,
            threads: vec![crate::ThreadInfo {
                tid: 2,
                scheduler: 1,
                events: 0,
                run_queue: 0,
                live_fibers: 1,
                timers: 0,
                ops_in_flight: 0,
                blocking_jobs: 0,
            }],
        });
        with_stall.push(Line::Event(stall));
        let text = to_ascii(&lines, 10);
        let lanes: Vec<&str> = text.lines().filter(|l| l.starts_with("thread")).collect();
        assert_eq!(lanes.len(), 2, "{text}");
        // Columns of 100 ns: fiber 3 (a) runs 0-250 and 380-400, fiber 4
        // (b) 250-380: column 2 is a tie (50/50, the older fiber shows),
        // column 3 is b's (80 against 20).
        assert!(lanes[0].ends_with("|aaab......|"), "{text}");
        assert!(lanes[1].ends_with("|.....ccccc|"), "{text}");
        let stalled = to_ascii(&with_stall, 10);
        assert!(
            stalled.contains("thread 2        |.....cccc!|"),
            "on the blocked thread's lane: {stalled}"
        );
        assert!(
            !stalled.contains("thread 99"),
            "no lane for the watchdog: {stalled}"
        );
        assert!(to_ascii(&lines[..1], 10).contains("no events"));
    }
}
