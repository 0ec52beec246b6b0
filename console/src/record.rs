//! Recordings: the events of a running program, one JSON object a line.
//!
//! ```text
//! {"type":"header","pid":1234,"version":1}
//! {"type":"fiber", ...a FiberInfo of a fiber live when recording started}
//! {"type":"threads","t_ns":...,"threads":[...gauges of each scheduler thread]}
//! {"type":"event","thread":5678,"t_ns":...,"kind":"run","fiber":3,...}
//! {"type":"end","events":1000,"lost":0}
//! ```

use std::io::{BufRead, Write};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use weft::console::clock::{monotonic_ns, TimeBase};
use weft::console::events::{Event, WaitKind};
use weft::console::ring::Arena;

use crate::snapshot::{location, FiberInfo};
use crate::{Attached, ConsoleError, Snapshot, ThreadInfo};

/// One line of a recording.
///
/// ```
/// let line = weft_console::Line::End { events: 0, lost: 0 };
/// let text = serde_json::to_string(&line).unwrap();
/// assert_eq!(text, r#"{"type":"end","events":0,"lost":0}"#);
/// ```
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Line {
    /// The first line.
    Header {
        /// The recorded process.
        pid: u32,
        /// The recording format version (1).
        version: u32,
    },
    /// A fiber that was live when the recording started.
    Fiber(FiberInfo),
    /// An event.
    Event(RecordedEvent),
    /// The scheduler threads' gauges at `t_ns` (written when recording
    /// starts and whenever they change).
    Threads {
        /// `CLOCK_MONOTONIC` nanoseconds.
        t_ns: u64,
        /// Every scheduler thread.
        threads: Vec<ThreadInfo>,
    },
    /// The last line.
    End {
        /// Events written.
        events: u64,
        /// Events lost (overwritten before they were read).
        lost: u64,
    },
}

/// An event with its strings resolved.
///
/// ```
/// let e = weft_console::RecordedEvent::new(1, 2, "run", 3);
/// assert_eq!(e.kind, "run");
/// ```
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct RecordedEvent {
    /// The OS thread that recorded it.
    pub thread: u64,
    /// `CLOCK_MONOTONIC` nanoseconds.
    pub t_ns: u64,
    /// `created`, `run`, `suspended`, `yielded`, `exited`, `wake`,
    /// `switch_created`, `switch_finished`, `cancel_requested`,
    /// `op_submitted`, `op_completed`, `blocking_job`, `blocking_done`,
    /// `stall`, `user` or `batch` (at its end).
    pub kind: String,
    /// The fiber it concerns (0: none).
    pub fiber: u64,
    /// A location (`file:line`): where it blocked, spawned, switched, or
    /// called `weft::blocking`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// A fiber or user-event name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A switch (context) id, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub switch: Option<String>,
    /// The creating fiber (`created`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<u64>,
    /// A user event's value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<i64>,
    /// Whether a `run` resumed a blocking wait.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_wait: Option<bool>,
    /// Whether a finished switch failed (`switch_finished`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<bool>,
    /// What a `suspended` fiber waits on, or what an op is (`op_submitted`,
    /// `op_completed`): a `WaitKind` name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_on: Option<String>,
    /// The fiber a `wake` made runnable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub woken: Option<u64>,
    /// An op's key in the driver (`op_submitted`, `op_completed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<u64>,
    /// An op's result (`op_completed`: bytes, or a negative errno).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<i64>,
    /// A `stall`: how long the fiber kept its thread (ms), the scheduler
    /// whose thread it was, and whether it still ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stalled_ms: Option<f64>,
    /// The scheduler id (`stall`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduler: Option<u64>,
    /// Whether a `stall` was still going on when reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ongoing: Option<bool>,
    /// When a `batch` began (`CLOCK_MONOTONIC` ns; `t_ns` is its end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_ns: Option<u64>,
    /// The fiber runs a `batch` holds (they have no events of their own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runs: Option<u64>,
    /// Fibers created and finished inside a `batch` (no `created` or
    /// `exited` of their own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fibers: Option<u64>,
    /// Switches opened and finished inside a `batch` (no switch events of
    /// their own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub switches: Option<u64>,
}

impl RecordedEvent {
    /// An event with no optional fields.
    ///
    /// ```
    /// let e = weft_console::RecordedEvent::new(1, 2, "exited", 3);
    /// assert_eq!((e.thread, e.t_ns, e.fiber), (1, 2, 3));
    /// ```
    pub fn new(thread: u64, t_ns: u64, kind: &str, fiber: u64) -> Self {
        RecordedEvent {
            thread,
            t_ns,
            kind: kind.to_string(),
            fiber,
            ..Default::default()
        }
    }

    fn from_event(thread: u64, t_ns: u64, e: Event, arena: &Arena<'_>, time: &TimeBase) -> Self {
        let hex = |s: u64| Some(format!("{s:x}"));
        let string = |id: u64| arena.get(id as u32);
        match e {
            Event::Created {
                fiber,
                parent,
                switch,
                spawn_at,
                name,
            } => RecordedEvent {
                at: location(arena, spawn_at),
                name: string(name),
                switch: hex(switch),
                parent: Some(parent),
                ..Self::new(thread, t_ns, "created", fiber)
            },
            Event::Run { fiber, after_wait } => RecordedEvent {
                after_wait: Some(after_wait),
                ..Self::new(thread, t_ns, "run", fiber)
            },
            Event::Suspended { fiber, at, on } => RecordedEvent {
                at: location(arena, at),
                waiting_on: kind_name(on),
                ..Self::new(thread, t_ns, "suspended", fiber)
            },
            Event::Wake { fiber, woken } => RecordedEvent {
                woken: Some(woken),
                ..Self::new(thread, t_ns, "wake", fiber)
            },
            Event::OpSubmitted { fiber, op, key } => RecordedEvent {
                waiting_on: kind_name(op),
                key: Some(key),
                ..Self::new(thread, t_ns, "op_submitted", fiber)
            },
            Event::OpCompleted {
                fiber,
                op,
                key,
                result,
            } => RecordedEvent {
                waiting_on: kind_name(op),
                key: Some(key),
                result: Some(result),
                ..Self::new(thread, t_ns, "op_completed", fiber)
            },
            Event::BlockingDone { fiber, at } => RecordedEvent {
                at: location(arena, at),
                ..Self::new(thread, t_ns, "blocking_done", fiber)
            },
            Event::Stall {
                fiber,
                scheduler,
                ran_ns,
                ongoing,
            } => RecordedEvent {
                stalled_ms: Some(ran_ns as f64 / 1e6),
                scheduler: Some(scheduler),
                ongoing: Some(ongoing),
                ..Self::new(thread, t_ns, "stall", fiber)
            },
            Event::Yielded { fiber } => Self::new(thread, t_ns, "yielded", fiber),
            Event::Exited { fiber } => Self::new(thread, t_ns, "exited", fiber),
            Event::SwitchCreated { fiber, switch, at } => RecordedEvent {
                at: location(arena, at),
                switch: hex(switch),
                ..Self::new(thread, t_ns, "switch_created", fiber)
            },
            Event::SwitchFinished {
                fiber,
                switch,
                failed,
            } => RecordedEvent {
                switch: hex(switch),
                failed: Some(failed),
                ..Self::new(thread, t_ns, "switch_finished", fiber)
            },
            Event::CancelRequested { fiber, switch } => RecordedEvent {
                switch: hex(switch),
                ..Self::new(thread, t_ns, "cancel_requested", fiber)
            },
            Event::BlockingJob { fiber, at } => RecordedEvent {
                at: location(arena, at),
                ..Self::new(thread, t_ns, "blocking_job", fiber)
            },
            Event::User { fiber, name, value } => RecordedEvent {
                name: string(name),
                value: Some(value),
                ..Self::new(thread, t_ns, "user", fiber)
            },
            Event::Batch {
                start,
                runs,
                fibers,
                switches,
            } => RecordedEvent {
                start_ns: Some(time.to_ns(start).min(t_ns)),
                runs: Some(runs),
                fibers: Some(fibers),
                switches: Some(switches),
                ..Self::new(thread, t_ns, "batch", 0)
            },
        }
    }
}

/// The thread whose track an event belongs on: its own, except a
/// watchdog's `stall`, which goes on the blocked scheduler's thread (found
/// through the recording's `threads` lines).
pub(crate) fn lane_of(e: &RecordedEvent, lines: &[Line]) -> u64 {
    if e.kind != "stall" {
        return e.thread;
    }
    lines
        .iter()
        .filter_map(|l| match l {
            Line::Threads { threads, .. } => Some(threads),
            _ => None,
        })
        .flatten()
        .find(|t| Some(t.scheduler) == e.scheduler)
        .map_or(e.thread, |t| t.tid)
}

/// The name of a `WaitKind` word, if valid.
fn kind_name(word: u64) -> Option<String> {
    WaitKind::from_word(word).map(|k| k.name().to_string())
}

/// What a recording holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordSummary {
    /// Events written.
    pub events: u64,
    /// Events lost (the program outran the recorder).
    pub lost: u64,
}

/// Follows the rings of an attached process.
pub(crate) struct Follower {
    /// Per slot: the owner last seen and the next position to read.
    positions: Vec<(u64, u64)>,
    /// The file's clock to `CLOCK_MONOTONIC` ns.
    time: TimeBase,
}

impl Follower {
    /// Starts at the current end of every ring (events from now on).
    pub(crate) fn new(attached: &Attached) -> Self {
        let view = attached.view();
        let positions = (0..view.geometry().slots)
            .map(|i| {
                let s = view.slot(i);
                (s.owner(), s.ring.written())
            })
            .collect();
        Follower {
            positions,
            time: view.time_base(),
        }
    }

    /// The events recorded since the last call, thread by thread, and how
    /// many were lost.
    pub(crate) fn poll(&mut self, attached: &Attached) -> (Vec<RecordedEvent>, u64) {
        let view = attached.view();
        let arena = view.arena();
        let mut events = Vec::new();
        let mut lost = 0;
        let mut payloads = Vec::new();
        for (i, (owner, pos)) in self.positions.iter_mut().enumerate() {
            let slot = view.slot(i);
            let now_owner = slot.owner();
            if now_owner == 0 || now_owner == u64::MAX {
                continue;
            }
            if now_owner != *owner {
                // A new scheduler took the slot: its ring starts at 0.
                *owner = now_owner;
                *pos = 0;
            }
            payloads.clear();
            lost += slot.ring.read(pos, &mut payloads);
            let thread = slot.thread();
            for p in &payloads {
                if let Some((t, e)) = Event::decode(p) {
                    let t = self.time.to_ns(t);
                    events.push(RecordedEvent::from_event(thread, t, e, &arena, &self.time));
                }
            }
        }
        (events, lost)
    }
}

/// Records process `pid` into `out` until `stop()` holds, `duration` has
/// passed, or the process ends. Polls every 10 ms.
///
/// ```no_run
/// let mut out = Vec::new();
/// let summary = weft_console::record(1234, &mut out, Some(std::time::Duration::from_secs(1)), &|| false)?;
/// println!("{} events, {} lost", summary.events, summary.lost);
/// # Ok::<(), weft_console::ConsoleError>(())
/// ```
pub fn record(
    pid: u32,
    out: &mut impl Write,
    duration: Option<Duration>,
    stop: &dyn Fn() -> bool,
) -> Result<RecordSummary, ConsoleError> {
    let attached = Attached::open(pid)?;
    let io = |e| ConsoleError::io("the recording", e);
    let mut follower = Follower::new(&attached);
    let header = Line::Header { pid, version: 1 };
    let write_line = |out: &mut dyn Write, line: &Line| -> std::io::Result<()> {
        serde_json::to_writer(&mut *out, line)?;
        out.write_all(b"\n")
    };
    write_line(out, &header).map_err(io)?;
    for f in Snapshot::take(&attached).fibers {
        write_line(out, &Line::Fiber(f)).map_err(io)?;
    }
    let mut last_threads = Vec::new();
    let mut threads_line = |out: &mut dyn Write| -> std::io::Result<()> {
        let threads = ThreadInfo::all(&attached.view());
        if threads != last_threads {
            let t_ns = monotonic_ns();
            write_line(
                out,
                &Line::Threads {
                    t_ns,
                    threads: threads.clone(),
                },
            )?;
            last_threads = threads;
        }
        Ok(())
    };
    threads_line(out).map_err(io)?;
    // A reader of the file sees that recording has started.
    out.flush().map_err(io)?;
    let started = Instant::now();
    let mut summary = RecordSummary { events: 0, lost: 0 };
    loop {
        let done =
            stop() || duration.is_some_and(|d| started.elapsed() >= d) || !attached.is_alive();
        let (events, lost) = follower.poll(&attached);
        for e in events {
            write_line(out, &Line::Event(e)).map_err(io)?;
            summary.events += 1;
        }
        summary.lost += lost;
        threads_line(out).map_err(io)?;
        if done {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    write_line(
        out,
        &Line::End {
            events: summary.events,
            lost: summary.lost,
        },
    )
    .map_err(io)?;
    out.flush().map_err(io)?;
    Ok(summary)
}

/// Reads a recording back.
///
/// ```
/// let text = "{\"type\":\"header\",\"pid\":1,\"version\":1}\n{\"type\":\"end\",\"events\":0,\"lost\":0}\n";
/// let lines = weft_console::read_recording("mem", text.as_bytes()).unwrap();
/// assert_eq!(lines.len(), 2);
/// ```
pub fn read_recording(path: &str, input: impl BufRead) -> Result<Vec<Line>, ConsoleError> {
    let mut lines = Vec::new();
    for (i, line) in input.lines().enumerate() {
        let line = line.map_err(|e| ConsoleError::io(path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let parsed: Line = serde_json::from_str(&line).map_err(|e| ConsoleError::BadRecording {
            path: path.to_string(),
            line: i + 1,
            reason: e.to_string(),
        })?;
        if i == 0 && !matches!(parsed, Line::Header { .. }) {
            return Err(ConsoleError::BadRecording {
                path: path.to_string(),
                line: 1,
                reason: "the first line is not a header".into(),
            });
        }
        lines.push(parsed);
    }
    if lines.is_empty() {
        return Err(ConsoleError::BadRecording {
            path: path.to_string(),
            line: 1,
            reason: "empty".into(),
        });
    }
    Ok(lines)
}
