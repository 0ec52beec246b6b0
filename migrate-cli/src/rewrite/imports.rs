//! The imports in scope while a file is visited, and what a path means
//! through them.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use super::{path_idents, Rw};

/// The import state of one file's rewrite: what the names imported from
/// tokio, futures and async_trait mean in the scope being visited, which
/// of their use items were rewritten, and what becomes of
/// `use async_trait::async_trait`.
#[derive(Default)]
pub(super) struct Imports {
    /// Local name -> full path, for names imported from tokio, futures
    /// and async_trait.
    pub(super) names: HashMap<String, Vec<String>>,
    /// Local names whose use item was rewritten to the weft target.
    pub(super) rewritten: HashSet<String>,
    /// Start offsets of the use items already recorded in their scope.
    pub(super) handled: HashSet<usize>,
    pub(super) async_trait: AsyncTraitUses,
}

/// `#[async_trait]` attributes removed and kept, and the ranges of the
/// file's `use async_trait::..` items: they go when every attribute went.
#[derive(Default)]
pub(super) struct AsyncTraitUses {
    pub(super) removed: usize,
    pub(super) kept: usize,
    pub(super) uses: Vec<Range<usize>>,
}

/// The imports in scope (saved and restored around a module or a block).
pub(super) struct ImportScope {
    names: HashMap<String, Vec<String>>,
    rewritten: HashSet<String>,
}

impl Imports {
    /// The imports in scope, to restore when the scope ends.
    pub(super) fn save_scope(&self) -> ImportScope {
        ImportScope {
            names: self.names.clone(),
            rewritten: self.rewritten.clone(),
        }
    }

    /// Puts back the imports saved when the scope began.
    pub(super) fn restore_scope(&mut self, s: ImportScope) {
        self.names = s.names;
        self.rewritten = s.rewritten;
    }

    /// Forgets the imports in scope (an inline module starts without its
    /// parent's).
    pub(super) fn clear_scope(&mut self) {
        self.names.clear();
        self.rewritten.clear();
    }
}

impl Rw<'_> {
    /// Records (and where paths are rewritten, rewrites) the use items of
    /// one scope before the code of the scope is visited.
    pub(super) fn scope_uses<'u>(&mut self, uses: impl IntoIterator<Item = &'u syn::ItemUse>) {
        for u in uses {
            if self.imports.handled.insert(self.input.r(u).start) {
                self.use_item(u);
            }
        }
    }

    /// The full path a path names, through this file's imports; `None`
    /// for paths that name nothing imported from a mapped crate.
    pub(super) fn resolve(&self, path: &syn::Path) -> Option<Vec<String>> {
        let segs: Vec<String> = path_idents(path);
        let first = segs.first()?;
        if path.leading_colon.is_none() {
            if let Some(full) = self.imports.names.get(first) {
                if path.segments.len() == 1 && self.scope.locals.contains_key(first) {
                    return None;
                }
                let mut v = full.clone();
                v.extend(segs[1..].iter().cloned());
                return Some(v);
            }
        }
        if first == "tokio" || first == "futures" || self.input.table.lookup(&segs).is_some() {
            return Some(segs);
        }
        None
    }

    /// Rewrites `path` (resolved to `full`) to its mapped target where the
    /// text does not already mean it (through a rewritten import). Returns
    /// whether the path has a target.
    pub(super) fn rewrite_path(&mut self, path: &syn::Path, full: &[String]) -> bool {
        let Some((target, _)) = self.input.table.target(full) else {
            return false;
        };
        let segs = &path.segments;
        let first = segs[0].ident.to_string();
        let imported = path.leading_colon.is_none() && self.imports.names.contains_key(&first);
        if imported && self.imports.rewritten.contains(&first) {
            // The alias now names the target of the import; the path means
            // its target unless a deeper row maps it elsewhere.
            let import = &self.imports.names[&first];
            let alias_meaning = self
                .input
                .table
                .target(import)
                .map(|(t, _)| {
                    let mut s = t;
                    for seg in &full[import.len()..] {
                        s.push_str("::");
                        s.push_str(seg);
                    }
                    s
                })
                .unwrap_or_default();
            if alias_meaning == target {
                return true;
            }
        }
        // Replace up to the last segment without generic arguments so
        // `mpsc::channel::<u8>` keeps its turbofish.
        let offset = if imported {
            self.imports.names[&first].len() as isize - 1
        } else {
            0
        };
        let covered_by = |last: usize| (last as isize + offset + 1) as usize;
        let mut last = segs.len() - 1;
        while last > 0 && !matches!(segs[last].arguments, syn::PathArguments::None) {
            last -= 1;
        }
        let prefix_target = self
            .input
            .table
            .target(&full[..covered_by(last).min(full.len())]);
        // Where only the whole path has a row (`tcp::WriteHalf<'_>`, whose
        // module `tokio::net::tcp` has none), replace up to the last
        // segment's name: its arguments stay after it.
        let whole = segs.len() - 1;
        let Some((text, _)) = prefix_target.or_else(|| {
            last = whole;
            self.input
                .table
                .target(&full[..covered_by(whole).min(full.len())])
        }) else {
            return false;
        };
        let start = self.input.r(path).start;
        let end = self.input.rs(segs[last].ident.span()).end;
        if self.out.edits.touches(&(start..end)) {
            return true;
        }
        if self.input.text(start..end) != text {
            self.out.edits.replace(start..end, text);
        }
        true
    }
}
