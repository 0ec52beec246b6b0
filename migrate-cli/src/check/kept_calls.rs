//! A call the run mapped whose arguments stayed tokio's: the streams
//! handed to `tokio::io::copy` (mapped to `std::io::copy`) are of a type
//! kept as tokio's (a poll-based reader, a type the loop rolled back, a
//! value from code outside the run), so the mapped call does not build.
//! The compiler says so at an argument of the call ("the trait bound `X:
//! std::io::Read` is not satisfied", "`X` is not an iterator", mismatched
//! types naming a tokio type) and labels the callee ("required by a bound
//! introduced by this call", "arguments to this function are incorrect").
//! When the callee is a path some tokio async function of the table maps
//! to, that one call goes back to the tokio function and is awaited: with
//! `.await` in code that stays async, through `weft_compat::await_future`
//! in direct code. The rest of the function stays converted, where a
//! rollback would give the whole function back.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::cargo::Diagnostic;
use super::repair::{in_async_code, Repair, RepairKind, BRIDGE};
use crate::mapping::Table;

/// Labels rustc puts on the callee of a call one of whose arguments it
/// rejects.
pub(super) const CALLEE_LABELS: &[&str] = &[
    "required by a bound introduced by this call",
    "arguments to this function are incorrect",
];

/// The repairs that give back to tokio the mapped calls `errors` reject
/// an argument of.
pub(super) fn plan(
    errors: &[Diagnostic],
    texts: &BTreeMap<PathBuf, String>,
    table: &Table,
) -> Vec<Repair> {
    let mut out: Vec<Repair> = errors
        .iter()
        .filter_map(|d| kept_call(d, texts, table))
        .collect();
    for d in errors {
        for r in wanted_futures(d, texts, table) {
            if !out.iter().any(|o| o.file == r.file && o.range == r.range) {
                out.push(r);
            }
        }
    }
    out
}

/// A call of a function a `use` row made weft's, in code that stays
/// async and wants its future (a `select!` branch, the receiver of a
/// future extension's method: "`()` is not a future"): the call names
/// tokio's function in full again. The rewrite does so where the call is
/// awaited; a function given back whose file's imports changed keeps the
/// others.
fn wanted_futures(d: &Diagnostic, texts: &BTreeMap<PathBuf, String>, table: &Table) -> Vec<Repair> {
    if !d.message.contains("is not a future") {
        return Vec::new();
    }
    let Some(p) = d.primary() else {
        return Vec::new();
    };
    let Some(t) = texts.get(&p.file) else {
        return Vec::new();
    };
    if p.end > t.len() || !t.is_char_boundary(p.start) || !t.is_char_boundary(p.end) {
        return Vec::new();
    }
    if !in_async_code(t, p.start) {
        return Vec::new();
    }
    let Some(range) = super::callees::value_range(t, p.start..p.end) else {
        return Vec::new();
    };
    let text = &t[range.clone()];
    let exprs: Vec<&str> = match super::callees::macro_body(text) {
        Some(body) => super::callees::macro_exprs(body),
        None => vec![text],
    };
    let imports = weft_imports(t);
    let mut out = Vec::new();
    for e in exprs {
        // Offset of the piece in the file (a slice of `t`).
        let Some(at) = (e.as_ptr() as usize).checked_sub(t.as_ptr() as usize) else {
            continue;
        };
        let lead = e.len() - e.trim_start().len();
        let e = e.trim();
        let at = at + lead;
        let Some(open) = e.find('(') else { continue };
        let callee = e[..open].trim_end();
        if callee.is_empty() || !callee.chars().all(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let Some(weft) = imports.get(callee) else {
            continue;
        };
        let sources = table.async_fns_mapped_to(weft);
        let [source] = sources.as_slice() else {
            continue;
        };
        out.push(Repair {
            file: p.file.clone(),
            range: at..at + callee.len(),
            text: source.clone(),
            kind: RepairKind::KeepTokioCall,
            cause: d.headline(),
        });
    }
    out
}

/// The names a file's `use` rows bring in from weft, with their paths
/// (`sleep` -> `weft::time::sleep`).
fn weft_imports(t: &str) -> BTreeMap<String, String> {
    fn walk(tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut BTreeMap<String, String>) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                walk(&p.tree, prefix, out);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                let mut full = prefix.clone();
                full.push(n.ident.to_string());
                out.insert(n.ident.to_string(), full.join("::"));
            }
            syn::UseTree::Rename(r) => {
                let mut full = prefix.clone();
                full.push(r.ident.to_string());
                out.insert(r.rename.to_string(), full.join("::"));
            }
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    walk(t, prefix, out);
                }
            }
            syn::UseTree::Glob(_) => {}
        }
    }
    let mut out = BTreeMap::new();
    if let Ok(file) = syn::parse_file(t) {
        let mut uses: Vec<&syn::ItemUse> = Vec::new();
        let mut stack: Vec<&[syn::Item]> = vec![&file.items];
        while let Some(items) = stack.pop() {
            for item in items {
                match item {
                    syn::Item::Use(u) => uses.push(u),
                    syn::Item::Mod(m) => {
                        if let Some((_, inner)) = &m.content {
                            stack.push(inner);
                        }
                    }
                    _ => {}
                }
            }
        }
        for u in uses {
            walk(&u.tree, &mut Vec::new(), &mut out);
        }
    }
    proc_macro2::extra::invalidate_current_thread_spans();
    out.retain(|_, v| v.starts_with("weft::"));
    out
}

/// Whether `d` is about an argument whose type does not fit the callee: a
/// trait bound, an iterator, or a mismatch that names a tokio type.
fn about_an_argument(d: &Diagnostic) -> bool {
    match d.code.as_deref() {
        Some("E0277") => {
            (d.message.starts_with("the trait bound") && d.message.contains("is not satisfied"))
                || d.message.contains("is not an iterator")
                || expects_a_closure(d)
        }
        Some("E0308") => {
            let said = std::iter::once(d.message.as_str())
                .chain(d.spans.iter().filter_map(|s| s.label.as_deref()))
                .chain(d.children.iter().map(|(m, _)| m.as_str()));
            said.into_iter().any(|s| s.contains("tokio::"))
        }
        _ => false,
    }
}

/// "expected a `FnOnce()` closure, found `X`": a function whose future
/// parameter became a closure (weft's `timeout(d, || ..)`) handed the
/// future (or value) that code kept async passes.
pub(super) fn expects_a_closure(d: &Diagnostic) -> bool {
    d.code.as_deref() == Some("E0277")
        && (d.message.starts_with("expected a `Fn") || d.message.starts_with("expected an `Fn"))
        && d.message.contains("closure, found")
}

fn kept_call(d: &Diagnostic, texts: &BTreeMap<PathBuf, String>, table: &Table) -> Option<Repair> {
    if !about_an_argument(d) {
        return None;
    }
    let p = d.primary()?;
    let t = texts.get(&p.file)?;
    let callee = d.spans.iter().find(|s| {
        !s.primary
            && s.file == p.file
            && s.label
                .as_deref()
                .is_some_and(|l| CALLEE_LABELS.contains(&l))
    })?;
    if callee.end > t.len() || !t.is_char_boundary(callee.start) || !t.is_char_boundary(callee.end)
    {
        return None;
    }
    let path = t[callee.start..callee.end].trim();
    let is_path = !path.is_empty()
        && path
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == ':');
    if !is_path {
        return None;
    }
    let open = callee.end + (t[callee.end..].len() - t[callee.end..].trim_start().len());
    if !t[open..].starts_with('(') {
        return None;
    }
    let close = matching_close(t, open)?;
    // The rejected value is one of this call's arguments.
    if !(p.start > open && p.end <= close) {
        return None;
    }
    let source = tokio_source(d, path, table)?;
    let call = format!("{source}{}", &t[callee.end..=close]);
    let awaited = t[close + 1..].trim_start().starts_with(".await");
    // A closure wanted and a future given: only an awaited call is known
    // to want tokio's future back (`timeout(d, rx).await`); a spawn hands
    // its join handle on, which a bridge would wait for.
    if expects_a_closure(d) && !awaited {
        return None;
    }
    let text = if awaited {
        call
    } else if in_async_code(t, callee.start) {
        format!("{call}.await")
    } else {
        format!("{BRIDGE}{call})")
    };
    Some(Repair {
        file: p.file.clone(),
        range: callee.start..close + 1,
        text,
        kind: RepairKind::KeepTokioCall,
        cause: d.headline(),
    })
}

/// The tokio function the callee `path` was mapped from: by the path
/// rustc prints for the callee ("required by a bound in `std::io::copy`"),
/// else by the path as written; of several rows to one target, the one
/// whose name the callee has (`copy`, not `copy_buf`).
fn tokio_source(d: &Diagnostic, path: &str, table: &Table) -> Option<String> {
    let printed = printed_bound(d);
    let mut sources = printed
        .map(|p| table.async_fns_mapped_to(&p))
        .unwrap_or_default();
    if sources.is_empty() {
        sources = table.async_fns_mapped_to(path);
    }
    // A function of a mapped module (`tokio::time` to `weft::time`) whose
    // future parameter is a closure in weft's: the module's row leads back.
    if sources.is_empty() && expects_a_closure(d) {
        sources.extend(
            printed_bound(d)
                .filter(|p| p.starts_with("weft::"))
                .and_then(|p| table.source_of(&p)),
        );
    }
    let name = path.rsplit("::").next().unwrap_or(path);
    let same_name: Vec<&String> = sources
        .iter()
        .filter(|s| s.rsplit("::").next() == Some(name))
        .collect();
    match (same_name.as_slice(), sources.as_slice()) {
        ([one], _) => Some((*one).clone()),
        ([], [one]) => Some(one.clone()),
        _ => None,
    }
}

/// The path rustc prints for the callee: "required by a bound in `X`".
fn printed_bound(d: &Diagnostic) -> Option<String> {
    d.children.iter().find_map(|(m, _)| {
        let rest = m.strip_prefix("required by a bound in `")?;
        rest.split('`').next().map(str::to_string)
    })
}

/// The `)` that closes the `(` at `open` (brackets balanced; string and
/// char literals skipped).
fn matching_close(t: &str, open: usize) -> Option<usize> {
    let b = t.as_bytes();
    let mut depth = 0usize;
    let mut i = open;
    while i < b.len() {
        match b[i] {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return (b[i] == b')').then_some(i);
                }
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::DiagSpan;

    fn span(start: usize, end: usize, primary: bool, label: &str) -> DiagSpan {
        DiagSpan {
            file: "src/lib.rs".into(),
            start,
            end,
            primary,
            label: Some(label.to_string()),
            replacement: None,
            machine_applicable: false,
        }
    }

    fn unsatisfied(src: &str, arg: &str, callee: &str, bound_in: &str) -> Diagnostic {
        let a = src.find(arg).unwrap();
        let c = src.find(callee).unwrap();
        Diagnostic {
            code: Some("E0277".into()),
            message: "the trait bound `Letters: std::io::Read` is not satisfied".into(),
            rendered: String::new(),
            spans: vec![
                span(a, a + arg.len(), true, "unsatisfied trait bound"),
                span(c, c + callee.len(), false, CALLEE_LABELS[0]),
            ],
            children: vec![(format!("required by a bound in `{bound_in}`"), vec![])],
        }
    }

    fn repaired(src: &str, d: &Diagnostic) -> Option<String> {
        let texts = BTreeMap::from([(PathBuf::from("src/lib.rs"), src.to_string())]);
        let r = plan(std::slice::from_ref(d), &texts, &Table::builtin());
        let mut texts = texts;
        super::super::repair::apply(&r, &mut texts);
        (!r.is_empty()).then(|| texts[&PathBuf::from("src/lib.rs")].clone())
    }

    #[test]
    fn a_mapped_call_in_direct_code_goes_back_to_tokio_through_a_bridge() {
        let src = "fn f() -> std::io::Result<u64> {\n    let n = std::io::copy(&mut from, &mut to)?;\n    Ok(n)\n}\n";
        let d = unsatisfied(src, "&mut from", "std::io::copy", "std::io::copy");
        assert_eq!(
            repaired(src, &d).unwrap(),
            "fn f() -> std::io::Result<u64> {\n    let n = weft_compat::await_future(tokio::io::copy(&mut from, &mut to))?;\n    Ok(n)\n}\n"
        );
    }

    #[test]
    fn a_mapped_call_in_async_code_is_awaited_again() {
        let src = "async fn f() {\n    io::copy(&mut from, &mut to).unwrap();\n}\n";
        let d = unsatisfied(src, "&mut from", "io::copy", "std::io::copy");
        assert_eq!(
            repaired(src, &d).unwrap(),
            "async fn f() {\n    tokio::io::copy(&mut from, &mut to).await.unwrap();\n}\n"
        );
    }

    #[test]
    fn a_future_handed_to_a_mapped_closure_parameter_goes_back_to_tokio() {
        // Code kept async awaits `timeout(d, rx)` while the file's import
        // of `timeout` became weft's, whose work is a closure.
        let src = "async fn f() {\n    let n = timeout(d, finished).await.unwrap();\n}\n";
        let mut d = unsatisfied(src, "finished", "timeout", "weft::time::timeout");
        d.message =
            "expected a `FnOnce()` closure, found `tokio::sync::oneshot::Receiver<u32>`".into();
        assert_eq!(
            repaired(src, &d).unwrap(),
            "async fn f() {\n    let n = tokio::time::timeout(d, finished).await.unwrap();\n}\n"
        );
    }

    #[test]
    fn a_spawn_handed_a_future_is_left_to_the_rollback() {
        // tokio-graceful's `spawn(async move { .. })` through a re-export,
        // its handle returned: not awaited, so not bridged.
        let src = "fn f(task: T) -> JoinHandle<u8> {\n    spawn(async move { task.await })\n}\n";
        let mut d = unsatisfied(src, "async move", "spawn", "weft::spawn");
        d.message = "expected a `FnOnce()` closure, found `{async block@src/lib.rs:2:11}`".into();
        assert_eq!(repaired(src, &d), None);
    }

    #[test]
    fn a_weft_function_raced_in_async_code_names_tokio_s_again() {
        // A function given back in a file whose `use` row became weft's:
        // `sleep(..)` in its `select!` (and as the receiver of a future
        // extension's method) must be tokio's future again.
        let src = "use weft::time::sleep;\n\nasync fn f(s: H) {\n    tokio::select! {\n        _ = s.on_shutdown() => (),\n        _ = sleep(d) => {}\n    }\n    sleep(d).cancel_on_shutdown(&s).await;\n}\n";
        let texts = BTreeMap::from([(PathBuf::from("src/lib.rs"), src.to_string())]);
        let not_a_future = |start: usize, end: usize| Diagnostic {
            code: Some("E0277".into()),
            message: "`()` is not a future".into(),
            rendered: String::new(),
            spans: vec![span(start, end, true, "`()` is not a future")],
            children: vec![],
        };
        let sel = src.find("tokio::select!").unwrap();
        let sel_end = src.find("    }\n    sleep").unwrap() + 5;
        let m = src.find("cancel_on_shutdown").unwrap();
        let errors = [
            not_a_future(sel, sel_end),
            not_a_future(m, m + "cancel_on_shutdown".len()),
        ];
        let r = plan(&errors, &texts, &Table::builtin());
        let mut texts = texts;
        super::super::repair::apply(&r, &mut texts);
        assert_eq!(
            texts[&PathBuf::from("src/lib.rs")],
            "use weft::time::sleep;\n\nasync fn f(s: H) {\n    tokio::select! {\n        _ = s.on_shutdown() => (),\n        _ = tokio::time::sleep(d) => {}\n    }\n    tokio::time::sleep(d).cancel_on_shutdown(&s).await;\n}\n"
        );
    }

    #[test]
    fn a_call_the_run_did_not_map_is_left_to_the_rollback() {
        // No tokio function maps to `my::copy`; and an error outside the
        // mapped call's arguments is not the call's.
        let src = "fn f() { my::copy(&mut from, &mut to); g(&mut from); }";
        let d = unsatisfied(src, "&mut from", "my::copy", "my::copy");
        assert_eq!(repaired(src, &d), None);
        let src = "fn f() { std::io::copy(&mut a, &mut b); g(&mut from); }";
        let d = unsatisfied(src, "&mut from", "std::io::copy", "std::io::copy");
        assert_eq!(repaired(src, &d), None);
    }
}
