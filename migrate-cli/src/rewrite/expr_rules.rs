//! Expressions in code the visit may rewrite (not code that stays
//! async): one registry of rules, [`EXPR_RULES`], tried in order on the
//! expressions of their shape.

use syn::visit::Visit;

use super::{is_bridge_call, Region, Rw};

/// The kinds of expression a rule is tried on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    Call,
    MethodCall,
    Try,
    Await,
    Yield,
    Async,
    Closure,
    Other,
}

impl Shape {
    fn of(e: &syn::Expr) -> Shape {
        match e {
            syn::Expr::Call(_) => Shape::Call,
            syn::Expr::MethodCall(_) => Shape::MethodCall,
            syn::Expr::Try(_) => Shape::Try,
            syn::Expr::Await(_) => Shape::Await,
            syn::Expr::Yield(_) => Shape::Yield,
            syn::Expr::Async(_) => Shape::Async,
            syn::Expr::Closure(_) => Shape::Closure,
            _ => Shape::Other,
        }
    }
}

/// An expression rule: tries to rewrite one expression (and what it
/// contains); `None` leaves it to the next rule.
type ExprRewrite = fn(&mut Rw<'_>, &syn::Expr) -> Option<()>;

/// One entry of the registry of expressions.
struct ExprRule {
    shapes: &'static [Shape],
    rewrite: ExprRewrite,
}

/// The expression rules, by shape; an expression no rule takes is visited
/// as it is (its parts are).
///
/// Rules of one shape are tried in this order, which matters for calls (a
/// `weft_compat::await_future(..)` an earlier run left is never rewritten
/// again; a call of the spawn family is rewritten before it is taken for
/// an unawaited call of the crate's async functions) and for method calls
/// (a `spawn_blocking(..).await.unwrap()` is whole before its `unwrap` is
/// looked at; a runtime whose `let` is gone before one kept as a value).
const EXPR_RULES: &[ExprRule] = &[
    // Calls: weft_compat, the spawn family and channels (tokio::task,
    // tokio::sync), the crate's own async functions.
    ExprRule {
        shapes: &[Shape::Call],
        rewrite: bridged_before,
    },
    ExprRule {
        shapes: &[Shape::Try, Shape::MethodCall],
        rewrite: spawn_blocking_unwrapped,
    },
    ExprRule {
        shapes: &[Shape::Call],
        rewrite: maker_call,
    },
    ExprRule {
        shapes: &[Shape::Call],
        rewrite: unawaited_async_call,
    },
    // `.await`
    ExprRule {
        shapes: &[Shape::Await],
        rewrite: awaited,
    },
    // Method calls: tokio::task's sets, tokio::runtime, tokio::time.
    ExprRule {
        shapes: &[Shape::MethodCall],
        rewrite: set_method,
    },
    ExprRule {
        shapes: &[Shape::MethodCall],
        rewrite: block_on,
    },
    ExprRule {
        shapes: &[Shape::MethodCall],
        rewrite: kept_block_on,
    },
    ExprRule {
        shapes: &[Shape::MethodCall],
        rewrite: kept_runtime_build,
    },
    ExprRule {
        shapes: &[Shape::MethodCall],
        rewrite: deadline_method,
    },
    // async_stream
    ExprRule {
        shapes: &[Shape::Yield],
        rewrite: stream_yield,
    },
    // Async code left async.
    ExprRule {
        shapes: &[Shape::Async],
        rewrite: async_block_kept,
    },
    ExprRule {
        shapes: &[Shape::Closure],
        rewrite: async_closure_kept,
    },
];

impl Rw<'_> {
    /// The first rule of [`EXPR_RULES`] for `e`'s shape that takes it
    /// rewrites it; else its parts are visited.
    pub(super) fn rewrite_expr(&mut self, e: &syn::Expr) {
        let shape = Shape::of(e);
        if shape != Shape::Other {
            for rule in EXPR_RULES {
                if rule.shapes.contains(&shape) && (rule.rewrite)(self, e).is_some() {
                    return;
                }
            }
        }
        syn::visit::visit_expr(self, e);
    }

    /// Whether the converted body's rules apply here (paths rewritten).
    fn direct_here(&self) -> bool {
        self.scope.region == Region::Direct && self.scope.paths_on
    }
}

/// What an earlier run bridged stays as it is: its argument is still
/// async code.
fn bridged_before(rw: &mut Rw<'_>, e: &syn::Expr) -> Option<()> {
    let syn::Expr::Call(c) = e else { return None };
    if !is_bridge_call(c) {
        return None;
    }
    rw.within(Region::Async, |s| {
        for a in &c.args {
            s.visit_expr(a);
        }
    });
    Some(())
}

/// `spawn_blocking(f).await?` / `.unwrap()` / `.expect(..)`:
/// `weft::blocking(f)`.
fn spawn_blocking_unwrapped(rw: &mut Rw<'_>, e: &syn::Expr) -> Option<()> {
    (rw.direct_here() && rw.blocking_unwrapped(e)).then_some(())
}

/// A call that makes something the rewrite knows (the spawn family,
/// `oneshot::channel`, ..), not awaited.
fn maker_call(rw: &mut Rw<'_>, e: &syn::Expr) -> Option<()> {
    if !rw.scope.paths_on || rw.call_kind(e).is_none() {
        return None;
    }
    rw.plain_call(e);
    Some(())
}

/// A call of an async function of the crate, not awaited where it is
/// made.
fn unawaited_async_call(rw: &mut Rw<'_>, e: &syn::Expr) -> Option<()> {
    let syn::Expr::Call(c) = e else { return None };
    if !rw.scope.paths_on || !rw.unawaited_async_call(c) {
        return None;
    }
    for a in &c.args {
        rw.visit_expr(a);
    }
    Some(())
}

/// `fut.await` in a converted body: `fut`'s direct value.
fn awaited(rw: &mut Rw<'_>, e: &syn::Expr) -> Option<()> {
    let syn::Expr::Await(a) = e else { return None };
    if rw.scope.region != Region::Direct {
        return None;
    }
    let r = rw.input.rs(a.dot_token.span).start..rw.input.rs(a.await_token.span).end;
    rw.direct_value(&a.base, Some(r));
    Some(())
}

/// A method of a `JoinSet` or a `FuturesUnordered`.
fn set_method(rw: &mut Rw<'_>, e: &syn::Expr) -> Option<()> {
    let syn::Expr::MethodCall(m) = e else {
        return None;
    };
    (rw.scope.paths_on && rw.set_method(m)).then_some(())
}

/// `rt.block_on(fut)` of a runtime built for it: `weft::run`.
fn block_on(rw: &mut Rw<'_>, e: &syn::Expr) -> Option<()> {
    let syn::Expr::MethodCall(m) = e else {
        return None;
    };
    (rw.scope.paths_on && rw.block_on(m)).then_some(())
}

/// `rt.block_on(fut)` of a runtime kept as a value: `weft::Runtime`.
fn kept_block_on(rw: &mut Rw<'_>, e: &syn::Expr) -> Option<()> {
    let syn::Expr::MethodCall(m) = e else {
        return None;
    };
    (rw.scope.paths_on && rw.kept_block_on(m)).then_some(())
}

/// The builder of a runtime kept as a value: `weft::Runtime::new()`.
fn kept_runtime_build(rw: &mut Rw<'_>, e: &syn::Expr) -> Option<()> {
    let syn::Expr::MethodCall(m) = e else {
        return None;
    };
    (rw.scope.paths_on && rw.kept_runtime_build(m)).then_some(())
}

/// A pinned `Sleep` used as a deadline (`d.as_mut().reset(..)`).
fn deadline_method(rw: &mut Rw<'_>, e: &syn::Expr) -> Option<()> {
    let syn::Expr::MethodCall(m) = e else {
        return None;
    };
    (rw.direct_here() && rw.deadline_method(m)).then_some(())
}

/// `yield` in an `async_stream` body: a send.
fn stream_yield(rw: &mut Rw<'_>, e: &syn::Expr) -> Option<()> {
    let syn::Expr::Yield(y) = e else { return None };
    rw.stream_yield(y).then_some(())
}

/// An async block no rule took stays async (noted in a converted body).
fn async_block_kept(rw: &mut Rw<'_>, e: &syn::Expr) -> Option<()> {
    let syn::Expr::Async(b) = e else { return None };
    if rw.scope.region == Region::Direct {
        rw.out.note(
            b.async_token.span,
            "async block kept (not handed to spawn/join/select); it is awaited \
             through the bridge where it is awaited",
        );
    }
    rw.within(Region::Async, |s| syn::visit::visit_expr_async(s, b));
    Some(())
}

/// An async closure stays async.
fn async_closure_kept(rw: &mut Rw<'_>, e: &syn::Expr) -> Option<()> {
    let syn::Expr::Closure(c) = e else {
        return None;
    };
    c.asyncness?;
    rw.within(Region::Async, |s| syn::visit::visit_expr_closure(s, c));
    Some(())
}
