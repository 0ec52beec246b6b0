//! Errors caused by a type the run mapped, and the way back to its row.
//!
//! Rolling back a function cannot undo a mapped type: the type is declared
//! once (a `use`, a struct field, a signature) and every use derives from
//! that declaration, possibly in another file, so the compiler reports the
//! break where the two worlds meet (an async `select!` over a weft token's
//! `cancelled()`, a field of weft's type handed to tokio code). The
//! compiler's facts say which type: a diagnostic that names a weft type
//! and the tokio type it replaced ("expected `tokio_util::..::X`, found
//! `weft::sync::X`"), or a call of a method only that type has which "is
//! not a future" in code that stays async. The loop then keeps the type's
//! tokio path as it was ([`Table::keeping`]): the next round's syntactic
//! pass leaves its `use` rows, fields, constructors and methods alone,
//! everywhere.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::cargo::Diagnostic;
use crate::mapping::Table;

/// The tokio paths whose mapping `d` blames. With `stuck` (nothing else
/// can be rolled back for this error), any weft type the diagnostic names
/// is blamed, not only one named beside its tokio original.
///
/// ```
/// use std::collections::BTreeMap;
/// use weft_migrate::check::{blamed_types, Diagnostic};
/// let d = Diagnostic {
///     code: Some("E0308".into()),
///     message: "mismatched types".into(),
///     rendered: String::new(),
///     spans: vec![],
///     children: vec![("expected `tokio_util::sync::CancellationToken`, found `weft::sync::CancellationToken`".into(), vec![])],
/// };
/// let t = weft_migrate::mapping::Table::builtin();
/// assert_eq!(blamed_types(&d, &BTreeMap::new(), &t, false), ["tokio_util::sync::CancellationToken"]);
/// ```
pub fn blamed_types(
    d: &Diagnostic,
    texts: &BTreeMap<PathBuf, String>,
    table: &Table,
    stuck: bool,
) -> Vec<String> {
    let mut said = vec![d.message.clone()];
    said.extend(d.spans.iter().filter_map(|s| s.label.clone()));
    said.extend(d.children.iter().map(|(m, _)| m.clone()));
    let said = said.join("\n");
    let named = paths_in(&said);
    let mut out: Vec<String> = Vec::new();
    let mut add = |p: String| {
        for p in table.rollback_unit(&p) {
            // Only what the table still maps (not under a kept path).
            let segs: Vec<&str> = p.split("::").collect();
            if table.lookup(&segs).is_some() && !out.contains(&p) {
                out.push(p);
            }
        }
    };
    for w in named.iter().filter(|p| p.starts_with("weft::")) {
        let Some(src) = table.source_of(w) else {
            continue;
        };
        let root = src.split("::").next().unwrap_or_default();
        let last = src.rsplit("::").next().unwrap_or_default();
        // The tokio original named too (by any of its paths: rustc may
        // print where it is defined rather than its re-export).
        let beside = named
            .iter()
            .any(|p| p.split("::").next() == Some(root) && p.rsplit("::").next() == Some(last));
        if beside || stuck {
            add(src);
        }
    }
    // `x.m()` is not a future where the code stays async: `m` is a method
    // only a mapped type has, and that type made it direct. Or the value
    // is of a weft type whose tokio original was a future (a oneshot
    // receiver).
    if d.message.contains("is not a future") {
        if let Some(p) = d.primary() {
            if let Some(t) = texts.get(&p.file) {
                let in_async = super::repair::in_async_code(t, p.start.min(t.len()));
                let mut owners: Vec<String> = Vec::new();
                let end = p.end.min(t.len());
                let start = p.start.min(end);
                if t.is_char_boundary(start) && t.is_char_boundary(end) {
                    // The span may be the `.await` alone: the awaited
                    // expression is what comes before it.
                    let dot = t[..start].trim_end().strip_suffix('.').map(str::len);
                    let start = dot
                        .and_then(|d| super::repair::expr_start_before(t, d))
                        .unwrap_or(start);
                    let at = &t[start..end];
                    if in_async {
                        for m in methods_called(at) {
                            owners.extend(table.owners_of(&m).into_iter().map(str::to_string));
                        }
                    }
                }
                // In direct code too, where no repair applies (no
                // `.await` to drop, no bridge to unwrap): the value is
                // handed to an API that wants a future
                // (`futures::executor::block_on(rx)`, `join_all(handles)`).
                let handed_over =
                    !in_async && !super::repair::not_future_repairable(t, p.start..p.end);
                if owners.is_empty() && (in_async || handed_over) {
                    // The value is of a weft type whose tokio original
                    // was a future (a oneshot receiver).
                    let first = named.first().filter(|w| w.starts_with("weft::"));
                    owners.extend(
                        first
                            .and_then(|w| table.source_of(w))
                            .filter(|s| in_async || was_a_future(s)),
                    );
                }
                for o in owners {
                    add(o);
                }
            }
        }
    }
    out
}

/// Whether values of tokio type `path` were futures (awaited as such).
fn was_a_future(path: &str) -> bool {
    path.ends_with("oneshot::Receiver") || path.ends_with("JoinHandle")
}

/// `a::b::C` paths (two segments or more) in `s`.
fn paths_in(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut i = 0;
    while i < b.len() {
        if word(b[i]) && (i == 0 || !word(b[i - 1]) && b[i - 1] != b':') {
            let start = i;
            let mut j = i;
            let end = loop {
                while j < b.len() && word(b[j]) {
                    j += 1;
                }
                if j + 2 < b.len() && &b[j..j + 2] == b"::" && word(b[j + 2]) {
                    j += 2;
                    continue;
                }
                break j;
            };
            let p = &s[start..end];
            if p.contains("::") {
                out.push(p.to_string());
            }
            i = end.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

/// Names of the methods called in `s` (`.name(` or `.name::<..>(`).
fn methods_called(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in s.match_indices('.') {
        let rest = &s[i + 1..];
        let n = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let after = rest[n..].trim_start();
        if n > 0 && (after.starts_with('(') || after.starts_with("::<")) {
            out.push(rest[..n].to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_methods_are_found() {
        assert_eq!(
            paths_in("expected `tokio::sync::Notify`, found `weft::sync::Notify<u8>`"),
            ["tokio::sync::Notify", "weft::sync::Notify"]
        );
        assert_eq!(methods_called("self.inner.notify.notified()"), ["notified"]);
        assert!(methods_called("self.inner.notify").is_empty());
    }
}
