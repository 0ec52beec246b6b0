//! Calls whose tokio form takes a future that weft's takes as a closure:
//! a task-local's scope (`KEY.scope(v, async move { .. }).await`, weft's
//! `LocalKey::scope(v, move || { .. })`) and a cancellation token's
//! `token.run_until_cancelled(fut).await` (weft's runs a closure in a
//! sub-context the token cancels). The future argument becomes the closure
//! that computes its direct value; an `async move` block keeps its `move`.

use std::ops::Range;

use syn::visit::Visit;

use super::{Region, Rw};

impl Rw<'_> {
    /// Rewrites `m` (a method call awaited at `await_r`) when it is one of
    /// these calls; whether it was.
    pub(super) fn scoped_future_arg(
        &mut self,
        m: &syn::ExprMethodCall,
        await_r: Option<Range<usize>>,
    ) -> bool {
        let name = m.method.to_string();
        let arg = match (name.as_str(), m.args.len()) {
            ("scope", 2) if is_static_name(&m.receiver) => &m.args[1],
            ("run_until_cancelled" | "run_until_cancelled_owned", 1)
                if !self.input.table.owner_kept(&name) =>
            {
                &m.args[0]
            }
            _ => return false,
        };
        self.visit_expr(&m.receiver);
        if name == "scope" {
            self.visit_expr(&m.args[0]);
        }
        self.drop_await(await_r);
        match arg {
            syn::Expr::Async(b) => {
                let start = self.input.rs(b.async_token.span).start;
                let block = self.input.r(&b.block).start;
                let head = if b.capture.is_some() {
                    "move || "
                } else {
                    "|| "
                };
                self.out.edits.replace(start..block, head);
                self.within(Region::Direct, |s| s.visit_block(&b.block));
            }
            _ => {
                let r = self.input.r(arg);
                self.out.edits.insert(r.start, "|| ");
                self.direct_value(arg, None);
            }
        }
        self.out.count(if name == "scope" {
            "task-local scope"
        } else {
            "run_until_cancelled"
        });
        true
    }
}

/// `KEY` or `path::KEY`: a `static`'s name (a task-local key is one).
fn is_static_name(e: &syn::Expr) -> bool {
    let syn::Expr::Path(p) = e else { return false };
    p.path.segments.last().is_some_and(|s| {
        let n = s.ident.to_string();
        n.len() > 1
            && n.chars().any(|c| c.is_ascii_uppercase())
            && n.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    })
}
