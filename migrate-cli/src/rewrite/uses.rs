//! `use` items: tokio imports become imports of their weft (or std)
//! targets under the same local names, so the rest of the file keeps
//! naming them as before (`use tokio::task::JoinSet;` ->
//! `use weft::TaskSet as JoinSet;`).

use super::use_tree::flatten;
use super::Rw;
use crate::mapping::Kind;

/// The use items directly among `items` (a file's or an inline module's):
/// the imports of that scope.
pub(super) fn scope_use_items(items: &[syn::Item]) -> impl Iterator<Item = &syn::ItemUse> {
    items.iter().filter_map(|i| match i {
        syn::Item::Use(u) => Some(u),
        _ => None,
    })
}

/// The use items among a block's own statements.
pub(super) fn block_use_items(b: &syn::Block) -> impl Iterator<Item = &syn::ItemUse> {
    b.stmts.iter().filter_map(|s| match s {
        syn::Stmt::Item(syn::Item::Use(u)) => Some(u),
        _ => None,
    })
}

/// Whether a module's items hold `use super::*` (a test module's usual
/// first line), through which it sees its parent's imports.
pub(super) fn globs_super(items: &[syn::Item]) -> bool {
    scope_use_items(items).any(|u| {
        flatten(&u.tree)
            .iter()
            .any(|l| l.glob && l.path.len() == 1 && l.path[0] == "super")
    })
}

impl Rw<'_> {
    /// Records the names a use item imports from mapped crates and, where
    /// paths are rewritten here, rewrites the item.
    pub(super) fn use_item(&mut self, u: &syn::ItemUse) {
        if self.record_imports(u) {
            self.rewrite_use(u);
        }
    }

    /// Records the names a use item imports from mapped crates; whether it
    /// imports from tokio (and so may need rewriting).
    pub(super) fn record_imports(&mut self, u: &syn::ItemUse) -> bool {
        let leaves = flatten(&u.tree);
        let root = leaves
            .first()
            .and_then(|l| l.path.first())
            .cloned()
            .unwrap_or_default();
        if !matches!(
            root.as_str(),
            "tokio" | "futures" | "async_trait" | "async_stream"
        ) {
            // A user's row may name this crate.
            if !leaves
                .iter()
                .any(|l| self.input.table.lookup(&l.path).is_some())
            {
                // The names it imports shadow any outer import of a tokio
                // item (`use std::sync::Mutex;` in a child module).
                for l in &leaves {
                    if let Some(local) = l.local() {
                        self.imports.names.remove(&local);
                        self.imports.rewritten.remove(&local);
                    }
                }
                return false;
            }
        }
        for l in &leaves {
            if l.glob || l.path.len() < 2 {
                continue;
            }
            let local = l
                .alias
                .clone()
                .unwrap_or_else(|| l.path[l.path.len() - 1].clone());
            self.imports.names.insert(local, l.path.clone());
        }
        if root == "async_trait" {
            self.imports.async_trait.uses.push(self.input.r(u));
            return false;
        }
        if root == "async_stream" {
            // Known for its macros (`stream!`, `try_stream!`); the import
            // goes with its last use.
            return false;
        }
        crate::mapping::rewrites_crate(&root)
    }

    /// Rewrites a use item that imports from tokio to import the weft
    /// targets under the same local names (where paths are rewritten here).
    pub(super) fn rewrite_use(&mut self, u: &syn::ItemUse) {
        if !self.scope.paths_on {
            return;
        }
        let leaves = flatten(&u.tree);
        let root = leaves.first().and_then(|l| l.path.first());
        if !root.is_some_and(|r| crate::mapping::rewrites_crate(r)) {
            return;
        }
        let mut out = Vec::new();
        for l in &leaves {
            let target = if l.path.len() < 2 {
                None
            } else {
                self.input.table.target(&l.path)
            };
            match target {
                Some((t, kind)) if !l.glob || kind == Kind::Module => {
                    if l.glob {
                        out.push(format!("{t}::*"));
                        continue;
                    }
                    let local = l
                        .alias
                        .clone()
                        .unwrap_or_else(|| l.path[l.path.len() - 1].clone());
                    let last = t.rsplit("::").next().unwrap_or_default().to_string();
                    if last == local {
                        out.push(t);
                    } else {
                        out.push(format!("{t} as {local}"));
                    }
                    self.imports.rewritten.insert(local);
                }
                _ => {
                    let mut p = l.path.join("::");
                    if l.glob {
                        p.push_str("::*");
                    }
                    if let Some(a) = &l.alias {
                        p = format!("{p} as {a}");
                    }
                    out.push(p.clone());
                    let at = syn::spanned::Spanned::span(&u.tree);
                    self.out.note(
                        at,
                        format!("`use {p}` kept: no weft counterpart in the table"),
                    );
                }
            }
        }
        // Write the item from its `use` keyword (attributes stay in place).
        let vis = quote::ToTokens::to_token_stream(&u.vis).to_string();
        let vis = if vis.is_empty() {
            String::new()
        } else {
            format!(
                "{} ",
                vis.replace(" (", "(").replace("( ", "(").replace(" )", ")")
            )
        };
        let start = match &u.vis {
            syn::Visibility::Inherited => self.input.rs(u.use_token.span).start,
            v => self.input.r(v).start,
        };
        let end = self.input.rs(u.semi_token.span).end;
        let text = if out.len() == 1 {
            format!("{vis}use {};", out[0])
        } else if u.attrs.is_empty() {
            let line_start = self.input.src[..start].rfind('\n').map_or(0, |i| i + 1);
            let indent: String = self.input.src[line_start..start]
                .chars()
                .take_while(|c| c.is_whitespace())
                .collect();
            out.iter()
                .map(|p| format!("{vis}use {p};"))
                .collect::<Vec<_>>()
                .join(&format!("\n{indent}"))
        } else {
            format!("{vis}use {{{}}};", out.join(", "))
        };
        if self.input.text(start..end) != text {
            self.out.edits.replace(start..end, text);
            self.out.count("use");
        }
    }
}
