//! `weft-console top PID` and `weft-console replay FILE`: a live (or
//! replayed) table of a process's fibers, like top.
//!
//! The screen: the scheduler threads (run queue, live fibers, io_uring ops
//! in flight, timers, blocking-pool jobs, events), warnings, the fiber tree
//! by switch (collapsible) or a flat order, and a detail pane with the
//! selected fiber's recent events. Keys: `q` quits, `s` changes the order,
//! `/` filters, arrows (or `j`/`k`) select, `←`/`→` or Enter fold a switch,
//! `c` folds all, `d` opens the detail pane, Ctrl-C quits too; in a
//! replay `p` pauses, `+` and `-` change the speed, `n` steps to the next
//! event.

mod draw;
mod history;
mod model;
mod replay;
mod warnings;

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

use crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};

pub use draw::{draw, Screen};
pub use history::{describe, History};
pub use model::{Action, Key, Model, SortBy, TableRow};
pub use replay::Replay;
pub use warnings::warnings;

use crate::record::Follower;
use crate::{Attached, ConsoleError, FiberInfo, Snapshot};

/// A fiber running this long without yielding is reported (ms).
///
/// ```
/// assert!(weft_console::top::WARN_AFTER_MS > 0.0);
/// ```
pub const WARN_AFTER_MS: f64 = 500.0;

/// Where the screens come from.
enum Source {
    Live {
        attached: Attached,
        follower: Follower,
        history: History,
    },
    Replay {
        replay: Replay,
        playing: bool,
        speed: f64,
        last: Instant,
    },
}

impl Source {
    /// The current snapshot (live: read now; replay: advanced by the time
    /// elapsed since the last call, at the replay speed).
    fn refresh(&mut self) -> Snapshot {
        match self {
            Source::Live {
                attached,
                follower,
                history,
            } => {
                let (events, _lost) = follower.poll(attached);
                for e in events {
                    history.add(e);
                }
                let snapshot = Snapshot::take(attached);
                history.keep_only(&snapshot.fibers.iter().map(|f| f.id).collect::<HashSet<_>>());
                snapshot
            }
            Source::Replay {
                replay,
                playing,
                speed,
                last,
            } => {
                let elapsed = last.elapsed();
                *last = Instant::now();
                if *playing {
                    let step = (elapsed.as_nanos() as f64 * *speed) as u64;
                    replay.seek(replay.now_ns().saturating_add(step));
                }
                replay.snapshot()
            }
        }
    }

    fn history(&self) -> &History {
        match self {
            Source::Live { history, .. } => history,
            Source::Replay { replay, .. } => replay.history(),
        }
    }

    fn now_ns(&self) -> u64 {
        match self {
            Source::Live { .. } => weft::console::clock::monotonic_ns(),
            Source::Replay { replay, .. } => replay.now_ns(),
        }
    }

    fn status(&self) -> String {
        match self {
            Source::Live { .. } => "live".into(),
            Source::Replay {
                replay,
                playing,
                speed,
                ..
            } => {
                let (start, end) = replay.span_ns();
                format!(
                    "replay {:.2}s / {:.2}s  x{speed}{}",
                    replay.now_ns().saturating_sub(start) as f64 / 1e9,
                    end.saturating_sub(start) as f64 / 1e9,
                    if *playing { "" } else { "  paused" }
                )
            }
        }
    }

    /// Replay controls.
    fn key(&mut self, key: Key) {
        if let Source::Replay {
            replay,
            playing,
            speed,
            ..
        } = self
        {
            match key {
                Key::Char('p') => *playing = !*playing,
                Key::Char('+') => *speed = (*speed * 2.0).min(1024.0),
                Key::Char('-') => *speed = (*speed / 2.0).max(1.0 / 1024.0),
                Key::Char('n') => {
                    *playing = false;
                    if let Some(t) = replay.next_event_ns() {
                        replay.seek(t);
                    }
                }
                _ => {}
            }
        }
    }

    /// Whether the live process is gone.
    fn ended(&self) -> bool {
        match self {
            Source::Live { attached, .. } => !attached.is_alive(),
            Source::Replay { .. } => false,
        }
    }
}

/// The detail pane of a fiber: its fields, then its recent events.
///
/// ```
/// let lines = weft_console::top::detail_lines(None, &[], 0);
/// assert_eq!(lines, ["(select a fiber)"]);
/// ```
pub fn detail_lines(
    fiber: Option<&FiberInfo>,
    recent: &[crate::RecordedEvent],
    now_ns: u64,
) -> Vec<String> {
    let Some(f) = fiber else {
        return vec!["(select a fiber)".into()];
    };
    let mut out = vec![
        format!("fiber {} {}", f.id, f.name.as_deref().unwrap_or("")),
        format!("state {}  thread {}", f.state, f.thread),
        format!("switch {}  parent {}", f.switch, f.parent),
        format!("waiting on {}", f.waiting_on.as_deref().unwrap_or("-")),
        format!("at {}", f.blocked_at.as_deref().unwrap_or("-")),
        format!("spawned at {}", f.spawned_at.as_deref().unwrap_or("-")),
        format!("runs {}  busy {:.3}ms", f.runs, f.busy_ms),
        String::new(),
        "recent events:".into(),
    ];
    if recent.is_empty() {
        out.push("  (none since top started)".into());
    }
    out.extend(recent.iter().rev().map(|e| describe(e, now_ns)));
    out
}

fn key_of(code: KeyCode) -> Option<Key> {
    Some(match code {
        KeyCode::Char(c) => Key::Char(c),
        KeyCode::Enter => Key::Enter,
        KeyCode::Esc => Key::Esc,
        KeyCode::Backspace => Key::Backspace,
        KeyCode::Up => Key::Up,
        KeyCode::Down => Key::Down,
        KeyCode::Left => Key::Left,
        KeyCode::Right => Key::Right,
        _ => return None,
    })
}

/// Runs the screen until `q`/Esc (Ok(true)) or the live process ends
/// (Ok(false)).
fn run_screen(mut source: Source) -> Result<bool, ConsoleError> {
    let io = |e| ConsoleError::io("the terminal", e);
    let mut terminal = ratatui::try_init().map_err(io)?;
    let mut model = Model::default();
    let outcome = loop {
        if source.ended() {
            break Ok(false);
        }
        let snapshot = source.refresh();
        let rows = model.rows(&snapshot);
        let warnings = warnings(&snapshot, WARN_AFTER_MS, &source.history().stalls());
        let detail = if model.detail {
            let f = model.selected_fiber(&rows);
            let recent = f.map(|f| source.history().recent(f.id)).unwrap_or_default();
            detail_lines(f, &recent, source.now_ns())
        } else {
            Vec::new()
        };
        let status = source.status();
        let screen = Screen {
            snapshot: &snapshot,
            model: &model,
            rows: &rows,
            warnings: &warnings,
            detail: &detail,
            status: &status,
        };
        if let Err(e) = terminal.draw(|f| draw(f, &screen)) {
            break Err(io(e));
        }
        match event::poll(Duration::from_millis(250)) {
            Ok(true) => match event::read() {
                Ok(Event::Key(k)) if k.kind == KeyEventKind::Press => {
                    // Raw mode delivers Ctrl-C as a key: it quits too.
                    if k.modifiers.contains(KeyModifiers::CONTROL) && k.code == KeyCode::Char('c') {
                        break Ok(true);
                    }
                    if let Some(key) = key_of(k.code) {
                        match model.key(key, &rows) {
                            Action::Quit => break Ok(true),
                            Action::Unhandled => source.key(key),
                            Action::None => {}
                        }
                    }
                }
                Ok(_) => {}
                Err(e) => break Err(io(e)),
            },
            Ok(false) => {}
            Err(e) => break Err(io(e)),
        }
    };
    ratatui::restore();
    outcome
}

/// Runs the TUI on a live process until `q`, Esc, or the process ends.
///
/// ```no_run
/// weft_console::top::run(1234)?;
/// # Ok::<(), weft_console::ConsoleError>(())
/// ```
pub fn run(pid: u32) -> Result<(), ConsoleError> {
    let attached = Attached::open(pid)?;
    let follower = Follower::new(&attached);
    let source = Source::Live {
        attached,
        follower,
        history: History::default(),
    };
    match run_screen(source)? {
        true => Ok(()),
        false => Err(ConsoleError::Exited(pid)),
    }
}

/// Plays a recording (made by `record`) back in the TUI, from its start
/// at real speed, until `q` or Esc.
///
/// ```no_run
/// weft_console::top::replay(std::path::Path::new("run.jsonl"))?;
/// # Ok::<(), weft_console::ConsoleError>(())
/// ```
pub fn replay(path: &Path) -> Result<(), ConsoleError> {
    let name = path.display().to_string();
    let input = std::fs::File::open(path).map_err(|e| ConsoleError::io(name.clone(), e))?;
    let lines = crate::read_recording(&name, std::io::BufReader::new(input))?;
    let source = Source::Replay {
        replay: Replay::new(&lines),
        playing: true,
        speed: 1.0,
        last: Instant::now(),
    };
    run_screen(source).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    fn screen_text(snapshot: &Snapshot, model: &Model, detail: &[String]) -> String {
        let rows = model.rows(snapshot);
        let warnings = warnings(snapshot, WARN_AFTER_MS, &[]);
        let mut terminal = Terminal::new(TestBackend::new(140, 30)).unwrap();
        terminal
            .draw(|f| {
                draw(
                    f,
                    &Screen {
                        snapshot,
                        model,
                        rows: &rows,
                        warnings: &warnings,
                        detail,
                        status: "live",
                    },
                )
            })
            .unwrap();
        let buffer = terminal.backend().buffer().clone();
        (0..buffer.area.height)
            .map(|y| {
                (0..buffer.area.width)
                    .map(|x| buffer[(x, y)].symbol().to_string())
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn snapshot() -> Snapshot {
        let f = |id, parent, switch: &str, state: &str, on: Option<&str>| FiberInfo {
            id,
            name: Some(format!("f{id}")),
            state: state.into(),
            switch: switch.into(),
            parent,
            thread: 77,
            waiting_on: on.map(Into::into),
            blocked_at: on.map(|_| format!("src/main.rs:{id}")),
            blocked_for_ms: on.map(|_| 1500.0),
            running_for_ms: (state == "running").then_some(2000.0),
            spawned_at: None,
            runs: 4,
            busy_ms: 1.25,
        };
        Snapshot {
            pid: 42,
            threads: vec![crate::ThreadInfo {
                tid: 77,
                scheduler: 1,
                events: 99,
                run_queue: 1,
                live_fibers: 3,
                timers: 2,
                ops_in_flight: 5,
                blocking_jobs: 0,
            }],
            fibers: vec![
                f(1, 0, "aa", "waiting", Some("switch")),
                f(2, 1, "bb", "waiting", Some("socket_recv")),
                f(3, 1, "bb", "running", None),
            ],
            unlisted: 0,
        }
    }

    #[test]
    fn the_screen_shows_threads_the_tree_and_warnings() {
        let text = screen_text(&snapshot(), &Model::default(), &[]);
        assert!(
            text.contains("PID 42  3 fibers (2 waiting) on 1 threads"),
            "{text}"
        );
        assert!(text.contains("THREAD") && text.contains("RUNQ"), "{text}");
        let thread_row = text
            .lines()
            .find(|l| l.trim_start().starts_with("77"))
            .unwrap();
        let cells: Vec<&str> = thread_row.split_whitespace().collect();
        assert_eq!(cells, ["77", "1", "1", "3", "5", "2", "0", "99"]);
        assert!(
            text.contains("▾ switch") && text.contains("aa") && text.contains("bb"),
            "{text}"
        );
        assert!(
            text.contains("socket_recv") && text.contains("src/main.rs:2"),
            "{text}"
        );
        assert!(
            text.contains("thread 77 blocked: fiber 3 (f3) has run 2.0s without yielding"),
            "{text}"
        );
    }

    #[test]
    fn the_detail_pane_lists_the_selected_fibers_events() {
        let snap = snapshot();
        let mut model = Model::default();
        let rows = model.rows(&snap);
        model.selected = 3; // fiber 2, under switch bb
        model.detail = true;
        let mut e = crate::RecordedEvent::new(77, 1_000_000, "suspended", 2);
        e.waiting_on = Some("socket_recv".into());
        let lines = detail_lines(model.selected_fiber(&rows), &[e], 3_000_000);
        assert_eq!(lines[0], "fiber 2 f2");
        assert!(
            lines.iter().any(|l| l.contains("suspended on=socket_recv")),
            "{lines:?}"
        );
        let text = screen_text(&snap, &model, &lines);
        assert!(
            text.contains("detail") && text.contains("recent events:"),
            "{text}"
        );
    }
}
