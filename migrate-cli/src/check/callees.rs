//! The callee to blame for a value that "is not a future": a function the
//! run made direct, whose value code kept async still uses as a future.
//!
//! Rolling back the function the error sits in does not help there: the
//! caller is already async (or given back), and what changed is the
//! callee, declared elsewhere (a library method called from an example, a
//! subsystem function handed to an API that wants `FnOnce() -> impl
//! Future`). The compiler's span says which expression: a call
//! (`subsys.on_shutdown_requested()` raced in `tokio::select!`), a
//! function named as a value (`SubsystemBuilder::new("a", subsys2)`,
//! `service_fn(hello)`), or a variable bound by a `let` to such a call
//! (`let requested = subsys.on_shutdown_requested(); join!(requested, ..)`).
//! The names found there, when they are functions the run converted,
//! go back to async; their other callers follow through the rollback's
//! bridging.

use super::cargo::Diagnostic;

/// The functions `d` blames as callees, of those `givable` accepts (the
/// names of functions that were async and are converted this round), or
/// nothing when `d` is not about a value that is not a future
/// (`subsys.on_shutdown_requested()` raced in a `select!`: the method).
pub(super) fn blamed_callees(
    d: &Diagnostic,
    t: &str,
    givable: impl Fn(&str) -> bool,
) -> Vec<String> {
    if !d.message.contains("is not a future") {
        return Vec::new();
    }
    let Some(p) = d.primary() else {
        return Vec::new();
    };
    let end = p.end.min(t.len());
    let start = p.start.min(end);
    if !t.is_char_boundary(start) || !t.is_char_boundary(end) {
        return Vec::new();
    }
    let Some(range) = value_range(t, start..end) else {
        return Vec::new();
    };
    let text = &t[range];
    // A macro (`tokio::select!`, `join!`) is spanned whole: the futures
    // are its branches' expressions.
    let exprs = match macro_body(text) {
        Some(body) => macro_exprs(body),
        None => vec![text],
    };
    let mut out = Vec::new();
    for e in exprs {
        let e = e.trim();
        let before = out.len();
        names_in(e, &givable, &mut out);
        if out.len() == before && is_ident(e) {
            // A variable: the call that made it.
            if let Some(init) = let_init(&t[..start], e) {
                names_in(init, &givable, &mut out);
            }
        }
    }
    out
}

/// The body of `path!( .. )` (any delimiter), when `text` is a macro call.
pub(super) fn macro_body(text: &str) -> Option<&str> {
    let bang = text.find('!')?;
    let head = &text[..bang];
    if head.is_empty()
        || !head
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == ':')
    {
        return None;
    }
    let rest = text[bang + 1..].trim_start();
    let open = rest.chars().next()?;
    let close = match open {
        '(' => ')',
        '[' => ']',
        '{' => '}',
        _ => return None,
    };
    let inner = rest[1..].trim_end().strip_suffix(';').unwrap_or(&rest[1..]);
    inner.trim_end().strip_suffix(close)
}

/// The top-level pieces of a macro body: for `select!`-like bodies
/// (`pat = fut [, if cond] => handler`) the futures, else the
/// comma-separated arguments (`join!(a, b)`).
pub(super) fn macro_exprs(body: &str) -> Vec<&str> {
    let tops = top_level(body);
    let arrow = |i: usize| body[i..].starts_with("=>");
    if !tops.iter().any(|&i| arrow(i)) {
        let mut out = Vec::new();
        let mut from = 0;
        for &i in &tops {
            if body[i..].starts_with(',') {
                out.push(&body[from..i]);
                from = i + 1;
            }
        }
        out.push(&body[from..]);
        return out;
    }
    let mut out = Vec::new();
    let mut head_from = 0;
    let mut k = 0;
    while k < tops.len() {
        let i = tops[k];
        if !arrow(i) {
            k += 1;
            continue;
        }
        // `pat = fut`: the first top-level lone `=` of the head.
        let base = head_from;
        let eq = tops[..k].iter().copied().find(|&j| {
            j >= base
                && body[j..].starts_with('=')
                && !body[j..].starts_with("==")
                && !body[j..].starts_with("=>")
                && !matches!(body[..j].chars().last(), Some('<' | '>' | '!' | '='))
        });
        if let Some(eq) = eq {
            let fut = &body[eq + 1..i];
            let fut = match fut.find(", if ") {
                Some(c) => &fut[..c],
                None => fut,
            };
            out.push(fut);
        }
        // The handler: a block, or an expression up to a top-level comma.
        let after = i + 2;
        let handler = body[after..].trim_start();
        let hstart = body.len() - handler.len();
        let end = if handler.starts_with('{') {
            match_close(body, hstart).map_or(body.len(), |c| c + 1)
        } else {
            tops.iter()
                .copied()
                .find(|&j| j > after && body[j..].starts_with(','))
                .unwrap_or(body.len())
        };
        let end = if body[end.min(body.len())..].trim_start().starts_with(',') {
            body[end..].find(',').map_or(body.len(), |c| end + c + 1)
        } else {
            end
        };
        head_from = end.min(body.len());
        k = tops.partition_point(|&j| j < head_from);
    }
    out
}

/// The bracket closing the one at `open` (outside string literals).
fn match_close(s: &str, open: usize) -> Option<usize> {
    let mut depth = 0i32;
    let mut in_str = false;
    let mut escaped = false;
    for (i, c) in s[open..].char_indices() {
        if in_str {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_str = true,
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Byte offsets of the characters of `s` outside brackets and string
/// literals.
fn top_level(s: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut in_str = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if in_str {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_str = true,
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            _ if depth == 0 => out.push(i),
            _ => {}
        }
    }
    out
}

/// The range of a function the run converted (`givable`) that `d` shows
/// named as a value, which "is not a future" where a function returning
/// one is wanted: the span itself (`subsys2` in `Builder::new("a",
/// subsys2)`) or an argument of the call spanned
/// (`run_subsystem(h, countdown)`).
pub(super) fn names_a_value(
    d: &Diagnostic,
    t: &str,
    givable: impl Fn(&str) -> bool,
) -> Option<std::ops::Range<usize>> {
    if !d.message.contains("is not a future") {
        return None;
    }
    let p = d.primary()?;
    t.get(p.start..p.end)?;
    let range = value_range(t, p.start..p.end)?;
    let text = &t[range.clone()];
    let expr = syn::parse_str::<syn::Expr>(text).ok();
    let mut values = ValuePaths::default();
    if let Some(e) = &expr {
        syn::visit::Visit::visit_expr(&mut values, e);
    }
    proc_macro2::extra::invalidate_current_thread_spans();
    let name = values.names.into_iter().find(|n| givable(n))?;
    let at = word_at(text, &name)?;
    Some(range.start + at..range.start + at + name.len())
}

/// Where `name` occurs in `text` as a whole word (the last time).
fn word_at(text: &str, name: &str) -> Option<usize> {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    text.rmatch_indices(name)
        .map(|(i, _)| i)
        .find(|&i| !text[..i].ends_with(word) && !text[i + name.len()..].starts_with(word))
}

/// Whether the error spanned at `span` is about the value at `value`: it
/// holds it, or it is the callee of a call that does (the bridge
/// `weft_compat::await_future(run_subsystem(h, countdown))`).
pub(super) fn covers(
    t: &str,
    span: std::ops::Range<usize>,
    value: &std::ops::Range<usize>,
) -> bool {
    if span.start <= value.start && value.end <= span.end {
        return true;
    }
    let after = t.get(span.end..).unwrap_or("");
    let open = span.end + (after.len() - after.trim_start().len());
    t[open..].starts_with('(')
        && match_close(t, open).is_some_and(|close| open < value.start && value.end <= close)
}

/// The function whose future parameter the run made a closure
/// (`impl Future` to `impl FnOnce() -> T`), when `d` says a caller kept
/// async hands it a future ("expected a `FnOnce()` closure, found .."):
/// the callee rustc labels, if the run converted it (`givable`). Its
/// signature change goes back; giving back the caller instead would leave
/// the same call, and a closure built around the future at the boundary
/// would block the thread that polls the caller.
pub(super) fn closure_callee(
    d: &Diagnostic,
    t: &str,
    givable: impl Fn(&str) -> bool,
) -> Option<String> {
    if !super::kept_calls::expects_a_closure(d) {
        return None;
    }
    let p = d.primary()?;
    let callee = d.spans.iter().find(|s| {
        !s.primary
            && s.file == p.file
            && s.label
                .as_deref()
                .is_some_and(|l| super::kept_calls::CALLEE_LABELS.contains(&l))
    })?;
    let text = t.get(callee.start..callee.end)?.trim();
    let name = text.rsplit(['.', ':']).next()?.trim();
    (is_ident(name) && givable(name)).then(|| name.to_string())
}

/// The expression the value spanned at `span` is: the span itself
/// (trimmed), what an `.await` span awaits, the receiver of a method
/// spanned alone (E0599 on `x.m()`), or the whole call of a callee path
/// spanned alone (`Builder::new` of `Builder::new("a", f)`).
pub(super) fn value_range(t: &str, span: std::ops::Range<usize>) -> Option<std::ops::Range<usize>> {
    let raw = &t[span.clone()];
    let start = span.start + (raw.len() - raw.trim_start().len());
    let end = start + raw.trim().len();
    let text = &t[start..end];
    if text == "await" || text == ".await" {
        let dot = if text == ".await" {
            start
        } else {
            t[..start].trim_end().strip_suffix('.')?.len()
        };
        let from = super::repair::expr_start_before(t, dot)?;
        return Some(from..dot);
    }
    let before = t[..start].trim_end();
    if before.ends_with('.') && is_ident(text) {
        let dot = before.len() - 1;
        let from = super::repair::expr_start_before(t, dot)?;
        return Some(from..dot);
    }
    let is_path = syn::parse_str::<syn::ExprPath>(text).is_ok();
    proc_macro2::extra::invalidate_current_thread_spans();
    // The path may go on (`SubsystemBuilder` of `SubsystemBuilder::new`).
    let mut end = end;
    while is_path && t[end..].starts_with("::") {
        let seg = &t[end + 2..];
        let n = seg
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(seg.len());
        if n == 0 {
            break;
        }
        end += 2 + n;
    }
    let rest = &t[end..];
    let open = end + (rest.len() - rest.trim_start().len());
    if is_path && t[open..].starts_with('(') {
        if let Some(close) = match_close(t, open) {
            return Some(start..close + 1);
        }
    }
    Some(start..end)
}

/// The callee of `text` (a call, a method call, awaited or not) and the
/// functions it names as values (a path alone, or a path argument).
fn names_in(text: &str, givable: &impl Fn(&str) -> bool, out: &mut Vec<String>) {
    let Ok(expr) = syn::parse_str::<syn::Expr>(text) else {
        return;
    };
    let mut e = &expr;
    loop {
        match e {
            syn::Expr::Await(a) => e = &a.base,
            syn::Expr::Paren(p) => e = &p.expr,
            syn::Expr::Reference(r) => e = &r.expr,
            _ => break,
        }
    }
    // A function handed as a value is what a callee wanted a future from
    // (`s.start(Builder::new("a", subsys2))`); else the callee made the
    // value.
    let mut values = ValuePaths::default();
    syn::visit::Visit::visit_expr(&mut values, e);
    let before = out.len();
    for n in values.names {
        if givable(&n) && !out.contains(&n) {
            out.push(n);
        }
    }
    // A closure handed over (or a block that makes one) made the value
    // itself: the callee did not.
    let closure = |args: &syn::punctuated::Punctuated<syn::Expr, syn::Token![,]>| {
        args.iter()
            .any(|a| matches!(a, syn::Expr::Closure(_) | syn::Expr::Block(_)))
    };
    if out.len() == before {
        let callee = match e {
            syn::Expr::Call(c) if !closure(&c.args) => path_name(&c.func),
            syn::Expr::MethodCall(m) if !closure(&m.args) => Some(m.method.to_string()),
            _ => None,
        };
        if let Some(n) = callee.filter(|n| givable(n) && !out.contains(n)) {
            out.push(n);
        }
    }
    proc_macro2::extra::invalidate_current_thread_spans();
}

/// The last segments of the paths an expression uses as values (not as
/// the callee of a call), outside closures and blocks (whose own code
/// made what they return).
#[derive(Default)]
struct ValuePaths {
    names: Vec<String>,
}

impl<'a> syn::visit::Visit<'a> for ValuePaths {
    fn visit_expr(&mut self, e: &'a syn::Expr) {
        match e {
            syn::Expr::Path(_) => self.names.extend(path_name(e)),
            syn::Expr::Call(c) => {
                if !matches!(&*c.func, syn::Expr::Path(_)) {
                    self.visit_expr(&c.func);
                }
                for a in &c.args {
                    self.visit_expr(a);
                }
            }
            // A closure that is not async: what its body ends with
            // calling made the value it returns (`|s| child("a", s)`).
            syn::Expr::Closure(c) => {
                let mut body = &*c.body;
                while let syn::Expr::Block(b) = body {
                    match b.block.stmts.last() {
                        Some(syn::Stmt::Expr(tail, None)) => body = tail,
                        _ => return,
                    }
                }
                match body {
                    syn::Expr::Call(call) => self.names.extend(path_name(&call.func)),
                    syn::Expr::MethodCall(m) => self.names.push(m.method.to_string()),
                    _ => {}
                }
            }
            syn::Expr::Block(_) | syn::Expr::Async(_) => {}
            syn::Expr::Macro(_) => {}
            _ => syn::visit::visit_expr(self, e),
        }
    }
}

/// The last segment of a path expression.
fn path_name(e: &syn::Expr) -> Option<String> {
    match e {
        syn::Expr::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

fn is_ident(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// The initialiser of the last `let name = ..;` (or `let mut name`) in
/// `before`.
fn let_init<'a>(before: &'a str, name: &str) -> Option<&'a str> {
    let mut found = None;
    for pat in [format!("let {name}"), format!("let mut {name}")] {
        for (i, _) in before.match_indices(&pat) {
            let rest = &before[i + pat.len()..];
            let rest_trim = rest.trim_start();
            let boundary = !rest.starts_with(|c: char| c.is_alphanumeric() || c == '_');
            if boundary && rest_trim.starts_with('=') && !rest_trim.starts_with("==") {
                let init_at = before.len() - rest_trim.len() + 1;
                if found.is_none_or(|f| f < init_at) {
                    found = Some(init_at);
                }
            }
        }
    }
    let init = &before[found?..];
    // Up to the `;` that ends the statement (outside brackets).
    let mut depth = 0i32;
    for (i, c) in init.char_indices() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            ';' if depth == 0 => return Some(init[..i].trim()),
            _ => {}
        }
        if depth < 0 {
            return None;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::DiagSpan;

    /// The callees blamed for "`()` is not a future" on the last `at` in
    /// `src`.
    fn not_a_future(src: &str, at: &str) -> Vec<String> {
        let start = src.rfind(at).unwrap();
        let d = Diagnostic {
            code: Some("E0277".into()),
            message: "`()` is not a future".into(),
            rendered: String::new(),
            spans: vec![DiagSpan {
                file: "a.rs".into(),
                start,
                end: start + at.len(),
                primary: true,
                label: None,
                replacement: None,
                machine_applicable: false,
            }],
            children: vec![],
        };
        let converted = ["on_shutdown_requested", "subsys2", "hello", "new"];
        blamed_callees(&d, src, |n| converted.contains(&n))
    }

    #[test]
    fn the_callee_of_a_call_raced_as_a_future_is_blamed() {
        let src = "async fn a(s: H) {\n    tokio::select! {\n        _ = s.inner.on_shutdown_requested() => {}\n    }\n}\n";
        assert_eq!(
            not_a_future(src, "s.inner.on_shutdown_requested()"),
            ["on_shutdown_requested"]
        );
        let awaited = "async fn a(s: H) {\n    s.on_shutdown_requested().await;\n}\n";
        assert_eq!(not_a_future(awaited, ".await"), ["on_shutdown_requested"]);
    }

    #[test]
    fn a_macro_spanned_whole_is_read_branch_by_branch() {
        let select = "async fn a(s: H) {\n    tokio::select! {\n        biased;\n        _ = s.on_shutdown_requested() => (),\n        r = sleep(d), if ok => {\n            panic!(\"{}\", r == 1);\n        }\n        Some(x) = hello(1) => x,\n        else => {}\n    };\n}\n";
        let at = &select[select.find("tokio::select!").unwrap()..select.find(";\n}").unwrap() + 1];
        assert_eq!(not_a_future(select, at), ["on_shutdown_requested", "hello"]);
        let join = "async fn a(s: H) {\n    let requested = s.on_shutdown_requested();\n    tokio::join!(requested, other(\"a, b\"));\n}\n";
        assert_eq!(
            not_a_future(join, "tokio::join!(requested, other(\"a, b\"))"),
            ["on_shutdown_requested"]
        );
    }

    #[test]
    fn a_function_named_as_a_value_is_blamed() {
        let src = "fn a(s: H) {\n    s.start(Builder::new(\"two\", subsys2));\n    serve(service_fn(hello));\n}\n";
        assert_eq!(not_a_future(src, "subsys2"), ["subsys2"]);
        // A callee spanned alone, or an outer call: the function handed
        // over, found in the arguments.
        let nested = "fn a(s: H) {\n    s.start(Builder::new(\"two\", subsys2));\n}\n";
        assert_eq!(not_a_future(nested, "Builder::new"), ["subsys2"]);
        assert_eq!(
            not_a_future(nested, "s.start(Builder::new(\"two\", subsys2))"),
            ["subsys2"]
        );
        assert_eq!(not_a_future(nested, "Builder"), ["subsys2"]);
        // An async closure's body made its own future: not looked into.
        let closure = "fn a() {\n    Top::new(|s| async move { s.start(Builder::new(\"two\", subsys2)); });\n}\n";
        assert!(not_a_future(closure, "Top::new").is_empty());
        // A closure that is not async returns what its body calls.
        let call = "fn a(s: H) {\n    s.start(Builder::new(\"c\", |h| {\n        Sub::default().hello(h)\n    }));\n}\n";
        assert_eq!(not_a_future(call, "Builder"), ["hello"]);
        // `new` returns no future of its own here: the argument is blamed.
        assert_eq!(
            not_a_future(src, "Builder::new(\"two\", subsys2)"),
            ["subsys2"]
        );
        assert_eq!(not_a_future(src, "service_fn(hello)"), ["hello"]);
    }

    #[test]
    fn a_variable_leads_to_the_call_that_made_it() {
        let src = "async fn a(s: H) {\n    let requested = s.on_shutdown_requested();\n    let other = async {};\n    tokio::join!(requested, other);\n}\n";
        assert_eq!(not_a_future(src, "requested"), ["on_shutdown_requested"]);
        assert!(not_a_future(src, "other").is_empty());
    }

    #[test]
    fn a_method_named_by_the_span_blames_its_receiver() {
        // E0599 puts the span on `cancel_on_shutdown`; the value that is
        // not a future is the receiver.
        let src =
            "async fn a(s: H) {\n    s.on_shutdown_requested().cancel_on_shutdown(&s).await;\n}\n";
        assert_eq!(
            not_a_future(src, "cancel_on_shutdown"),
            ["on_shutdown_requested"]
        );
    }

    #[test]
    fn a_callee_whose_future_parameter_became_a_closure_is_blamed() {
        let src = "async fn a(h: H) {\n    h.wait_for(async { 1 }).await;\n}\n";
        let arg = src.find("async {").unwrap();
        let callee = src.find("wait_for").unwrap();
        let span = |start: usize, end: usize, primary: bool, label: Option<&str>| DiagSpan {
            file: "a.rs".into(),
            start,
            end,
            primary,
            label: label.map(str::to_string),
            replacement: None,
            machine_applicable: false,
        };
        let d = Diagnostic {
            code: Some("E0277".into()),
            message: "expected a `FnOnce()` closure, found `{async block@a.rs:2:16}`".into(),
            rendered: String::new(),
            spans: vec![
                span(arg, arg + 10, true, None),
                span(
                    callee,
                    callee + 8,
                    false,
                    Some("required by a bound introduced by this call"),
                ),
            ],
            children: vec![],
        };
        assert_eq!(
            closure_callee(&d, src, |n| n == "wait_for").as_deref(),
            Some("wait_for")
        );
        assert_eq!(closure_callee(&d, src, |_| false), None);
    }

    #[test]
    fn a_function_not_converted_is_not_blamed() {
        let src = "async fn a() {\n    tokio::join!(helper(), 1);\n}\n";
        assert!(not_a_future(src, "helper()").is_empty());
    }
}
