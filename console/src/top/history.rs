//! The recent events of each fiber (for the detail pane) and the
//! watchdog's recent stalls, as `top` follows them.

use std::collections::{HashMap, HashSet, VecDeque};

use crate::RecordedEvent;

/// Events kept per fiber.
const PER_FIBER: usize = 24;
/// Stalls kept.
const STALLS: usize = 8;

/// Recent events by fiber.
///
/// ```
/// use weft_console::{top::History, RecordedEvent};
/// let mut h = History::default();
/// h.add(RecordedEvent::new(1, 10, "run", 3));
/// assert_eq!(h.recent(3).len(), 1);
/// ```
#[derive(Clone, Debug, Default)]
pub struct History {
    fibers: HashMap<u64, VecDeque<RecordedEvent>>,
    stalls: VecDeque<RecordedEvent>,
}

impl History {
    /// Notes an event: under its fiber, and a wake-up under the woken
    /// fiber too; a stall among the stalls.
    ///
    /// ```
    /// use weft_console::{top::History, RecordedEvent};
    /// let mut h = History::default();
    /// let mut wake = RecordedEvent::new(1, 10, "wake", 3);
    /// wake.woken = Some(4);
    /// h.add(wake);
    /// assert_eq!((h.recent(3).len(), h.recent(4).len()), (1, 1));
    /// ```
    pub fn add(&mut self, e: RecordedEvent) {
        if e.kind == "stall" {
            if self.stalls.len() == STALLS {
                self.stalls.pop_front();
            }
            self.stalls.push_back(e.clone());
        }
        let mut push = |fiber: u64, e: RecordedEvent| {
            if fiber == 0 {
                return;
            }
            let q = self.fibers.entry(fiber).or_default();
            if q.len() == PER_FIBER {
                q.pop_front();
            }
            q.push_back(e);
        };
        if let Some(woken) = e.woken {
            push(woken, e.clone());
        }
        push(e.fiber, e);
    }

    /// The fiber's recent events, oldest first.
    ///
    /// ```
    /// assert!(weft_console::top::History::default().recent(1).is_empty());
    /// ```
    pub fn recent(&self, fiber: u64) -> Vec<RecordedEvent> {
        self.fibers
            .get(&fiber)
            .map(|q| q.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The watchdog's recent stalls, oldest first.
    ///
    /// ```
    /// assert!(weft_console::top::History::default().stalls().is_empty());
    /// ```
    pub fn stalls(&self) -> Vec<RecordedEvent> {
        self.stalls.iter().cloned().collect()
    }

    /// Forgets the fibers not in `live`.
    ///
    /// ```
    /// use weft_console::{top::History, RecordedEvent};
    /// let mut h = History::default();
    /// h.add(RecordedEvent::new(1, 10, "run", 3));
    /// h.keep_only(&[].into_iter().collect());
    /// assert!(h.recent(3).is_empty());
    /// ```
    pub fn keep_only(&mut self, live: &HashSet<u64>) {
        self.fibers.retain(|id, _| live.contains(id));
    }
}

/// One line of the detail pane for an event, times relative to `now_ns`.
///
/// ```
/// let e = weft_console::RecordedEvent::new(1, 1_000_000, "run", 3);
/// assert_eq!(weft_console::top::describe(&e, 3_000_000), " -2.0ms run");
/// ```
pub fn describe(e: &RecordedEvent, now_ns: u64) -> String {
    let ago = (now_ns as f64 - e.t_ns as f64) / 1e6;
    let mut s = format!("{:>7} {}", format!("-{ago:.1}ms"), e.kind);
    let mut add = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            s.push_str(&format!(" {k}={v}"));
        }
    };
    add("on", e.waiting_on.clone());
    add("at", e.at.clone());
    add("woken", e.woken.map(|w| w.to_string()));
    if e.kind == "wake" {
        add(
            "by",
            Some(match e.fiber {
                0 => "scheduler (I/O or timer)".to_string(),
                f => format!("fiber {f}"),
            }),
        );
    }
    add("result", e.result.map(|r| r.to_string()));
    add("name", e.name.clone());
    add("value", e.value.map(|v| v.to_string()));
    add("switch", e.switch.clone());
    s
}
