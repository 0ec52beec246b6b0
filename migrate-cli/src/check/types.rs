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
//! not a future" in code that stays async, or a value a mapped type's
//! method made where tokio code expected its tokio value ("expected
//! `WaitForCancellationFuture`, found `()`"). The loop then keeps the type's
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
    // "expected `X`, found `()`" where tokio code wanted what a method
    // made: the value came from `recv.m(..)`, `m` is a method of a type the
    // run mapped, and weft's `m` is direct (returns what tokio's future
    // resolved to). The error names no weft type when the tokio code is
    // in another file than the receiver's declaration.
    if d.code.as_deref() == Some("E0308") && found_what_a_direct_call_returns(&said) {
        if let Some(p) = d.primary() {
            for m in methods_making(p, texts) {
                for o in table.owners_of(&m) {
                    add(o.to_string());
                }
            }
        }
    }
    out
}

/// Whether a mismatch says tokio code expected a value (a future, a tokio
/// type) and found what a mapped method returns in weft: `()` or a weft
/// type, where the expected type names neither.
fn found_what_a_direct_call_returns(said: &str) -> bool {
    said.lines().any(|l| {
        let Some((expected, found)) = l.split_once(", found ") else {
            return false;
        };
        let Some(expected) = expected.rsplit_once("expected ").map(|(_, e)| e) else {
            return false;
        };
        let unit = |s: &str| s.contains("()");
        let weft = |s: &str| s.contains("weft::");
        (unit(found) && !unit(expected)) || (weft(found) && !weft(expected))
    })
}

/// The methods called where the value at span `p` was made: the span's
/// own text, or, when the span is a variable (a field's shorthand, an
/// argument), the initializer of the nearest `let` of that name before it.
/// The `let` is read from the text, not from the compiler (which does not
/// say where the value came from); a file outside the run is read from
/// disk.
fn methods_making(p: &super::cargo::DiagSpan, texts: &BTreeMap<PathBuf, String>) -> Vec<String> {
    let read;
    let t = match texts.get(&p.file) {
        Some(t) => t,
        None => match std::fs::read_to_string(&p.file) {
            Ok(r) => {
                read = r;
                &read
            }
            Err(_) => return Vec::new(),
        },
    };
    let end = p.end.min(t.len());
    let start = p.start.min(end);
    if !t.is_char_boundary(start) || !t.is_char_boundary(end) {
        return Vec::new();
    }
    let at = t[start..end].trim();
    // One expression, not a block or statements (whose methods made
    // other values).
    if at.contains([';', '{']) {
        return Vec::new();
    }
    let called = methods_called(at);
    if !called.is_empty() || !is_ident(at) {
        return called;
    }
    let before = &t[..start];
    let init = ["let ", "let mut "].iter().find_map(|kw| {
        let decl = format!("{kw}{at}");
        let mut from = before.len();
        while let Some(i) = before[..from].rfind(&decl) {
            let rest = &before[i + decl.len()..];
            let next = rest.chars().next().unwrap_or(' ');
            if !(next.is_alphanumeric() || next == '_') {
                let eq = rest.find('=')?;
                let semi = rest[eq..].find(';').map_or(rest.len(), |j| eq + j);
                let init = &rest[eq + 1..semi];
                return (!init.contains('{')).then(|| init.to_string());
            }
            from = i;
        }
        None
    });
    init.map(|i| methods_called(&i)).unwrap_or_default()
}

/// Whether `s` is one identifier.
fn is_ident(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_alphanumeric() || c == '_')
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

    #[test]
    fn a_unit_found_where_tokio_code_expected_a_value_is_what_a_direct_call_made() {
        assert!(found_what_a_direct_call_returns(
            "expected `Pin<Box<WaitForCancellationFuture<'_>>>`, found `Pin<Box<()>>`"
        ));
        assert!(found_what_a_direct_call_returns(
            "expected `Notified<'_>`, found `weft::sync::Notified`"
        ));
        assert!(!found_what_a_direct_call_returns(
            "expected `u32`, found `&str`"
        ));
        assert!(!found_what_a_direct_call_returns(
            "expected `()`, found `u8`"
        ));
    }

    #[test]
    fn a_variable_leads_to_the_methods_of_its_let() {
        let file = PathBuf::from("/x/on_shutdown.rs");
        let text =
            "fn f() {\n    let cancel = Box::pin(s.token().cancelled());\n    S { cancel }\n}\n";
        let at = text.rfind("cancel }").unwrap();
        let span = super::super::cargo::DiagSpan {
            file: file.clone(),
            start: at,
            end: at + "cancel".len(),
            primary: true,
            label: None,
            replacement: None,
            machine_applicable: false,
        };
        let texts = BTreeMap::from([(file, text.to_string())]);
        assert_eq!(methods_making(&span, &texts), ["token", "cancelled"]);
        // A block is not one value made by a call: it names no method.
        let block = "fn f() -> u8 {\n    a.cancelled();\n}\n";
        let span = super::super::cargo::DiagSpan {
            start: block.find('{').unwrap(),
            end: block.len() - 1,
            ..span
        };
        let texts = BTreeMap::from([(span.file.clone(), block.to_string())]);
        assert!(methods_making(&span, &texts).is_empty());
    }
}
