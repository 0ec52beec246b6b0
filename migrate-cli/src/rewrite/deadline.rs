//! A tokio `Sleep` kept in a variable as a deadline:
//!
//! ```text
//! let deadline = tokio::time::sleep(limit);
//! tokio::pin!(deadline);
//! loop { tokio::select! { _ = &mut deadline => break, .. } }
//! ```
//!
//! becomes an instant, slept until where the future was awaited:
//! `let deadline = weft::time::Instant::now() + limit;`, the `pin!` goes,
//! `&mut deadline` awaited is `weft::time::sleep_until(deadline)`, and
//! `deadline.as_mut().reset(t)` is `deadline = t`.

use std::ops::Range;

use proc_macro2::{TokenStream, TokenTree};
use syn::visit::Visit;

use super::{Held, Rw};

impl Rw<'_> {
    /// The name of a local deadline that `e` is (`d`, `&mut d`, `(d)`).
    pub(super) fn deadline_name(&self, e: &syn::Expr) -> Option<String> {
        match e {
            syn::Expr::Paren(p) => self.deadline_name(&p.expr),
            syn::Expr::Reference(r) => self.deadline_name(&r.expr),
            syn::Expr::Path(p) => {
                let name = p.path.get_ident()?.to_string();
                matches!(
                    self.scope.locals.get(&name),
                    Some(Held::Deadline | Held::DeadlineReset)
                )
                .then_some(name)
            }
            _ => None,
        }
    }

    /// `sleep(d)` / `sleep_until(t)` of tokio (resolved through imports):
    /// which one, and its argument.
    pub(super) fn tokio_sleep_call<'e>(&self, e: &'e syn::Expr) -> Option<(bool, &'e syn::Expr)> {
        let syn::Expr::Call(c) = e else { return None };
        let syn::Expr::Path(p) = &*c.func else {
            return None;
        };
        if c.args.len() != 1 {
            return None;
        }
        let full = self.resolve(&p.path)?;
        let full: Vec<&str> = full.iter().map(String::as_str).collect();
        match full.as_slice() {
            ["tokio", "time", "sleep"] => Some((false, &c.args[0])),
            ["tokio", "time", "sleep_until"] => Some((true, &c.args[0])),
            _ => None,
        }
    }

    /// `let deadline = tokio::time::sleep(d);` of a deadline local: the
    /// instant it ends. Returns whether `l` was one.
    pub(super) fn deadline_let(&mut self, l: &syn::Local) -> bool {
        let (syn::Pat::Ident(pi), Some(init)) = (&l.pat, &l.init) else {
            return false;
        };
        let Some(kind) = self.scope.locals.get(&pi.ident.to_string()).copied() else {
            return false;
        };
        if !matches!(kind, Held::Deadline | Held::DeadlineReset) || init.diverge.is_some() {
            return false;
        }
        let Some((until, arg)) = self.tokio_sleep_call(&init.expr) else {
            return false;
        };
        let ar = self.input.r(arg);
        self.visit_expr(arg);
        let Ok(arg) = self.out.edits.take_rendered(self.input.src, ar) else {
            return false;
        };
        let text = if until {
            arg
        } else {
            format!("weft::time::Instant::now() + {arg}")
        };
        let r = self.input.r(&*init.expr);
        self.out.edits.replace(r, text);
        if kind == Held::DeadlineReset && pi.mutability.is_none() {
            let at = self.input.r(&pi.ident).start;
            self.out.edits.insert(at, "mut ");
        }
        self.out.count("deadline");
        true
    }

    /// `tokio::pin!(deadline);` of deadline locals only: removed, with its
    /// line. Returns whether it was.
    pub(super) fn deadline_pin(&mut self, m: &syn::Macro) -> bool {
        let parser = syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated;
        let Ok(args) = syn::parse::Parser::parse2(parser, m.tokens.clone()) else {
            return false;
        };
        if args.is_empty() || !args.iter().all(|a| self.deadline_name(a).is_some()) {
            return false;
        }
        let r = self.input.r(m);
        let mut end = r.end;
        if self.input.src[end..].starts_with(';') {
            end += 1;
        }
        self.out.edits.delete(self.whole_line(r.start..end));
        true
    }

    /// `range`, widened to its whole line when nothing else is on it.
    pub(super) fn whole_line(&self, range: Range<usize>) -> Range<usize> {
        let ls = self.input.src[..range.start]
            .rfind('\n')
            .map_or(0, |i| i + 1);
        let le = self.input.src[range.end..]
            .find('\n')
            .map_or(self.input.src.len(), |i| range.end + i + 1);
        if self.input.src[ls..range.start].trim().is_empty()
            && self.input.src[range.end..le].trim().is_empty()
        {
            ls..le
        } else {
            range
        }
    }

    /// A deadline awaited (`&mut deadline`, `deadline`): sleeping until it.
    pub(super) fn deadline_await(
        &mut self,
        fut: &syn::Expr,
        await_r: Option<Range<usize>>,
    ) -> bool {
        let Some(name) = self.deadline_name(fut) else {
            return false;
        };
        let r = self.input.r(fut);
        let end = await_r.map_or(r.end, |a| a.end);
        self.out
            .edits
            .replace(r.start..end, format!("weft::time::sleep_until({name})"));
        self.out.count("deadline awaited");
        true
    }

    /// `deadline.as_mut().reset(t)`, `deadline.is_elapsed()`,
    /// `deadline.deadline()`. Returns whether `m` was one.
    pub(super) fn deadline_method(&mut self, m: &syn::ExprMethodCall) -> bool {
        let mut recv = &*m.receiver;
        if let syn::Expr::MethodCall(inner) = recv {
            if inner.method == "as_mut" && inner.args.is_empty() {
                recv = &inner.receiver;
            }
        }
        let Some(name) = self.deadline_name(recv) else {
            return false;
        };
        let text = match (m.method.to_string().as_str(), m.args.len()) {
            ("reset", 1) => {
                let ar = self.input.r(&m.args[0]);
                self.visit_expr(&m.args[0]);
                let Ok(arg) = self.out.edits.take_rendered(self.input.src, ar) else {
                    return false;
                };
                format!("{name} = {arg}")
            }
            ("is_elapsed", 0) => format!("(weft::time::Instant::now() >= {name})"),
            ("deadline", 0) => name,
            _ => return false,
        };
        let r = self.input.r(m);
        self.out.edits.replace(r, text);
        self.out.count("deadline method");
        true
    }
}

/// The names `x` of `x.reset(..)` and `x.as_mut().reset(..)` anywhere in
/// `ts`, also inside macro arguments (a `select!` arm resets its deadline).
///
/// Token level, so `select!` bodies, which syn leaves unparsed, count.
pub(super) fn reset_targets(ts: TokenStream, out: &mut Vec<String>) {
    let toks: Vec<TokenTree> = ts.into_iter().collect();
    for (i, t) in toks.iter().enumerate() {
        match t {
            TokenTree::Group(g) => reset_targets(g.stream(), out),
            TokenTree::Ident(id) => {
                let rest = &toks[i + 1..];
                if is_reset_chain(rest) {
                    out.push(id.to_string());
                }
            }
            _ => {}
        }
    }
}

/// `.reset(` or `.as_mut().reset(` at the start of `rest`.
fn is_reset_chain(rest: &[TokenTree]) -> bool {
    let dot = |t: Option<&TokenTree>| matches!(t, Some(TokenTree::Punct(p)) if p.as_char() == '.');
    let ident =
        |t: Option<&TokenTree>, name: &str| matches!(t, Some(TokenTree::Ident(i)) if i == name);
    let mut at = 0;
    if dot(rest.get(at)) && ident(rest.get(at + 1), "as_mut") {
        at += 3; // `.`, `as_mut`, `()`
    }
    dot(rest.get(at)) && ident(rest.get(at + 1), "reset")
}
