//! A tokio runtime built by hand and driven with `block_on` (a sync
//! `main`, a sync API over async code, a test helper):
//!
//! ```text
//! let rt = tokio::runtime::Runtime::new().unwrap();
//! rt.block_on(async { work().await })
//! ```
//!
//! becomes `weft::run(|_env| { work() })`, and the `let` goes when the
//! runtime has no other use. Where bridged calls remain (in the block or
//! anywhere in the crate) the runtime is `weft_compat::tokio::run`, which
//! keeps a tokio runtime underneath for them. A `LocalSet` (for tasks
//! that are not `Send`) likewise goes: weft's fibers stay on their thread,
//! so `local.run_until(fut).await` is `fut`'s direct value.

use proc_macro2::{TokenStream, TokenTree};

use super::{Region, Rw};

impl Rw<'_> {
    /// Whether `e` builds a tokio runtime (`Runtime::new()`,
    /// `Builder::new_multi_thread()..build()`, through `unwrap`, `expect`,
    /// `?` and other chained calls).
    pub(super) fn is_runtime_ctor(&self, e: &syn::Expr) -> bool {
        let Some(full) = constructor_path(e).and_then(|p| self.resolve(p)) else {
            return false;
        };
        let full: Vec<&str> = full.iter().map(String::as_str).collect();
        matches!(
            full.as_slice(),
            ["tokio", "runtime", "Runtime", "new"]
                | ["tokio", "runtime", "Builder", "new_current_thread"]
                | ["tokio", "runtime", "Builder", "new_multi_thread"]
        )
    }

    /// Whether `e` is `tokio::task::LocalSet::new()`: weft's fibers stay
    /// on their thread, so a local set has nothing left to do.
    fn is_local_set_ctor(&self, e: &syn::Expr) -> bool {
        let syn::Expr::Call(c) = e else { return false };
        let syn::Expr::Path(p) = &*c.func else {
            return false;
        };
        self.resolve(&p.path).is_some_and(|full| {
            full.iter().map(String::as_str).collect::<Vec<_>>()
                == ["tokio", "task", "LocalSet", "new"]
        })
    }

    /// `local.run_until(fut).await` on a local set whose `let` went: the
    /// direct value of `fut`. Returns whether `m` was one.
    pub(super) fn run_until(
        &mut self,
        fut: &syn::Expr,
        m: &syn::ExprMethodCall,
        await_r: Option<std::ops::Range<usize>>,
    ) -> bool {
        if m.method != "run_until" || m.args.len() != 1 || !self.is_runtime_local(&m.receiver) {
            return false;
        }
        let ar = self.input.r(&m.args[0]);
        self.direct_value(&m.args[0], None);
        let Ok(body) = self.out.edits.take_rendered(self.input.src, ar) else {
            return false;
        };
        let r = self.input.r(fut);
        let end = await_r.map_or(r.end, |a| a.end);
        self.out.edits.replace(r.start..end, body);
        self.out.count("LocalSet run_until");
        true
    }

    /// The `let rt = <runtime>;` statements of `b` whose binding is used
    /// only as `rt.block_on(..)` afterwards, and `let local =
    /// LocalSet::new();` used only as `local.run_until(..)`: deleted (with
    /// their line); their names and statement indexes returned.
    pub(super) fn runtime_lets(&mut self, b: &syn::Block) -> Vec<(String, usize)> {
        let mut names = Vec::new();
        for (i, s) in b.stmts.iter().enumerate() {
            let syn::Stmt::Local(l) = s else { continue };
            let (syn::Pat::Ident(pi), Some(init)) = (&l.pat, &l.init) else {
                continue;
            };
            let method = if self.is_runtime_ctor(&init.expr) {
                "block_on"
            } else if self.is_local_set_ctor(&init.expr) {
                "run_until"
            } else {
                continue;
            };
            if init.diverge.is_some() {
                continue;
            }
            let name = pi.ident.to_string();
            let rest: TokenStream = b.stmts[i + 1..]
                .iter()
                .flat_map(quote::ToTokens::to_token_stream)
                .collect();
            if only_method_uses(rest, &name, method) {
                let r = self.input.r(l);
                let whole = self.whole_line(r);
                self.out.edits.delete(whole);
                self.out.count("tokio runtime let");
                names.push((name, i));
            }
        }
        names
    }

    /// Whether `e` names a local bound to a runtime (or LocalSet) built in
    /// this file.
    fn is_runtime_local(&self, e: &syn::Expr) -> bool {
        match e {
            syn::Expr::Path(p) => p
                .path
                .get_ident()
                .is_some_and(|id| self.scope.runtimes.contains(&id.to_string())),
            _ => false,
        }
    }

    /// `rt.block_on(fut)` on a runtime built here: `weft::run(|_env| ..)`
    /// with `fut`'s direct value. Returns whether `m` was one.
    pub(super) fn block_on(&mut self, m: &syn::ExprMethodCall) -> bool {
        if m.method != "block_on" || m.args.len() != 1 {
            return false;
        }
        let named = self.is_runtime_local(&m.receiver);
        if !named && !self.is_runtime_ctor(&m.receiver) {
            return false;
        }
        let arg = &m.args[0];
        if let syn::Expr::Async(b) = arg {
            self.scan_locals(&b.block);
        }
        let before = self.out.result.bridged;
        let ar = self.input.r(arg);
        self.within(Region::Direct, |s| s.direct_value(arg, None));
        let Ok(body) = self.out.edits.take_rendered(self.input.src, ar) else {
            return false;
        };
        let runner = if self.input.opts.keep_async_entry || self.out.result.bridged > before {
            "weft_compat::tokio::run"
        } else {
            "weft::run"
        };
        if !named && has_try(&m.receiver) {
            self.out.note(
                m.method.span(),
                "the runtime builder's `?` is gone: weft's runtime panics if it cannot start",
            );
        }
        let r = self.input.r(m);
        self.out
            .edits
            .replace(r, format!("{runner}(|_env| {body})"));
        self.out.count("block_on");
        true
    }
}

/// Whether every `name` in `ts` is followed by `.method` (and there is
/// one at least).
fn only_method_uses(ts: TokenStream, name: &str, method: &str) -> bool {
    fn walk(ts: TokenStream, name: &str, method: &str, seen: &mut usize) -> bool {
        let toks: Vec<TokenTree> = ts.into_iter().collect();
        for (i, t) in toks.iter().enumerate() {
            match t {
                TokenTree::Group(g) if !walk(g.stream(), name, method, seen) => return false,
                TokenTree::Ident(id) if id == name => {
                    let dot =
                        matches!(toks.get(i + 1), Some(TokenTree::Punct(p)) if p.as_char() == '.');
                    let call = matches!(toks.get(i + 2), Some(TokenTree::Ident(m)) if m == method);
                    if !(dot && call) {
                        return false;
                    }
                    *seen += 1;
                }
                _ => {}
            }
        }
        true
    }
    let mut seen = 0;
    walk(ts, name, method, &mut seen) && seen > 0
}

/// Whether a method chain holds a `?`.
fn has_try(mut e: &syn::Expr) -> bool {
    loop {
        match e {
            syn::Expr::Try(_) => return true,
            syn::Expr::MethodCall(m) => e = &m.receiver,
            syn::Expr::Paren(p) => e = &p.expr,
            _ => return false,
        }
    }
}

/// The runtimes of a file that are kept as values (`let rt = <runtime>;`
/// moved into a struct, a struct field or parameter typed `Runtime`),
/// when every method called on them is `block_on`: then they all become
/// `weft::Runtime`, whose `block_on` takes the direct body as a closure.
/// `None` when there are none, or when one is also used otherwise
/// (`rt.spawn(..)`, `rt.handle()`, ...): those stay tokio's.
pub(super) fn kept_runtimes(
    src: &str,
    ast: &syn::File,
    an: &super::Analysis,
) -> Option<std::collections::HashSet<String>> {
    use syn::visit::Visit;

    #[derive(Default)]
    struct Names {
        names: std::collections::HashSet<String>,
    }
    impl<'ast> Visit<'ast> for Names {
        fn visit_local(&mut self, l: &'ast syn::Local) {
            if let (syn::Pat::Ident(pi), Some(init)) = (&l.pat, &l.init) {
                if builds_runtime(&init.expr) {
                    self.names.insert(pi.ident.to_string());
                }
            }
            syn::visit::visit_local(self, l);
        }
        fn visit_pat_type(&mut self, p: &'ast syn::PatType) {
            if let syn::Pat::Ident(pi) = &*p.pat {
                if super::Held::of_type(&p.ty) == Some(super::Held::Runtime) {
                    self.names.insert(pi.ident.to_string());
                }
            }
            syn::visit::visit_pat_type(self, p);
        }
    }
    struct Uses<'n> {
        names: &'n std::collections::HashSet<String>,
        an: &'n super::Analysis,
        block_ons: usize,
        other: bool,
    }
    impl<'ast> Visit<'ast> for Uses<'_> {
        fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
            let runtime = match &*m.receiver {
                syn::Expr::Path(p) => p
                    .path
                    .get_ident()
                    .is_some_and(|id| self.names.contains(&id.to_string())),
                syn::Expr::Field(f) => match &f.member {
                    syn::Member::Named(id) => {
                        self.an.field_kind(&id.to_string()) == Some(super::Held::Runtime)
                    }
                    syn::Member::Unnamed(_) => false,
                },
                _ => false,
            };
            if runtime {
                // A closure: weft's block_on already (an earlier run).
                if m.method == "block_on"
                    && m.args.len() == 1
                    && !matches!(m.args[0], syn::Expr::Closure(_))
                {
                    self.block_ons += 1;
                } else {
                    self.other = true;
                }
            }
            syn::visit::visit_expr_method_call(self, m);
        }
    }
    // Only where the file names tokio's runtime module (a `Runtime` of
    // another crate is not tokio's).
    if !(src.contains("tokio") && src.contains("runtime")) {
        return None;
    }
    let mut n = Names::default();
    n.visit_file(ast);
    let mut u = Uses {
        names: &n.names,
        an,
        block_ons: 0,
        other: false,
    };
    u.visit_file(ast);
    (u.block_ons > 0 && !u.other).then_some(n.names)
}

/// Whether `e` builds a tokio runtime, judged by its path's last segments
/// only (the analysis runs before imports are known).
fn builds_runtime(e: &syn::Expr) -> bool {
    let Some(path) = constructor_path(e) else {
        return false;
    };
    let segs = super::path_idents(path);
    let tail: Vec<&str> = segs.iter().rev().take(2).map(String::as_str).collect();
    matches!(
        tail.as_slice(),
        ["new", "Runtime"] | ["new_current_thread", "Builder"] | ["new_multi_thread", "Builder"]
    )
}

/// The path of the call a builder chain starts from (`Runtime::new` in
/// `Runtime::new().unwrap()`, `Builder::new_multi_thread` in
/// `Builder::new_multi_thread().enable_all().build()?`), through `?`,
/// parentheses and chained method calls.
fn constructor_path(mut e: &syn::Expr) -> Option<&syn::Path> {
    loop {
        match e {
            syn::Expr::Try(t) => e = &t.expr,
            syn::Expr::Paren(p) => e = &p.expr,
            syn::Expr::MethodCall(m) => e = &m.receiver,
            syn::Expr::Call(c) => {
                let syn::Expr::Path(p) = &*c.func else {
                    return None;
                };
                return Some(&p.path);
            }
            _ => return None,
        }
    }
}

impl Rw<'_> {
    /// Whether `e` names a runtime kept as a value that becomes
    /// `weft::Runtime` (see [`kept_runtimes`]).
    fn is_kept_runtime(&self, e: &syn::Expr) -> bool {
        let Some(names) = &self.input.kept_runtimes else {
            return false;
        };
        match e {
            syn::Expr::Path(p) => p
                .path
                .get_ident()
                .is_some_and(|id| names.contains(&id.to_string())),
            syn::Expr::Field(f) => self.field_kind(f) == Some(super::Held::Runtime),
            _ => false,
        }
    }

    /// `rt.block_on(fut)` on a runtime kept as a value:
    /// `rt.block_on(|| ..)` with `fut`'s direct value, on `weft::Runtime`.
    /// Returns whether `m` was one.
    pub(super) fn kept_block_on(&mut self, m: &syn::ExprMethodCall) -> bool {
        if m.method != "block_on" || m.args.len() != 1 || !self.is_kept_runtime(&m.receiver) {
            return false;
        }
        let arg = &m.args[0];
        if let syn::Expr::Async(b) = arg {
            self.scan_locals(&b.block);
        }
        let outside = match &*m.receiver {
            syn::Expr::Field(f) => match &f.member {
                syn::Member::Named(id) => Some(id.to_string()),
                syn::Member::Unnamed(_) => None,
            },
            _ => None,
        };
        let hoisted = self.hoist_self_fields(&[vec![arg]], 1, outside.as_deref());
        syn::visit::Visit::visit_expr(self, &m.receiver);
        let ar = self.input.r(arg);
        self.within(Region::Direct, |s| s.direct_value(arg, None));
        let Ok(body) = self.out.edits.take_rendered(self.input.src, ar.clone()) else {
            return false;
        };
        if hoisted.is_empty() {
            self.out.edits.replace(ar, format!("|| {body}"));
        } else {
            let r = self.input.r(m);
            let Ok(call) = self
                .out
                .edits
                .take_rendered(self.input.src, r.start..ar.start)
            else {
                return false;
            };
            let rest = self.input.text(ar.end..r.end).to_string();
            self.out
                .edits
                .replace(r, format!("{{ {hoisted}{call}|| {body}{rest} }}"));
        }
        self.out.count("block_on on a kept runtime");
        true
    }

    /// `Builder::new_current_thread()...build()` (any builder settings)
    /// in a file whose runtimes become `weft::Runtime`:
    /// `weft::Runtime::new()`, keeping the `?` or `unwrap` after it (both
    /// return `io::Result<Runtime>`). Returns whether `m` was one.
    pub(super) fn kept_runtime_build(&mut self, m: &syn::ExprMethodCall) -> bool {
        if self.input.kept_runtimes.is_none()
            || m.method != "build"
            || !self.is_runtime_ctor(&m.receiver)
        {
            return false;
        }
        let r = self.input.r(m);
        self.out
            .edits
            .replace(r, "weft::Runtime::new()".to_string());
        self.out.note(
            m.method.span(),
            "tokio runtime builder -> weft::Runtime::new(): one thread, settings dropped \
             (weft's runtime drives the fibers of the thread that calls block_on)",
        );
        self.out.count("runtime builder");
        true
    }
}
