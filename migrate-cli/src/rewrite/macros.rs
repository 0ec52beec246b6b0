//! Macro invocations: `tokio::join!` / `try_join!` become
//! `weft::fiber::both`, `tokio::select!` becomes `weft::fiber::first` (`first_watch` when
//! one of two branches is the loop's exit), and
//! the arguments of other expression-like macros (`assert_eq!`, `println!`,
//! `vec!`, ...) are rewritten like any expression.

use std::collections::BTreeMap;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::visit::Visit;

use syn::{Expr, Token};

use super::{Region, Rw};

struct Branch {
    pat: syn::Pat,
    fut: Expr,
    cond: Option<Expr>,
    body: Expr,
}

struct Select {
    biased: bool,
    branches: Vec<Branch>,
    else_body: Option<Expr>,
}

impl Parse for Select {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut biased = false;
        if input.peek(syn::Ident) && input.peek2(Token![;]) {
            let id: syn::Ident = input.parse()?;
            if id != "biased" {
                return Err(syn::Error::new(id.span(), "expected `biased;`"));
            }
            input.parse::<Token![;]>()?;
            biased = true;
        }
        let mut branches = Vec::new();
        let mut else_body = None;
        while !input.is_empty() {
            if input.peek(Token![else]) {
                input.parse::<Token![else]>()?;
                input.parse::<Token![=>]>()?;
                else_body = Some(input.parse()?);
            } else {
                let pat = syn::Pat::parse_single(input)?;
                input.parse::<Token![=]>()?;
                let fut = Expr::parse_without_eager_brace(input)?;
                let cond = if input.peek(Token![,]) && input.peek2(Token![if]) {
                    input.parse::<Token![,]>()?;
                    input.parse::<Token![if]>()?;
                    Some(Expr::parse_without_eager_brace(input)?)
                } else {
                    None
                };
                input.parse::<Token![=>]>()?;
                let body: Expr = input.parse()?;
                branches.push(Branch {
                    pat,
                    fut,
                    cond,
                    body,
                });
            }
            if !input.is_empty() {
                input.parse::<Token![,]>().or_else(|e| {
                    // A block body needs no comma.
                    if input.peek(syn::Ident) || input.peek(Token![else]) || input.peek(Token![_]) {
                        Ok(Token![,](input.span()))
                    } else {
                        Err(e)
                    }
                })?;
            }
        }
        Ok(Select {
            biased,
            branches,
            else_body,
        })
    }
}

/// Whether a pattern always matches (a binding, `_`, a tuple of those).
fn irrefutable(p: &syn::Pat) -> bool {
    match p {
        syn::Pat::Ident(i) => {
            i.subpat.is_none()
                && !i
                    .ident
                    .to_string()
                    .starts_with(|c: char| c.is_ascii_uppercase())
        }
        syn::Pat::Wild(_) => true,
        syn::Pat::Tuple(t) => t.elems.iter().all(irrefutable),
        syn::Pat::Type(t) => irrefutable(&t.pat),
        syn::Pat::Reference(r) => irrefutable(&r.pat),
        syn::Pat::Paren(p) => irrefutable(&p.pat),
        _ => false,
    }
}

/// Whether a branch body leaves the enclosing loop or function (`return`,
/// `break`, or a block ending in one): a loop's exit, taken at most once,
/// so the branch can be watched lazily (`weft::fiber::first_watch`).
fn leaves(body: &Expr) -> bool {
    match body {
        Expr::Return(_) | Expr::Break(_) => true,
        Expr::Block(b) if b.label.is_none() => match b.block.stmts.last() {
            Some(syn::Stmt::Expr(e, _)) => matches!(e, Expr::Return(_) | Expr::Break(_)),
            _ => false,
        },
        _ => false,
    }
}

/// Whether a branch's future must be polled from the start rather than
/// watched lazily, even when its body leaves:
/// - a timer (`sleep(..)`, `sleep_until(..)`, `interval.tick()`,
///   `timeout(..)`): its deadline must not move;
/// - a pinned future raced by reference (`&mut deadline`): most often a
///   timer too (unless the place is known to be a oneshot receiver or a
///   join handle, see `kept_wait`);
/// - an edge-triggered wait that only sees what happens while it is
///   registered (`ctrl_c()`, `notify.notified()`): started late, it would
///   miss a Ctrl-C or a `notify_waiters` that the race was waiting for
///   (the signal's default action is already replaced, so the Ctrl-C would
///   be ignored, not fatal).
///
/// `kept_wait` says whether a place raced by reference is a oneshot
/// receiver or a join handle: those are level-triggered (the value or the
/// task's end waits for whoever looks), so they may start late.
fn polled_from_the_start(fut: &Expr, kept_wait: &dyn Fn(&Expr) -> bool) -> bool {
    if let Expr::Reference(r) = fut {
        return !kept_wait(&r.expr);
    }
    let name = match fut {
        Expr::Call(c) => match &*c.func {
            Expr::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
            _ => None,
        },
        Expr::MethodCall(m) => Some(m.method.to_string()),
        _ => None,
    };
    name.is_some_and(|n| crate::mapping::methods::starts_a_wait(&n))
}

/// Of a two-branch `select!` without `else`, the branch to watch lazily:
/// the one whose body leaves (the loop's exit: a shutdown, a cancellation,
/// a broadcast or watch receiver) when the other does not, it has no
/// precondition and is not [`polled_from_the_start`]. Under `biased;` only the second branch (polled last anyway).
fn watched_branch(sel: &Select, kept_wait: &dyn Fn(&Expr) -> bool) -> Option<usize> {
    if sel.branches.len() != 2 || sel.else_body.is_some() {
        return None;
    }
    let exits: Vec<bool> = sel
        .branches
        .iter()
        .map(|b| leaves(&b.body) && b.cond.is_none() && !polled_from_the_start(&b.fut, kept_wait))
        .collect();
    match (exits[0], exits[1]) {
        (false, true) => Some(1),
        (true, false) if !sel.biased => Some(0),
        _ => None,
    }
}

/// Collects the byte ranges of the bindings of a pattern (lower-case
/// identifiers), to blank them for a test-only copy of the pattern.
struct Bindings(Vec<std::ops::Range<usize>>);

impl<'ast> Visit<'ast> for Bindings {
    fn visit_pat_ident(&mut self, i: &'ast syn::PatIdent) {
        let name = i.ident.to_string();
        if !name.starts_with(|c: char| c.is_ascii_uppercase()) {
            let r = i.span().byte_range();
            self.0.push(r);
        } else if let Some((_, sub)) = &i.subpat {
            self.visit_pat(sub);
        }
    }
}

/// `Ok(Ok(x))`, `Ok(Err(x))`, `Err(x)`: the value of branch `i` of `n`
/// as the nested results of a left fold of `first`.
fn wrap(i: usize, n: usize, x: &str) -> String {
    if i == 0 {
        format!("{}{x}{}", "Ok(".repeat(n - 1), ")".repeat(n - 1))
    } else {
        format!(
            "{}Err({x}){}",
            "Ok(".repeat(n - 1 - i),
            ")".repeat(n - i - 1)
        )
    }
}

/// A call of a macro, as a macro rule sees it.
struct MacroCall<'e> {
    mac: &'e syn::Macro,
    /// The call is a statement that needs a `;` once it is no longer a
    /// macro.
    needs_semi: bool,
}

/// A macro rule: rewrites one call of its macro; `None` leaves it to the
/// fallbacks of [`Rw::macro_call`] (none declines today).
type MacroRewrite = fn(&mut Rw<'_>, &MacroCall<'_>) -> Option<()>;

/// Where a macro rule applies (the file's paths being rewritten).
#[derive(Clone, Copy)]
enum Applies {
    /// In converted and plain code (`Direct`, `Sync`), not in code that
    /// stays async.
    OutsideAsync,
    /// Only in the body of a converted function (`Direct`).
    Direct,
}

/// One entry of the macro registry: the macros (by full path, as the
/// file's imports resolve them) one rule rewrites.
struct MacroRule {
    paths: &'static [&'static str],
    applies: Applies,
    rewrite: MacroRewrite,
}

impl MacroRule {
    fn applies_in(&self, region: Region) -> bool {
        match self.applies {
            Applies::OutsideAsync => region != Region::Async,
            Applies::Direct => region == Region::Direct,
        }
    }
}

/// The macro rules, by crate and module. A macro no rule names, or one
/// whose rule does not apply where it is called, is handled by
/// [`Rw::macro_call`]'s fallbacks: a macro the table maps as an item
/// (`tokio::task_local!` -> `weft::task_local!`) has its path rewritten,
/// other tokio and futures macros are left as they are, and an
/// expression-like macro has its arguments rewritten.
const MACRO_RULES: &[MacroRule] = &[
    // async_stream
    MacroRule {
        paths: &["async_stream::stream"],
        applies: Applies::OutsideAsync,
        rewrite: stream_rule,
    },
    MacroRule {
        paths: &["async_stream::try_stream"],
        applies: Applies::OutsideAsync,
        rewrite: try_stream_rule,
    },
    // tokio's (and futures') macros at the crate root
    MacroRule {
        paths: &["tokio::join", "futures::join", "futures::future::join"],
        applies: Applies::Direct,
        rewrite: join_rule,
    },
    MacroRule {
        paths: &[
            "tokio::try_join",
            "futures::try_join",
            "futures::future::try_join",
        ],
        applies: Applies::Direct,
        rewrite: try_join_rule,
    },
    MacroRule {
        paths: &["tokio::select"],
        applies: Applies::Direct,
        rewrite: select_rule,
    },
    MacroRule {
        paths: &["tokio::pin", "futures::pin_mut"],
        applies: Applies::Direct,
        rewrite: pin_rule,
    },
];

fn stream_rule(rw: &mut Rw<'_>, c: &MacroCall<'_>) -> Option<()> {
    rw.stream_or_note(c.mac, false);
    Some(())
}

fn try_stream_rule(rw: &mut Rw<'_>, c: &MacroCall<'_>) -> Option<()> {
    rw.stream_or_note(c.mac, true);
    Some(())
}

fn join_rule(rw: &mut Rw<'_>, c: &MacroCall<'_>) -> Option<()> {
    rw.join(c.mac, false, c.needs_semi);
    Some(())
}

fn try_join_rule(rw: &mut Rw<'_>, c: &MacroCall<'_>) -> Option<()> {
    rw.join(c.mac, true, c.needs_semi);
    Some(())
}

fn select_rule(rw: &mut Rw<'_>, c: &MacroCall<'_>) -> Option<()> {
    rw.select(c.mac, c.needs_semi);
    Some(())
}

/// `tokio::pin!` / `futures::pin_mut!`: a pinned deadline becomes an
/// instant (`deadline.rs`); any other pinned future stays a future.
fn pin_rule(rw: &mut Rw<'_>, c: &MacroCall<'_>) -> Option<()> {
    if !rw.deadline_pin(c.mac) {
        rw.out.note(
            c.mac.span(),
            "pin! kept: the pinned future is still a future (awaited through the \
             bridge)",
        );
    }
    Some(())
}

impl Rw<'_> {
    fn macro_full_path(&self, m: &syn::Macro) -> Option<String> {
        if let Some(v) = self.resolve(&m.path) {
            return Some(v.join("::"));
        }
        // async-stream's macros by their full path (no import to resolve).
        let segs = super::path_idents(&m.path);
        (segs.first().map(String::as_str) == Some("async_stream")).then(|| segs.join("::"))
    }

    /// Rewrites the path of a macro the table maps as an item; whether it
    /// did.
    fn macro_path_mapped(&mut self, m: &syn::Macro) -> bool {
        let Some(full) = self.resolve(&m.path) else {
            return false;
        };
        if !crate::mapping::rewrites_crate(&full[0])
            || !matches!(
                self.input.table.target(&full),
                Some((_, crate::mapping::Kind::Item))
            )
        {
            return false;
        }
        self.rewrite_path(&m.path, &full)
    }

    pub(super) fn macro_call(&mut self, m: &syn::Macro, needs_semi: bool) {
        let path = self.macro_full_path(m).unwrap_or_default();
        if let Some(rule) = MACRO_RULES
            .iter()
            .find(|r| r.paths.contains(&path.as_str()))
        {
            let call = MacroCall { mac: m, needs_semi };
            if self.scope.paths_on
                && rule.applies_in(self.scope.region)
                && (rule.rewrite)(self, &call).is_some()
            {
                return;
            }
        }
        if self.scope.paths_on && self.scope.region != Region::Async && self.macro_path_mapped(m) {
            // A macro with a weft counterpart of the same syntax
            // (`tokio::task_local!` -> `weft::task_local!`): its path is
            // rewritten and its body, declarations, kept.
            return;
        }
        if path.starts_with("tokio::") || path.starts_with("futures::") {
            return;
        }
        let first = m.path.segments.first().map(|s| s.ident.to_string());
        if matches!(first.as_deref(), Some("weft" | "weft_compat")) {
            // `weft::chain!(..)` left by an earlier run holds futures.
            return;
        }
        // Expression-like macros: rewrite their leading comma-separated
        // expressions (all of `assert_eq!(a, b)`, the first of
        // `matches!(e, pat)`), or their statements.
        let parser = |input: ParseStream| -> syn::Result<Vec<Expr>> {
            let mut out = Vec::new();
            while !input.is_empty() {
                let fork = input.fork();
                match fork.parse::<Expr>() {
                    Ok(_) if fork.is_empty() || fork.peek(Token![,]) => {
                        out.push(input.parse::<Expr>()?);
                        if input.is_empty() {
                            break;
                        }
                        input.parse::<Token![,]>()?;
                    }
                    _ => break,
                }
            }
            input.parse::<proc_macro2::TokenStream>()?;
            Ok(out)
        };
        match syn::parse::Parser::parse2(parser, m.tokens.clone()) {
            Ok(args) if !args.is_empty() => {
                for a in &args {
                    self.visit_expr(a);
                }
            }
            _ => {
                if let Ok(block) =
                    syn::parse::Parser::parse2(syn::Block::parse_within, m.tokens.clone())
                {
                    for s in &block {
                        self.visit_stmt(s);
                    }
                }
            }
        }
    }

    /// `stream!` / `try_stream!`, or a note when its body does not parse.
    fn stream_or_note(&mut self, m: &syn::Macro, is_try: bool) {
        if !self.stream_macro(m, is_try) {
            // The body stays the async generator's: nothing in it
            // may become direct.
            self.out.note(
                m.path.span(),
                "async_stream macro whose body does not parse: left as it is",
            );
        }
    }

    /// `async_stream::stream! { .. }` (`try_stream!`): the body runs as a
    /// direct producer fiber behind `weft_compat::stream::from_fiber`, which
    /// is still a `Stream` for the code that consumes it; `yield v` sends
    /// `v` (`Ok(v)`) and ends the producer once the stream is dropped, and
    /// in `try_stream!` an error from `?` is sent as the last item, as
    /// async-stream does. Returns whether `m` was rewritten.
    fn stream_macro(&mut self, m: &syn::Macro, is_try: bool) -> bool {
        let span = match &m.delimiter {
            syn::MacroDelimiter::Brace(b) => b.span,
            syn::MacroDelimiter::Paren(p) => p.span,
            syn::MacroDelimiter::Bracket(b) => b.span,
        };
        let Ok(stmts) = syn::parse::Parser::parse2(syn::Block::parse_within, m.tokens.clone())
        else {
            return false;
        };
        let open = self.input.rs(span.open());
        let close = self.input.rs(span.close());
        let start = self.input.r(&m.path).start;
        let saved = self.scope.stream_yield.replace(is_try);
        self.within(Region::Direct, |s| {
            for st in &stmts {
                s.visit_stmt(st);
            }
        });
        self.scope.stream_yield = saved;
        let (head, tail) = if is_try {
            (
                "weft_compat::stream::from_fiber(1, move |__tx| { \
                 if let ::std::result::Result::Err(__e) = \
                 (|| -> ::std::result::Result<(), _> {",
                "; ::std::result::Result::Ok(()) })() { \
                 let _ = __tx.send(::std::result::Result::Err(__e)); } })",
            )
        } else {
            ("weft_compat::stream::from_fiber(1, move |__tx| {", "})")
        };
        self.out.edits.replace(start..open.end, head.to_string());
        self.out.edits.replace(close, tail.to_string());
        self.out.bridged(
            m.path.span(),
            "the stream's body runs in a fiber that feeds it \
             (weft_compat::stream::from_fiber, one item ahead of its consumer)",
        );
        self.out
            .count(if is_try { "try_stream!" } else { "stream!" });
        true
    }

    /// `yield v` in a `stream!` body being rewritten: a send to the
    /// stream, ending the producer if the stream is gone. Returns whether
    /// `y` was one.
    pub(super) fn stream_yield(&mut self, y: &syn::ExprYield) -> bool {
        let Some(is_try) = self.scope.stream_yield else {
            return false;
        };
        let value = match &y.expr {
            Some(e) => {
                let r = self.input.r(&**e);
                syn::visit::Visit::visit_expr(self, e);
                let Ok(t) = self.out.edits.take_rendered(self.input.src, r) else {
                    return false;
                };
                t
            }
            None => "()".to_string(),
        };
        let (value, stop) = if is_try {
            (
                format!("::std::result::Result::Ok({value})"),
                "return ::std::result::Result::Ok(());",
            )
        } else {
            (value, "return;")
        };
        let r = self.input.r(y);
        self.out
            .edits
            .replace(r, format!("if __tx.send({value}).is_err() {{ {stop} }}"));
        true
    }

    fn join(&mut self, m: &syn::Macro, is_try: bool, needs_semi: bool) {
        let parser = Punctuated::<Expr, Token![,]>::parse_terminated;
        let Ok(args) = syn::parse::Parser::parse2(parser, m.tokens.clone()) else {
            self.out.note(
                m.span(),
                "join! with arguments that do not parse: left as is",
            );
            return;
        };
        let args: Vec<&Expr> = args.iter().collect();
        let Some(text) = self.join_text(&args, is_try) else {
            return;
        };
        let semi = if needs_semi && !text.starts_with('{') {
            ";"
        } else {
            ""
        };
        let r = self.input.r(m);
        self.out.edits.replace(r, format!("{text}{semi}"));
        self.out.count(if is_try { "try_join!" } else { "join!" });
    }

    /// The direct-style text of joining `args` (each awaited in its own
    /// fiber): a tuple of their values, or for `try`, a `Result` of one.
    pub(super) fn join_text(&mut self, args: &[&Expr], is_try: bool) -> Option<String> {
        let n = args.len();
        if n == 0 {
            return None;
        }
        let mut vals = Vec::new();
        for a in args {
            let r = self.input.r(*a);
            self.direct_value(a, None);
            vals.push(self.out.edits.take_rendered(self.input.src, r).ok()?);
        }
        Some(if n == 1 {
            if is_try {
                format!("({}).map(|__j0| (__j0,))", vals[0])
            } else {
                format!("({},)", vals[0])
            }
        } else if is_try {
            // `try_both` cancels the other branch at the first error, as
            // tokio's `try_join!` drops the other futures.
            let mut nest = format!("weft::fiber::try_both(|| {}, || {})", vals[0], vals[1]);
            let mut pat = "(__j0, __j1)".to_string();
            for (i, v) in vals.iter().enumerate().skip(2) {
                nest = format!("weft::fiber::try_both(|| {nest}, || {v})");
                pat = format!("({pat}, __j{i})");
            }
            if n == 2 {
                nest
            } else {
                let names: Vec<String> = (0..n).map(|i| format!("__j{i}")).collect();
                format!("{nest}.map(|{pat}| ({}))", names.join(", "))
            }
        } else {
            let mut nest = format!("weft::fiber::both(|| {}, || {})", vals[0], vals[1]);
            let mut pat = "(__j0, __j1)".to_string();
            for (i, v) in vals.iter().enumerate().skip(2) {
                nest = format!("weft::fiber::both(|| {nest}, || {v})");
                pat = format!("({pat}, __j{i})");
            }
            if n == 2 {
                nest
            } else {
                let names: Vec<String> = (0..n).map(|i| format!("__j{i}")).collect();
                format!("{{ let {pat} = {nest}; ({}) }}", names.join(", "))
            }
        })
    }

    fn select(&mut self, m: &syn::Macro, needs_semi: bool) {
        let parsed: syn::Result<Select> = syn::parse2(m.tokens.clone());
        let sel = match parsed {
            Ok(s) if !s.branches.is_empty() => s,
            Ok(_) | Err(_) => return self.bridge_select(m, needs_semi),
        };
        let n = sel.branches.len();
        let total = n + usize::from(sel.else_body.is_some());
        // What a disabled branch (pattern failed, precondition false) does:
        // wait to be cancelled, or, when every branch is disabled, take
        // the `else` branch.
        let fail = if sel.else_body.is_some() {
            format!(
                "{{ if __disabled.get() + 1 == {n} {{ {} }} else {{ __disabled.set(__disabled.get() + 1); weft::fiber::await_cancel() }} }}",
                wrap(n, total, "()")
            )
        } else {
            "weft::fiber::await_cancel()".to_string()
        };
        let groups: Vec<Vec<&syn::Expr>> = sel
            .branches
            .iter()
            .map(|b| std::iter::once(&b.fut).chain(b.cond.as_ref()).collect())
            .collect();
        let hoisted = self.hoist_self_fields(&groups, 2, None);
        let mut closures = Vec::new();
        let mut arms = Vec::new();
        let mut refutable = false;
        for (i, b) in sel.branches.iter().enumerate() {
            let fr = self.input.r(&b.fut);
            self.direct_value(&b.fut, None);
            let Ok(fut) = self.out.edits.take_rendered(self.input.src, fr) else {
                return;
            };
            let cond = match &b.cond {
                Some(c) => {
                    let cr = self.input.r(c);
                    self.visit_expr(c);
                    let Ok(t) = self.out.edits.take_rendered(self.input.src, cr) else {
                        return;
                    };
                    if sel.else_body.is_some() {
                        format!("if !({t}) {{ return {fail}; }} ")
                    } else {
                        // `await_cancel()` never returns: no `return` (it
                        // would be an unreachable expression).
                        format!("if !({t}) {{ {fail} }} ")
                    }
                }
                None => String::new(),
            };
            let pat_r = self.input.r(&b.pat);
            let pat = self.input.text(pat_r.clone()).to_string();
            let value = if irrefutable(&b.pat) {
                wrap(i, total, &fut)
            } else {
                refutable = true;
                let mut bind = Bindings(Vec::new());
                bind.visit_pat(&b.pat);
                let mut test = String::new();
                let mut at = pat_r.start;
                for r in bind.0 {
                    if r.start < at || r.end > pat_r.end {
                        continue;
                    }
                    test.push_str(&self.input.src[at..r.start]);
                    test.push('_');
                    at = r.end;
                }
                test.push_str(&self.input.src[at..pat_r.end]);
                format!(
                    "match {fut} {{ __v @ {test} => {}, _ => {fail} }}",
                    wrap(i, total, "__v")
                )
            };
            closures.push(format!("|| {{ {cond}{value} }}"));
            let br = self.input.r(&b.body);
            self.visit_expr(&b.body);
            let Ok(body) = self.out.edits.take_rendered(self.input.src, br) else {
                return;
            };
            arms.push(format!("{} => {body},", wrap(i, total, &pat)));
        }
        if let Some(e) = &sel.else_body {
            let er = self.input.r(e);
            self.visit_expr(e);
            let Ok(body) = self.out.edits.take_rendered(self.input.src, er) else {
                return;
            };
            arms.push(format!("{} => {body},", wrap(n, total, "_")));
        }
        let kept_wait = |e: &Expr| self.is_oneshot_rx(e) || self.is_join_handle(e);
        let watched = watched_branch(&sel, &kept_wait);
        let mut nest = match (n, watched) {
            (1, _) => format!("({})()", closures[0]),
            // The exit is watched: it starts only once the work has waited
            // for a while, so the loop's common case, the work winning,
            // stops no started branch (see `fiber::first_watch`).
            (_, Some(w)) => format!(
                "weft::fiber::first_watch({}, {})",
                closures[1 - w],
                closures[w]
            ),
            _ => format!("weft::fiber::first({}, {})", closures[0], closures[1]),
        };
        for c in closures.iter().skip(2) {
            nest = format!("weft::fiber::first(|| {nest}, {c})");
        }
        if !hoisted.is_empty() {
            nest = format!("{{ {hoisted}{nest} }}");
        }
        if refutable {
            arms.push(
                "_ => unreachable!(\"a select! branch whose pattern fails never finishes\"),"
                    .into(),
            );
        }
        let mut text = format!("match {nest} {{ {} }}", arms.join(" "));
        if sel.else_body.is_some() {
            text = format!("{{ let __disabled = std::cell::Cell::new(0usize); {text} }}");
        }
        let r = self.input.r(m);
        self.out.edits.replace(r, text);
        self.out.count("select!");
    }

    /// Edition 2015/2018 closures capture whole variables, so two branch
    /// closures using different fields of `self` (`self.conn.read()`,
    /// `self.stop.recv()`), or a closure using one field handed to a
    /// method of another (`self.rt.block_on(|| self.conn.get(k))`), would
    /// borrow all of `self` more than once. Where that is the case, each
    /// field is taken once before the closures (`let __self_conn = &mut
    /// self.conn;`, or moved out of a `self` taken by value) and the
    /// closures use it through that. `groups` holds each closure's
    /// expressions; `min` is how many closures must use `self`; a field
    /// in `outside` is used outside the closures. Returns the `let`s to
    /// put before the closures (empty when nothing is hoisted).
    pub(super) fn hoist_self_fields(
        &mut self,
        groups: &[Vec<&syn::Expr>],
        min: usize,
        outside: Option<&str>,
    ) -> String {
        let Some((by_ref, mutable)) = self.scope.self_mut else {
            return String::new();
        };
        if !self.input.opts.whole_captures {
            return String::new();
        }
        let mut uses: Vec<SelfUses> = Vec::new();
        for g in groups {
            let mut u = SelfUses::default();
            for e in g {
                u.visit_expr(e);
            }
            uses.push(u);
        }
        let using = uses
            .iter()
            .filter(|u| !u.fields.is_empty() || u.whole)
            .count();
        if using < min || using == 0 || uses.iter().any(|u| u.whole) {
            return String::new();
        }
        // A field used by two closures (or also outside them) would be
        // borrowed twice again: leave such code as it is.
        let mut owner: BTreeMap<String, usize> = BTreeMap::new();
        for (i, u) in uses.iter().enumerate() {
            for (name, _) in &u.fields {
                if Some(name.as_str()) == outside || *owner.entry(name.clone()).or_insert(i) != i {
                    return String::new();
                }
            }
        }
        // `self` by value and immutable: the field is moved out (a method
        // taking it by value needs that; borrowing it would need `mut`).
        let (take, used) = match (by_ref, mutable) {
            (_, true) => ("&mut self", "(*__self_{})"),
            (true, false) => ("&self", "(*__self_{})"),
            (false, false) => ("self", "__self_{}"),
        };
        let mut lets = String::new();
        for name in owner.keys() {
            lets.push_str(&format!("let __self_{name} = {take}.{name}; "));
        }
        for u in &uses {
            for (name, span) in &u.fields {
                let r = self.input.rs(*span);
                self.out.edits.replace(r, used.replace("{}", name));
            }
        }
        self.out
            .count("self fields taken before closures (edition 2018 captures)");
        lets
    }

    /// A `select!` the tool cannot express with `first`: awaited as a whole
    /// through weft-compat.
    fn bridge_select(&mut self, m: &syn::Macro, needs_semi: bool) {
        let r = self.input.r(m);
        self.out
            .edits
            .insert(r.start, "weft_compat::await_future(async { ");
        self.out
            .edits
            .insert(r.end, if needs_semi { " });" } else { " })" });
        self.out.bridged(
            m.span(),
            "select! with an `else` branch, a single branch or a shape the tool does not \
             parse; awaited whole through weft_compat (return/break/? inside it now apply to \
             the async block)",
        );
    }
}

/// The `self.field` expressions of a branch (name and span of the whole
/// `self.field`), and whether it uses `self` otherwise (`self.method()`).
#[derive(Default)]
struct SelfUses {
    fields: Vec<(String, proc_macro2::Span)>,
    whole: bool,
}

impl<'ast> Visit<'ast> for SelfUses {
    fn visit_expr_field(&mut self, f: &'ast syn::ExprField) {
        if let (syn::Expr::Path(p), syn::Member::Named(id)) = (&*f.base, &f.member) {
            if p.path.is_ident("self") {
                self.fields.push((id.to_string(), f.span()));
                return;
            }
        }
        syn::visit::visit_expr_field(self, f);
    }
    fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
        if p.path.is_ident("self") {
            self.whole = true;
        }
    }
    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        // Tokens not looked into: any `self` there counts as whole.
        if m.tokens.to_string().contains("self") {
            self.whole = true;
        }
    }
}
