//! Recordings as Chrome trace-event JSON, which Perfetto
//! (ui.perfetto.dev) and chrome://tracing open: one track per scheduler
//! thread, one slice per fiber run (from `run` to the next `suspended`,
//! `yielded` or `exited` of that fiber on that thread), instants for user
//! events and cancellations.

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
    for l in lines {
        let Line::Event(e) = l else { continue };
        if !threads.contains(&e.thread) {
            threads.push(e.thread);
        }
        match e.kind.as_str() {
            "run" => {
                open.insert(e.thread, (e.fiber, e.t_ns));
            }
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
