//! The `top` screen: title, per-thread panel, warnings, the fiber table
//! (tree or flat), the detail pane of the selected fiber, the key help.

use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph, Row, Table, TableState};
use ratatui::Frame;

use super::model::{Model, SortBy, TableRow};
use crate::{FiberInfo, Snapshot};

/// Everything a frame shows.
///
/// ```
/// use ratatui::{backend::TestBackend, Terminal};
/// use weft_console::{top::{draw, Model, Screen}, Snapshot};
/// let snapshot = Snapshot { pid: 5, threads: vec![], fibers: vec![], unlisted: 0 };
/// let model = Model::default();
/// let screen = Screen { snapshot: &snapshot, model: &model, rows: &[], warnings: &[],
///     detail: &[], status: "live" };
/// let mut terminal = Terminal::new(TestBackend::new(100, 12)).unwrap();
/// terminal.draw(|f| draw(f, &screen)).unwrap();
/// ```
pub struct Screen<'a> {
    /// The fibers and threads.
    pub snapshot: &'a Snapshot,
    /// Order, filter, selection.
    pub model: &'a Model,
    /// The table rows (`model.rows(snapshot)`).
    pub rows: &'a [TableRow],
    /// Warnings to show.
    pub warnings: &'a [String],
    /// The detail pane's lines (when open).
    pub detail: &'a [String],
    /// "live" or the replay's position.
    pub status: &'a str,
}

fn ms(v: f64) -> String {
    if v >= 1000.0 {
        format!("{:.1}s", v / 1000.0)
    } else {
        format!("{v:.1}ms")
    }
}

/// The cells of a fiber row: id (indented), name, state, on, for, where,
/// runs, busy.
fn fiber_cells(f: &FiberInfo, depth: usize) -> Vec<String> {
    let for_ms = f.blocked_for_ms.or(f.running_for_ms);
    vec![
        format!("{}{}", "  ".repeat(depth), f.id),
        f.name.clone().unwrap_or_else(|| "-".into()),
        f.state.clone(),
        f.waiting_on.clone().unwrap_or_default(),
        for_ms.map(ms).unwrap_or_default(),
        f.blocked_at
            .clone()
            .or_else(|| f.spawned_at.as_ref().map(|s| format!("(spawned {s})")))
            .unwrap_or_default(),
        f.runs.to_string(),
        ms(f.busy_ms),
    ]
}

/// Draws one frame.
///
/// ```
/// use ratatui::{backend::TestBackend, Terminal};
/// use weft_console::{top::{draw, Model, Screen}, Snapshot};
/// let snapshot = Snapshot { pid: 5, threads: vec![], fibers: vec![], unlisted: 0 };
/// let model = Model::default();
/// let screen = Screen { snapshot: &snapshot, model: &model, rows: &[], warnings: &[],
///     detail: &[], status: "live" };
/// let mut terminal = Terminal::new(TestBackend::new(100, 12)).unwrap();
/// terminal.draw(|f| draw(f, &screen)).unwrap();
/// let first: String = (0..40).map(|x| terminal.backend().buffer()[(x, 0)].symbol().to_string()).collect();
/// assert!(first.starts_with("weft-console top: PID 5"));
/// ```
pub fn draw(frame: &mut Frame, s: &Screen<'_>) {
    let snap = s.snapshot;
    let thread_lines = snap.threads.len().clamp(1, 6) as u16 + 1;
    let warning_lines = s.warnings.len().min(4) as u16;
    let [title, threads, warnings, body, help] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(thread_lines + 1),
        Constraint::Length(warning_lines),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(frame.area());

    let waiting = snap.fibers.iter().filter(|f| f.state == "waiting").count();
    let filter = if s.model.editing_filter || !s.model.filter.is_empty() {
        format!(
            "  filter: {}{}",
            s.model.filter,
            if s.model.editing_filter { "_" } else { "" }
        )
    } else {
        String::new()
    };
    frame.render_widget(
        Paragraph::new(format!(
            "weft-console top: PID {}  {} fibers ({} waiting) on {} threads  order: {}{}  [{}]",
            snap.pid,
            snap.fibers.len(),
            waiting,
            snap.threads.len(),
            s.model.sort.name(),
            filter,
            s.status,
        ))
        .style(Style::default().add_modifier(Modifier::BOLD)),
        title,
    );

    let thread_rows = snap.threads.iter().map(|t| {
        Row::new([
            t.tid.to_string(),
            t.scheduler.to_string(),
            t.run_queue.to_string(),
            t.live_fibers.to_string(),
            t.ops_in_flight.to_string(),
            t.timers.to_string(),
            t.blocking_jobs.to_string(),
            t.events.to_string(),
        ])
    });
    frame.render_widget(
        Table::new(thread_rows, [Constraint::Length(10); 8])
            .header(
                Row::new([
                    "THREAD", "SCHED", "RUNQ", "FIBERS", "OPS", "TIMERS", "BLOCKING", "EVENTS",
                ])
                .style(Style::default().add_modifier(Modifier::REVERSED)),
            )
            .block(
                Block::default()
                    .borders(Borders::TOP)
                    .title("scheduler threads"),
            ),
        threads,
    );

    if warning_lines > 0 {
        let lines: Vec<Line> = s
            .warnings
            .iter()
            .take(4)
            .map(|w| Line::from(format!("! {w}")))
            .collect();
        frame.render_widget(
            Paragraph::new(lines).style(Style::default().fg(Color::Yellow)),
            warnings,
        );
    }

    let (table_area, detail_area) = if s.model.detail {
        let [a, b] =
            Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(body);
        (a, Some(b))
    } else {
        (body, None)
    };
    let rows = s.rows.iter().map(|r| match r {
        TableRow::Switch {
            id,
            depth,
            fibers,
            collapsed,
        } => Row::new(vec![
            format!(
                "{}{} switch",
                "  ".repeat(*depth),
                if *collapsed { "▸" } else { "▾" }
            ),
            id.clone(),
            format!("{fibers} fibers"),
        ])
        .style(Style::default().add_modifier(Modifier::BOLD)),
        TableRow::Fiber { info, depth } => Row::new(fiber_cells(info, *depth)),
    });
    let widths = [
        Constraint::Length(16),
        Constraint::Length(14),
        Constraint::Length(9),
        Constraint::Length(12),
        Constraint::Length(8),
        Constraint::Min(20),
        Constraint::Length(6),
        Constraint::Length(9),
    ];
    let table = Table::new(rows, widths)
        .header(
            Row::new(["ID", "NAME", "STATE", "ON", "FOR", "WHERE", "RUNS", "BUSY"])
                .style(Style::default().add_modifier(Modifier::REVERSED)),
        )
        .row_highlight_style(Style::default().add_modifier(Modifier::REVERSED))
        .highlight_symbol(">")
        .block(
            Block::default()
                .borders(Borders::TOP)
                .title(match s.model.sort {
                    SortBy::Tree => "fibers by switch",
                    _ => "fibers",
                }),
        );
    let mut state = TableState::default();
    if !s.rows.is_empty() {
        state.select(Some(s.model.selected.min(s.rows.len() - 1)));
    }
    frame.render_stateful_widget(table, table_area, &mut state);

    if let Some(area) = detail_area {
        let lines: Vec<Line> = s.detail.iter().map(|l| Line::from(l.as_str())).collect();
        frame.render_widget(
            Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title("detail")),
            area,
        );
    }

    frame.render_widget(
        Paragraph::new(Line::from(
            "q quit  s order  / filter  ↑↓ select  ←→/enter fold  c fold all  d detail  \
             (replay: p pause  +/- speed  n next event)",
        )),
        help,
    );
}
