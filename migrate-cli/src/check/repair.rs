//! Repairs of the errors a rewrite caused, keyed on what rustc says
//! (error code, message, labels and spans), never on a crate: rustc's
//! machine-applicable suggestions, applied as rustfix would, and targeted
//! edits for the mistakes a syntactic rewrite makes about futures.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::PathBuf;

use super::cargo::{DiagSpan, Diagnostic};

/// The kind of a repair.
///
/// ```
/// assert_eq!(weft_migrate::check::RepairKind::DropAwait.as_str(), "drop .await");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RepairKind {
    /// rustc's machine-applicable suggestion.
    Suggestion,
    /// `x.await` where `x` is not a future: `x`.
    DropAwait,
    /// `weft_compat::await_future(x)` where `x` is not a future: `x`.
    UnwrapBridge,
    /// A value that is still a future where its output is wanted:
    /// `weft_compat::await_future(x)`.
    BridgeFuture,
    /// A mapped call whose arguments stayed tokio's: the tokio function
    /// again, awaited (`tokio::io::copy(a, b).await`, or bridged in direct
    /// code).
    KeepTokioCall,
    /// `#[weft::test] fn` (or `main`) made `#[weft::test] async fn` once a
    /// repair bridged a tokio future: the macro then runs it with tokio
    /// available (`weft_compat::tokio::Builder`), as the syntactic pass
    /// does when it leaves bridges.
    EntryWithTokio,
    /// `async move { weft_compat::run_fiber(move || x).await }` whose `x`
    /// borrows what a fiber cannot own: `async move { x }` (lazy still,
    /// run in the poll that first reaches it).
    RunInPoll,
}

impl RepairKind {
    /// A short name for the report.
    ///
    /// ```
    /// assert_eq!(weft_migrate::check::RepairKind::BridgeFuture.as_str(), "bridge a future");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            RepairKind::Suggestion => "rustc suggestion",
            RepairKind::DropAwait => "drop .await",
            RepairKind::UnwrapBridge => "unwrap a bridge",
            RepairKind::BridgeFuture => "bridge a future",
            RepairKind::KeepTokioCall => "keep a tokio call",
            RepairKind::RunInPoll => "run in the poll",
            RepairKind::EntryWithTokio => "give the entry tokio",
        }
    }
}

/// One edit of a file, and why.
///
/// ```
/// let r = weft_migrate::check::Repair { file: "src/lib.rs".into(), range: 0..1, text: String::new(), kind: weft_migrate::check::RepairKind::DropAwait, cause: "E0277".into() };
/// assert_eq!(r.range, 0..1);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repair {
    /// The file.
    pub file: PathBuf,
    /// The bytes replaced.
    pub range: Range<usize>,
    /// Their replacement.
    pub text: String,
    /// What kind of repair.
    pub kind: RepairKind,
    /// The compiler's headline that asked for it.
    pub cause: String,
}

pub(super) const BRIDGE: &str = "weft_compat::await_future(";

/// The repairs for `errors` (and for `warnings` of futures left unused,
/// which a rewrite causes by dropping an `.await` on a future) in the
/// files of `texts`; overlapping repairs keep the first.
///
/// ```
/// use std::collections::BTreeMap;
/// use weft_migrate::check::{plan, DiagSpan, Diagnostic, RepairKind};
/// let src = "fn f() -> u32 { weft_compat::await_future(g()) }";
/// let at = src.find("g()").unwrap();
/// let d = Diagnostic {
///     code: Some("E0277".into()),
///     message: "`u32` is not a future".into(),
///     rendered: String::new(),
///     spans: vec![DiagSpan { file: "a.rs".into(), start: at, end: at + 3, primary: true, label: None, replacement: None, machine_applicable: false }],
///     children: vec![],
/// };
/// let texts = BTreeMap::from([(std::path::PathBuf::from("a.rs"), src.to_string())]);
/// let r = plan(&[d], &[], &texts);
/// assert_eq!(r[0].kind, RepairKind::UnwrapBridge);
/// assert_eq!(r[0].text, "g()");
/// ```
pub fn plan(
    errors: &[Diagnostic],
    warnings: &[Diagnostic],
    texts: &BTreeMap<PathBuf, String>,
) -> Vec<Repair> {
    let mut out: Vec<Repair> = Vec::new();
    let mut push = |r: Repair| {
        let clash = out
            .iter()
            .any(|o| o.file == r.file && overlaps(&o.range, &r.range));
        if !clash {
            out.push(r);
        }
    };
    for d in errors {
        for r in targeted(d, texts).into_iter().chain(suggestions(d, texts)) {
            push(r);
        }
    }
    for d in warnings {
        if let Some(r) = unused_future(d, texts) {
            push(r);
        }
    }
    out
}

/// Applies `repairs` to `texts` (each file's edits from its end, so
/// earlier offsets stay valid); gives the files changed.
///
/// ```
/// use std::collections::BTreeMap;
/// use weft_migrate::check::{apply, Repair, RepairKind};
/// let mut texts = BTreeMap::from([(std::path::PathBuf::from("a.rs"), "x.await".to_string())]);
/// let r = Repair { file: "a.rs".into(), range: 1..7, text: String::new(), kind: RepairKind::DropAwait, cause: String::new() };
/// assert_eq!(apply(&[r], &mut texts).len(), 1);
/// assert_eq!(texts[&std::path::PathBuf::from("a.rs")], "x");
/// ```
pub fn apply(repairs: &[Repair], texts: &mut BTreeMap<PathBuf, String>) -> Vec<PathBuf> {
    let mut by_file: BTreeMap<&PathBuf, Vec<&Repair>> = BTreeMap::new();
    for r in repairs {
        by_file.entry(&r.file).or_default().push(r);
    }
    let mut changed = Vec::new();
    for (file, mut rs) in by_file {
        let Some(t) = texts.get_mut(file) else {
            continue;
        };
        rs.sort_by_key(|r| std::cmp::Reverse(r.range.start));
        for r in rs {
            if r.range.end <= t.len()
                && t.is_char_boundary(r.range.start)
                && t.is_char_boundary(r.range.end)
            {
                t.replace_range(r.range.clone(), &r.text);
            }
        }
        changed.push(file.clone());
    }
    changed
}

/// `first`, then those of `more` that overlap none of them.
pub(super) fn merge(mut first: Vec<Repair>, more: Vec<Repair>) -> Vec<Repair> {
    for r in more {
        let clash = first
            .iter()
            .any(|o| o.file == r.file && overlaps(&o.range, &r.range));
        if !clash {
            first.push(r);
        }
    }
    first
}

fn overlaps(a: &Range<usize>, b: &Range<usize>) -> bool {
    (a.start < b.end && b.start < a.end) || a == b
}

fn text_of<'t>(texts: &'t BTreeMap<PathBuf, String>, s: &DiagSpan) -> Option<&'t str> {
    let t = texts.get(&s.file)?;
    (s.end <= t.len() && t.is_char_boundary(s.start) && t.is_char_boundary(s.end)).then_some(t)
}

fn repair(
    s: &DiagSpan,
    range: Range<usize>,
    text: String,
    kind: RepairKind,
    d: &Diagnostic,
) -> Repair {
    Repair {
        file: s.file.clone(),
        range,
        text,
        kind,
        cause: d.headline(),
    }
}

/// Whether a type as rustc prints it is a future (in `expected X, found
/// Y`, whether `Y` is).
fn is_future_type(label: &str) -> bool {
    let label = label.rsplit(", found ").next().unwrap_or(label);
    label == "future"
        || label.contains("found future")
        || label.contains("impl Future<")
        || label.contains("impl futures::Future")
        || label.contains("dyn Future<")
        || label.contains("found `async` block")
        || label.contains("found opaque type")
        || label.contains("BoxFuture<")
}

fn bridge(s: &DiagSpan, t: &str, range: Range<usize>, d: &Diagnostic) -> Repair {
    repair(
        s,
        range.clone(),
        format!("{BRIDGE}{})", &t[range]),
        RepairKind::BridgeFuture,
        d,
    )
}

fn targeted(d: &Diagnostic, texts: &BTreeMap<PathBuf, String>) -> Vec<Repair> {
    let mut out = Vec::new();
    let Some(p) = d.primary() else {
        return out;
    };
    let Some(t) = text_of(texts, p) else {
        return out;
    };
    let code = d.code.as_deref().unwrap_or("");
    let at = &t[p.start..p.end];
    // A borrow that a lazy fiber (the rewrite's form for an unawaited
    // future of a call made direct) would have to own, or a value it
    // cannot take to the fiber's thread.
    let not_send = code == "E0277" && d.message.contains("cannot be sent between threads safely");
    if BORROW_ERRORS.contains(&code) || (not_send && lazy_fiber_around(t, p.start..p.end).is_some())
    {
        if let Some((range, inner)) = lazy_fiber_around(t, p.start..p.end) {
            out.push(repair(
                p,
                range,
                format!("async move {{ {inner} }}"),
                RepairKind::RunInPoll,
                d,
            ));
        }
        return out;
    }
    // `x` is not a future: it was made direct. Unwrap a bridge around it,
    // or drop the `.await` on it.
    if d.message.contains("is not a future") {
        if let Some(r) = unwrap_bridge(t, p.start..p.end) {
            out.push(repair(
                p,
                r.clone(),
                unwrap_text(t, r),
                RepairKind::UnwrapBridge,
                d,
            ));
        } else if let Some(dot) = await_dot(t, p) {
            out.push(repair(p, dot, String::new(), RepairKind::DropAwait, d));
        }
        return out;
    }
    // `.await` outside async: the function became direct. Bridge the
    // awaited value; a value that turns out not to be a future is
    // unwrapped at the next round.
    if code == "E0728" {
        if let Some(dot) = await_dot(t, p) {
            if let Some(start) = expr_start_before(t, dot.start) {
                let base = t[start..dot.start].to_string();
                out.push(repair(
                    p,
                    start..dot.end,
                    format!("{BRIDGE}{base})"),
                    RepairKind::BridgeFuture,
                    d,
                ));
            }
        }
        return out;
    }
    // rustc names the value a future in a help ("consider `await`ing on
    // the `Future`") where the type's name does not (`futures::sink::Send`
    // after `client.send(x)` lost its `.await`): bridged in direct code.
    let await_hint = || {
        d.children
            .iter()
            .any(|(m, _)| m.contains("`await`ing on the `Future`"))
            && !in_async_code(t, p.start)
    };
    // A future where its value is wanted.
    if code == "E0308" && (p.label.as_deref().is_some_and(is_future_type) || await_hint()) {
        out.push(bridge(p, t, p.start..p.end, d));
        return out;
    }
    if (code == "E0599" || code == "E0609" || code == "E0608")
        && (is_future_type(&d.message) || await_hint())
    {
        // The method or field of a future: bridge its receiver.
        let before = t[..p.start].trim_end();
        if before.ends_with('.') {
            let dot = before.len() - 1;
            if let Some(start) = expr_start_before(t, dot) {
                out.push(bridge(p, t, start..dot, d));
            }
        } else if code == "E0608" {
            out.push(bridge(p, t, p.start..p.end, d));
        }
        return out;
    }
    if code == "E0277" && d.message.contains("`?` operator") {
        let is_fut = d
            .spans
            .iter()
            .any(|s| s.label.as_deref().is_some_and(is_future_type));
        if is_fut && at.ends_with('?') {
            out.push(bridge(p, t, p.start..p.end - 1, d));
        }
        return out;
    }
    // Other spans labelled with a future type (`a + b` where `a` is one).
    for s in &d.spans {
        if s.label
            .as_deref()
            .is_some_and(|l| l.starts_with("impl Future<"))
        {
            if let Some(t) = text_of(texts, s) {
                out.push(bridge(s, t, s.start..s.end, d));
            }
        }
    }
    out
}

/// rustc's codes for a borrow that does not live long enough or escapes
/// (into a `'static` closure).
const BORROW_ERRORS: &[&str] = &["E0521", "E0597", "E0373", "E0716", "E0759", "E0621"];

/// The form the rewrite gives an unawaited future of a call it made
/// direct, up to the call.
const LAZY_FIBER: &str = "async move { weft_compat::run_fiber(move || ";

/// The innermost `async move { weft_compat::run_fiber(move || x).await }`
/// around `r`: its range and `x`.
fn lazy_fiber_around(t: &str, r: Range<usize>) -> Option<(Range<usize>, String)> {
    // The span may start inside the form (at `weft_compat::run_fiber`).
    let mut search_end = (r.start + LAZY_FIBER.len()).min(t.len());
    while !t.is_char_boundary(search_end) {
        search_end -= 1;
    }
    while let Some(start) = t[..search_end].rfind(LAZY_FIBER) {
        let open = start + LAZY_FIBER.len() - "move || ".len() - 1;
        if let Some(close) = match_close(t.as_bytes(), open) {
            let tail = ").await }";
            if close + 1 >= r.end && t[close..].starts_with(tail) {
                let inner = t[start + LAZY_FIBER.len()..close].to_string();
                return Some((start..close + tail.len(), inner));
            }
        }
        search_end = start;
    }
    None
}

/// The `)` that closes the `(` at `open` (string literals not parsed: the
/// rewrite's own text is what is matched).
fn match_close(b: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, &c) in b.iter().enumerate().skip(open) {
        match c {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// rustc's machine-applicable suggestions; one that adds `.await` (code
/// that is no longer async) bridges the value instead.
fn suggestions(d: &Diagnostic, texts: &BTreeMap<PathBuf, String>) -> Vec<Repair> {
    let mut out = Vec::new();
    for (_, spans) in &d.children {
        let ok: Vec<&DiagSpan> = spans
            .iter()
            .filter(|s| s.machine_applicable && s.replacement.is_some())
            .collect();
        if ok.is_empty() || ok.len() != spans.iter().filter(|s| s.replacement.is_some()).count() {
            continue;
        }
        for s in ok {
            let Some(t) = text_of(texts, s) else { continue };
            let rep = s.replacement.clone().unwrap_or_default();
            if rep.contains(".await") || rep.contains("async") {
                if rep.trim() == ".await" && s.start == s.end {
                    if let Some(start) = expr_start_before(t, s.start) {
                        out.push(bridge(s, t, start..s.start, d));
                    }
                }
                continue;
            }
            out.push(repair(s, s.start..s.end, rep, RepairKind::Suggestion, d));
        }
    }
    out
}

/// `unused implementer of Future`: a future made and dropped where the
/// original awaited it. Bridged, so it runs.
fn unused_future(d: &Diagnostic, texts: &BTreeMap<PathBuf, String>) -> Option<Repair> {
    if !(d.message.contains("unused implementer of `Future`")
        || d.message.contains("unused implementer of `futures")
        || d.children
            .iter()
            .any(|(m, _)| m.contains("futures do nothing unless you")))
    {
        return None;
    }
    let p = d.primary()?;
    let t = text_of(texts, p)?;
    if in_async_code(t, p.start) {
        return None;
    }
    // `timeout(d, || x).unwrap()` whose value is a future: weft's function
    // hands back what its closure returns, so the future is the closure's
    // `x` (a call the syntactic pass took for direct). Bridged there, the
    // wait stays inside the timeout.
    if let Some(body) = passed_through_closure_body(&t[p.start..p.end]) {
        let body = p.start + body.start..p.start + body.end;
        return Some(bridge(p, t, body, d));
    }
    Some(bridge(p, t, p.start..p.end, d))
}

/// In `f(.., || x)` (under `.unwrap()`, `.expect(..)` or `?`): the range
/// of `x` in `text`, when the closure takes no argument and is the call's
/// last.
fn passed_through_closure_body(text: &str) -> Option<Range<usize>> {
    let found = syn::parse_str::<syn::Expr>(text).ok().and_then(|e| {
        let mut cur = &e;
        loop {
            match cur {
                syn::Expr::MethodCall(m)
                    if matches!(m.method.to_string().as_str(), "unwrap" | "expect") =>
                {
                    cur = &m.receiver;
                }
                syn::Expr::Try(t) => cur = &t.expr,
                syn::Expr::Paren(p) => cur = &p.expr,
                _ => break,
            }
        }
        let last = match cur {
            syn::Expr::Call(c) => c.args.last(),
            syn::Expr::MethodCall(m) => m.args.last(),
            _ => None,
        }?;
        match last {
            syn::Expr::Closure(c) if c.inputs.is_empty() => {
                let r = syn::spanned::Spanned::span(&*c.body).byte_range();
                (r.end <= text.len()).then_some(r)
            }
            _ => None,
        }
    });
    proc_macro2::extra::invalidate_current_thread_spans();
    found
}

/// Whether an "is not a future" error at `r` has a repair here: an
/// `.await` on it to drop, or a bridge around it to unwrap.
pub(super) fn not_future_repairable(t: &str, r: Range<usize>) -> bool {
    let span = DiagSpan {
        file: PathBuf::new(),
        start: r.start,
        end: r.end,
        primary: true,
        label: None,
        replacement: None,
        machine_applicable: false,
    };
    unwrap_bridge(t, r).is_some() || await_dot(t, &span).is_some()
}

/// Whether `at` is inside an `async fn` or an async block (the code that
/// stays async is not ours to fix).
pub(super) fn in_async_code(t: &str, at: usize) -> bool {
    let found = crate::rewrite::parse(t).ok().map(|ast| {
        let mut v = AsyncAt { at, state: None };
        syn::visit::Visit::visit_file(&mut v, &ast);
        v.state
    });
    proc_macro2::extra::invalidate_current_thread_spans();
    found.flatten().unwrap_or(true)
}

/// Whether the innermost function, async block or async closure around a
/// byte offset is async code: an `async fn` (unless a weft entry
/// attribute, `#[weft::test]`, `#[weft::main]`, `#[weft::direct]`, makes
/// its body direct), an `async {}` block, an `async` closure. The visit
/// goes from outer to inner, so the innermost one decides.
struct AsyncAt {
    at: usize,
    state: Option<bool>,
}

/// Whether `tokens` hold `async {..}` or `async move {..}` whose braces
/// contain byte offset `at`, at any depth.
fn async_group_around(tokens: proc_macro2::TokenStream, at: usize) -> bool {
    let trees: Vec<proc_macro2::TokenTree> = tokens.into_iter().collect();
    for (i, tree) in trees.iter().enumerate() {
        let proc_macro2::TokenTree::Group(g) = tree else {
            continue;
        };
        let r = g.span().byte_range();
        if !(r.start <= at && at < r.end) {
            continue;
        }
        let is_ident = |j: usize, name: &str| matches!(trees.get(j), Some(proc_macro2::TokenTree::Ident(id)) if id == name);
        let braces = g.delimiter() == proc_macro2::Delimiter::Brace;
        if braces
            && ((i >= 1 && is_ident(i - 1, "async"))
                || (i >= 2 && is_ident(i - 1, "move") && is_ident(i - 2, "async")))
        {
            return true;
        }
        return async_group_around(g.stream(), at);
    }
    false
}

impl AsyncAt {
    fn contains(&self, span: proc_macro2::Span) -> bool {
        let r = span.byte_range();
        r.start <= self.at && self.at < r.end
    }

    fn function(
        &mut self,
        attrs: &[syn::Attribute],
        sig: &syn::Signature,
        span: proc_macro2::Span,
    ) {
        if self.contains(span) {
            let entry = attrs.iter().any(crate::rewrite::is_weft_attr);
            self.state = Some(sig.asyncness.is_some() && !entry);
        }
    }
}

impl<'ast> syn::visit::Visit<'ast> for AsyncAt {
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        self.function(&f.attrs, &f.sig, syn::spanned::Spanned::span(f));
        syn::visit::visit_item_fn(self, f);
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        self.function(&f.attrs, &f.sig, syn::spanned::Spanned::span(f));
        syn::visit::visit_impl_item_fn(self, f);
    }

    fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
        self.function(&f.attrs, &f.sig, syn::spanned::Spanned::span(f));
        syn::visit::visit_trait_item_fn(self, f);
    }

    fn visit_expr_async(&mut self, e: &'ast syn::ExprAsync) {
        if self.contains(syn::spanned::Spanned::span(e)) {
            self.state = Some(true);
        }
        syn::visit::visit_expr_async(self, e);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        // A macro's body is tokens: an `async {..}` (or `async move {..}`)
        // among them around the offset counts (`tokio::join!(async {..})`).
        if self.contains(syn::spanned::Spanned::span(m))
            && async_group_around(m.tokens.clone(), self.at)
        {
            self.state = Some(true);
        }
        syn::visit::visit_macro(self, m);
    }

    fn visit_expr_closure(&mut self, e: &'ast syn::ExprClosure) {
        if e.asyncness.is_some() && self.contains(syn::spanned::Spanned::span(e)) {
            self.state = Some(true);
        }
        syn::visit::visit_expr_closure(self, e);
    }
}

/// `weft_compat::await_future(<r>)`: the range of the whole call when `r`
/// is its argument or the call itself.
fn unwrap_bridge(t: &str, r: Range<usize>) -> Option<Range<usize>> {
    if t[r.clone()].starts_with(BRIDGE) && t[r.clone()].ends_with(')') {
        return Some(r);
    }
    let before = t[..r.start].trim_end();
    if before.ends_with(BRIDGE) {
        let call = before.len() - BRIDGE.len();
        let after = &t[r.end..];
        let close = r.end + (after.len() - after.trim_start().len());
        if t[close..].starts_with(')') {
            return Some(call..close + 1);
        }
    }
    None
}

fn unwrap_text(t: &str, call: Range<usize>) -> String {
    let inner = &t[call.start + BRIDGE.len()..call.end - 1];
    inner.trim().to_string()
}

/// The bytes of `.await` at or right after span `p`.
fn await_dot(t: &str, p: &DiagSpan) -> Option<Range<usize>> {
    let at = &t[p.start..p.end];
    if at == "await" && t[..p.start].ends_with('.') {
        return Some(p.start - 1..p.end);
    }
    if at == ".await" {
        return Some(p.start..p.end);
    }
    if let Some(base) = at.strip_suffix(".await") {
        let s = p.start + base.trim_end().len();
        return Some(s..p.end);
    }
    let after = &t[p.end..];
    let ws = after.len() - after.trim_start().len();
    if after.trim_start().starts_with(".await") {
        return Some(p.end + ws..p.end + ws + ".await".len());
    }
    None
}

/// Where the postfix expression that ends at byte `end` (a `.` follows)
/// starts: identifiers, paths, calls, indexing, fields, `?` and macro
/// calls, read backwards with brackets balanced.
///
/// ```
/// let t = "let x = self.conn.get(&k)[0].await;";
/// let dot = t.find(".await").unwrap();
/// assert_eq!(&t[weft_migrate::check::expr_start_before(t, dot).unwrap()..dot], "self.conn.get(&k)[0]");
/// ```
pub fn expr_start_before(t: &str, end: usize) -> Option<usize> {
    let b = t.as_bytes();
    let mut i = end;
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80;
    let mut progressed = false;
    loop {
        // Trailing whitespace is not part of the expression.
        let mut j = i;
        while j > 0 && b[j - 1].is_ascii_whitespace() {
            j -= 1;
        }
        if j == 0 {
            break;
        }
        let c = b[j - 1];
        if matches!(c, b')' | b']' | b'}') {
            let open = match_open(b, j - 1)?;
            i = open;
            progressed = true;
            // A call or macro: the callee comes before.
            continue;
        }
        if c == b'?' && progressed {
            i = j - 1;
            continue;
        }
        if c == b'!' && j >= 2 && ident(b[j - 2]) {
            i = j - 1;
            continue;
        }
        if ident(c) {
            if progressed && i != j && ident(b[i]) {
                // `a b`: two expressions; stop at the later one.
                break;
            }
            let mut k = j;
            while k > 0 && ident(b[k - 1]) {
                k -= 1;
            }
            let word = &t[k..j];
            if matches!(
                word,
                "return"
                    | "let"
                    | "in"
                    | "match"
                    | "if"
                    | "while"
                    | "else"
                    | "move"
                    | "mut"
                    | "ref"
                    | "break"
            ) {
                break;
            }
            i = k;
            progressed = true;
            // Continue through `.`, `::`.
            let mut m = i;
            while m > 0 && b[m - 1].is_ascii_whitespace() {
                m -= 1;
            }
            if m >= 1 && b[m - 1] == b'.' && !(m >= 2 && b[m - 2] == b'.') {
                i = m - 1;
                continue;
            }
            if m >= 2 && &b[m - 2..m] == b"::" {
                i = m - 2;
                continue;
            }
            break;
        }
        if c == b'>' && progressed {
            // A turbofish `::<..>` before a call.
            let open = match_angle(b, j - 1)?;
            if open >= 2 && &b[open - 2..open] == b"::" {
                i = open - 2;
                continue;
            }
            break;
        }
        break;
    }
    // A leading `.` or `::` left over means the scan stopped inside.
    let s = t[i..end].trim_start();
    let start = end - s.len();
    (progressed && start < end && !s.starts_with('.')).then_some(start)
}

fn match_open(b: &[u8], close: usize) -> Option<usize> {
    let mut depth = 0i32;
    let mut i = close + 1;
    while i > 0 {
        i -= 1;
        match b[i] {
            b')' | b']' | b'}' => depth += 1,
            b'(' | b'[' | b'{' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

fn match_angle(b: &[u8], close: usize) -> Option<usize> {
    let mut depth = 0i32;
    let mut i = close + 1;
    while i > 0 {
        i -= 1;
        match b[i] {
            b'>' => depth += 1,
            b'<' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            b';' | b'{' | b'}' => return None,
            _ => {}
        }
    }
    None
}

/// For every file of `texts`: the `#[weft::test]` and `#[weft::main]`
/// functions that are not `async`, made `async` (see
/// [`RepairKind::EntryWithTokio`]); wanted once a repair bridged a tokio
/// future, which needs tokio's context to be polled.
///
/// ```
/// use std::collections::BTreeMap;
/// let t = BTreeMap::from([("a.rs".into(), "#[weft::test]\nfn t() {}\n#[weft::test]\nasync fn u() {}\n".to_string())]);
/// let r = weft_migrate::check::entries_with_tokio(&t);
/// assert_eq!(r.len(), 1);
/// assert_eq!((r[0].range.clone(), r[0].text.as_str()), (14..14, "async "));
/// ```
pub fn entries_with_tokio(texts: &BTreeMap<PathBuf, String>) -> Vec<Repair> {
    struct Entries(Vec<usize>);
    impl<'ast> syn::visit::Visit<'ast> for Entries {
        fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
            let entry = f.attrs.iter().any(|a| {
                crate::rewrite::is_weft_attr(a)
                    && a.path()
                        .segments
                        .last()
                        .is_some_and(|s| s.ident == "test" || s.ident == "main")
            });
            if entry && f.sig.asyncness.is_none() {
                self.0.push(f.sig.fn_token.span.byte_range().start);
            }
            syn::visit::visit_item_fn(self, f);
        }
    }
    let mut out = Vec::new();
    for (file, t) in texts {
        if !t.contains("#[weft::") {
            continue;
        }
        let Ok(ast) = crate::rewrite::parse(t) else {
            continue;
        };
        let mut v = Entries(Vec::new());
        syn::visit::Visit::visit_file(&mut v, &ast);
        proc_macro2::extra::invalidate_current_thread_spans();
        out.extend(v.0.into_iter().map(|at| Repair {
            file: file.clone(),
            range: at..at,
            text: "async ".to_string(),
            kind: RepairKind::EntryWithTokio,
            cause: "a repair bridged a tokio future, which needs tokio".to_string(),
        }));
    }
    out
}
