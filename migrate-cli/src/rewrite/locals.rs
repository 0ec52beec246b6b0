//! What the locals of a body hold (a join handle, a vector of them, a
//! oneshot receiver, a runtime, ..): parameters by their type, `let`s by
//! what makes their value, found before the body is rewritten.

use syn::visit::Visit;

use super::deadline;
use super::kind::{self, Maker};
use super::{Held, Rw};

impl Rw<'_> {
    /// Records what a parameter holds, by its type.
    pub(super) fn param_local(&mut self, t: &syn::PatType) {
        if let syn::Pat::Ident(pi) = &*t.pat {
            if let Some(kind) = Held::of_type(&t.ty).and_then(|k| k.as_local(self.oneshot_mapped()))
            {
                self.scope.locals.insert(pi.ident.to_string(), kind);
            }
        }
    }

    /// Records what locals of a body hold (flow-insensitively).
    pub(super) fn scan_locals(&mut self, b: &syn::Block) {
        let mut s = LocalScan {
            rw: self,
            found: Vec::new(),
            loops: Vec::new(),
        };
        s.visit_block(b);
        let (found, loops) = (s.found, s.loops);
        // Which deadlines are reset matters only when the body holds one
        // (printing the body back to tokens costs as much as scanning it).
        let mut resets = Vec::new();
        if found.iter().any(|(_, k)| *k == Held::Deadline) {
            deadline::reset_targets(quote::ToTokens::to_token_stream(b), &mut resets);
        }
        for (name, kind) in found {
            let kind = match kind {
                Held::Deadline if resets.contains(&name) => Held::DeadlineReset,
                k => k,
            };
            self.scope.locals.insert(name, kind);
        }
        for (vec, var) in loops {
            if self.scope.locals.get(&vec) == Some(&Held::HandleVec) {
                self.scope.locals.insert(var, Held::JoinHandle);
            }
        }
    }

    /// The element kinds a call of a function of the run returns (through
    /// `.await`, `?` and `.unwrap()`).
    pub(super) fn returned_kinds(&self, mut e: &syn::Expr) -> Option<&Vec<Option<Held>>> {
        loop {
            match e {
                syn::Expr::Await(a) => e = &a.base,
                syn::Expr::Try(t) => e = &t.expr,
                syn::Expr::MethodCall(m) if m.method == "unwrap" || m.method == "expect" => {
                    e = &m.receiver
                }
                _ => break,
            }
        }
        let name = match e {
            syn::Expr::Call(c) => match &*c.func {
                syn::Expr::Path(p) => p.path.segments.last()?.ident.to_string(),
                _ => return None,
            },
            syn::Expr::MethodCall(m) => m.method.to_string(),
            _ => return None,
        };
        self.input.an.returns.get(&name)
    }
}

struct LocalScan<'r, 'a> {
    rw: &'r Rw<'a>,
    found: Vec<(String, Held)>,
    /// `for var in vec`: (vec, var).
    loops: Vec<(String, String)>,
}

impl LocalScan<'_, '_> {
    /// `it.map(|x| tokio::spawn(..)).collect()`: a vector of join handles.
    fn collects_spawns(&self, e: &syn::Expr) -> bool {
        let syn::Expr::MethodCall(m) = e else {
            return false;
        };
        if m.method != "collect" {
            return false;
        }
        let mut e = &*m.receiver;
        while let syn::Expr::MethodCall(link) = e {
            if link.method == "map" && link.args.len() == 1 {
                if let syn::Expr::Closure(c) = &link.args[0] {
                    let mut body = &*c.body;
                    while let syn::Expr::Block(b) = body {
                        match b.block.stmts.last() {
                            Some(syn::Stmt::Expr(tail, None)) => body = tail,
                            _ => break,
                        }
                    }
                    return matches!(
                        self.rw.call_kind(body),
                        Some(Maker::Spawn | Maker::SpawnBlocking)
                    );
                }
            }
            e = &link.receiver;
        }
        false
    }
}

/// The name a `let` binds: `x`, `mut x`, `x: T`.
fn pat_name(p: &syn::Pat) -> Option<String> {
    match p {
        syn::Pat::Ident(i) => Some(i.ident.to_string()),
        syn::Pat::Type(t) => pat_name(&t.pat),
        _ => None,
    }
}

/// The struct field a `for` loop iterates: `self.x`, `self.x.drain(..)`,
/// `&mut self.x`, `std::mem::take(&mut self.x)`.
fn loop_field(mut e: &syn::Expr) -> Option<&syn::ExprField> {
    loop {
        match e {
            syn::Expr::MethodCall(m) => e = &m.receiver,
            syn::Expr::Reference(r) => e = &r.expr,
            syn::Expr::Paren(p) => e = &p.expr,
            syn::Expr::Call(c) if c.args.len() == 1 => {
                let syn::Expr::Path(p) = &*c.func else {
                    return None;
                };
                if p.path.segments.last().is_none_or(|s| s.ident != "take") {
                    return None;
                }
                e = &c.args[0];
            }
            syn::Expr::Field(f) => return Some(f),
            _ => return None,
        }
    }
}

/// The expression a block evaluates to (its tail, through nested blocks);
/// any other expression itself.
fn block_tail(e: &syn::Expr) -> &syn::Expr {
    match e {
        syn::Expr::Block(b) if b.label.is_none() => match b.block.stmts.last() {
            Some(syn::Stmt::Expr(tail, None)) => block_tail(tail),
            _ => e,
        },
        _ => e,
    }
}

impl<'ast> Visit<'ast> for LocalScan<'_, '_> {
    fn visit_local(&mut self, l: &'ast syn::Local) {
        if let (Some(init), Some(name)) = (&l.init, pat_name(&l.pat)) {
            // `let hs: Vec<_> = it.map(|i| tokio::spawn(..)).collect();`
            let typed = matches!(&l.pat, syn::Pat::Type(pt) if kind::is_vec_of_handles(&pt.ty));
            if typed || self.collects_spawns(&init.expr) {
                self.found.push((name, Held::HandleVec));
            }
        }
        if let (Some(init), syn::Pat::Ident(p)) = (&l.init, &l.pat) {
            if self.rw.tokio_sleep_call(&init.expr).is_some() {
                self.found.push((p.ident.to_string(), Held::Deadline));
            }
        }
        if let (Some(init), syn::Pat::Tuple(t)) = (&l.init, &l.pat) {
            // `let (r, w) = stream.into_split();`
            if let (syn::Expr::MethodCall(m), Some(syn::Pat::Ident(w))) =
                (&*init.expr, t.elems.iter().nth(1))
            {
                if m.method == "into_split" && m.args.is_empty() && t.elems.len() == 2 {
                    self.found.push((w.ident.to_string(), Held::WriteHalf));
                }
            }
        }
        if let Some(init) = &l.init {
            // `let h = { let x = x.clone(); tokio::spawn(..) };`: the
            // block's value is its tail.
            let init_expr = block_tail(&init.expr);
            let kind = self.rw.call_kind(init_expr);
            let mut e = init_expr;
            // `let x = Vec::new()` then `x.push(spawn(..))` is found below.
            while let syn::Expr::MethodCall(m) = e {
                e = &m.receiver;
            }
            let kind = kind.or_else(|| self.rw.call_kind(e));
            match (&l.pat, kind) {
                (syn::Pat::Ident(p), Some(Maker::Spawn | Maker::SpawnBlocking)) => {
                    self.found.push((p.ident.to_string(), Held::JoinHandle))
                }
                (syn::Pat::Ident(p), Some(Maker::JoinSet)) => {
                    self.found.push((p.ident.to_string(), Held::TaskSet))
                }
                (syn::Pat::Ident(p), Some(Maker::Unordered)) => {
                    self.found.push((p.ident.to_string(), Held::Unordered))
                }
                (syn::Pat::Ident(p), None) if self.rw.is_direct_call(init_expr) => {
                    self.found.push((p.ident.to_string(), Held::Ready))
                }
                (pat, None) => {
                    // Typed by the signature of a function of the run.
                    if let Some(kinds) = self.rw.returned_kinds(init_expr) {
                        let pats: Vec<&syn::Pat> = match pat {
                            syn::Pat::Tuple(t) => t.elems.iter().collect(),
                            p => vec![p],
                        };
                        if pats.len() == kinds.len() {
                            for (p, k) in pats.into_iter().zip(kinds) {
                                let Some(kind) =
                                    k.and_then(|k| k.as_local(self.rw.oneshot_mapped()))
                                else {
                                    continue;
                                };
                                if let syn::Pat::Ident(pi) = p {
                                    self.found.push((pi.ident.to_string(), kind));
                                }
                            }
                        }
                    }
                }
                (syn::Pat::Type(pt), k) => {
                    if let syn::Pat::Ident(p) = &*pt.pat {
                        let ty = quote::ToTokens::to_token_stream(&*pt.ty).to_string();
                        if ty.contains("JoinSet") {
                            self.found.push((p.ident.to_string(), Held::TaskSet));
                        } else if ty.contains("FuturesUnordered") {
                            self.found.push((p.ident.to_string(), Held::Unordered));
                        } else if matches!(k, Some(Maker::Spawn | Maker::SpawnBlocking)) {
                            self.found.push((p.ident.to_string(), Held::JoinHandle));
                        }
                    }
                }
                (syn::Pat::Tuple(t), Some(Maker::Oneshot)) if t.elems.len() == 2 => {
                    if let syn::Pat::Ident(p) = &t.elems[1] {
                        self.found.push((p.ident.to_string(), Held::OneshotRx));
                    }
                }
                _ => {}
            }
        }
        syn::visit::visit_local(self, l);
    }

    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        if m.method == "push" && m.args.len() == 1 {
            if let (syn::Expr::Path(p), Some(Maker::Spawn | Maker::SpawnBlocking)) =
                (&*m.receiver, self.rw.call_kind(&m.args[0]))
            {
                if let Some(id) = p.path.get_ident() {
                    self.found.push((id.to_string(), Held::HandleVec));
                }
            }
        }
        syn::visit::visit_expr_method_call(self, m);
    }

    fn visit_expr_for_loop(&mut self, f: &'ast syn::ExprForLoop) {
        // `for h in self.workers.drain(..)` / `std::mem::take(&mut
        // self.workers)`: a struct field holding a vector of handles.
        if let (Some(field), syn::Pat::Ident(pi)) = (loop_field(&f.expr), &*f.pat) {
            if self.rw.field_kind(field) == Some(Held::HandleVec) {
                self.found.push((pi.ident.to_string(), Held::JoinHandle));
            }
        }
        let mut e = &*f.expr;
        while let syn::Expr::MethodCall(m) = e {
            e = &m.receiver;
        }
        if let (syn::Expr::Path(p), syn::Pat::Ident(pi)) = (e, &*f.pat) {
            if let Some(id) = p.path.get_ident() {
                // Decided after the scan: a loop over a vector of handles.
                self.loops.push((id.to_string(), pi.ident.to_string()));
            }
        }
        syn::visit::visit_expr_for_loop(self, f);
    }

    fn visit_item(&mut self, _: &'ast syn::Item) {}
}
