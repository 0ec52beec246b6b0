//! Awaited expressions and the spawn family: what `.await` becomes.

use std::ops::Range;

use syn::spanned::Spanned;
use syn::visit::Visit;

use super::kind::Maker;
use super::{Held, Region, Rw};
use crate::mapping::methods::{self, Combinator};
use crate::mapping::Kind;

/// An awaited call of a function named by a path, as a call rule sees it.
struct AwaitedCall<'e> {
    /// The awaited expression (the call, or a parenthesised call).
    fut: &'e syn::Expr,
    call: &'e syn::ExprCall,
    /// The called path.
    func: &'e syn::ExprPath,
    /// The path resolved through the file's imports.
    full: &'e [String],
    /// The `.await` (`None`: awaited implicitly).
    await_r: Option<Range<usize>>,
}

/// A call rule: rewrites one awaited call of the functions it names;
/// `None` leaves it to the next rule that takes the call (none declines
/// today).
type CallRewrite = fn(&mut Rw<'_>, &AwaitedCall<'_>) -> Option<()>;

/// Which resolved paths a call rule takes.
enum CallPaths {
    /// These paths exactly.
    Exact(&'static [&'static [&'static str]]),
    /// A path of crate `.0` (any module in it) whose last segment is one of `.1`.
    Last(&'static str, &'static [&'static str]),
}

/// One entry of the registry of awaited calls.
struct CallRule {
    paths: CallPaths,
    /// The number of arguments the rule takes: exactly `n`, or (`at_least`)
    /// `n` or more; `None`: any.
    args: Option<(usize, bool)>,
    rewrite: CallRewrite,
}

impl CallRule {
    fn takes(&self, full: &[String], c: &syn::ExprCall) -> bool {
        let path_ok = match self.paths {
            CallPaths::Exact(paths) => paths
                .iter()
                .any(|p| p.len() == full.len() && p.iter().zip(full).all(|(a, b)| a == b)),
            CallPaths::Last(krate, names) => {
                full.len() >= 2
                    && full[0] == krate
                    && names.contains(&full[full.len() - 1].as_str())
            }
        };
        let args_ok = match self.args {
            None => true,
            Some((n, false)) => c.args.len() == n,
            Some((n, true)) => c.args.len() >= n,
        };
        path_ok && args_ok
    }
}

/// The awaited-call rules, by tokio module (then futures). An awaited call
/// no rule takes is a mapped tokio async function (its path rewritten, the
/// `.await` dropped), a function the run makes direct, or bridged.
const AWAITED_CALL_RULES: &[CallRule] = &[
    // tokio::task
    CallRule {
        paths: CallPaths::Exact(&[
            &["tokio", "spawn"],
            &["tokio", "task", "spawn"],
            &["tokio", "task", "spawn_local"],
        ]),
        args: None,
        rewrite: spawn_awaited,
    },
    CallRule {
        paths: CallPaths::Exact(&[&["tokio", "task", "spawn_blocking"]]),
        args: Some((1, false)),
        rewrite: spawn_blocking_awaited,
    },
    // tokio::io
    CallRule {
        paths: CallPaths::Exact(&[&["tokio", "io", "copy_bidirectional"]]),
        args: Some((2, false)),
        rewrite: copy_bidirectional_awaited,
    },
    // tokio::time
    CallRule {
        paths: CallPaths::Exact(&[&["tokio", "time", "advance"]]),
        args: Some((1, false)),
        rewrite: advance_awaited,
    },
    CallRule {
        paths: CallPaths::Exact(&[
            &["tokio", "time", "timeout"],
            &["tokio", "time", "timeout_at"],
        ]),
        args: Some((2, false)),
        rewrite: timeout_awaited,
    },
    // futures
    CallRule {
        paths: CallPaths::Last("futures", &["join", "try_join", "join3", "try_join3"]),
        args: Some((2, true)),
        rewrite: join_fn_awaited,
    },
    CallRule {
        paths: CallPaths::Last("futures", &["join_all", "try_join_all"]),
        args: Some((1, false)),
        rewrite: join_all_awaited,
    },
];

/// `tokio::spawn(f).await`: the handle joined.
fn spawn_awaited(rw: &mut Rw<'_>, a: &AwaitedCall<'_>) -> Option<()> {
    rw.plain_call(a.fut);
    rw.replace_await(a.await_r.clone(), a.fut, ".join()");
    Some(())
}

/// `spawn_blocking(f).await`: `weft::blocking(f)`, whose value is the
/// closure's (tokio's join result is made `Ok`).
fn spawn_blocking_awaited(rw: &mut Rw<'_>, a: &AwaitedCall<'_>) -> Option<()> {
    let r = rw.input.r(a.call);
    rw.rewrite_path(&a.func.path, a.full);
    rw.out.edits.insert(r.start, "Ok::<_, weft::JoinError>(");
    rw.replace_await(a.await_r.clone(), a.fut, ")");
    rw.out.count("spawn_blocking");
    rw.visit_expr(&a.call.args[0]);
    Some(())
}

fn copy_bidirectional_awaited(rw: &mut Rw<'_>, a: &AwaitedCall<'_>) -> Option<()> {
    rw.copy_bidirectional(a.fut, a.call, a.await_r.clone());
    Some(())
}

/// `tokio::time::advance(d).await`: weft's mock clock moves on by itself
/// once every fiber waits: advancing it is sleeping.
fn advance_awaited(rw: &mut Rw<'_>, a: &AwaitedCall<'_>) -> Option<()> {
    let r = rw.input.r(a.func);
    rw.out.edits.replace(r, "weft::time::sleep");
    rw.drop_await(a.await_r.clone());
    rw.visit_expr(&a.call.args[0]);
    rw.out.note(
        a.func.span(),
        "tokio::time::advance(d) is weft::time::sleep(d) under weft's mock clock \
         (#[weft::test(mock_clock)]), which advances by itself when every fiber waits",
    );
    rw.out.count("time advance");
    Some(())
}

/// `timeout(d, fut).await`: weft's timeout runs a closure.
fn timeout_awaited(rw: &mut Rw<'_>, a: &AwaitedCall<'_>) -> Option<()> {
    // Through `rewrite_path`: a name imported from tokio keeps naming the
    // (rewritten) import.
    rw.rewrite_path(&a.func.path, a.full);
    rw.drop_await(a.await_r.clone());
    rw.visit_expr(&a.call.args[0]);
    let r = rw.input.r(&a.call.args[1]);
    rw.out.edits.insert(r.start, "|| ");
    rw.direct_value(&a.call.args[1], None);
    rw.out.count("timeout");
    Some(())
}

/// `futures::join(a, b).await` (and `try_join`, `join3`, ...), like `join!`.
fn join_fn_awaited(rw: &mut Rw<'_>, a: &AwaitedCall<'_>) -> Option<()> {
    let is_try = a.full.last().is_some_and(|s| s.starts_with("try_"));
    let args: Vec<&syn::Expr> = a.call.args.iter().collect();
    if let Some(text) = rw.join_text(&args, is_try) {
        let r = rw.input.r(a.fut);
        let end = a.await_r.clone().map_or(r.end, |a| a.end);
        rw.out.edits.replace(r.start..end, text);
        rw.out.count(if is_try { "try_join" } else { "join" });
    }
    Some(())
}

fn join_all_awaited(rw: &mut Rw<'_>, a: &AwaitedCall<'_>) -> Option<()> {
    let is_try = a.full.last().map(String::as_str) == Some("try_join_all");
    rw.join_all(a.fut, a.call, a.func, a.await_r.clone(), is_try);
    Some(())
}

impl Rw<'_> {
    /// `fut` is awaited (explicitly: `await_r` is the `.await`; or
    /// implicitly: a branch of `join!`/`select!`, the body of a closure
    /// handed to spawn): make it the direct value.
    pub(super) fn direct_value(&mut self, fut: &syn::Expr, await_r: Option<Range<usize>>) {
        if self.scope.paths_on {
            self.mark_future_args(fut);
        }
        if self.deadline_await(fut, await_r.clone()) {
            return;
        }
        match fut {
            syn::Expr::Paren(p) => self.direct_value(&p.expr, await_r),
            syn::Expr::Async(b) => {
                let start = self.input.rs(b.async_token.span).start;
                let block = self.input.r(&b.block).start;
                self.out.edits.delete(start..block);
                self.drop_await(await_r);
                self.out.count("async block awaited");
                self.within(Region::Direct, |s| s.visit_block(&b.block));
            }
            syn::Expr::Reference(r) if r.mutability.is_some() && self.is_oneshot_rx(&r.expr) => {
                // Awaiting `&mut rx` keeps the receiver: `recv_ref`.
                self.wait_by_ref(fut, &r.expr, await_r, "recv_ref", "oneshot await");
            }
            syn::Expr::Field(f) if self.is_oneshot_rx(fut) => {
                self.visit_expr(&f.base);
                self.replace_await(await_r, fut, ".recv()");
                self.out.count("oneshot await");
            }
            syn::Expr::Field(f) if self.field_kind(f) == Some(Held::JoinHandle) => {
                // `self.task.await`: a JoinHandle held in a struct field.
                self.visit_expr(&f.base);
                self.replace_await(await_r, fut, ".join()");
                self.out.count("JoinHandle await");
            }
            syn::Expr::Reference(r) if r.mutability.is_some() && self.is_join_handle(&r.expr) => {
                // Awaiting `&mut handle` keeps the handle (to abort it after
                // losing a select!): `join_ref`.
                self.wait_by_ref(fut, &r.expr, await_r, "join_ref", "JoinHandle await");
            }
            syn::Expr::Call(c) => self.awaited_call(fut, c, await_r),
            syn::Expr::MethodCall(m) => self.awaited_method(fut, m, await_r),
            syn::Expr::Path(p) => {
                let local = p
                    .path
                    .get_ident()
                    .and_then(|id| self.scope.locals.get(&id.to_string()).copied());
                match local {
                    Some(Held::JoinHandle) => {
                        self.replace_await(await_r, fut, ".join()");
                        self.out.count("JoinHandle await");
                    }
                    Some(Held::Ready) => {
                        self.drop_await(await_r);
                        self.out.count("await dropped");
                        self.out.note(
                            fut.span(),
                            "the direct call bound to this variable now runs at its `let`, \
                             not here",
                        );
                    }
                    Some(Held::OneshotRx) => {
                        self.replace_await(await_r, fut, ".recv()");
                        self.out.count("oneshot await");
                    }
                    Some(Held::FutureFn) => {
                        self.replace_await(await_r, fut, "()");
                        self.out.count("future parameter called");
                    }
                    _ => self.bridge(fut, await_r, "a future held in a variable"),
                }
            }
            _ => self.bridge(fut, await_r, "an expression with no direct counterpart"),
        }
    }

    /// What a named field of the run's structs holds (`None`: unknown).
    pub(super) fn field_kind(&self, f: &syn::ExprField) -> Option<Held> {
        let syn::Member::Named(id) = &f.member else {
            return None;
        };
        let name = id.to_string();
        // `self.x` in an impl of `S`: S's field.
        let on_self = matches!(&*f.base, syn::Expr::Path(p) if p.path.is_ident("self"));
        match (&self.scope.impl_self, on_self) {
            (Some(ty), true) => self.input.an.struct_field_kind(ty, &name),
            _ => self.input.an.field_kind(&name),
        }
    }

    /// Whether `e` names a join handle: a local or a field known to be one.
    pub(super) fn is_join_handle(&self, e: &syn::Expr) -> bool {
        match e {
            syn::Expr::Paren(p) => self.is_join_handle(&p.expr),
            syn::Expr::Path(p) => p.path.get_ident().is_some_and(|id| {
                self.scope.locals.get(&id.to_string()) == Some(&Held::JoinHandle)
            }),
            syn::Expr::Field(f) => self.field_kind(f) == Some(Held::JoinHandle),
            _ => false,
        }
    }

    /// Whether `e` names a oneshot receiver: a local known to be one, or a
    /// struct field of that type.
    pub(super) fn is_oneshot_rx(&self, e: &syn::Expr) -> bool {
        if !self.oneshot_mapped() {
            return false;
        }
        match e {
            syn::Expr::Paren(p) => self.is_oneshot_rx(&p.expr),
            syn::Expr::Path(p) => p
                .path
                .get_ident()
                .is_some_and(|id| self.scope.locals.get(&id.to_string()) == Some(&Held::OneshotRx)),
            syn::Expr::Field(f) => self.field_kind(f) == Some(Held::OneshotRx),
            _ => false,
        }
    }

    /// `(&mut x).await` on a receiver or handle that must stay usable
    /// becomes `x.method()`, weft's wait through a borrow.
    fn wait_by_ref(
        &mut self,
        fut: &syn::Expr,
        inner: &syn::Expr,
        await_r: Option<Range<usize>>,
        method: &str,
        counted_as: &'static str,
    ) {
        let inner_r = self.input.r(inner);
        self.visit_expr(inner);
        let Ok(inner) = self.out.edits.take_rendered(self.input.src, inner_r) else {
            return;
        };
        let fr = self.input.r(fut);
        let end = await_r.map_or(fr.end, |a| a.end);
        self.out
            .edits
            .replace(fr.start..end, format!("{inner}.{method}()"));
        self.out.count(counted_as);
    }

    pub(super) fn drop_await(&mut self, await_r: Option<Range<usize>>) {
        if let Some(r) = await_r {
            // `.await` alone on its line: the line goes.
            let line_start = self.input.src[..r.start].rfind('\n');
            if let Some(nl) = line_start {
                if self.input.src[nl + 1..r.start].trim().is_empty()
                    && self.input.src[r.end..].starts_with('\n')
                    && !self.out.edits.touches(&(nl..r.start))
                {
                    self.out.edits.delete(nl..r.end);
                    return;
                }
            }
            self.out.edits.delete(r);
        }
    }

    /// Replaces `.await` (or appends, for an implicit await) with `text`.
    pub(super) fn replace_await(
        &mut self,
        await_r: Option<Range<usize>>,
        fut: &syn::Expr,
        text: &str,
    ) {
        match await_r {
            Some(r) => self.out.edits.replace(r, text),
            None => {
                let end = self.input.r(fut).end;
                self.out.edits.insert(end, text);
            }
        }
    }

    /// Leaves `fut` a future, awaited through weft-compat.
    pub(super) fn bridge(&mut self, fut: &syn::Expr, await_r: Option<Range<usize>>, why: &str) {
        let r = self.input.r(fut);
        self.out.edits.insert(r.start, "weft_compat::await_future(");
        match await_r {
            Some(a) => self.out.edits.replace(a, ")"),
            None => self.out.edits.insert(r.end, ")"),
        }
        let text: String = self.input.text(r).chars().take(60).collect();
        self.out.bridged(
            fut.span(),
            &format!("`{text}` awaited through weft_compat::await_future ({why})"),
        );
        self.within(Region::Async, |s| s.visit_expr(fut));
    }

    /// Whether a function named by `path` (resolved to `full`) is direct
    /// after the run.
    fn is_direct_fn(&self, path: &syn::Path, full: Option<&[String]>) -> bool {
        if let Some(full) = full {
            if let Some((_, kind)) = self.input.table.target(full) {
                return kind == Kind::AsyncFn || kind == Kind::Item;
            }
        }
        let name = path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default();
        let direct = if path.segments.len() == 1 {
            self.input.an.is_direct_free_fn(&name)
        } else {
            self.input.an.is_direct(&name)
        };
        direct || self.input.table.direct_names.contains(&name)
    }

    fn awaited_call(&mut self, fut: &syn::Expr, c: &syn::ExprCall, await_r: Option<Range<usize>>) {
        let syn::Expr::Path(p) = &*c.func else {
            return self.bridge(fut, await_r, "a call through an expression");
        };
        let full = self.resolve(&p.path);
        if let Some(full) = &full {
            let call = AwaitedCall {
                fut,
                call: c,
                func: p,
                full,
                await_r: await_r.clone(),
            };
            for rule in AWAITED_CALL_RULES.iter().filter(|r| r.takes(full, c)) {
                if (rule.rewrite)(self, &call).is_some() {
                    return;
                }
            }
        }
        if let Some(full) = &full {
            if let Some((_, Kind::AsyncFn)) = self.input.table.target(full) {
                self.rewrite_path(&p.path, full);
                self.drop_await(await_r);
                self.out.count("tokio call");
                for a in &c.args {
                    self.visit_expr(a);
                }
                return;
            }
        }
        if self.is_direct_fn(&p.path, full.as_deref()) {
            self.drop_await(await_r);
            self.out.count("await dropped");
            syn::visit::visit_expr_call(self, c);
            return;
        }
        let name = p
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default();
        self.bridge(
            fut,
            await_r,
            &format!("`{name}` is not converted by this run and has no mapping"),
        );
    }

    /// The initializer given to tokio's `OnceCell::get_or_init` (or
    /// `get_or_try_init`): a closure returning a future becomes one
    /// returning its value, as weft's `OnceCell` wants. An async fn named
    /// by path works as it is once the run made it direct. Whether the
    /// argument could be made direct.
    pub(super) fn initializer_arg(&mut self, arg: &syn::Expr) -> bool {
        match arg {
            syn::Expr::Closure(c) if c.asyncness.is_none() => {
                self.direct_value(&c.body, None);
                true
            }
            syn::Expr::Path(p) => {
                let full = self.resolve(&p.path);
                self.is_direct_fn(&p.path, full.as_deref())
            }
            _ => false,
        }
    }

    /// tokio's typed reads and writes (`read_u32`, `write_i64_le`, ..):
    /// std's `Read`/`Write` have none, so they become `read_exact` into a
    /// byte array and `write_all` of one. Returns whether `m` was one.
    pub(super) fn typed_io(
        &mut self,
        fut: &syn::Expr,
        m: &syn::ExprMethodCall,
        await_r: Option<Range<usize>>,
    ) -> bool {
        let name = m.method.to_string();
        let Some(op) = TypedIo::parse(&name, m.args.len()) else {
            return false;
        };
        let recv_r = self.input.r(&m.receiver);
        self.visit_expr(&m.receiver);
        let Ok(recv) = self.out.edits.take_rendered(self.input.src, recv_r) else {
            return false;
        };
        let (ty, order) = (op.ty, op.order);
        let text = if op.write {
            let arg_r = self.input.r(&m.args[0]);
            self.visit_expr(&m.args[0]);
            let Ok(arg) = self.out.edits.take_rendered(self.input.src, arg_r) else {
                return false;
            };
            format!("{recv}.write_all(&{ty}::to_{order}_bytes({arg}))")
        } else {
            format!(
                "{{ let mut __b = [0u8; std::mem::size_of::<{ty}>()]; \
                 {recv}.read_exact(&mut __b).map(|()| {ty}::from_{order}_bytes(__b)) }}"
            )
        };
        let r = self.input.r(fut);
        let end = await_r.map_or(r.end, |a| a.end);
        self.out.edits.replace(r.start..end, text);
        self.out.count(if op.write {
            "typed write"
        } else {
            "typed read"
        });
        true
    }

    /// `copy_bidirectional(&mut a, &mut b).await` of two weft sockets
    /// (TCP or Unix streams, which read and write through `&`): each
    /// direction copies in its own fiber and shuts the other side's write
    /// direction down at end of stream, as tokio's does; the first error
    /// cancels the other direction. `(a to b, b to a)` byte counts.
    fn copy_bidirectional(
        &mut self,
        fut: &syn::Expr,
        c: &syn::ExprCall,
        await_r: Option<Range<usize>>,
    ) {
        let mut args = Vec::new();
        for a in &c.args {
            let r = self.input.r(a);
            self.visit_expr(a);
            match self.out.edits.take_rendered(self.input.src, r) {
                Ok(t) => args.push(t),
                Err(_) => return,
            }
        }
        let dir = |from: &str, to: &str| {
            format!(
                "|| {{ let (mut r, mut w) = ({from}, {to}); let n = std::io::copy(&mut r, &mut w)?; \
                 w.shutdown(std::net::Shutdown::Write)?; Ok(n) }}"
            )
        };
        let text = format!(
            "{{ let (__a, __b) = (&*({}), &*({})); weft::fiber::try_both({}, {}) }}",
            args[0],
            args[1],
            dir("__a", "__b"),
            dir("__b", "__a"),
        );
        let r = self.input.r(fut);
        let end = await_r.map_or(r.end, |a| a.end);
        self.out.edits.replace(r.start..end, text);
        self.out.count("copy_bidirectional");
    }

    /// `spawn_blocking(f).await?`, `.await.unwrap()`, `.await.expect(..)`:
    /// `weft::blocking(f)` alone. weft's re-raises a panic of `f` in the
    /// caller, so there is no `JoinError` to unwrap, and none to convert
    /// with `?` (weft's JoinError is not `Sync`, so `?` into
    /// `Box<dyn Error + Send + Sync>` or anyhow would not build). Returns
    /// whether `outer` was one.
    pub(super) fn blocking_unwrapped(&mut self, outer: &syn::Expr) -> bool {
        let (inner, is_try) = match outer {
            syn::Expr::Try(t) => (&*t.expr, true),
            syn::Expr::MethodCall(m)
                if (m.method == "unwrap" && m.args.is_empty())
                    || (m.method == "expect" && m.args.len() == 1) =>
            {
                (&*m.receiver, false)
            }
            _ => return false,
        };
        let syn::Expr::Await(a) = inner else {
            return false;
        };
        let syn::Expr::Call(c) = &*a.base else {
            return false;
        };
        if self.call_kind(&a.base) != Some(Maker::SpawnBlocking) || c.args.len() != 1 {
            return false;
        }
        let syn::Expr::Path(p) = &*c.func else {
            return false;
        };
        let r = self.input.r(p);
        self.out.edits.replace(r, "weft::blocking");
        let mut start = self.input.rs(a.dot_token.span).start;
        // `.await?` alone on its line: the line break before it goes too.
        if let Some(nl) = self.input.src[..start].rfind('\n') {
            if self.input.src[nl + 1..start].trim().is_empty() {
                start = nl;
            }
        }
        self.out.edits.delete(start..self.input.r(outer).end);
        if is_try {
            self.out.note(
                a.await_token.span,
                "spawn_blocking(..).await?: a panic in the closure now propagates (weft::blocking \
                 re-raises it) instead of returning Err(JoinError)",
            );
        }
        self.out.count("spawn_blocking");
        self.visit_expr(&c.args[0]);
        true
    }

    /// `s.read_buf(&mut buf).await` (tokio: read what is there onto the
    /// end of a growable buffer, `Vec<u8>` or `BytesMut`): std's `Read` has
    /// no such method, so one `read` into a chunk, appended to `buf`.
    ///
    /// The chunk is not a fresh zeroed array per call (an 8 KiB memset per
    /// read was 15% of a migrated mini-redis's instructions): chunks come
    /// from a small per-thread pool, zeroed once when made and reused after
    /// (their old bytes are initialized memory; only the `n` bytes read are
    /// copied out). A chunk is held only while its read runs (no borrow of
    /// the pool across the read, which may suspend the fiber), and one
    /// whose read unwinds is simply freed. Safe code: std's `Read` takes an
    /// initialized `&mut [u8]`, and reading into a `BytesMut`'s
    /// uninitialized spare capacity, as tokio does, would need `unsafe`.
    pub(super) fn read_buf(
        &mut self,
        fut: &syn::Expr,
        m: &syn::ExprMethodCall,
        await_r: Option<Range<usize>>,
    ) {
        let mut parts = Vec::new();
        for e in [&*m.receiver, &m.args[0]] {
            let r = self.input.r(e);
            self.visit_expr(e);
            match self.out.edits.take_rendered(self.input.src, r) {
                Ok(t) => parts.push(t),
                Err(_) => return,
            }
        }
        let (recv, buf) = (&parts[0], &parts[1]);
        let text = format!(
            "{{ thread_local! {{ static __CHUNKS: ::std::cell::RefCell<::std::vec::Vec<::std::vec::Vec<u8>>> = \
             const {{ ::std::cell::RefCell::new(::std::vec::Vec::new()) }}; }} \
             let mut __chunk = __CHUNKS.with(|c| c.borrow_mut().pop()).unwrap_or_else(|| vec![0u8; 8192]); \
             let __read = {recv}.read(&mut __chunk).map(|n| {{ ({buf}).extend_from_slice(&__chunk[..n]); n }}); \
             __CHUNKS.with(|c| {{ let mut c = c.borrow_mut(); if c.len() < 64 {{ c.push(__chunk); }} }}); \
             __read }}"
        );
        let r = self.input.r(fut);
        let end = await_r.map_or(r.end, |a| a.end);
        self.out.edits.replace(r.start..end, text);
        self.out.count("read_buf");
    }

    /// A call of the spawn family (not necessarily awaited).
    pub(super) fn plain_call(&mut self, e: &syn::Expr) {
        let syn::Expr::Call(c) = e else { return };
        let syn::Expr::Path(p) = &*c.func else {
            return;
        };
        let kind = self.call_kind(e);
        let full = self.resolve(&p.path).unwrap_or_default();
        match kind {
            Some(Maker::Spawn) if c.args.len() == 1 => {
                let r = self.input.r(p);
                // A function that was not async spawns (it needed only a
                // tokio context): its callers may stay async on tokio, so
                // a spawn whose handle is dropped works from both worlds.
                // (`spawn_local`'s future need not be `Send`: kept.)
                let detached = self.scope.region == Region::Sync
                    && full.last().is_some_and(|l| l != "spawn_local")
                    && self.value_dropped(e);
                self.out.edits.replace(
                    r,
                    if detached {
                        "weft_compat::spawn_detached"
                    } else {
                        "weft::spawn"
                    },
                );
                let spawn = self.input.r(c);
                self.closure_arg(&c.args[0], Some(spawn));
                self.out.count("spawn");
            }
            Some(Maker::SpawnBlocking) if c.args.len() == 1 => {
                let r = self.input.r(p);
                self.out
                    .edits
                    .replace(r, "weft::spawn(move || weft::blocking");
                let end = self.input.r(c).end;
                self.out.edits.insert(end, ")");
                self.visit_expr(&c.args[0]);
                self.out.count("spawn_blocking");
            }
            _ => {
                self.rewrite_path(&p.path, &full);
                for a in &c.args {
                    self.visit_expr(a);
                }
            }
        }
    }

    /// Whether `e` is an expression statement whose value is dropped
    /// (`spawn(..);`).
    fn value_dropped(&self, e: &syn::Expr) -> bool {
        let r = self.input.r(e);
        let before = self.input.src[..r.start].trim_end();
        self.input.src[r.end..].trim_start().starts_with(';')
            && (before.ends_with('{') || before.ends_with(';') || before.ends_with('}'))
    }

    /// The argument of a spawn: an async block becomes a closure, any
    /// other future a closure that awaits it. `spawn` is the whole spawning
    /// expression when the arguments of a spawned call must still be
    /// evaluated where the spawn is (see [`Rw::hoist_call_args`]).
    fn closure_arg(&mut self, arg: &syn::Expr, spawn: Option<Range<usize>>) {
        match arg {
            syn::Expr::Async(b) => {
                let start = self.input.rs(b.async_token.span).start;
                let block = self.input.r(&b.block).start;
                self.out.edits.replace(start..block, "move || ");
                self.within(Region::Direct, |s| s.visit_block(&b.block));
            }
            // `{ let x = x.clone(); async move { .. } }`: the clones run at
            // the spawn, the block's value becomes the closure.
            syn::Expr::Block(b) if tail_async(&b.block).is_some() => {
                let n = b.block.stmts.len();
                for s in &b.block.stmts[..n - 1] {
                    self.visit_stmt(s);
                }
                if let Some(tail) = tail_async(&b.block) {
                    self.closure_arg(tail, None);
                }
            }
            _ => {
                let r = self.input.r(arg);
                self.out.edits.insert(r.start, "move || ");
                self.direct_value(arg, None);
                if let Some(spawn) = spawn {
                    self.hoist_call_args(arg, spawn);
                }
            }
        }
    }

    /// `tokio::spawn(work(a.clone(), n + 1))` evaluates the arguments of
    /// `work` at the spawn (calling an async fn evaluates them); in the
    /// closure `move || work(a.clone(), n + 1)` they would run in the task,
    /// after `a` moved into it. Arguments other than a plain name or a
    /// literal are bound first:
    /// `{ let __spawn_arg0 = a.clone(); weft::spawn(move || work(__spawn_arg0, ..)) }`.
    /// Run after the call was rewritten, so each argument moves with its
    /// own edits.
    /// A method's receiver that makes a new value (a struct literal, a
    /// call: `Reaper { pool: Arc::downgrade(&inner), .. }.run()`) is
    /// evaluated at the spawn too, so the closure captures the value and
    /// not what it was made from (a strong `inner` kept alive by the task).
    fn hoist_call_args(&mut self, fut: &syn::Expr, spawn: Range<usize>) {
        let (args, receiver) = match fut {
            syn::Expr::Call(c) => (&c.args, None),
            syn::Expr::MethodCall(m) => (&m.args, Some(&*m.receiver)),
            syn::Expr::Paren(p) => return self.hoist_call_args(&p.expr, spawn),
            _ => return,
        };
        let mut lets = String::new();
        if let Some(recv) = receiver.filter(|r| {
            matches!(
                r,
                syn::Expr::Struct(_) | syn::Expr::Call(_) | syn::Expr::MethodCall(_)
            )
        }) {
            let r = self.input.r(recv);
            let Ok(text) = self
                .out
                .edits
                .take_rendered_within(self.input.src, r.clone())
            else {
                return;
            };
            lets.push_str(&format!("let __spawn_recv = {text}; "));
            self.out.edits.replace(r, "__spawn_recv");
        }
        for (i, a) in args.iter().filter(|a| !is_plain_value(a)).enumerate() {
            let r = self.input.r(a);
            let Ok(text) = self.out.edits.take_rendered(self.input.src, r.clone()) else {
                return;
            };
            lets.push_str(&format!("let __spawn_arg{i} = {text}; "));
            self.out.edits.replace(r, format!("__spawn_arg{i}"));
        }
        if !lets.is_empty() {
            self.out.edits.insert(spawn.start, format!("{{ {lets}"));
            self.out.edits.insert(spawn.end, " }");
            self.out.count("spawn arguments evaluated at the spawn");
        }
    }

    /// `set.spawn(async ..)` on a JoinSet, `futs.push(fut)` on a
    /// FuturesUnordered. Returns whether it handled `m`.
    pub(super) fn set_method(&mut self, m: &syn::ExprMethodCall) -> bool {
        let local = match &*m.receiver {
            syn::Expr::Path(p) => p
                .path
                .get_ident()
                .and_then(|id| self.scope.locals.get(&id.to_string()).copied()),
            _ => None,
        };
        let name = m.method.to_string();
        let is_async_arg = m.args.len() == 1 && matches!(m.args[0], syn::Expr::Async(_));
        match (name.as_str(), local) {
            ("spawn", Some(Held::TaskSet)) | ("spawn", _) if is_async_arg => {}
            ("spawn", Some(Held::TaskSet)) if m.args.len() == 1 => {}
            // weft's tasks never leave their thread: a local spawn is a spawn.
            ("push", Some(Held::Unordered)) | ("spawn_local", Some(Held::TaskSet))
                if m.args.len() == 1 =>
            {
                let r = self.input.rs(m.method.span());
                self.out.edits.replace(r, "spawn");
            }
            ("spawn_blocking", Some(Held::TaskSet)) if m.args.len() == 1 => {
                let r = self.input.rs(m.method.span());
                self.out.edits.replace(r, "spawn");
                let a = self.input.r(&m.args[0]);
                self.out.edits.insert(a.start, "move || weft::blocking(");
                self.out.edits.insert(a.end, ")");
                self.visit_expr(&m.receiver);
                self.visit_expr(&m.args[0]);
                self.out.count("TaskSet spawn_blocking");
                return true;
            }
            _ => return false,
        }
        self.visit_expr(&m.receiver);
        let spawn = self.input.r(m);
        self.closure_arg(&m.args[0], Some(spawn));
        self.out.count("TaskSet spawn");
        true
    }

    /// `join_all(it.map(|x| fut))` -> `weft::fiber::all(it.map(|x| move || ..))`.
    fn join_all(
        &mut self,
        fut: &syn::Expr,
        c: &syn::ExprCall,
        p: &syn::ExprPath,
        await_r: Option<Range<usize>>,
        is_try: bool,
    ) {
        let arg = &c.args[0];
        if let syn::Expr::Path(ap) = arg {
            if let Some(id) = ap.path.get_ident() {
                if self.scope.locals.get(&id.to_string()) == Some(&Held::HandleVec) {
                    let r = self.input.r(fut);
                    let end = await_r.map_or(r.end, |a| a.end);
                    self.out.edits.replace(
                        r.start..end,
                        format!("{id}.into_iter().map(|h| h.join()).collect::<Vec<_>>()"),
                    );
                    self.out.count("join_all of handles");
                    return;
                }
            }
        }
        let syn::Expr::MethodCall(m) = arg else {
            return self.bridge(fut, await_r, "join_all over futures built elsewhere");
        };
        let (true, Some(syn::Expr::Closure(cl))) = (m.method == "map", m.args.first()) else {
            return self.bridge(fut, await_r, "join_all over futures built elsewhere");
        };
        let r = self.input.r(p);
        // `try_all` cancels the rest at the first error, as tokio's
        // `try_join_all` drops the other futures.
        self.out.edits.replace(
            r,
            if is_try {
                "weft::fiber::try_all"
            } else {
                "weft::fiber::all"
            },
        );
        self.drop_await(await_r);
        self.visit_expr(&m.receiver);
        self.closure_arg(&cl.body, None);
        self.out
            .count(if is_try { "try_join_all" } else { "join_all" });
    }

    /// `stream::iter(items).map(|x| fut).buffer_unordered(n).collect()` ->
    /// `weft::fiber::map_concurrent(n, items, |x| ..)`.
    pub(super) fn buffer_unordered(
        &mut self,
        fut: &syn::Expr,
        collect: &syn::ExprMethodCall,
        await_r: Option<Range<usize>>,
    ) -> Option<()> {
        let syn::Expr::MethodCall(bu) = &*collect.receiver else {
            return None;
        };
        if !(bu.method == "buffer_unordered" || bu.method == "buffered") || bu.args.len() != 1 {
            return None;
        }
        let syn::Expr::MethodCall(map) = &*bu.receiver else {
            return None;
        };
        let (true, Some(syn::Expr::Closure(cl))) = (map.method == "map", map.args.first()) else {
            return None;
        };
        let syn::Expr::Call(iter) = &*map.receiver else {
            return None;
        };
        let syn::Expr::Path(ip) = &*iter.func else {
            return None;
        };
        if ip.path.segments.last()?.ident != "iter" || iter.args.len() != 1 {
            return None;
        }
        if cl.inputs.len() != 1 {
            return None;
        }
        // Render each piece with its own rewrites, then compose.
        let items_r = self.input.r(&iter.args[0]);
        self.visit_expr(&iter.args[0]);
        let items = self.out.edits.take_rendered(self.input.src, items_r).ok()?;
        let n_r = self.input.r(&bu.args[0]);
        self.visit_expr(&bu.args[0]);
        let n = self.out.edits.take_rendered(self.input.src, n_r).ok()?;
        let body_r = self.input.r(&cl.body);
        match &*cl.body {
            syn::Expr::Async(b) => {
                let start = self.input.rs(b.async_token.span).start;
                let block = self.input.r(&b.block).start;
                self.out.edits.delete(start..block);
                self.within(Region::Direct, |s| s.visit_block(&b.block));
            }
            body => self.direct_value(body, None),
        }
        let body = self.out.edits.take_rendered(self.input.src, body_r).ok()?;
        let pat = self.input.text(self.input.r(&cl.inputs[0])).to_string();
        let collect_ty = match &collect.turbofish {
            Some(t) => format!(".into_iter().collect{}()", self.input.text(self.input.r(t))),
            None => ".into_iter().collect()".to_string(),
        };
        let r = self.input.r(fut);
        let end = await_r.map_or(r.end, |a| a.end);
        self.out.edits.replace(
            r.start..end,
            format!("weft::fiber::map_concurrent({n}, {items}, |{pat}| {body}){collect_ty}"),
        );
        self.out.count("buffer_unordered");
        Some(())
    }

    /// Whether `e` is a call that is direct after the run (a function the
    /// run converts, a mapped async function, a name of the user's table).
    fn is_direct_expr(&self, e: &syn::Expr) -> bool {
        match e {
            syn::Expr::Call(c) => match &*c.func {
                syn::Expr::Path(p) => {
                    let full = self.resolve(&p.path);
                    match &full {
                        Some(f) => matches!(self.input.table.target(f), Some((_, Kind::AsyncFn))),
                        None => self.is_direct_fn(&p.path, None),
                    }
                }
                _ => false,
            },
            syn::Expr::MethodCall(m) => {
                let n = m.method.to_string();
                self.input.an.is_direct(&n) || self.input.table.direct_names.contains(&n)
            }
            syn::Expr::Async(_) => true,
            syn::Expr::Paren(p) => self.is_direct_expr(&p.expr),
            _ => false,
        }
    }

    /// A combinator chain on a direct call, whose future-returning closures
    /// return direct calls or async blocks: sequential code, no bridge.
    pub(super) fn direct_chain(
        &mut self,
        fut: &syn::Expr,
        m: &syn::ExprMethodCall,
        await_r: Option<Range<usize>>,
    ) -> Option<()> {
        // Collect the chain, outermost first, and check every link.
        let mut links = vec![m];
        let mut base = &*m.receiver;
        while let syn::Expr::MethodCall(inner) = base {
            if methods::combinator(&inner.method.to_string()).is_none() {
                break;
            }
            links.push(inner);
            base = &inner.receiver;
        }
        if !self.is_direct_expr(base) {
            return None;
        }
        for l in &links {
            let name = l.method.to_string();
            let combinator = methods::combinator(&name);
            if combinator != Some(Combinator::NoArgument) && l.args.len() != 1 {
                return None;
            }
            if combinator == Some(Combinator::FutureClosure) {
                match &l.args[0] {
                    syn::Expr::Closure(cl) if self.is_direct_expr(&cl.body) => {}
                    syn::Expr::Path(p) if self.is_direct_fn(&p.path, None) => {}
                    _ => return None,
                }
            }
        }
        let br = self.input.r(base);
        self.direct_value(base, None);
        let mut v = self.out.edits.take_rendered(self.input.src, br).ok()?;
        for l in links.iter().rev() {
            let name = l.method.to_string();
            // `map(|x| body)` / `then(|x| body)`: `{ let x = v; body }` when
            // the body has no `return` or `?` (they would leave the
            // function instead of the closure).
            if let (true, Some(syn::Expr::Closure(cl))) =
                (matches!(name.as_str(), "map" | "then"), l.args.first())
            {
                let body_tokens = quote::ToTokens::to_token_stream(&cl.body).to_string();
                if cl.inputs.len() == 1
                    && !body_tokens.contains("return")
                    && !body_tokens.contains('?')
                {
                    let pat = self.input.text(self.input.r(&cl.inputs[0])).to_string();
                    let br = self.input.r(&cl.body);
                    if name == "then" {
                        self.direct_value(&cl.body, None);
                    } else {
                        self.visit_expr(&cl.body);
                    }
                    let body = self.out.edits.take_rendered(self.input.src, br).ok()?;
                    v = format!("{{ let {pat} = {v}; {body} }}");
                    continue;
                }
            }
            let arg = match l.args.first() {
                None => String::new(),
                Some(a) => {
                    let ar = self.input.r(a);
                    match a {
                        syn::Expr::Closure(cl)
                            if methods::combinator(&name) == Some(Combinator::FutureClosure) =>
                        {
                            self.direct_value(&cl.body, None);
                        }
                        a => self.visit_expr(a),
                    }
                    self.out.edits.take_rendered(self.input.src, ar).ok()?
                }
            };
            v = match name.as_str() {
                "map" | "then" => format!("Some({v}).map({arg}).unwrap()"),
                "map_ok" => format!("({v}).map({arg})"),
                "map_err" => format!("({v}).map_err({arg})"),
                "and_then" => format!("({v}).and_then({arg})"),
                "or_else" => format!("({v}).or_else({arg})"),
                "unwrap_or_else" => format!("({v}).unwrap_or_else({arg})"),
                "inspect" => format!("{{ let __v = {v}; ({arg})(&__v); __v }}"),
                "inspect_ok" => format!("({v}).inspect({arg})"),
                "inspect_err" => format!("({v}).inspect_err({arg})"),
                "err_into" => format!("({v}).map_err(Into::into)"),
                "ok_into" => format!("({v}).map(Into::into)"),
                _ => v,
            };
        }
        let r = self.input.r(fut);
        let end = await_r.map_or(r.end, |a| a.end);
        self.out.edits.replace(r.start..end, v);
        self.out.count("combinator chain (direct)");
        Some(())
    }

    /// A future combinator chain, awaited: `weft::chain!(..)`.
    pub(super) fn chain(
        &mut self,
        fut: &syn::Expr,
        m: &syn::ExprMethodCall,
        await_r: Option<Range<usize>>,
    ) {
        let r = self.input.r(fut);
        self.out.edits.insert(r.start, "weft::chain!(");
        match await_r {
            Some(a) => self.out.edits.replace(a, ")"),
            None => self.out.edits.insert(r.end, ")"),
        }
        self.out.result.bridged += 1;
        self.out.count("combinator chain");
        // The innermost receiver and closures that return a direct call
        // become ready futures; everything else stays a future for chain!.
        let mut cur = m;
        loop {
            let name = cur.method.to_string();
            if methods::combinator(&name) == Some(Combinator::FutureClosure) {
                if let Some(syn::Expr::Closure(cl)) = cur.args.first() {
                    self.ready_if_direct(&cl.body);
                }
            } else {
                for a in &cur.args {
                    self.within(Region::Sync, |s| s.visit_expr(a));
                }
            }
            match &*cur.receiver {
                syn::Expr::MethodCall(inner)
                    if methods::combinator(&inner.method.to_string()).is_some() =>
                {
                    cur = inner;
                }
                base => {
                    self.ready_if_direct(base);
                    break;
                }
            }
        }
    }

    /// Wraps a call of a direct function in `std::future::ready(..)` (inside
    /// a chain!, which awaits it).
    fn ready_if_direct(&mut self, e: &syn::Expr) {
        let direct = match e {
            syn::Expr::Call(c) => match &*c.func {
                syn::Expr::Path(p) => {
                    let full = self.resolve(&p.path);
                    full.is_none() && self.is_direct_fn(&p.path, None)
                }
                _ => false,
            },
            syn::Expr::MethodCall(m) => self.input.an.is_direct(&m.method.to_string()),
            _ => false,
        };
        if direct {
            let r = self.input.r(e);
            self.out.edits.insert(r.start, "std::future::ready(");
            self.out.edits.insert(r.end, ")");
            self.within(Region::Direct, |s| s.visit_expr(e));
        } else {
            self.within(Region::Async, |s| s.visit_expr(e));
        }
    }
}

/// A plain name or a literal: moving it into a spawned closure is what
/// the future did with it.
fn is_plain_value(e: &syn::Expr) -> bool {
    match e {
        syn::Expr::Path(p) => p.qself.is_none() && p.path.get_ident().is_some(),
        syn::Expr::Lit(_) => true,
        _ => false,
    }
}

/// One of tokio's typed reads or writes: `read_u16`, `write_f64_le`, ..
pub(super) struct TypedIo {
    write: bool,
    ty: &'static str,
    /// `be` or `le`.
    order: &'static str,
}

impl TypedIo {
    const TYPES: &'static [&'static str] = &[
        "u8", "i8", "u16", "i16", "u32", "i32", "u64", "i64", "u128", "i128", "f32", "f64",
    ];

    /// The operation a method named `name` with `args` arguments is.
    pub(super) fn parse(name: &str, args: usize) -> Option<TypedIo> {
        let (write, rest) = match (name.strip_prefix("read_"), name.strip_prefix("write_")) {
            (Some(r), _) if args == 0 => (false, r),
            (_, Some(r)) if args == 1 => (true, r),
            _ => return None,
        };
        let (ty, order) = match rest.strip_suffix("_le") {
            Some(t) => (t, "le"),
            None => (rest, "be"),
        };
        let ty = Self::TYPES.iter().find(|t| **t == ty)?;
        Some(TypedIo { write, ty, order })
    }
}

/// The async block a block ends with (`{ ..; async move { .. } }`).
fn tail_async(b: &syn::Block) -> Option<&syn::Expr> {
    match b.stmts.last() {
        Some(syn::Stmt::Expr(e @ syn::Expr::Async(_), None)) => Some(e),
        _ => None,
    }
}
