//! A recording played back as a sequence of snapshots (for
//! `weft-console replay FILE`): fibers' states, where they wait and for
//! how long, their runs and busy time, and the thread gauges, as they were
//! at any time of the recording.

use std::collections::BTreeMap;

use super::history::History;
use crate::{FiberInfo, Line, RecordedEvent, Snapshot, ThreadInfo};

/// A fiber being replayed: its row and since when it is in its state.
#[derive(Clone, Debug)]
struct Replayed {
    info: FiberInfo,
    since_ns: u64,
}

/// A recording, positioned at a time.
///
/// ```
/// use weft_console::{top::Replay, Line, RecordedEvent};
/// let lines = vec![
///     Line::Header { pid: 7, version: 1 },
///     Line::Event(RecordedEvent { name: Some("w".into()), switch: Some("s".into()),
///         parent: Some(0), ..RecordedEvent::new(1, 1_000, "created", 5) }),
///     Line::Event(RecordedEvent::new(1, 2_000, "run", 5)),
/// ];
/// let mut r = Replay::new(&lines);
/// r.seek(1_500);
/// assert_eq!(r.snapshot().fibers[0].state, "runnable");
/// r.seek(2_000);
/// assert_eq!(r.snapshot().fibers[0].state, "running");
/// ```
pub struct Replay {
    pid: u32,
    /// Every event, by time.
    events: Vec<RecordedEvent>,
    /// Gauge lines, by time.
    threads: Vec<(u64, Vec<ThreadInfo>)>,
    start_ns: u64,
    end_ns: u64,
    /// Fibers live at the start.
    initial: BTreeMap<u64, Replayed>,
    /// State at `now_ns`: the next event to apply, the fibers, the history.
    next: usize,
    now_ns: u64,
    fibers: BTreeMap<u64, Replayed>,
    history: History,
}

impl Replay {
    /// A replay of `lines` (a recording read by `read_recording`), at its
    /// start.
    ///
    /// ```
    /// let lines = vec![weft_console::Line::Header { pid: 1, version: 1 }];
    /// let r = weft_console::top::Replay::new(&lines);
    /// assert_eq!(r.span_ns(), (0, 0));
    /// ```
    pub fn new(lines: &[Line]) -> Replay {
        let mut pid = 0;
        let mut events = Vec::new();
        let mut threads = Vec::new();
        let mut fibers_at_start = Vec::new();
        for l in lines {
            match l {
                Line::Header { pid: p, .. } => pid = *p,
                Line::Fiber(f) => fibers_at_start.push(f.clone()),
                Line::Event(e) => events.push(e.clone()),
                Line::Threads { t_ns, threads: t } => threads.push((*t_ns, t.clone())),
                Line::End { .. } => {}
            }
        }
        events.sort_by_key(|e| e.t_ns);
        threads.sort_by_key(|t| t.0);
        let firsts = [threads.first().map(|t| t.0), events.first().map(|e| e.t_ns)];
        let start_ns = firsts.into_iter().flatten().min().unwrap_or(0);
        let lasts = [threads.last().map(|t| t.0), events.last().map(|e| e.t_ns)];
        let end_ns = lasts.into_iter().flatten().max().unwrap_or(start_ns);
        let initial: BTreeMap<u64, Replayed> = fibers_at_start
            .into_iter()
            .map(|f| {
                let back = f.blocked_for_ms.or(f.running_for_ms).unwrap_or(0.0);
                let since_ns = start_ns.saturating_sub((back * 1e6) as u64);
                (f.id, Replayed { info: f, since_ns })
            })
            .collect();
        Replay {
            pid,
            events,
            threads,
            start_ns,
            end_ns,
            fibers: initial.clone(),
            initial,
            next: 0,
            now_ns: start_ns,
            history: History::default(),
        }
    }

    /// The recording's first and last times (`CLOCK_MONOTONIC` ns).
    ///
    /// ```
    /// let r = weft_console::top::Replay::new(&[]);
    /// assert_eq!(r.span_ns(), (0, 0));
    /// ```
    pub fn span_ns(&self) -> (u64, u64) {
        (self.start_ns, self.end_ns)
    }

    /// The time the replay is at.
    ///
    /// ```
    /// assert_eq!(weft_console::top::Replay::new(&[]).now_ns(), 0);
    /// ```
    pub fn now_ns(&self) -> u64 {
        self.now_ns
    }

    /// The time of the next event, if any.
    ///
    /// ```
    /// assert_eq!(weft_console::top::Replay::new(&[]).next_event_ns(), None);
    /// ```
    pub fn next_event_ns(&self) -> Option<u64> {
        self.events.get(self.next).map(|e| e.t_ns)
    }

    /// Moves to time `t_ns` (clamped to the recording), applying every
    /// event up to it; going back starts over from the beginning.
    ///
    /// ```
    /// let mut r = weft_console::top::Replay::new(&[]);
    /// r.seek(99);
    /// assert_eq!(r.now_ns(), 0);
    /// ```
    pub fn seek(&mut self, t_ns: u64) {
        let t = t_ns.clamp(self.start_ns, self.end_ns);
        if t < self.now_ns {
            self.fibers = self.initial.clone();
            self.next = 0;
            self.history = History::default();
        }
        while let Some(e) = self.events.get(self.next) {
            if e.t_ns > t {
                break;
            }
            let e = e.clone();
            self.apply(&e);
            self.history.add(e);
            self.next += 1;
        }
        self.now_ns = t;
    }

    fn apply(&mut self, e: &RecordedEvent) {
        let t = e.t_ns;
        let stop = |r: &mut Replayed| {
            if r.info.state == "running" {
                r.info.busy_ms += t.saturating_sub(r.since_ns) as f64 / 1e6;
            }
            r.since_ns = t;
        };
        match e.kind.as_str() {
            "created" => {
                let info = FiberInfo {
                    id: e.fiber,
                    name: e.name.clone(),
                    state: "runnable".into(),
                    switch: e.switch.clone().unwrap_or_default(),
                    parent: e.parent.unwrap_or(0),
                    thread: e.thread,
                    waiting_on: None,
                    blocked_at: None,
                    blocked_for_ms: None,
                    running_for_ms: None,
                    spawned_at: e.at.clone(),
                    runs: 0,
                    busy_ms: 0.0,
                };
                self.fibers.insert(e.fiber, Replayed { info, since_ns: t });
            }
            "run" => {
                if let Some(r) = self.fibers.get_mut(&e.fiber) {
                    r.info.state = "running".into();
                    r.info.runs += 1;
                    r.info.blocked_at = None;
                    r.info.waiting_on = None;
                    r.since_ns = t;
                }
            }
            "suspended" => {
                if let Some(r) = self.fibers.get_mut(&e.fiber) {
                    stop(r);
                    r.info.state = "waiting".into();
                    r.info.blocked_at = e.at.clone();
                    r.info.waiting_on = e.waiting_on.clone();
                }
            }
            "yielded" => {
                if let Some(r) = self.fibers.get_mut(&e.fiber) {
                    stop(r);
                    r.info.state = "runnable".into();
                }
            }
            "exited" => {
                self.fibers.remove(&e.fiber);
            }
            _ => {}
        }
    }

    /// The fibers and threads as they were at [`Replay::now_ns`].
    ///
    /// ```
    /// let r = weft_console::top::Replay::new(&[weft_console::Line::Header { pid: 3, version: 1 }]);
    /// assert_eq!(r.snapshot().pid, 3);
    /// ```
    pub fn snapshot(&self) -> Snapshot {
        let now = self.now_ns;
        let fibers = self
            .fibers
            .values()
            .map(|r| {
                let mut f = r.info.clone();
                let for_ms = now.saturating_sub(r.since_ns) as f64 / 1e6;
                f.blocked_for_ms = (f.state == "waiting").then_some(for_ms);
                f.running_for_ms = (f.state == "running").then_some(for_ms);
                f
            })
            .collect();
        let threads = self
            .threads
            .iter()
            .take_while(|(t, _)| *t <= now)
            .last()
            .map(|(_, t)| t.clone())
            .unwrap_or_default();
        Snapshot {
            pid: self.pid,
            threads,
            fibers,
            unlisted: 0,
        }
    }

    /// The recent events seen up to now (for the detail pane and stalls).
    ///
    /// ```
    /// assert!(weft_console::top::Replay::new(&[]).history().stalls().is_empty());
    /// ```
    pub fn history(&self) -> &History {
        &self.history
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(t: u64, kind: &str, fiber: u64) -> RecordedEvent {
        RecordedEvent::new(9, t, kind, fiber)
    }

    fn recording() -> Vec<Line> {
        let waiting = FiberInfo {
            id: 1,
            name: Some("main".into()),
            state: "waiting".into(),
            switch: "a".into(),
            parent: 0,
            thread: 9,
            waiting_on: Some("switch".into()),
            blocked_at: Some("src/main.rs:1".into()),
            blocked_for_ms: Some(1.0),
            running_for_ms: None,
            spawned_at: None,
            runs: 3,
            busy_ms: 0.5,
        };
        vec![
            Line::Header { pid: 4, version: 1 },
            Line::Fiber(waiting),
            Line::Threads {
                t_ns: 10_000_000,
                threads: vec![],
            },
            Line::Event(RecordedEvent {
                name: Some("conn".into()),
                switch: Some("a".into()),
                parent: Some(1),
                at: Some("src/main.rs:9".into()),
                ..ev(11_000_000, "created", 2)
            }),
            Line::Event(ev(12_000_000, "run", 2)),
            Line::Event(RecordedEvent {
                at: Some("src/main.rs:10".into()),
                waiting_on: Some("socket_recv".into()),
                ..ev(15_000_000, "suspended", 2)
            }),
            Line::Event(ev(20_000_000, "exited", 2)),
            Line::End { events: 4, lost: 0 },
        ]
    }

    #[test]
    fn a_replay_shows_each_fiber_as_it_was_at_each_time() {
        let mut r = Replay::new(&recording());
        assert_eq!(r.span_ns(), (10_000_000, 20_000_000));
        let at_start = r.snapshot();
        assert_eq!(at_start.fibers.len(), 1);
        assert_eq!(
            at_start.fibers[0].blocked_for_ms,
            Some(1.0),
            "waiting since before the recording"
        );

        r.seek(13_000_000);
        let s = r.snapshot();
        let conn = s
            .fibers
            .iter()
            .find(|f| f.id == 2)
            .expect("created by then");
        assert_eq!((conn.state.as_str(), conn.runs), ("running", 1));
        assert_eq!(conn.running_for_ms, Some(1.0));

        r.seek(17_000_000);
        let s = r.snapshot();
        let conn = s.fibers.iter().find(|f| f.id == 2).unwrap();
        assert_eq!(conn.state, "waiting");
        assert_eq!(conn.waiting_on.as_deref(), Some("socket_recv"));
        assert_eq!(conn.blocked_at.as_deref(), Some("src/main.rs:10"));
        assert_eq!(conn.blocked_for_ms, Some(2.0));
        assert_eq!(conn.busy_ms, 3.0, "ran from 12 to 15 ms");
        assert_eq!(r.history().recent(2).len(), 3);

        r.seek(25_000_000);
        assert_eq!(r.now_ns(), 20_000_000, "clamped to the end");
        assert_eq!(r.snapshot().fibers.len(), 1, "conn exited");

        r.seek(0);
        assert_eq!(r.snapshot().fibers.len(), 1);
        assert!(r.history().recent(2).is_empty(), "back to the start");
    }
}
