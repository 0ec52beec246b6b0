//! Recordings as Chrome trace-event JSON, which Perfetto
//! (ui.perfetto.dev) and chrome://tracing open: one track per scheduler
//! thread, one slice per fiber run (from `run` to the next `suspended`,
//! `yielded` or `exited` of that fiber on that thread), arrows (flow
//! events) from a fiber's run that woke another to that fiber's next run,
//! async slices for io_uring ops and blocking-pool jobs, and instants for
//! user events, cancellations and watchdog stalls.

use std::collections::HashMap;

use serde_json::{json, Value};

use crate::record::{Line, RecordedEvent};

/// The trace-event JSON of a recording.
///
/// ```
/// use weft_console::{Line, RecordedEvent};
/// let lines = vec![
///     Line::Header { pid: 1, version: 1 },
///     Line::Event(RecordedEvent::new(7, 1_000, "run", 3)),
///     Line::Event(RecordedEvent::new(7, 3_000, "exited", 3)),
/// ];
/// let trace = weft_console::to_perfetto(&lines);
/// let slices: Vec<_> = trace["traceEvents"].as_array().unwrap().iter()
///     .filter(|e| e["ph"] == "X").collect();
/// assert_eq!(slices.len(), 1);
/// assert_eq!(slices[0]["dur"], 2.0);
/// ```
pub fn to_perfetto(lines: &[Line]) -> Value {
    let pid = lines
        .iter()
        .find_map(|l| match l {
            Line::Header { pid, .. } => Some(*pid),
            _ => None,
        })
        .unwrap_or(0);
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
    let label = |fiber: u64| match names.get(&fiber) {
        Some(n) => format!("{n} (fiber {fiber})"),
        None => format!("fiber {fiber}"),
    };
    let us = |t_ns: u64| t_ns as f64 / 1000.0;
    let mut out = Vec::new();
    let mut threads: Vec<u64> = Vec::new();
    // Per thread: the fiber running and when it started.
    let mut open: HashMap<u64, (u64, u64)> = HashMap::new();
    // Per woken fiber: the flow id of the wake-up not yet followed by a run.
    let mut wakes: HashMap<u64, u64> = HashMap::new();
    let mut next_flow = 1u64;
    for l in lines {
        let Line::Event(e) = l else { continue };
        if !threads.contains(&e.thread) {
            threads.push(e.thread);
        }
        match e.kind.as_str() {
            "run" => {
                open.insert(e.thread, (e.fiber, e.t_ns));
                if let Some(id) = wakes.remove(&e.fiber) {
                    out.push(json!({
                        "name": "wake", "cat": "wake", "ph": "f", "bp": "e", "id": id,
                        "ts": us(e.t_ns), "pid": pid, "tid": e.thread,
                    }));
                }
            }
            // An arrow from the waker's run to the woken fiber's next run
            // (wake-ups by the scheduler itself, for I/O and timers, have
            // no slice to start from).
            "wake" if e.fiber != 0 && open.get(&e.thread).is_some_and(|o| o.0 == e.fiber) => {
                if let Some(woken) = e.woken {
                    let id = next_flow;
                    next_flow += 1;
                    wakes.insert(woken, id);
                    out.push(json!({
                        "name": "wake", "cat": "wake", "ph": "s", "id": id,
                        "ts": us(e.t_ns), "pid": pid, "tid": e.thread,
                        "args": { "woken": woken },
                    }));
                }
            }
            "op_submitted" | "op_completed" => out.push(json!({
                "name": e.waiting_on.clone().unwrap_or_else(|| "io".into()),
                "cat": "io",
                "ph": if e.kind == "op_submitted" { "b" } else { "e" },
                "id": format!("op-{}-{}", e.thread, e.key.unwrap_or(0)),
                "ts": us(e.t_ns),
                "pid": pid,
                "tid": e.thread,
                "args": { "fiber": e.fiber, "result": e.result },
            })),
            "blocking_job" | "blocking_done" => out.push(json!({
                "name": "blocking",
                "cat": "blocking",
                "ph": if e.kind == "blocking_job" { "b" } else { "e" },
                "id": format!("blocking-{}", e.fiber),
                "ts": us(e.t_ns),
                "pid": pid,
                "tid": e.thread,
                "args": { "fiber": e.fiber, "at": e.at },
            })),
            "stall" => out.push(json!({
                "name": format!("stall: {} ran {:.1} ms", label(e.fiber), e.stalled_ms.unwrap_or(0.0)),
                "cat": "stall",
                "ph": "i",
                "s": "p",
                "ts": us(e.t_ns),
                "pid": pid,
                "tid": e.thread,
                "args": { "fiber": e.fiber, "scheduler": e.scheduler, "ongoing": e.ongoing },
            })),
            "suspended" | "yielded" | "exited" => {
                if let Some((fiber, start)) = open.remove(&e.thread) {
                    if fiber == e.fiber {
                        out.push(slice(pid, e, start, &label(fiber), us));
                    }
                }
            }
            "user" | "cancel_requested" => out.push(json!({
                "name": e.name.clone().unwrap_or_else(|| e.kind.clone()),
                "cat": e.kind,
                "ph": "i",
                "s": "t",
                "ts": us(e.t_ns),
                "pid": pid,
                "tid": e.thread,
                "args": { "fiber": e.fiber, "value": e.value, "switch": e.switch },
            })),
            _ => {}
        }
    }
    for t in threads {
        out.push(json!({
            "name": "thread_name",
            "ph": "M",
            "pid": pid,
            "tid": t,
            "args": { "name": format!("weft scheduler (thread {t})") },
        }));
    }
    json!({ "traceEvents": out, "displayTimeUnit": "ms" })
}

fn slice(pid: u32, end: &RecordedEvent, start: u64, name: &str, us: impl Fn(u64) -> f64) -> Value {
    json!({
        "name": name,
        "cat": "fiber",
        "ph": "X",
        "ts": us(start),
        "dur": us(end.t_ns.saturating_sub(start)),
        "pid": pid,
        "tid": end.thread,
        "args": { "fiber": end.fiber, "then": end.kind, "at": end.at },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(t: u64, kind: &str, fiber: u64) -> RecordedEvent {
        RecordedEvent::new(7, t, kind, fiber)
    }

    #[test]
    fn a_wake_up_between_fibers_is_an_arrow_to_the_next_run() {
        let mut wake = ev(2_000, "wake", 1);
        wake.woken = Some(2);
        let mut io_wake = ev(5_500, "wake", 0);
        io_wake.woken = Some(1);
        let lines = vec![
            Line::Header { pid: 1, version: 1 },
            Line::Event(ev(1_000, "run", 1)),
            Line::Event(wake),
            Line::Event(ev(3_000, "suspended", 1)),
            Line::Event(ev(4_000, "run", 2)),
            Line::Event(ev(5_000, "exited", 2)),
            Line::Event(io_wake),
            Line::Event(ev(6_000, "run", 1)),
        ];
        let trace = to_perfetto(&lines);
        let events = trace["traceEvents"].as_array().unwrap();
        let of = |ph: &str| events.iter().filter(|e| e["ph"] == ph).collect::<Vec<_>>();
        let (starts, ends) = (of("s"), of("f"));
        assert_eq!(
            (starts.len(), ends.len()),
            (1, 1),
            "one arrow: the scheduler's wake has none"
        );
        assert_eq!(starts[0]["id"], ends[0]["id"]);
        assert_eq!(starts[0]["ts"], 2.0, "from the waker's run");
        assert_eq!(ends[0]["ts"], 4.0, "to the woken fiber's next run");
        assert_eq!(of("X").len(), 2, "slices of both runs");
    }

    #[test]
    fn the_text_timeline_has_a_lane_per_thread_and_the_longest_runner_per_column() {
        let on =
            |thread, t, kind: &str, fiber| Line::Event(RecordedEvent::new(thread, t, kind, fiber));
        let mut stall = RecordedEvent::new(2, 900, "stall", 5);
        stall.stalled_ms = Some(1.0);
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
        assert!(stalled.contains("|.....cccc!|"), "{stalled}");
        assert!(to_ascii(&lines[..1], 10).contains("no events"));
    }

    #[test]
    fn ops_and_blocking_jobs_are_async_slices_and_stalls_instants() {
        let mut sub = ev(1_000, "op_submitted", 3);
        sub.key = Some(4);
        sub.waiting_on = Some("socket_recv".into());
        let mut done = ev(2_000, "op_completed", 3);
        done.key = Some(4);
        done.result = Some(16);
        let mut stall = ev(3_000, "stall", 3);
        stall.stalled_ms = Some(250.0);
        let lines = vec![
            Line::Header { pid: 1, version: 1 },
            Line::Event(sub),
            Line::Event(done),
            Line::Event(ev(2_500, "blocking_job", 3)),
            Line::Event(ev(2_700, "blocking_done", 3)),
            Line::Event(stall),
        ];
        let trace = to_perfetto(&lines);
        let events = trace["traceEvents"].as_array().unwrap();
        let of = |ph: &str| events.iter().filter(|e| e["ph"] == ph).collect::<Vec<_>>();
        assert_eq!(of("b").len(), 2);
        assert_eq!(of("e").len(), 2);
        assert_eq!(of("b")[0]["name"], "socket_recv");
        assert_eq!(of("b")[0]["id"], of("e")[0]["id"]);
        let stalls = of("i");
        assert_eq!(stalls.len(), 1);
        assert!(stalls[0]["name"].as_str().unwrap().contains("ran 250.0 ms"));
    }
}

/// A text picture of a recording's timeline: one lane per scheduler
/// thread, `width` columns from the first to the last event; a column
/// shows the fiber that ran longest in it (its mark from the legend), `.`
/// when none ran, and `!` where the watchdog saw a stall.
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
        if !threads.contains(&e.thread) {
            threads.push(e.thread);
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
            "stall" => {
                let lane = stalls.entry(e.thread).or_insert_with(|| vec![false; width]);
                lane[column(e.t_ns).min(width - 1)] = true;
            }
            _ => {}
        }
    }
    let mark = |fiber: u64| -> char {
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
    out
}
