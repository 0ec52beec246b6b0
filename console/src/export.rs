//! Recordings as Chrome trace-event JSON, which Perfetto
//! (ui.perfetto.dev) and chrome://tracing open: one track per scheduler
//! thread, one slice per recorded fiber run (from `run` to the next
//! `suspended`, `yielded` or `exited` of that fiber on that thread; category
//! `fiber`), one slice per batch of short runs (from its start to its end,
//! named by how many runs it holds; category `batch`), arrows (flow
//! events) from a fiber's run that woke another to that fiber's next run,
//! async slices for io_uring ops and blocking-pool jobs, and instants for
//! user events, cancellations and watchdog stalls.

use std::collections::HashMap;

use serde_json::{json, Value};

use crate::record::{lane_of, Line, RecordedEvent};

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
        let lane = lane_of(e, lines);
        if !threads.contains(&lane) {
            threads.push(lane);
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
                "tid": lane,
                "args": { "fiber": e.fiber, "scheduler": e.scheduler, "ongoing": e.ongoing },
            })),
            "suspended" | "yielded" | "exited" => {
                if let Some((fiber, start)) = open.remove(&e.thread) {
                    if fiber == e.fiber {
                        out.push(slice(pid, e, start, &label(fiber), us));
                    }
                }
            }
            "batch" => {
                let start = e.start_ns.unwrap_or(e.t_ns).min(e.t_ns);
                let runs = e.runs.unwrap_or(0);
                out.push(json!({
                    "name": format!("{runs} short runs"),
                    "cat": "batch",
                    "ph": "X",
                    "ts": us(start),
                    "dur": us(e.t_ns - start),
                    "pid": pid,
                    "tid": e.thread,
                    "args": { "runs": runs, "fibers": e.fibers, "switches": e.switches },
                }));
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
    fn a_batch_is_one_slice_of_its_own_category_between_run_slices() {
        let mut batch = ev(9_000, "batch", 0);
        batch.start_ns = Some(3_000);
        batch.runs = Some(40);
        batch.fibers = Some(20);
        let lines = vec![
            Line::Header { pid: 1, version: 1 },
            Line::Event(ev(1_000, "run", 1)),
            Line::Event(ev(3_000, "yielded", 1)),
            Line::Event(batch),
            Line::Event(ev(9_500, "run", 1)),
            Line::Event(ev(9_800, "suspended", 1)),
        ];
        let trace = to_perfetto(&lines);
        let slices: Vec<&Value> = trace["traceEvents"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["ph"] == "X")
            .collect();
        let of = |cat: &str| slices.iter().filter(|s| s["cat"] == cat).count();
        assert_eq!((of("fiber"), of("batch")), (2, 1));
        let b = slices.iter().find(|s| s["cat"] == "batch").unwrap();
        assert_eq!(
            (b["ts"].as_f64(), b["dur"].as_f64()),
            (Some(3.0), Some(6.0))
        );
        assert_eq!(b["name"], "40 short runs");
        assert_eq!(b["args"]["fibers"], 20);
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
