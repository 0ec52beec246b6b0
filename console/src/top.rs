//! `weft-console top`: a live table of a process's fibers, by switch.
//! Keys: `s` changes the order (switch, longest waiting, busiest, id),
//! `q` or Esc quits.

use std::time::Duration;

use crossterm::event::{self, Event, KeyCode, KeyEventKind};
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph, Row, Table};
use ratatui::Frame;

use crate::{Attached, ConsoleError, FiberInfo, Snapshot};

/// The order of the fiber table.
///
/// ```
/// use weft_console::top::SortBy;
/// assert_eq!(SortBy::Switch.next(), SortBy::Waiting);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortBy {
    /// Grouped by switch, then by id.
    Switch,
    /// Longest waiting first.
    Waiting,
    /// Most busy time first.
    Busy,
    /// By fiber id.
    Id,
}

impl SortBy {
    /// The order `s` switches to.
    ///
    /// ```
    /// assert_eq!(weft_console::top::SortBy::Id.next(), weft_console::top::SortBy::Switch);
    /// ```
    pub fn next(self) -> SortBy {
        match self {
            SortBy::Switch => SortBy::Waiting,
            SortBy::Waiting => SortBy::Busy,
            SortBy::Busy => SortBy::Id,
            SortBy::Id => SortBy::Switch,
        }
    }

    /// Its name in the title bar.
    ///
    /// ```
    /// assert_eq!(weft_console::top::SortBy::Busy.name(), "busiest");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            SortBy::Switch => "switch",
            SortBy::Waiting => "longest waiting",
            SortBy::Busy => "busiest",
            SortBy::Id => "id",
        }
    }
}

/// The table's rows: a header row `[switch, id, N fibers]` per switch
/// (when sorted by switch), then `[id, name, state, waiting for, where,
/// runs, busy]` per fiber.
///
/// ```
/// use weft_console::{top::{rows, SortBy}, Snapshot};
/// let s = Snapshot { pid: 1, threads: vec![], fibers: vec![], unlisted: 0 };
/// assert!(rows(&s, SortBy::Switch).is_empty());
/// ```
pub fn rows(snapshot: &Snapshot, sort: SortBy) -> Vec<Vec<String>> {
    let mut fibers: Vec<&FiberInfo> = snapshot.fibers.iter().collect();
    let waited = |f: &FiberInfo| f.blocked_for_ms.unwrap_or(-1.0);
    match sort {
        SortBy::Switch => fibers.sort_by(|a, b| (&a.switch, a.id).cmp(&(&b.switch, b.id))),
        SortBy::Waiting => fibers.sort_by(|a, b| waited(b).total_cmp(&waited(a))),
        SortBy::Busy => fibers.sort_by(|a, b| b.busy_ms.total_cmp(&a.busy_ms)),
        SortBy::Id => fibers.sort_by_key(|f| f.id),
    }
    let mut out = Vec::new();
    let mut last_switch = None;
    for f in fibers {
        if sort == SortBy::Switch && last_switch != Some(&f.switch) {
            let n = snapshot
                .fibers
                .iter()
                .filter(|g| g.switch == f.switch)
                .count();
            out.push(vec![
                "switch".into(),
                f.switch.clone(),
                format!("{n} fibers"),
            ]);
            last_switch = Some(&f.switch);
        }
        let indent = if sort == SortBy::Switch { "  " } else { "" };
        out.push(vec![
            format!("{indent}{}", f.id),
            f.name.clone().unwrap_or_else(|| "-".into()),
            f.state.clone(),
            f.blocked_for_ms
                .map(|ms| format!("{:.1}s", ms / 1000.0))
                .unwrap_or_default(),
            f.blocked_at.clone().unwrap_or_default(),
            f.runs.to_string(),
            format!("{:.1}ms", f.busy_ms),
        ]);
    }
    out
}

fn draw(frame: &mut Frame, snapshot: &Snapshot, sort: SortBy) {
    let [title, body, help] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    let waiting = snapshot
        .fibers
        .iter()
        .filter(|f| f.state == "waiting")
        .count();
    frame.render_widget(
        Paragraph::new(format!(
            "weft-console top: PID {}  {} fibers ({} waiting) on {} threads  order: {}",
            snapshot.pid,
            snapshot.fibers.len(),
            waiting,
            snapshot.threads.len(),
            sort.name()
        ))
        .style(Style::default().add_modifier(Modifier::BOLD)),
        title,
    );
    let table_rows = rows(snapshot, sort).into_iter().map(|cells| {
        if cells.len() == 3 {
            Row::new(cells).style(Style::default().add_modifier(Modifier::BOLD))
        } else {
            Row::new(cells)
        }
    });
    let widths = [
        Constraint::Length(8),
        Constraint::Length(14),
        Constraint::Length(9),
        Constraint::Length(9),
        Constraint::Min(20),
        Constraint::Length(7),
        Constraint::Length(10),
    ];
    let table = Table::new(table_rows, widths)
        .header(
            Row::new(["ID", "NAME", "STATE", "WAITING", "WHERE", "RUNS", "BUSY"])
                .style(Style::default().add_modifier(Modifier::REVERSED)),
        )
        .block(Block::default().borders(Borders::TOP));
    frame.render_widget(table, body);
    frame.render_widget(
        Paragraph::new(Line::from("q: quit   s: change order")),
        help,
    );
}

/// Runs the TUI on the terminal until `q`, Esc, or the process ends.
///
/// ```no_run
/// weft_console::top::run(1234)?;
/// # Ok::<(), weft_console::ConsoleError>(())
/// ```
pub fn run(pid: u32) -> Result<(), ConsoleError> {
    let attached = Attached::open(pid)?;
    let io = |e| ConsoleError::io("the terminal", e);
    let mut terminal = ratatui::try_init().map_err(io)?;
    let mut sort = SortBy::Switch;
    let outcome = loop {
        if !attached.is_alive() {
            break Ok(false);
        }
        let snapshot = Snapshot::take(&attached);
        if let Err(e) = terminal.draw(|f| draw(f, &snapshot, sort)) {
            break Err(io(e));
        }
        match event::poll(Duration::from_millis(500)) {
            Ok(true) => match event::read() {
                Ok(Event::Key(k)) if k.kind == KeyEventKind::Press => match k.code {
                    KeyCode::Char('q') | KeyCode::Esc => break Ok(true),
                    KeyCode::Char('s') => sort = sort.next(),
                    _ => {}
                },
                Ok(_) => {}
                Err(e) => break Err(io(e)),
            },
            Ok(false) => {}
            Err(e) => break Err(io(e)),
        }
    };
    ratatui::restore();
    match outcome? {
        true => Ok(()),
        false => Err(ConsoleError::Exited(pid)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fiber(id: u64, switch: &str, waited: Option<f64>, busy: f64) -> FiberInfo {
        FiberInfo {
            id,
            name: Some(format!("f{id}")),
            state: if waited.is_some() {
                "waiting"
            } else {
                "runnable"
            }
            .into(),
            switch: switch.into(),
            parent: 0,
            thread: 1,
            waiting_on: None,
            blocked_at: waited.map(|_| "src/main.rs:3".into()),
            blocked_for_ms: waited,
            spawned_at: None,
            runs: 1,
            busy_ms: busy,
        }
    }

    fn snapshot() -> Snapshot {
        Snapshot {
            pid: 1,
            threads: vec![],
            fibers: vec![
                fiber(3, "b", Some(10.0), 1.0),
                fiber(1, "a", None, 5.0),
                fiber(2, "b", Some(2000.0), 0.5),
            ],
            unlisted: 0,
        }
    }

    #[test]
    fn by_switch_groups_fibers_under_a_header_per_switch() {
        let r = rows(&snapshot(), SortBy::Switch);
        let firsts: Vec<&str> = r.iter().map(|c| c[0].as_str()).collect();
        assert_eq!(firsts, ["switch", "  1", "switch", "  2", "  3"]);
        assert_eq!(r[2], ["switch", "b", "2 fibers"]);
        assert_eq!(r[3][4], "src/main.rs:3");
        assert_eq!(r[3][3], "2.0s");
    }

    #[test]
    fn other_orders_are_flat() {
        let ids = |s| {
            rows(&snapshot(), s)
                .into_iter()
                .map(|c| c[0].clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(SortBy::Waiting), ["2", "3", "1"]);
        assert_eq!(ids(SortBy::Busy), ["1", "3", "2"]);
        assert_eq!(ids(SortBy::Id), ["1", "2", "3"]);
    }
}
