//! Use trees flattened into one leaf per imported name: the form both
//! the import rewrite (`uses`) and the unused-import cleanup (`cleanup`)
//! reason about.

/// One imported name of a use tree: `a::b::{c as d}` has the leaf with
/// path `a::b::c` and alias `d`.
pub(super) struct UseLeaf {
    /// The full path (without a trailing `self`).
    pub(super) path: Vec<String>,
    /// `as name`.
    pub(super) alias: Option<String>,
    /// `path::*`.
    pub(super) glob: bool,
    /// `module::{self}`: the path names the module itself.
    pub(super) is_self: bool,
}

impl UseLeaf {
    /// The leaf as use-tree source text (`a::b as c`, `a::*`).
    pub(super) fn text(&self) -> String {
        let mut s = self.path.join("::");
        if self.glob {
            s.push_str("::*");
        }
        if let Some(a) = &self.alias {
            s.push_str(&format!(" as {a}"));
        }
        s
    }

    /// The name the leaf binds in the importing module (none for a glob).
    pub(super) fn local(&self) -> Option<String> {
        if self.glob {
            return None;
        }
        self.alias.clone().or_else(|| self.path.last().cloned())
    }
}

/// The leaves of `tree`, in source order.
pub(super) fn flatten(tree: &syn::UseTree) -> Vec<UseLeaf> {
    let mut out = Vec::new();
    flatten_into(&mut Vec::new(), tree, &mut out);
    out
}

fn flatten_into(prefix: &mut Vec<String>, tree: &syn::UseTree, out: &mut Vec<UseLeaf>) {
    let named = |prefix: &[String], ident: &syn::Ident, alias: Option<String>| {
        let is_self = ident == "self";
        let mut path = prefix.to_vec();
        if !is_self {
            path.push(ident.to_string());
        }
        UseLeaf {
            path,
            alias,
            glob: false,
            is_self,
        }
    };
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            flatten_into(prefix, &p.tree, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) => out.push(named(prefix, &n.ident, None)),
        syn::UseTree::Rename(r) => out.push(named(prefix, &r.ident, Some(r.rename.to_string()))),
        syn::UseTree::Glob(_) => out.push(UseLeaf {
            path: prefix.clone(),
            alias: None,
            glob: true,
            is_self: false,
        }),
        syn::UseTree::Group(g) => {
            for t in &g.items {
                flatten_into(prefix, t, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(src: &str) -> Vec<(String, Option<String>)> {
        let u: syn::ItemUse = syn::parse_str(src).unwrap();
        flatten(&u.tree)
            .iter()
            .map(|l| (l.text(), l.local()))
            .collect()
    }

    #[test]
    fn groups_renames_globs_and_self_become_one_leaf_each() {
        let got = leaves("use tokio::{io::{self, AsyncReadExt as _}, net::*, sync::Mutex as M};");
        let want = [
            ("tokio::io", Some("io")),
            ("tokio::io::AsyncReadExt as _", Some("_")),
            ("tokio::net::*", None),
            ("tokio::sync::Mutex as M", Some("M")),
        ];
        let want: Vec<_> = want
            .iter()
            .map(|(t, l)| (t.to_string(), l.map(str::to_string)))
            .collect();
        assert_eq!(got, want);
    }
}
