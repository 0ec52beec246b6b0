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
