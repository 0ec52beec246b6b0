//! Awaited method calls (`x.m(..).await`): one registry of rules,
//! [`AWAITED_METHOD_RULES`], tried in order.

use std::ops::Range;

use syn::visit::Visit;

use super::calls::TypedIo;
use super::{Held, Rw};
use crate::mapping::methods;

/// An awaited method call, as a method rule sees it.
pub(super) struct AwaitedMethod<'e> {
    /// The awaited expression (the call, or a parenthesised call).
    fut: &'e syn::Expr,
    m: &'e syn::ExprMethodCall,
    /// The method's name.
    name: String,
    /// What the receiver holds, when it is a local the visit knows.
    recv_local: Option<Held>,
    /// The `.await` (`None`: awaited implicitly).
    await_r: Option<Range<usize>>,
    /// tokio's I/O helpers apply: the file names tokio and the crate
    /// converts no method of this name of its own.
    tokio_io: bool,
}

impl<'e> AwaitedMethod<'e> {
    pub(super) fn new(
        rw: &Rw<'_>,
        fut: &'e syn::Expr,
        m: &'e syn::ExprMethodCall,
        await_r: Option<Range<usize>>,
    ) -> AwaitedMethod<'e> {
        let name = m.method.to_string();
        let recv_local = match &*m.receiver {
            syn::Expr::Path(p) => p
                .path
                .get_ident()
                .and_then(|id| rw.scope.locals.get(&id.to_string()).copied()),
            _ => None,
        };
        let tokio_io = rw.input.uses_tokio && !rw.input.an.is_direct(&name);
        AwaitedMethod {
            fut,
            m,
            name,
            recv_local,
            await_r,
            tokio_io,
        }
    }
}

/// A method rule: tries to rewrite one awaited method call; `None` leaves
/// it to the next rule.
type MethodRewrite = fn(&mut Rw<'_>, &AwaitedMethod<'_>) -> Option<()>;

/// Which method names a rule is tried on.
enum MethodNames {
    /// These names.
    Exact(&'static [&'static str]),
    /// A family of names (with the number of arguments) a predicate tells.
    Family(fn(&str, usize) -> bool),
    /// Every name.
    Any,
}

/// One entry of the registry of awaited method calls.
struct MethodRule {
    names: MethodNames,
    rewrite: MethodRewrite,
}

impl MethodRule {
    fn tried_on(&self, a: &AwaitedMethod<'_>) -> bool {
        match self.names {
            MethodNames::Exact(names) => names.contains(&a.name.as_str()),
            MethodNames::Family(f) => f(&a.name, a.m.args.len()),
            MethodNames::Any => true,
        }
    }
}

/// The awaited-method rules, in the order they are tried; the first that
/// takes the call rewrites it.
///
/// Order matters in two places. The gate, `bridge_unless_direct`, splits
/// the list: the rules above it rewrite methods that are not direct after
/// the run (a stream collected, a combinator, tokio's typed I/O), so they
/// must see the call before it is bridged; the rules below it only say
/// how the `.await` of a direct method goes. Below the gate, `shutdown`'s
/// rules go from the most to the least specific receiver: a `TaskSet`
/// local, a write half local, the crate's own converted `shutdown`, then
/// a tokio stream's. Elsewhere the rules take disjoint names, and are
/// grouped by where the method comes from.
const AWAITED_METHOD_RULES: &[MethodRule] = &[
    // futures: streams and combinators.
    MethodRule {
        names: MethodNames::Exact(&["collect"]),
        rewrite: buffer_unordered_collect,
    },
    MethodRule {
        names: MethodNames::Exact(&["next"]),
        rewrite: unordered_next,
    },
    MethodRule {
        names: MethodNames::Family(is_combinator),
        rewrite: combinator_chain,
    },
    // tokio::sync
    MethodRule {
        names: MethodNames::Exact(&["get_or_init", "get_or_try_init"]),
        rewrite: once_cell_initializer,
    },
    // tokio::io
    MethodRule {
        names: MethodNames::Family(is_io_helper),
        rewrite: crate_io_name_noted,
    },
    MethodRule {
        names: MethodNames::Family(is_typed_io),
        rewrite: typed_io,
    },
    MethodRule {
        names: MethodNames::Exact(&["read_buf"]),
        rewrite: read_buf,
    },
    // tokio::task (LocalSet, task-local scopes), tokio_util's token
    MethodRule {
        names: MethodNames::Exact(&["run_until"]),
        rewrite: local_set_run_until,
    },
    MethodRule {
        names: MethodNames::Exact(&["scope", "run_until_cancelled", "run_until_cancelled_owned"]),
        rewrite: scoped_future_arg,
    },
    // The gate.
    MethodRule {
        names: MethodNames::Any,
        rewrite: bridge_unless_direct,
    },
    // tokio::io, direct methods
    MethodRule {
        names: MethodNames::Exact(&["next_line", "next_entry"]),
        rewrite: lines_next,
    },
    MethodRule {
        names: MethodNames::Exact(&["shutdown"]),
        rewrite: task_set_shutdown,
    },
    MethodRule {
        names: MethodNames::Exact(&["shutdown"]),
        rewrite: write_half_shutdown,
    },
    MethodRule {
        names: MethodNames::Exact(&["shutdown"]),
        rewrite: crate_shutdown,
    },
    MethodRule {
        names: MethodNames::Exact(&["shutdown"]),
        rewrite: io_shutdown,
    },
    // Any other direct method.
    MethodRule {
        names: MethodNames::Any,
        rewrite: await_dropped,
    },
];

impl Rw<'_> {
    /// `x.m(..).await` (or awaited implicitly): the first rule of
    /// [`AWAITED_METHOD_RULES`] that takes it rewrites it.
    pub(super) fn awaited_method(
        &mut self,
        fut: &syn::Expr,
        m: &syn::ExprMethodCall,
        await_r: Option<Range<usize>>,
    ) {
        let a = AwaitedMethod::new(self, fut, m, await_r);
        for rule in AWAITED_METHOD_RULES {
            if rule.tried_on(&a) && (rule.rewrite)(self, &a).is_some() {
                return;
            }
        }
    }
}

fn is_combinator(name: &str, _: usize) -> bool {
    methods::combinator(name).is_some()
}

fn is_typed_io(name: &str, args: usize) -> bool {
    TypedIo::parse(name, args).is_some()
}

fn is_io_helper(name: &str, args: usize) -> bool {
    name == "read_buf" || is_typed_io(name, args)
}

/// `stream::iter(..).map(..).buffer_unordered(n).collect().await`.
fn buffer_unordered_collect(rw: &mut Rw<'_>, a: &AwaitedMethod<'_>) -> Option<()> {
    rw.buffer_unordered(a.fut, a.m, a.await_r.clone())
}

/// `unordered.next().await` on a `FuturesUnordered` local (a
/// `TaskSet`): `join_next`, a task's panic re-raised.
fn unordered_next(rw: &mut Rw<'_>, a: &AwaitedMethod<'_>) -> Option<()> {
    if a.recv_local != Some(Held::Unordered) || !a.m.args.is_empty() {
        return None;
    }
    let r = rw.input.rs(a.m.method.span());
    rw.out.edits.replace(r, "join_next");
    rw.replace_await(
        a.await_r.clone(),
        a.fut,
        ".map(|r| r.expect(\"a task of the set panicked\"))",
    );
    rw.out.count("FuturesUnordered next");
    Some(())
}

/// A future combinator (`map`, `and_then`, ..), unless the crate converts
/// a method of that name: sequential code, or `weft::chain!`.
fn combinator_chain(rw: &mut Rw<'_>, a: &AwaitedMethod<'_>) -> Option<()> {
    if rw.input.an.is_direct(&a.name) {
        return None;
    }
    if rw.direct_chain(a.fut, a.m, a.await_r.clone()).is_none() {
        rw.chain(a.fut, a.m, a.await_r.clone());
    }
    Some(())
}

/// tokio's `OnceCell::get_or_init(|| async { .. })`: a direct initializer.
fn once_cell_initializer(rw: &mut Rw<'_>, a: &AwaitedMethod<'_>) -> Option<()> {
    if a.m.args.len() != 1 || !rw.input.uses_tokio || !rw.initializer_arg(&a.m.args[0]) {
        return None;
    }
    rw.drop_await(a.await_r.clone());
    rw.out.count("OnceCell initializer");
    rw.visit_expr(&a.m.receiver);
    Some(())
}

/// A name of tokio's I/O helpers that the crate converts a method of its
/// own by: taken as the crate's, with a note (never takes the call).
fn crate_io_name_noted(rw: &mut Rw<'_>, a: &AwaitedMethod<'_>) -> Option<()> {
    let on_self = matches!(&*a.m.receiver, syn::Expr::Path(p) if p.path.is_ident("self"));
    if rw.input.uses_tokio && !a.tokio_io && !on_self {
        let name = &a.name;
        rw.out.note(
            a.m.method.span(),
            format!(
                "`.{name}()` taken as this crate's async `{name}` (converted); if it is \
                 tokio's I/O helper, it needs read_exact/write_all by hand"
            ),
        );
    }
    None
}

/// tokio's typed reads and writes (`read_u32`, `write_i64_le`, ..).
fn typed_io(rw: &mut Rw<'_>, a: &AwaitedMethod<'_>) -> Option<()> {
    (a.tokio_io && rw.typed_io(a.fut, a.m, a.await_r.clone())).then_some(())
}

/// tokio's `read_buf(&mut vec)`: a read into a chunk appended to the
/// buffer.
fn read_buf(rw: &mut Rw<'_>, a: &AwaitedMethod<'_>) -> Option<()> {
    if !a.tokio_io || a.m.args.len() != 1 {
        return None;
    }
    rw.read_buf(a.fut, a.m, a.await_r.clone());
    Some(())
}

/// `local_set.run_until(fut).await`: `fut`'s direct value.
fn local_set_run_until(rw: &mut Rw<'_>, a: &AwaitedMethod<'_>) -> Option<()> {
    rw.run_until(a.fut, a.m, a.await_r.clone()).then_some(())
}

/// `KEY.scope(v, fut)`, `token.run_until_cancelled(fut)`: the future
/// argument becomes a closure.
fn scoped_future_arg(rw: &mut Rw<'_>, a: &AwaitedMethod<'_>) -> Option<()> {
    (rw.input.uses_tokio && rw.scoped_future_arg(a.m, a.await_r.clone())).then_some(())
}

/// The gate: a method that is not direct after the run (not converted by
/// it, not in the user's table, not a mapped tokio method) is bridged.
fn bridge_unless_direct(rw: &mut Rw<'_>, a: &AwaitedMethod<'_>) -> Option<()> {
    let name = &a.name;
    let direct = rw.input.an.is_direct(name)
        || rw.input.table.direct_names.contains(name)
        || (rw.input.uses_tokio && rw.input.table.direct_method(name));
    if direct {
        return None;
    }
    rw.bridge(
        a.fut,
        a.await_r.clone(),
        &format!("method `{name}` is not converted by this run and has no mapping"),
    );
    Some(())
}

/// After a direct method's `.await` is rewritten: its receiver and
/// arguments are visited.
fn direct_method_done(rw: &mut Rw<'_>, a: &AwaitedMethod<'_>) -> Option<()> {
    syn::visit::visit_expr_method_call(rw, a.m);
    Some(())
}

/// `lines.next_line().await` (and `read_dir`'s `next_entry`): std's
/// iterator `next`, transposed.
fn lines_next(rw: &mut Rw<'_>, a: &AwaitedMethod<'_>) -> Option<()> {
    if !a.m.args.is_empty() {
        return None;
    }
    let r = rw.input.rs(a.m.method.span());
    rw.out.edits.replace(r, "next");
    rw.replace_await(a.await_r.clone(), a.fut, ".transpose()");
    rw.out.count("lines next_line");
    direct_method_done(rw, a)
}

/// JoinSet::shutdown: TaskSet::shutdown (aborts and waits).
fn task_set_shutdown(rw: &mut Rw<'_>, a: &AwaitedMethod<'_>) -> Option<()> {
    if !a.m.args.is_empty() || a.recv_local != Some(Held::TaskSet) {
        return None;
    }
    rw.drop_await(a.await_r.clone());
    rw.out.count("await dropped");
    direct_method_done(rw, a)
}

/// weft's OwnedWriteHalf::shutdown takes the direction, like its
/// streams'; tokio's on a write half is the write side.
fn write_half_shutdown(rw: &mut Rw<'_>, a: &AwaitedMethod<'_>) -> Option<()> {
    if !a.m.args.is_empty() || a.recv_local != Some(Held::WriteHalf) {
        return None;
    }
    let r = rw.input.rs(a.m.paren_token.span.open()).end;
    rw.out.edits.insert(r, "std::net::Shutdown::Write");
    rw.drop_await(a.await_r.clone());
    rw.out.count("write half shutdown");
    direct_method_done(rw, a)
}

/// A `shutdown` of this crate's, converted by the run: taken as that one
/// (receiver types are unknown here), with a note.
fn crate_shutdown(rw: &mut Rw<'_>, a: &AwaitedMethod<'_>) -> Option<()> {
    if !a.m.args.is_empty() || !rw.input.an.is_direct("shutdown") {
        return None;
    }
    rw.drop_await(a.await_r.clone());
    rw.out.count("await dropped");
    rw.out.note(
        a.m.method.span(),
        "`.shutdown()` taken as this crate's async `shutdown` (converted); a tokio \
         stream's would need `std::net::Shutdown::Write` as its argument",
    );
    direct_method_done(rw, a)
}

/// A tokio stream's `shutdown()`: weft's takes the direction.
fn io_shutdown(rw: &mut Rw<'_>, a: &AwaitedMethod<'_>) -> Option<()> {
    if !a.m.args.is_empty() || !rw.input.uses_tokio {
        return None;
    }
    let r = rw.input.rs(a.m.paren_token.span.open()).end;
    rw.out.edits.insert(r, "std::net::Shutdown::Write");
    rw.drop_await(a.await_r.clone());
    rw.out.count("io shutdown");
    direct_method_done(rw, a)
}

/// Any other direct method: the `.await` goes.
fn await_dropped(rw: &mut Rw<'_>, a: &AwaitedMethod<'_>) -> Option<()> {
    rw.drop_await(a.await_r.clone());
    rw.out.count("await dropped");
    direct_method_done(rw, a)
}
