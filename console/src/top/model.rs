//! What `top` shows, apart from the terminal: the fiber tree by switch
//! (collapsible), flat orders, the filter, the selection. Pure data, so it
//! is tested without a terminal.

use std::collections::{BTreeMap, HashSet};

use crate::{FiberInfo, Snapshot};

/// The order of the fiber table.
///
/// ```
/// use weft_console::top::SortBy;
/// assert_eq!(SortBy::Tree.next(), SortBy::Waiting);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortBy {
    /// The tree: switches nested under the fiber that opened them, their
    /// fibers by id.
    Tree,
    /// Longest waiting first.
    Waiting,
    /// Most busy time first.
    Busy,
    /// Most runs (wake-ups) first.
    Runs,
    /// By fiber id.
    Id,
}

impl SortBy {
    /// The order `s` switches to.
    ///
    /// ```
    /// assert_eq!(weft_console::top::SortBy::Id.next(), weft_console::top::SortBy::Tree);
    /// ```
    pub fn next(self) -> SortBy {
        match self {
            SortBy::Tree => SortBy::Waiting,
            SortBy::Waiting => SortBy::Busy,
            SortBy::Busy => SortBy::Runs,
            SortBy::Runs => SortBy::Id,
            SortBy::Id => SortBy::Tree,
        }
    }

    /// Its name in the title bar.
    ///
    /// ```
    /// assert_eq!(weft_console::top::SortBy::Busy.name(), "busiest");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            SortBy::Tree => "tree by switch",
            SortBy::Waiting => "longest waiting",
            SortBy::Busy => "busiest",
            SortBy::Runs => "most runs",
            SortBy::Id => "id",
        }
    }
}

/// One line of the fiber table.
///
/// ```
/// use weft_console::top::{Model, TableRow};
/// let fibers = vec![];
/// let s = weft_console::Snapshot { pid: 1, threads: vec![], fibers, unlisted: 0 };
/// assert!(Model::default().rows(&s).iter().all(|r| matches!(r, TableRow::Switch { .. } | TableRow::Fiber { .. })));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum TableRow {
    /// A switch: its id, how deep it is nested, its fibers (all of its
    /// subtree when collapsed), and whether it is collapsed.
    Switch {
        /// The switch id.
        id: String,
        /// Nesting depth (0: outermost).
        depth: usize,
        /// Its own fibers.
        fibers: usize,
        /// Whether its subtree is hidden.
        collapsed: bool,
    },
    /// A fiber, at a nesting depth.
    Fiber {
        /// The fiber.
        info: FiberInfo,
        /// Nesting depth.
        depth: usize,
    },
}

/// The table's state: order, filter, collapsed switches, selection.
///
/// ```
/// use weft_console::top::Model;
/// let m = Model::default();
/// let s = weft_console::Snapshot { pid: 1, threads: vec![], fibers: vec![], unlisted: 0 };
/// assert!(m.rows(&s).is_empty());
/// ```
#[derive(Clone, Debug)]
pub struct Model {
    /// The order.
    pub sort: SortBy,
    /// Only fibers whose id, name, state, waiting_on or location contains
    /// this (case-insensitive) are listed.
    pub filter: String,
    /// Whether keys go to the filter (after `/`).
    pub editing_filter: bool,
    /// Switch ids whose subtree is hidden.
    pub collapsed: HashSet<String>,
    /// The selected row.
    pub selected: usize,
    /// Whether the detail pane of the selected fiber is open.
    pub detail: bool,
}

impl Default for Model {
    fn default() -> Self {
        Model {
            sort: SortBy::Tree,
            filter: String::new(),
            editing_filter: false,
            collapsed: HashSet::new(),
            selected: 0,
            detail: false,
        }
    }
}

/// A key, as the model understands it.
///
/// ```
/// use weft_console::top::{Action, Key, Model};
/// assert_eq!(Model::default().key(Key::Char('x'), &[]), Action::Unhandled);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    /// A character.
    Char(char),
    /// Enter.
    Enter,
    /// Escape.
    Esc,
    /// Backspace.
    Backspace,
    /// Up arrow.
    Up,
    /// Down arrow.
    Down,
    /// Left arrow (collapse).
    Left,
    /// Right arrow (expand).
    Right,
}

/// What a key asks of the caller.
///
/// ```
/// use weft_console::top::{Action, Key, Model};
/// assert_eq!(Model::default().key(Key::Esc, &[]), Action::Quit);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Nothing beyond redrawing.
    None,
    /// Quit.
    Quit,
    /// Not a table key (the caller may use it, e.g. replay controls).
    Unhandled,
}

fn matches(f: &FiberInfo, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    let needle = needle.to_lowercase();
    [
        Some(f.id.to_string()),
        f.name.clone(),
        Some(f.state.clone()),
        f.waiting_on.clone(),
        f.blocked_at.clone(),
        f.spawned_at.clone(),
    ]
    .into_iter()
    .flatten()
    .any(|s| s.to_lowercase().contains(&needle))
}

impl Model {
    /// The rows for a snapshot.
    ///
    /// In the tree, a switch is nested under the fiber that opened it (the
    /// creator of its first fiber), right after that fiber's row.
    ///
    /// ```
    /// use weft_console::top::{Model, SortBy, TableRow};
    /// let s = weft_console::Snapshot { pid: 1, threads: vec![], fibers: vec![], unlisted: 0 };
    /// let m = Model { sort: SortBy::Id, ..Model::default() };
    /// assert_eq!(m.rows(&s), Vec::<TableRow>::new());
    /// ```
    pub fn rows(&self, snapshot: &Snapshot) -> Vec<TableRow> {
        let mut fibers: Vec<&FiberInfo> = snapshot.fibers.iter().collect();
        if self.sort != SortBy::Tree {
            fibers.retain(|f| matches(f, &self.filter));
            let waited = |f: &FiberInfo| f.blocked_for_ms.unwrap_or(-1.0);
            match self.sort {
                SortBy::Waiting => fibers.sort_by(|a, b| waited(b).total_cmp(&waited(a))),
                SortBy::Busy => fibers.sort_by(|a, b| b.busy_ms.total_cmp(&a.busy_ms)),
                SortBy::Runs => fibers.sort_by_key(|f| std::cmp::Reverse(f.runs)),
                SortBy::Id | SortBy::Tree => fibers.sort_by_key(|f| f.id),
            }
            return fibers
                .into_iter()
                .map(|f| TableRow::Fiber {
                    info: f.clone(),
                    depth: 0,
                })
                .collect();
        }
        fibers.sort_by_key(|f| f.id);
        // Switch -> its fibers (by id), and the fiber that opened it.
        let mut members: BTreeMap<&str, Vec<&FiberInfo>> = BTreeMap::new();
        for f in &fibers {
            members.entry(f.switch.as_str()).or_default().push(f);
        }
        let live: HashSet<u64> = fibers.iter().map(|f| f.id).collect();
        let mut owned: BTreeMap<u64, Vec<&str>> = BTreeMap::new();
        let mut roots = Vec::new();
        for (switch, fs) in &members {
            let owner = fs[0].parent;
            // A switch whose opener is one of its own fibers cannot nest.
            if live.contains(&owner) && !fs.iter().any(|f| f.id == owner) {
                owned.entry(owner).or_default().push(switch);
            } else {
                roots.push(*switch);
            }
        }
        let tree = Tree {
            members: &members,
            owned: &owned,
            filter: &self.filter,
            collapsed: &self.collapsed,
        };
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        for root in roots {
            tree.emit(root, 0, &mut seen, &mut out);
        }
        out
    }

    /// Handles a key for a table of `rows`.
    ///
    /// ```
    /// use weft_console::top::{Action, Key, Model, SortBy};
    /// let mut m = Model::default();
    /// assert_eq!(m.key(Key::Char('s'), &[]), Action::None);
    /// assert_eq!(m.sort, SortBy::Waiting);
    /// assert_eq!(m.key(Key::Char('q'), &[]), Action::Quit);
    /// ```
    pub fn key(&mut self, key: Key, rows: &[TableRow]) -> Action {
        if self.editing_filter {
            match key {
                Key::Char(c) => self.filter.push(c),
                Key::Backspace => {
                    self.filter.pop();
                }
                Key::Enter => self.editing_filter = false,
                Key::Esc => {
                    self.filter.clear();
                    self.editing_filter = false;
                }
                _ => {}
            }
            self.selected = 0;
            return Action::None;
        }
        let last = rows.len().saturating_sub(1);
        let selected_switch = match rows.get(self.selected) {
            Some(TableRow::Switch { id, .. }) => Some(id.clone()),
            _ => None,
        };
        match key {
            Key::Char('q') | Key::Esc => return Action::Quit,
            Key::Char('s') => {
                self.sort = self.sort.next();
                self.selected = 0;
            }
            Key::Char('/') => {
                self.editing_filter = true;
                self.filter.clear();
            }
            Key::Up | Key::Char('k') => self.selected = self.selected.saturating_sub(1),
            Key::Down | Key::Char('j') => self.selected = (self.selected + 1).min(last),
            Key::Left | Key::Char('h') => {
                if let Some(id) = selected_switch {
                    self.collapsed.insert(id);
                }
            }
            Key::Right | Key::Char('l') => {
                if let Some(id) = selected_switch {
                    self.collapsed.remove(&id);
                }
            }
            Key::Enter | Key::Char(' ') if selected_switch.is_some() => {
                let id = selected_switch.expect("checked");
                if !self.collapsed.remove(&id) {
                    self.collapsed.insert(id);
                }
            }
            Key::Enter | Key::Char('d') => self.detail = !self.detail,
            Key::Char('c') => {
                // Collapse every switch, or expand all when some are collapsed.
                if self.collapsed.is_empty() {
                    self.collapsed = rows
                        .iter()
                        .filter_map(|r| match r {
                            TableRow::Switch { id, .. } => Some(id.clone()),
                            _ => None,
                        })
                        .collect();
                } else {
                    self.collapsed.clear();
                }
            }
            _ => return Action::Unhandled,
        }
        Action::None
    }

    /// The fiber of the selected row, if it is a fiber.
    ///
    /// ```
    /// use weft_console::top::Model;
    /// assert!(Model::default().selected_fiber(&[]).is_none());
    /// ```
    pub fn selected_fiber<'r>(&self, rows: &'r [TableRow]) -> Option<&'r FiberInfo> {
        match rows.get(self.selected.min(rows.len().saturating_sub(1))) {
            Some(TableRow::Fiber { info, .. }) => Some(info),
            _ => None,
        }
    }
}

/// The switch tree of one snapshot, for `Model::rows`.
struct Tree<'a> {
    members: &'a BTreeMap<&'a str, Vec<&'a FiberInfo>>,
    owned: &'a BTreeMap<u64, Vec<&'a str>>,
    filter: &'a str,
    collapsed: &'a HashSet<String>,
}

impl Tree<'_> {
    /// Whether a switch's subtree has a fiber the filter lets through.
    fn shows(&self, switch: &str, seen: &mut HashSet<String>) -> bool {
        if !seen.insert(switch.to_string()) {
            return false;
        }
        self.members[switch].iter().any(|f| {
            matches(f, self.filter)
                || self
                    .owned
                    .get(&f.id)
                    .is_some_and(|subs| subs.iter().any(|s| self.shows(s, seen)))
        })
    }

    fn emit(
        &self,
        switch: &str,
        depth: usize,
        seen: &mut HashSet<String>,
        out: &mut Vec<TableRow>,
    ) {
        if !seen.insert(switch.to_string()) || !self.shows(switch, &mut HashSet::new()) {
            return;
        }
        let fibers = &self.members[switch];
        let collapsed = self.collapsed.contains(switch);
        out.push(TableRow::Switch {
            id: switch.to_string(),
            depth,
            fibers: fibers.len(),
            collapsed,
        });
        if collapsed {
            return;
        }
        for f in fibers {
            let subs = self.owned.get(&f.id);
            let shown_subs =
                subs.is_some_and(|s| s.iter().any(|s| self.shows(s, &mut HashSet::new())));
            if matches(f, self.filter) || shown_subs {
                out.push(TableRow::Fiber {
                    info: (*f).clone(),
                    depth: depth + 1,
                });
            }
            for sub in subs.into_iter().flatten() {
                self.emit(sub, depth + 1, seen, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn fiber(id: u64, parent: u64, switch: &str, waited: Option<f64>) -> FiberInfo {
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
            parent,
            thread: 1,
            waiting_on: waited.map(|_| "recv".into()),
            blocked_at: waited.map(|_| "src/main.rs:3".into()),
            blocked_for_ms: waited,
            running_for_ms: None,
            spawned_at: None,
            runs: id,
            busy_ms: 10.0 - id as f64,
        }
    }

    /// main (1) in switch a; it opened b with 2 and 3; 3 opened c with 4.
    fn snapshot() -> Snapshot {
        Snapshot {
            pid: 1,
            threads: vec![],
            fibers: vec![
                fiber(4, 3, "c", Some(5.0)),
                fiber(1, 0, "a", Some(1.0)),
                fiber(3, 1, "b", Some(10.0)),
                fiber(2, 1, "b", None),
            ],
            unlisted: 0,
        }
    }

    fn shape(rows: &[TableRow]) -> Vec<String> {
        rows.iter()
            .map(|r| match r {
                TableRow::Switch { id, depth, .. } => format!("{depth}:switch {id}"),
                TableRow::Fiber { info, depth } => format!("{depth}:{}", info.id),
            })
            .collect()
    }

    #[test]
    fn the_tree_nests_switches_under_the_fiber_that_opened_them() {
        let m = Model::default();
        assert_eq!(
            shape(&m.rows(&snapshot())),
            [
                "0:switch a",
                "1:1",
                "1:switch b",
                "2:2",
                "2:3",
                "2:switch c",
                "3:4"
            ]
        );
    }

    #[test]
    fn a_collapsed_switch_hides_its_subtree() {
        let mut m = Model::default();
        let rows = m.rows(&snapshot());
        m.selected = 2; // switch b
        assert_eq!(m.key(Key::Left, &rows), Action::None);
        assert_eq!(
            shape(&m.rows(&snapshot())),
            ["0:switch a", "1:1", "1:switch b"]
        );
        m.key(Key::Enter, &m.rows(&snapshot()));
        assert_eq!(m.rows(&snapshot()).len(), 7, "Enter toggles it open again");
        m.key(Key::Char('c'), &rows);
        assert_eq!(
            shape(&m.rows(&snapshot())),
            ["0:switch a"],
            "c collapses all"
        );
    }

    #[test]
    fn the_filter_keeps_matches_and_the_switches_that_lead_to_them() {
        let mut m = Model::default();
        for k in [Key::Char('/'), Key::Char('F'), Key::Char('4'), Key::Enter] {
            m.key(k, &[]);
        }
        assert_eq!(m.filter, "F4");
        assert_eq!(
            shape(&m.rows(&snapshot())),
            [
                "0:switch a",
                "1:1",
                "1:switch b",
                "2:3",
                "2:switch c",
                "3:4"
            ]
        );
        m.sort = SortBy::Id;
        assert_eq!(shape(&m.rows(&snapshot())), ["0:4"]);
        m.key(Key::Char('/'), &[]);
        m.key(Key::Esc, &[]);
        assert_eq!(m.rows(&snapshot()).len(), 4, "Esc clears it");
    }

    #[test]
    fn flat_orders_sort_every_fiber() {
        let ids = |sort| {
            let m = Model {
                sort,
                ..Model::default()
            };
            shape(&m.rows(&snapshot()))
        };
        assert_eq!(ids(SortBy::Waiting), ["0:3", "0:4", "0:1", "0:2"]);
        assert_eq!(ids(SortBy::Busy), ["0:1", "0:2", "0:3", "0:4"]);
        assert_eq!(ids(SortBy::Runs), ["0:4", "0:3", "0:2", "0:1"]);
        assert_eq!(ids(SortBy::Id), ["0:1", "0:2", "0:3", "0:4"]);
    }

    #[test]
    fn selection_moves_within_the_rows_and_picks_fibers() {
        let mut m = Model::default();
        let rows = m.rows(&snapshot());
        m.key(Key::Up, &rows);
        assert_eq!(m.selected, 0);
        assert!(m.selected_fiber(&rows).is_none(), "a switch row");
        m.key(Key::Down, &rows);
        assert_eq!(m.selected_fiber(&rows).map(|f| f.id), Some(1));
        for _ in 0..20 {
            m.key(Key::Down, &rows);
        }
        assert_eq!(m.selected, rows.len() - 1);
        m.key(Key::Char('d'), &rows);
        assert!(m.detail);
    }
}
