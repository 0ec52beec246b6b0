//! The rewriting engine: parse with syn, decide on the tree, edit the
//! original text by byte range.
//!
//! One visitor walks a file. Where it is decides what it may do:
//! - `Direct`: the body of a function this run converts. `.await` is
//!   dropped when the callee is direct afterwards (a function the run
//!   converts, a mapped tokio API, a name in the user's table), turned into
//!   the weft equivalent for a few shapes (a join handle, a oneshot
//!   receiver, `timeout`, `join_all`, ...), and bridged through
//!   `weft_compat::await_future` otherwise.
//! - `Sync`: ordinary code outside converted functions; only paths change
//!   (`tokio::sync::Mutex` -> `weft::sync::Mutex`).
//! - `Async`: code that stays async (an async block handed to an unknown
//!   API, a function not selected by `--only`); only calls of functions the
//!   run made direct are bridged back (`weft_compat::run_fiber`).
//!
//! The visitor's state is four groups, each in a module of its own with
//! its methods: `input` (what it reads and never changes), `imports` (the
//! names imported in the scope being visited, and what a path means
//! through them), `scope` (the region, the locals, the enclosing items;
//! `locals` finds what locals hold) and `output` (the edits, notes and
//! counters).
//!
//! Rules are registries: ordered slices of entries, each saying what its
//! rule is tried on and naming a handler; the first handler that takes a
//! construct rewrites it. `expr_rules` (`EXPR_RULES`: expressions, by
//! shape), `method_rules` (`AWAITED_METHOD_RULES`: awaited method calls,
//! by name), `calls` (`AWAITED_CALL_RULES`: awaited calls of named
//! functions, by path; and the spawn family), `macros` (`MACRO_RULES`:
//! `join!`, `try_join!`, `select!`, ...).
//!
//! Other submodules: `analysis` (pass 0, across files), `kind` ([`Held`]:
//! what a field, a return value or a local holds, shared by both passes),
//! `uses` (use items). Rules that decide on a method's name ask
//! [`crate::mapping::methods`].

mod analysis;
mod block_on;
mod calls;
mod cleanup;
mod deadline;
mod doc;
mod expr_rules;
mod imports;
mod input;
mod items;
mod kind;
mod locals;
mod macros;
mod method_rules;
mod output;
mod scope;
mod scoped;
mod use_tree;
mod uses;

use std::collections::BTreeMap;

use serde::Serialize;
use syn::spanned::Spanned;
use syn::visit::Visit;

pub use analysis::{Analysis, Selection};
pub use doc::{doc_example_lines, doc_examples_code};
use imports::Imports;
use input::Input;
pub use items::{enclosing_fn, enclosing_stmts, fn_items, fn_names, FnItem};
pub use kind::Held;
use kind::Maker;
use output::Output;
use scope::{Region, Scope};

use crate::mapping::{Kind, Table};

/// Options of one rewrite of one file.
///
/// ```
/// assert!(!weft_migrate::rewrite::Options::default().keep_async_entry);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Keep `async` on `#[weft::main]` / `#[weft::test]` functions so the
    /// macro runs them with tokio available (needed while bridged calls
    /// remain anywhere in the crate).
    pub keep_async_entry: bool,
    /// The crate is of edition 2015 or 2018, where a closure captures whole
    /// variables (`self`, not `self.conn`), so the closures of a rewritten
    /// `select!` borrow the fields they use before they are made.
    pub whole_captures: bool,
}

/// Something the tool noticed at a place in a file.
///
/// ```
/// let n = weft_migrate::rewrite::Note { line: 1, column: 5, message: "bridged".into() };
/// assert_eq!(n.column, 5);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Note {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// What and why.
    pub message: String,
}

/// The result of rewriting one file.
///
/// ```
/// assert_eq!(weft_migrate::rewrite::FileRewrite::default().bridged, 0);
/// ```
#[derive(Clone, Debug, Default, Serialize)]
pub struct FileRewrite {
    /// The new text (equal to the input when nothing changed).
    pub output: String,
    /// What could not be converted, or was converted with a caveat.
    pub notes: Vec<Note>,
    /// Conversions made, by kind.
    pub conversions: BTreeMap<String, usize>,
    /// Calls left awaiting a future through weft-compat.
    pub bridged: usize,
}

/// Why a file could not be rewritten.
///
/// ```
/// let e = weft_migrate::rewrite::parse("fn (").unwrap_err();
/// assert!(matches!(e, weft_migrate::rewrite::RewriteError::Parse { line: 1, .. }));
/// ```
#[derive(Debug, thiserror::Error)]
pub enum RewriteError {
    /// The input is not valid Rust.
    #[error("does not parse: {message} (line {line}, column {column})")]
    Parse {
        /// The parser's message.
        message: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// Two rewrites touched the same text (a bug in the tool; the file is
    /// left as it was).
    #[error("internal error: {0}")]
    Overlap(#[from] crate::edit::Overlap),
    /// The rewritten text does not parse (a bug in the tool; the file is
    /// left as it was).
    #[error("internal error: the rewritten file does not parse: {0}")]
    Output(String),
}

/// Parses `src` as a file, keeping byte offsets equal to `src`'s (a BOM or
/// a `#!` line is blanked, not removed).
///
/// ```
/// let f = weft_migrate::rewrite::parse("#!/usr/bin/env run\nfn main() {}\n").unwrap();
/// assert_eq!(f.items.len(), 1);
/// ```
pub fn parse(src: &str) -> Result<syn::File, RewriteError> {
    let mut text = std::borrow::Cow::Borrowed(src);
    if let Some(rest) = src.strip_prefix('\u{feff}') {
        text = std::borrow::Cow::Owned(format!("   {rest}"));
    }
    if text.starts_with("#!") && !text[2..].trim_start().starts_with('[') {
        let end = text.find('\n').unwrap_or(text.len());
        let mut t = text.into_owned();
        t.replace_range(..end, &" ".repeat(end));
        text = std::borrow::Cow::Owned(t);
    }
    syn::parse_str::<syn::File>(&text).map_err(|e| {
        let at = e.span().start();
        RewriteError::Parse {
            message: e.to_string(),
            line: at.line,
            column: at.column + 1,
        }
    })
}

/// Rewrites one file. `file` is the name used in notes and for `--only`.
///
/// ```
/// use weft_migrate::rewrite::{rewrite_file, Analysis, Options, Selection};
/// let src = "async fn f() { tokio::time::sleep(std::time::Duration::from_millis(1)).await; }\n";
/// let ast = weft_migrate::rewrite::parse(src).unwrap();
/// let mut an = Analysis::default();
/// an.add_file("a.rs", &ast, &Selection::all());
/// let table = weft_migrate::mapping::Table::builtin();
/// let out = rewrite_file("a.rs", src, &ast, &an, &table, &Selection::all(), &Options::default()).unwrap();
/// assert_eq!(out.output, "fn f() { weft::time::sleep(std::time::Duration::from_millis(1)); }\n");
/// ```
pub fn rewrite_file(
    file: &str,
    src: &str,
    ast: &syn::File,
    an: &Analysis,
    table: &Table,
    sel: &Selection,
    opts: &Options,
) -> Result<FileRewrite, RewriteError> {
    let file_selected = sel.file(file);
    let kept_runtimes = block_on::kept_runtimes(src, ast, an);
    let extended;
    let table = match &kept_runtimes {
        Some(_) => {
            extended = table.with_row("tokio::runtime::Runtime", "weft::Runtime", Kind::Item);
            &extended
        }
        None => table,
    };
    let mut rw = Rw {
        input: Input {
            src,
            file,
            table,
            an,
            sel,
            opts,
            file_selected,
            uses_tokio: src.contains("tokio"),
            kept_runtimes,
        },
        imports: Imports::default(),
        scope: Scope::new(file_selected),
        out: Output::default(),
    };
    // Imports first: a use item may come after the code that relies on it.
    // Nested ones (in inline modules and function bodies) hold in their
    // scope only: they are recorded and rewritten where the visit enters
    // it, under the selection that holds there.
    rw.scope_uses(uses::scope_use_items(&ast.items));
    rw.visit_file(ast);
    if rw.imports.async_trait.removed > 0 && rw.imports.async_trait.kept == 0 {
        for r in std::mem::take(&mut rw.imports.async_trait.uses) {
            let end = rw.input.skip_ws(r.end);
            rw.out.edits.delete(r.start..end);
        }
    }
    let Output {
        edits,
        result: mut out,
        ..
    } = rw.out;
    let text = edits.apply(src)?;
    out.output = doc::rewrite_examples(file, &text, an, table, sel, opts, &mut out);
    if out.output != src {
        // Parses the output (an error if it does not parse): no second
        // parse to check it.
        out.output = cleanup::remove_unused_imports(ast, &out.output)?;
        drop_stale_kept_notes(&mut out);
    }
    Ok(out)
}

/// A "`use p` kept" note whose import the cleanup then removed (every use
/// of it was converted) tells of something that is not there: it goes.
fn drop_stale_kept_notes(out: &mut FileRewrite) {
    let output = &out.output;
    out.notes.retain(|n| {
        let kept = n
            .message
            .strip_prefix("`use ")
            .and_then(|rest| rest.split_once("` kept: "))
            .map(|(path, _)| path.split(" as ").next().unwrap_or(path));
        kept.is_none_or(|path| output.contains(path))
    });
}

/// The visitor that rewrites one file. Its state is four groups, each a
/// struct of its own module: what it reads and never changes
/// ([`Input`]), the imports in scope ([`Imports`]), where the visit is
/// ([`Scope`]), and what it produces ([`Output`]).
struct Rw<'a> {
    /// The file's text and name, the table, the analysis, the selection,
    /// the options.
    input: Input<'a>,
    /// The names imported in the scope being visited.
    imports: Imports,
    /// The region, the locals, the enclosing items.
    scope: Scope,
    /// The edits, notes and counters.
    out: Output,
}

impl<'a> Rw<'a> {
    /// Deletes an attribute and the whitespace after it.
    fn delete_attr(&mut self, a: &syn::Attribute) {
        let r = self.input.r(a);
        let end = self.input.skip_ws(r.end);
        self.out.edits.delete(r.start..end);
    }

    /// Deletes the `async` keyword of a signature.
    fn delete_async(&mut self, tok: &syn::token::Async) {
        let r = self.input.rs(tok.span);
        let end = self.input.skip_ws(r.end);
        self.out.edits.delete(r.start..end);
    }

    /// Handles a function-like item: `async fn` conversion, entry
    /// attributes, `impl Future` bodies.
    fn function(
        &mut self,
        attrs: &[syn::Attribute],
        sig: &syn::Signature,
        block: Option<&syn::Block>,
        convertible: bool,
    ) {
        let saved = self.save();
        self.scope.self_mut = sig.receiver().map(|r| {
            let by_ref = matches!(&*r.ty, syn::Type::Reference(_));
            let mutable = r.mutability.is_some()
                || matches!(&*r.ty, syn::Type::Reference(t) if t.mutability.is_some());
            (by_ref, mutable)
        });
        self.scope.borrowed_params = borrowed_params(sig);
        let name = sig.ident.to_string();
        let selected = convertible && self.input.sel.function(self.input.file, &name);
        if selected && !self.input.file_selected {
            self.scope.paths_on = true;
        }
        let entry = attrs.iter().find_map(|a| entry_kind(a).map(|k| (a, k)));
        if sig.asyncness.is_some() && attrs.iter().any(is_weft_attr) {
            // Already weft's: the macro converts the body.
            self.scope.region = Region::Async;
            self.scope.paths_on = false;
            if let Some(b) = block {
                self.visit_block(b);
            }
            self.restore(saved);
            return;
        }
        let impl_future = block.and_then(|b| impl_future_body(sig, b));
        let mut output_done = false;
        if let Some(tok) = &sig.asyncness {
            if selected {
                // `#[weft::main]` goes on `fn main` only: another
                // `#[tokio::main]` function runs its body in `weft::run`.
                let run_in_body = entry.is_some_and(|(_, k)| k == "main") && name != "main";
                let keep = entry.is_some() && self.input.opts.keep_async_entry && !run_in_body;
                if !keep {
                    self.delete_async(tok);
                }
                match (entry, block) {
                    (Some((attr, _)), Some(b)) if run_in_body => self.entry_run(attr, b),
                    (Some((attr, kind)), _) => {
                        let paused = kind == "test" && block.is_some_and(|b| self.leading_pause(b));
                        self.entry_attr(attr, kind, paused);
                    }
                    _ => {}
                }
                self.out.count("async fn");
                self.scope.region = Region::Direct;
            } else {
                if attrs.iter().any(is_foreign_entry_attr) {
                    self.out.note(
                        tok.span,
                        format!(
                            "`async fn {name}` kept: another runtime's entry attribute runs it"
                        ),
                    );
                } else if !convertible {
                    self.out.note(
                        tok.span,
                        format!(
                            "`async fn {name}` kept: it implements a trait not declared in the \
                             migrated files"
                        ),
                    );
                }
                self.scope.region = Region::Async;
                self.scope.paths_on = false;
            }
        } else if let (Some((ty, inner)), true) = (impl_future, selected) {
            let ret = self.input.r(&sig.output);
            let ty_text = self.input.text(self.input.r(ty)).to_string();
            self.out.edits.replace(ret, format!("-> {ty_text}"));
            if let Some(b) = block {
                let outer = self.input.r(b);
                let inner_r = self.input.r(&inner.block);
                self.out.count("impl Future fn");
                self.scope.region = Region::Direct;
                for input in &sig.inputs {
                    self.visit_fn_arg(input);
                }
                self.scope_uses(uses::block_use_items(&inner.block));
                self.scan_locals(&inner.block);
                self.visit_block(&inner.block);
                // The async block's body becomes the function's, one
                // level of indentation less when that is safe.
                let body = self
                    .out
                    .edits
                    .take_rendered(self.input.src, inner_r.clone())
                    .unwrap_or_else(|_| self.input.text(inner_r.clone()).to_string());
                let indent = |at: usize| -> String {
                    let ls = self.input.src[..at].rfind('\n').map_or(0, |i| i + 1);
                    self.input.src[ls..]
                        .chars()
                        .take_while(|c| *c == ' ' || *c == '\t')
                        .collect()
                };
                let (outer_ind, inner_ind) = (indent(outer.end), indent(inner_r.end));
                let extra = inner_ind
                    .strip_prefix(outer_ind.as_str())
                    .unwrap_or_default()
                    .to_string();
                let lines: Vec<&str> = body.split('\n').collect();
                let safe = !extra.is_empty()
                    && !body.contains("r#\"")
                    && !body.contains("\\\n")
                    && lines[1..]
                        .iter()
                        .all(|l| l.trim().is_empty() || l.starts_with(extra.as_str()));
                let body = if safe {
                    let mut out = vec![lines[0].to_string()];
                    out.extend(
                        lines[1..]
                            .iter()
                            .map(|l| l.strip_prefix(extra.as_str()).unwrap_or(l).to_string()),
                    );
                    out.join("\n")
                } else {
                    body
                };
                self.out.edits.replace(outer, body);
                self.restore(saved);
                return;
            }
        } else if let (None, Some(ty), true) = (block, impl_future_output(sig), selected) {
            // A trait method declared `-> impl Future<Output = T> + Send`:
            // its implementations become direct, so it returns `T`.
            self.scope.region = Region::Sync;
            self.direct_output(&sig.output, ty);
            output_done = true;
        } else {
            self.scope.region = Region::Sync;
        }
        if self.scope.region != Region::Async {
            self.visit_generics(&sig.generics);
            for input in &sig.inputs {
                self.visit_fn_arg(input);
            }
            if !output_done {
                self.visit_return_type(&sig.output);
            }
        }
        if let Some(b) = block {
            self.scope_uses(uses::block_use_items(b));
            // A plain function's locals count too: a task it spawns is
            // direct code that may await them (`&mut stopped` in select!).
            if self.scope.region != Region::Async && self.scope.paths_on {
                self.scan_locals(b);
                for input in &sig.inputs {
                    if let syn::FnArg::Typed(t) = input {
                        self.param_local(t);
                    }
                }
                if sig.asyncness.is_some() && self.scope.region == Region::Direct {
                    self.future_params(sig);
                }
            }
            self.visit_block(b);
        }
        self.restore(saved);
    }

    /// Replaces a return type `-> impl Future<Output = T> ..` by `-> T`
    /// (with `T`'s own paths rewritten).
    fn direct_output(&mut self, output: &syn::ReturnType, ty: &syn::Type) {
        let ty_r = self.input.r(ty);
        self.visit_type(ty);
        let text = self
            .out
            .edits
            .take_rendered(self.input.src, ty_r.clone())
            .unwrap_or_else(|_| self.input.text(ty_r).to_string());
        let ret = self.input.r(output);
        self.out.edits.replace(ret, format!("-> {text}"));
        self.out.count("impl Future method declaration");
    }

    /// A test whose body starts with `tokio::time::pause();`: the
    /// statement goes (the test gets weft's mock clock instead). Returns
    /// whether it did.
    fn leading_pause(&mut self, b: &syn::Block) -> bool {
        let Some(syn::Stmt::Expr(syn::Expr::Call(c), Some(_))) = b.stmts.first() else {
            return false;
        };
        let syn::Expr::Path(p) = &*c.func else {
            return false;
        };
        if !c.args.is_empty()
            || self.resolve(&p.path).as_deref()
                != Some(&["tokio".to_string(), "time".to_string(), "pause".to_string()][..])
        {
            return false;
        }
        let r = self.input.r(&b.stmts[0]);
        let whole = self.whole_line(r.clone());
        self.out.edits.delete(whole);
        self.out.deleted_stmts.insert(r.start);
        true
    }

    /// `#[tokio::main]` on a function other than `main`: the attribute
    /// goes and the body runs in `weft::run` (`weft_compat::tokio::run`
    /// while bridges remain, so their futures find tokio).
    fn entry_run(&mut self, attr: &syn::Attribute, body: &syn::Block) {
        let r = self.input.r(attr);
        let end = self.input.skip_ws(r.end);
        self.out.edits.delete(r.start..end);
        let run = if self.input.opts.keep_async_entry {
            "weft_compat::tokio::run"
        } else {
            "weft::run"
        };
        let b = self.input.r(body);
        self.out
            .edits
            .insert(b.start + 1, format!(" {run}(|_env| {{"));
        self.out.edits.insert(b.end - 1, "}) ");
        self.out.count("#[tokio::main]");
    }

    fn entry_attr(&mut self, attr: &syn::Attribute, kind: &'static str, paused: bool) {
        let mut opts = Vec::new();
        if paused {
            opts.push("mock_clock");
        }
        if let syn::Meta::List(list) = &attr.meta {
            let text = list.tokens.to_string();
            if text.contains("start_paused") && text.contains("true") && !paused {
                opts.push("mock_clock");
            }
            let other: Vec<&str> = text
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty() && !s.starts_with("start_paused"))
                .collect();
            if !other.is_empty() {
                self.out.note(
                    attr.span(),
                    format!(
                        "#[tokio::{kind}] options `{}` dropped: weft fibers stay on their \
                         thread (see #[weft::{kind}] options)",
                        other.join(", ")
                    ),
                );
            }
        }
        let text = if opts.is_empty() {
            format!("#[weft::{kind}]")
        } else {
            format!("#[weft::{kind}({})]", opts.join(", "))
        };
        let r = self.input.r(attr);
        self.out.edits.replace(r, text);
        self.out.count(if kind == "main" {
            "#[tokio::main]"
        } else {
            "#[tokio::test]"
        });
    }

    /// The `impl Future` parameters the analysis found only awaited
    /// become `impl FnOnce() -> T` (`impl FnOnce()` when the output was
    /// left open): the caller passes the direct work as a closure, which
    /// runs where the future was awaited, as a future starts at its
    /// first poll.
    fn future_params(&mut self, sig: &syn::Signature) {
        let Some(key) =
            analysis::future_fn_key(self.input.file, sig, self.scope.impl_self.is_some())
        else {
            return;
        };
        let Some(params) = self.input.an.future_params.get(&key) else {
            return;
        };
        let typed: Vec<&syn::PatType> = sig
            .inputs
            .iter()
            .filter_map(|i| match i {
                syn::FnArg::Typed(t) => Some(t),
                syn::FnArg::Receiver(_) => None,
            })
            .collect();
        for &(i, _) in params {
            let Some(t) = typed.get(i) else { continue };
            let (syn::Pat::Ident(pi), syn::Type::ImplTrait(it)) = (&*t.pat, &*t.ty) else {
                continue;
            };
            let mut bounds = Vec::new();
            for b in &it.bounds {
                match b {
                    syn::TypeParamBound::Trait(tb)
                        if tb.path.segments.last().is_some_and(|l| l.ident == "Future") =>
                    {
                        let output = match &tb.path.segments.last().map(|l| &l.arguments) {
                            Some(syn::PathArguments::AngleBracketed(a)) => {
                                a.args.iter().find_map(|g| match g {
                                    syn::GenericArgument::AssocType(at) if at.ident == "Output" => {
                                        Some(self.input.text(self.input.r(&at.ty)).to_string())
                                    }
                                    _ => None,
                                })
                            }
                            _ => None,
                        };
                        bounds.push(match output {
                            Some(o) if o.replace(' ', "") != "()" => format!("FnOnce() -> {o}"),
                            _ => "FnOnce()".to_string(),
                        });
                    }
                    other => bounds.push(self.input.text(self.input.r(other)).to_string()),
                }
            }
            let r = self.input.r(&*t.ty);
            // Edits inside the type (none expected) give way to it.
            let _ = self.out.edits.take_rendered(self.input.src, r.clone());
            self.out
                .edits
                .replace(r, format!("impl {}", bounds.join(" + ")));
            self.scope
                .locals
                .insert(pi.ident.to_string(), Held::FutureFn);
            self.out.count("impl Future parameter -> impl FnOnce");
        }
    }

    /// Marks the arguments of a call of a function whose `impl Future`
    /// parameters became closures: visited, they become `|| value`.
    fn mark_future_args(&mut self, e: &syn::Expr) {
        let (key, name, args) = match e {
            syn::Expr::Call(c) => match &*c.func {
                syn::Expr::Path(p) => {
                    let segs = path_idents(&p.path);
                    let Some(name) = segs.last().cloned() else {
                        return;
                    };
                    let module = match segs.len() {
                        1 => analysis::file_module(self.input.file),
                        n => match segs[n - 2].as_str() {
                            "self" => analysis::file_module(self.input.file),
                            m => m.to_string(),
                        },
                    };
                    (format!("{module}::{name}"), name, &c.args)
                }
                _ => return,
            },
            syn::Expr::MethodCall(m) => (format!(".{}", m.method), m.method.to_string(), &m.args),
            _ => return,
        };
        // `name(..)` through an import, or `m::name(..)` of an inline
        // module: the one free function of that name, if there is one.
        let suffix = format!("::{name}");
        let params = match self.input.an.future_params.get(&key) {
            Some(p) => p,
            None if !key.starts_with('.') => {
                let mut of_name = self
                    .input
                    .an
                    .future_params
                    .iter()
                    .filter(|(k, _)| k.ends_with(&suffix));
                match (of_name.next(), of_name.next()) {
                    (Some((_, p)), None) => p,
                    _ => return,
                }
            }
            None => return,
        };
        if !self.input.an.is_direct(&name) {
            return;
        }
        for &(i, has_output) in params {
            if let Some(a) = args.iter().nth(i) {
                let r = self.input.r(a);
                self.scope.future_args.insert((r.start, r.end), has_output);
            }
        }
    }

    /// An argument marked by `mark_future_args`: `|| <its direct value>`
    /// (`|| { let _ = ..; }` where the output was left open). Returns
    /// whether `e` was one.
    fn future_arg(&mut self, e: &syn::Expr) -> bool {
        let r = self.input.r(e);
        let Some(has_output) = self.scope.future_args.remove(&(r.start, r.end)) else {
            return false;
        };
        self.within(Region::Direct, |s| s.direct_value(e, None));
        let Ok(v) = self.out.edits.take_rendered(self.input.src, r.clone()) else {
            return false;
        };
        let text = if has_output {
            format!("move || {v}")
        } else {
            format!("move || {{ let _ = {v}; }}")
        };
        self.out.edits.replace(r, text);
        self.out.count("future argument -> closure");
        true
    }

    /// A call of a tokio async function that is not awaited where it is
    /// made (a future kept for later, pinned for `select!`): it stays
    /// tokio's future, named in full so a rewritten import cannot turn it
    /// into an eager call. Returns whether `c` was such a call.
    fn unawaited_async_call(&mut self, c: &syn::ExprCall) -> bool {
        let syn::Expr::Path(p) = &*c.func else {
            return false;
        };
        let Some(full) = self.resolve(&p.path) else {
            return false;
        };
        if full[0] != "tokio"
            || !matches!(
                self.input.table.target(&full),
                Some((_, crate::mapping::Kind::AsyncFn))
            )
        {
            return false;
        }
        let name = full.join("::");
        let r = self.input.r(&p.path);
        if self.input.text(r.clone()) != name {
            self.out.edits.replace(r, name.clone());
        }
        self.out.note(
            p.span(),
            format!("`{name}(..)` is not awaited here: it stays tokio's future"),
        );
        true
    }

    /// Whether `e` calls a function this run makes direct.
    fn is_direct_call(&self, e: &syn::Expr) -> bool {
        match e {
            syn::Expr::Call(c) => match &*c.func {
                syn::Expr::Path(p) => p.path.segments.last().is_some_and(|s| {
                    let n = s.ident.to_string();
                    if p.path.segments.len() == 1 {
                        self.input.an.is_direct_free_fn(&n)
                    } else {
                        self.input.an.is_direct(&n)
                    }
                }),
                _ => false,
            },
            syn::Expr::MethodCall(m) => self.input.an.is_direct(&m.method.to_string()),
            _ => false,
        }
    }

    /// Whether tokio's oneshot channel becomes weft's (the compiler loop
    /// may have kept it): only then is a receiver awaited as `.recv()`.
    fn oneshot_mapped(&self) -> bool {
        self.input
            .table
            .lookup(&["tokio", "sync", "oneshot", "Receiver"])
            .is_some()
    }

    /// What a call expression is, if it is one of the spawn family.
    fn call_kind(&self, e: &syn::Expr) -> Option<Maker> {
        let syn::Expr::Call(c) = e else { return None };
        let syn::Expr::Path(p) = &*c.func else {
            return None;
        };
        let full = self.resolve(&p.path)?;
        if full[0] == "tokio" && self.input.table.lookup(&full).is_none() {
            // Kept as it is (the compiler loop rolled its mapping back).
            return None;
        }
        let full: Vec<&str> = full.iter().map(String::as_str).collect();
        match full.as_slice() {
            ["tokio", "spawn"] | ["tokio", "task", "spawn"] | ["tokio", "task", "spawn_local"] => {
                Some(Maker::Spawn)
            }
            ["tokio", "task", "spawn_blocking"] => Some(Maker::SpawnBlocking),
            ["tokio", "sync", "oneshot", "channel"] => Some(Maker::Oneshot),
            ["tokio", "task", "JoinSet", "new"] => Some(Maker::JoinSet),
            ["futures", "stream", "FuturesUnordered", "new"]
            | ["futures", "FuturesUnordered", "new"] => Some(Maker::Unordered),
            _ => None,
        }
    }

    /// Visits an expression in the `Async` region: calls of functions
    /// this run made direct are adapted. Awaited, they run as a fiber
    /// (`weft_compat::run_fiber`, which works from any async context);
    /// not awaited (a future handed to a combinator, raced or stored),
    /// they become an async block that runs them as a fiber when first
    /// polled, so the future stays lazy and cancellable.
    fn async_expr(&mut self, e: &syn::Expr) {
        match e {
            syn::Expr::Await(a) if self.is_converted_call(&a.base) => {
                let r = self.input.r(&a.base);
                self.out
                    .edits
                    .insert(r.start, "weft_compat::run_fiber(move || ");
                self.out.edits.insert(r.end, ")");
                self.out.bridged(
                    a.base.span(),
                    "async code calls a function this run made direct; it runs as a fiber \
                     (weft_compat::run_fiber)",
                );
                self.visit_call_parts(&a.base);
            }
            syn::Expr::Await(a) => {
                if let syn::Expr::Call(c) = &*a.base {
                    // An import rewritten to weft must not change what
                    // async code awaits: name tokio's function in full.
                    if let syn::Expr::Path(p) = &*c.func {
                        let first = p.path.segments[0].ident.to_string();
                        if self.imports.rewritten.contains(&first) {
                            if let Some(full) = self.resolve(&p.path) {
                                let r = self.input.r(&p.path);
                                self.out.edits.replace(r, full.join("::"));
                            }
                        }
                    }
                }
                syn::visit::visit_expr(self, e);
            }
            syn::Expr::Call(_) | syn::Expr::MethodCall(_) if self.is_converted_call(e) => {
                // Not awaited here: the future is raced, extended or
                // stored, so it must stay a future that does nothing until
                // polled and is cancelled when dropped. An async block
                // around a fiber is that; `std::future::ready(call)` would
                // run the call to its end before the race began.
                let r = self.input.r(e);
                if mentions_any(e, &self.scope.borrowed_params) {
                    // It borrows what the function was lent: a fiber cannot
                    // own that, so the call runs in the poll that first
                    // reaches it (lazy still, but not raced while it runs).
                    self.out.edits.insert(r.start, "async move { ");
                    self.out.edits.insert(r.end, " }");
                    self.out.bridged(
                        e.span(),
                        "async code hands over the future of a function this run made direct; \
                         it borrows a parameter, so it runs when first polled, in that poll",
                    );
                } else {
                    self.out
                        .edits
                        .insert(r.start, "async move { weft_compat::run_fiber(move || ");
                    self.out.edits.insert(r.end, ").await }");
                    self.out.bridged(
                        e.span(),
                        "async code hands over the future of a function this run made direct; \
                         it runs as a fiber when first polled (weft_compat::run_fiber)",
                    );
                }
                self.visit_call_parts(e);
            }
            _ => syn::visit::visit_expr(self, e),
        }
    }

    /// A call of a function this run converts (method names shared with
    /// common std types do not count: `map.get(k)` is not `Store::get`
    /// unless awaited).
    fn is_converted_call(&self, e: &syn::Expr) -> bool {
        match e {
            syn::Expr::MethodCall(m) => {
                let n = m.method.to_string();
                self.input.an.is_direct(&n) && !crate::mapping::methods::is_std_name(&n)
            }
            syn::Expr::Call(_) => self.is_direct_call(e),
            _ => false,
        }
    }

    /// Visits the arguments (and receiver) of a call, not its function.
    fn visit_call_parts(&mut self, e: &syn::Expr) {
        match e {
            syn::Expr::Call(c) => {
                for a in &c.args {
                    self.visit_expr(a);
                }
            }
            syn::Expr::MethodCall(m) => {
                self.visit_expr(&m.receiver);
                for a in &m.args {
                    self.visit_expr(a);
                }
            }
            e => self.visit_expr(e),
        }
    }
}

/// A path's segments as strings (`tokio::sync::Mutex` -> `["tokio", "sync", "Mutex"]`).
pub(crate) fn path_idents(path: &syn::Path) -> Vec<String> {
    path.segments.iter().map(|s| s.ident.to_string()).collect()
}

/// `weft_compat::await_future(..)`, `weft_compat::run_fiber(..)`,
/// `std::future::ready(..)`: what a run leaves around code that stays async.
fn is_bridge_call(c: &syn::ExprCall) -> bool {
    let syn::Expr::Path(p) = &*c.func else {
        return false;
    };
    let segs: Vec<String> = path_idents(&p.path);
    matches!(
        segs.iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice(),
        ["weft_compat", "await_future" | "run_fiber"] | ["std", "future", "ready"]
    )
}

/// `#[weft::main]`, `#[weft::test]`, `#[weft::direct]` (or weft_compat's).
pub(crate) fn is_weft_attr(a: &syn::Attribute) -> bool {
    let segs: Vec<String> = path_idents(a.path());
    segs.len() == 2
        && (segs[0] == "weft" || segs[0] == "weft_compat")
        && matches!(segs[1].as_str(), "main" | "test" | "direct")
}

/// An entry attribute of another async runtime (`#[async_std::test]`,
/// `#[actix_rt::main]`, ...): its macro wants an `async fn` and runs it on
/// that runtime, so the function stays async.
pub(crate) fn is_foreign_entry_attr(a: &syn::Attribute) -> bool {
    let segs: Vec<String> = path_idents(a.path());
    segs.len() >= 2
        && matches!(segs[segs.len() - 1].as_str(), "main" | "test")
        && !matches!(segs[0].as_str(), "tokio" | "weft" | "weft_compat")
}

/// `async fn`'s entry attribute: `main` or `test`.
fn entry_kind(a: &syn::Attribute) -> Option<&'static str> {
    let segs: Vec<String> = path_idents(a.path());
    match segs
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["tokio", "main"] => Some("main"),
        ["tokio", "test"] => Some("test"),
        _ => None,
    }
}

/// `fn f() -> impl Future<Output = T> (+ Send ..)`: the `T`. A trait
/// method declared so (Rust 1.75's return-position `impl Trait`, often
/// written instead of `async fn` to require `Send`) is an async method.
/// Boxed futures count too: `Pin<Box<dyn Future<Output = T> + Send + 'a>>`
/// and futures' `BoxFuture<'a, T>` / `LocalBoxFuture<'a, T>` (how
/// recursive async functions and pre-1.75 async traits are written).
/// The parameters of `sig` that are borrowed: `self` taken by reference,
/// and every named parameter whose type is a reference.
fn borrowed_params(sig: &syn::Signature) -> std::collections::HashSet<String> {
    let mut out = std::collections::HashSet::new();
    for input in &sig.inputs {
        match input {
            syn::FnArg::Receiver(r) if matches!(&*r.ty, syn::Type::Reference(_)) => {
                out.insert("self".to_string());
            }
            syn::FnArg::Typed(t) if matches!(&*t.ty, syn::Type::Reference(_)) => {
                if let syn::Pat::Ident(id) = &*t.pat {
                    out.insert(id.ident.to_string());
                }
            }
            _ => {}
        }
    }
    out
}

/// Whether expression `e` names any of `names` (as an identifier anywhere
/// in its tokens).
fn mentions_any(e: &syn::Expr, names: &std::collections::HashSet<String>) -> bool {
    fn walk(ts: proc_macro2::TokenStream, names: &std::collections::HashSet<String>) -> bool {
        ts.into_iter().any(|t| match t {
            proc_macro2::TokenTree::Ident(i) => names.contains(&i.to_string()),
            proc_macro2::TokenTree::Group(g) => walk(g.stream(), names),
            _ => false,
        })
    }
    !names.is_empty() && walk(quote::ToTokens::to_token_stream(e), names)
}

pub(crate) fn impl_future_output(sig: &syn::Signature) -> Option<&syn::Type> {
    if sig.asyncness.is_some() {
        return None;
    }
    let syn::ReturnType::Type(_, ty) = &sig.output else {
        return None;
    };
    match &**ty {
        syn::Type::ImplTrait(it) => future_bound_output(&it.bounds),
        syn::Type::Path(p) => boxed_future_output(&p.path),
        _ => None,
    }
}

/// The `T` of a `Future<Output = T>` among `bounds`.
fn future_bound_output(
    bounds: &syn::punctuated::Punctuated<syn::TypeParamBound, syn::Token![+]>,
) -> Option<&syn::Type> {
    let mut output = None;
    for b in bounds {
        if let syn::TypeParamBound::Trait(t) = b {
            let last = t.path.segments.last()?;
            if last.ident == "Future" {
                output = generic_args(last)
                    .find_map(|a| match a {
                        syn::GenericArgument::AssocType(at) if at.ident == "Output" => Some(&at.ty),
                        _ => None,
                    })
                    .or(output);
            }
        }
    }
    output
}

/// The `T` of `Pin<Box<dyn Future<Output = T> ..>>` or `BoxFuture<'_, T>`.
fn boxed_future_output(path: &syn::Path) -> Option<&syn::Type> {
    let last = path.segments.last()?;
    if last.ident == "BoxFuture" || last.ident == "LocalBoxFuture" {
        return only_type(last);
    }
    if last.ident != "Pin" {
        return None;
    }
    let syn::Type::Path(boxed) = only_type(last)? else {
        return None;
    };
    let box_seg = boxed.path.segments.last().filter(|s| s.ident == "Box")?;
    match only_type(box_seg)? {
        syn::Type::TraitObject(o) => future_bound_output(&o.bounds),
        _ => None,
    }
}

/// The first type argument of a path segment (`Box<T>`: `T`).
fn only_type(seg: &syn::PathSegment) -> Option<&syn::Type> {
    generic_args(seg).find_map(|a| match a {
        syn::GenericArgument::Type(t) => Some(t),
        _ => None,
    })
}

/// The generic arguments of a path segment (`<..>`), if any.
fn generic_args(seg: &syn::PathSegment) -> impl Iterator<Item = &syn::GenericArgument> {
    let args = match &seg.arguments {
        syn::PathArguments::AngleBracketed(a) => Some(a.args.iter()),
        _ => None,
    };
    args.into_iter().flatten()
}

/// `Box::pin(async move { .. })` or `async move { .. }.boxed()`: the async
/// block a boxed future is made of.
fn boxed_async(e: &syn::Expr) -> Option<&syn::ExprAsync> {
    match e {
        syn::Expr::Async(a) => Some(a),
        syn::Expr::Call(c) if c.args.len() == 1 => {
            let syn::Expr::Path(p) = &*c.func else {
                return None;
            };
            let segs: Vec<String> = path_idents(&p.path);
            if segs.ends_with(&["Box".to_string(), "pin".to_string()]) {
                match &c.args[0] {
                    syn::Expr::Async(a) => Some(a),
                    _ => None,
                }
            } else {
                None
            }
        }
        syn::Expr::MethodCall(m)
            if m.args.is_empty() && (m.method == "boxed" || m.method == "boxed_local") =>
        {
            match &*m.receiver {
                syn::Expr::Async(a) => Some(a),
                _ => None,
            }
        }
        _ => None,
    }
}

/// `fn f() -> impl Future<Output = T> { async move { .. } }` (or a boxed
/// future made by `Box::pin(async move { .. })`): the `T` and the async
/// block.
pub(crate) fn impl_future_body<'b>(
    sig: &'b syn::Signature,
    block: &'b syn::Block,
) -> Option<(&'b syn::Type, &'b syn::ExprAsync)> {
    let output = impl_future_output(sig)?;
    if block.stmts.len() != 1 {
        return None;
    }
    match &block.stmts[0] {
        syn::Stmt::Expr(e, None) => boxed_async(e).map(|a| (output, a)),
        _ => None,
    }
}

impl<'ast> Visit<'ast> for Rw<'_> {
    fn visit_file(&mut self, f: &'ast syn::File) {
        // Top-level use items were handled up front by `use_item`.
        for item in &f.items {
            if !matches!(item, syn::Item::Use(_)) {
                self.visit_item(item);
            }
        }
    }

    fn visit_local(&mut self, l: &'ast syn::Local) {
        if self.scope.region == Region::Direct && self.scope.paths_on && self.deadline_let(l) {
            return;
        }
        syn::visit::visit_local(self, l);
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        // Use items are handled when their scope is entered; one in a
        // place no scope looked at (a macro's statements) is handled here.
        self.scope_uses([u]);
    }

    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        let Some((_, items)) = &m.content else {
            return;
        };
        // An inline module sees its parent's imports only through
        // `use super::*`; its own imports end with it.
        let saved = self.imports.save_scope();
        if !uses::globs_super(items) {
            self.imports.clear_scope();
        }
        self.scope_uses(uses::scope_use_items(items));
        for item in items {
            self.visit_item(item);
        }
        self.imports.restore_scope(saved);
    }

    fn visit_item_macro(&mut self, m: &'ast syn::ItemMacro) {
        if m.mac.path.is_ident("macro_rules") {
            return;
        }
        self.visit_macro(&m.mac);
    }

    fn visit_attribute(&mut self, _: &'ast syn::Attribute) {}

    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        let foreign = f.attrs.iter().any(is_foreign_entry_attr);
        self.function(&f.attrs, &f.sig, Some(&f.block), !foreign);
    }

    fn visit_item_trait(&mut self, t: &'ast syn::ItemTrait) {
        if self.input.an.local_traits.contains(&t.ident.to_string()) {
            for a in &t.attrs {
                if analysis::is_async_trait_attr(a) {
                    if self.input.file_selected {
                        self.delete_attr(a);
                        self.imports.async_trait.removed += 1;
                        self.out.count("#[async_trait]");
                    } else {
                        self.imports.async_trait.kept += 1;
                    }
                }
            }
        }
        // A held trait (analysis `settle`) keeps its async methods.
        let held = self.input.an.held_traits.contains(&t.ident.to_string());
        let saved = std::mem::replace(&mut self.scope.impl_convertible, !held);
        syn::visit::visit_item_trait(self, t);
        self.scope.impl_convertible = saved;
    }

    fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
        let conv = self.scope.impl_convertible;
        self.function(&f.attrs, &f.sig, f.default.as_ref(), conv);
    }

    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        let convertible = match &i.trait_ {
            None => true,
            Some((_, path, _)) => path
                .segments
                .last()
                .is_some_and(|s| self.input.an.local_traits.contains(&s.ident.to_string())),
        };
        for a in &i.attrs {
            if analysis::is_async_trait_attr(a) {
                if convertible {
                    self.delete_attr(a);
                    self.imports.async_trait.removed += 1;
                    self.out.count("#[async_trait]");
                } else {
                    self.imports.async_trait.kept += 1;
                }
            }
        }
        let saved = std::mem::replace(&mut self.scope.impl_convertible, convertible);
        let self_name = match &*i.self_ty {
            syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
            _ => None,
        };
        let saved_self = std::mem::replace(&mut self.scope.impl_self, self_name);
        let paths = self.scope.paths_on;
        // Paths in the impl header (its generics' bounds, its self type).
        self.visit_generics(&i.generics);
        self.visit_type(&i.self_ty);
        for item in &i.items {
            self.visit_impl_item(item);
        }
        self.scope.paths_on = paths;
        self.scope.impl_convertible = saved;
        self.scope.impl_self = saved_self;
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        let conv = self.scope.impl_convertible;
        self.function(&f.attrs, &f.sig, Some(&f.block), conv);
    }

    fn visit_block(&mut self, b: &'ast syn::Block) {
        // A block's own imports end with it (a function body's were
        // recorded by `function`, which restores the scope).
        let own: Vec<&syn::ItemUse> = uses::block_use_items(b)
            .filter(|u| !self.imports.handled.contains(&self.input.r(*u).start))
            .collect();
        let saved = (!own.is_empty()).then(|| self.imports.save_scope());
        self.scope_uses(own);
        let runtimes = self.scope.runtimes.clone();
        if self.scope.region != Region::Async && self.scope.paths_on {
            for (name, i) in self.runtime_lets(b) {
                self.scope.runtimes.insert(name);
                let at = self.input.r(&b.stmts[i]).start;
                self.out.deleted_stmts.insert(at);
            }
        }
        self.visit_block_stmts(b);
        self.scope.runtimes = runtimes;
        if let Some(s) = saved {
            self.imports.restore_scope(s);
        }
    }
    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        let needs_semi = std::mem::replace(&mut self.scope.stmt_needs_semi, false);
        self.macro_call(m, needs_semi);
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        if self.scope.paths_on && self.scope.region != Region::Async {
            if let Some(full) = self.resolve(p) {
                match self.input.table.target(&full) {
                    Some((_, kind))
                        if kind != crate::mapping::Kind::AsyncFn
                            && crate::mapping::rewrites_crate(&full[0]) =>
                    {
                        self.rewrite_path(p, &full);
                    }
                    Some(_) => {}
                    None if full[0] == "tokio" && full.len() > 1 => {
                        let name = full.join("::");
                        if self.out.unmapped_noted.insert(name.clone()) {
                            self.out.note(
                                p.span(),
                                format!("`{name}` has no weft counterpart: left as it is"),
                            );
                        }
                    }
                    None => {}
                }
            }
        }
        syn::visit::visit_path(self, p);
    }

    fn visit_expr(&mut self, e: &'ast syn::Expr) {
        if self.scope.region == Region::Async {
            return self.async_expr(e);
        }
        if self.scope.paths_on {
            if !self.scope.future_args.is_empty() && self.future_arg(e) {
                return;
            }
            self.mark_future_args(e);
        }
        self.rewrite_expr(e);
    }
}

impl Rw<'_> {
    /// The statements of a block, each knowing whether a macro statement
    /// needs a `;` once rewritten.
    fn visit_block_stmts(&mut self, b: &syn::Block) {
        let n = b.stmts.len();
        for (i, s) in b.stmts.iter().enumerate() {
            if self.out.deleted_stmts.contains(&self.input.r(s).start) {
                continue;
            }
            let needs = matches!(s, syn::Stmt::Macro(m) if m.semi_token.is_none()) && i + 1 < n;
            let saved = std::mem::replace(&mut self.scope.stmt_needs_semi, needs);
            self.visit_stmt(s);
            self.scope.stmt_needs_semi = saved;
        }
    }
}
