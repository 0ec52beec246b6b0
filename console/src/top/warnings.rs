//! What `top` warns about, decided from a snapshot alone (and the
//! watchdog's stall events when it runs):
//!
//! - a fiber that has run longer than the threshold without suspending or
//!   yielding: it never yields, and its whole thread is blocked with it;
//! - a thread whose every fiber waits on a runtime primitive (lock,
//!   channel, promise...) while nothing that could wake one is pending on
//!   it (no runnable fiber, I/O op, timer or blocking-pool job): only
//!   another thread can wake them, so they may be deadlocked.
//!
//! Whether a primitive can be reached by anyone else is not knowable from
//! the outside, so the second warning says what is true ("nothing on this
//! thread can wake them") rather than claiming a deadlock.

use crate::{RecordedEvent, Snapshot};

/// Waits that only another fiber (or thread) can end.
const PRIMITIVES: [&str; 15] = [
    "lock",
    "rwlock",
    "semaphore",
    "condition",
    "notify",
    "barrier",
    "pool",
    "once",
    "cancellation_token",
    "recv",
    "send",
    "closed",
    "promise",
    "join",
    "switch",
];

/// The warnings for `snapshot`, with `threshold_ms` for "too long";
/// `stalls` are recent watchdog `stall` events (shown as they are).
///
/// ```
/// let s = weft_console::Snapshot { pid: 1, threads: vec![], fibers: vec![], unlisted: 0 };
/// assert!(weft_console::top::warnings(&s, 100.0, &[]).is_empty());
/// ```
pub fn warnings(snapshot: &Snapshot, threshold_ms: f64, stalls: &[RecordedEvent]) -> Vec<String> {
    let mut out = Vec::new();
    for f in &snapshot.fibers {
        if let Some(ms) = f.running_for_ms.filter(|ms| *ms >= threshold_ms) {
            out.push(format!(
                "thread {} blocked: fiber {} ({}) has run {:.1}s without yielding",
                f.thread,
                f.id,
                f.name.as_deref().unwrap_or("-"),
                ms / 1000.0
            ));
        }
    }
    for t in &snapshot.threads {
        let mine: Vec<_> = snapshot
            .fibers
            .iter()
            .filter(|f| f.thread == t.tid)
            .collect();
        let all_on_primitives = !mine.is_empty()
            && mine.iter().all(|f| {
                f.state == "waiting"
                    && f.blocked_for_ms.is_some_and(|ms| ms >= threshold_ms)
                    && f.waiting_on
                        .as_deref()
                        .is_some_and(|on| PRIMITIVES.contains(&on))
            });
        let nothing_pending =
            t.run_queue == 0 && t.ops_in_flight == 0 && t.timers == 0 && t.blocking_jobs == 0;
        if all_on_primitives && nothing_pending {
            out.push(format!(
                "thread {}: all {} fibers wait on locks/channels/promises and nothing on the \
                 thread can wake them (no I/O, timer or blocking job): deadlocked unless \
                 another thread does",
                t.tid,
                mine.len()
            ));
        }
    }
    for s in stalls {
        out.push(format!(
            "watchdog: fiber {} blocked thread {} for {:.1}ms{}",
            s.fiber,
            s.scheduler
                .map_or("?".to_string(), |id| format!("of scheduler {id}")),
            s.stalled_ms.unwrap_or(0.0),
            if s.ongoing == Some(true) {
                " (still running)"
            } else {
                ""
            }
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FiberInfo, ThreadInfo};

    fn thread(run_queue: u64, timers: u64) -> ThreadInfo {
        ThreadInfo {
            tid: 7,
            scheduler: 1,
            events: 0,
            run_queue,
            live_fibers: 2,
            timers,
            ops_in_flight: 0,
            blocking_jobs: 0,
        }
    }

    fn fiber(id: u64, state: &str, on: Option<&str>, ms: f64) -> FiberInfo {
        FiberInfo {
            id,
            name: None,
            state: state.into(),
            switch: "s".into(),
            parent: 0,
            thread: 7,
            waiting_on: on.map(Into::into),
            blocked_at: None,
            blocked_for_ms: (state == "waiting").then_some(ms),
            running_for_ms: (state == "running").then_some(ms),
            spawned_at: None,
            runs: 1,
            busy_ms: 0.0,
        }
    }

    #[test]
    fn a_fiber_running_past_the_threshold_blocks_its_thread() {
        let s = Snapshot {
            pid: 1,
            threads: vec![thread(3, 0)],
            fibers: vec![
                fiber(1, "running", None, 2500.0),
                fiber(2, "runnable", None, 0.0),
            ],
            unlisted: 0,
        };
        let w = warnings(&s, 500.0, &[]);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].contains("thread 7 blocked: fiber 1") && w[0].contains("2.5s"),
            "{w:?}"
        );
        assert!(warnings(&s, 5000.0, &[]).is_empty(), "under the threshold");
    }

    #[test]
    fn fibers_all_waiting_on_primitives_with_nothing_pending_are_reported() {
        let stuck = Snapshot {
            pid: 1,
            threads: vec![thread(0, 0)],
            fibers: vec![
                fiber(1, "waiting", Some("lock"), 900.0),
                fiber(2, "waiting", Some("recv"), 900.0),
            ],
            unlisted: 0,
        };
        let w = warnings(&stuck, 500.0, &[]);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("all 2 fibers wait"), "{w:?}");
        // A timer could still wake one: no warning.
        let timer = Snapshot {
            threads: vec![thread(0, 1)],
            ..stuck.clone()
        };
        assert!(warnings(&timer, 500.0, &[]).is_empty());
        // A fiber waiting on I/O: no warning.
        let io = Snapshot {
            fibers: vec![
                fiber(1, "waiting", Some("lock"), 900.0),
                fiber(2, "waiting", Some("socket_recv"), 900.0),
            ],
            ..stuck.clone()
        };
        assert!(warnings(&io, 500.0, &[]).is_empty());
    }

    #[test]
    fn watchdog_stalls_are_listed() {
        let s = Snapshot {
            pid: 1,
            threads: vec![],
            fibers: vec![],
            unlisted: 0,
        };
        let mut e = RecordedEvent::new(9, 0, "stall", 4);
        e.stalled_ms = Some(120.0);
        e.scheduler = Some(1);
        let w = warnings(&s, 500.0, &[e]);
        assert_eq!(
            w,
            ["watchdog: fiber 4 blocked thread of scheduler 1 for 120.0ms"]
        );
    }
}
