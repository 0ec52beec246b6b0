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
//! Submodules: `analysis` (pass 0, across files), `kind` ([`Held`]:
//! what a field, a return value or a local holds, shared by both passes),
//! `uses` (use items), `macros` (`join!`, `try_join!`, `select!`, ...: the
//! registry `MACRO_RULES`), `calls` (awaited calls: the registry
//! `AWAITED_CALL_RULES` for calls of named functions). Rules that decide
//! on a method's name ask [`crate::mapping::methods`].

mod analysis;
mod block_on;
mod calls;
mod cleanup;
mod deadline;
mod doc;
mod items;
mod kind;
mod macros;
mod scoped;
mod use_tree;
mod uses;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;

use proc_macro2::Span;
use serde::Serialize;
use syn::spanned::Spanned;
use syn::visit::Visit;

pub use analysis::{Analysis, Selection};
pub use doc::{doc_example_lines, doc_examples_code};
pub use items::{enclosing_fn, enclosing_stmts, fn_items, fn_names, FnItem};
pub use kind::Held;
use kind::Maker;

use crate::edit::Edits;
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
        src,
        file,
        table,
        an,
        sel,
        opts,
        edits: Edits::default(),
        imports: HashMap::new(),
        rewritten_imports: HashSet::new(),
        file_selected,
        region: Region::Sync,
        paths_on: file_selected,
        locals: HashMap::new(),
        impl_convertible: true,
        uses_tokio: src.contains("tokio"),
        stmt_needs_semi: false,
        out: FileRewrite::default(),
        async_trait_removed: 0,
        async_trait_kept: 0,
        async_trait_uses: Vec::new(),
        unmapped_noted: HashSet::new(),
        handled_uses: HashSet::new(),
        runtimes: HashSet::new(),
        kept_runtimes,
        stream_yield: None,
        self_mut: None,
        future_args: HashMap::new(),
        deleted_stmts: HashSet::new(),
        impl_self: None,
    };
    // Imports first: a use item may come after the code that relies on it.
    // Nested ones (in inline modules and function bodies) hold in their
    // scope only: they are recorded and rewritten where the visit enters
    // it, under the selection that holds there.
    rw.scope_uses(uses::scope_use_items(&ast.items));
    rw.visit_file(ast);
    if rw.async_trait_removed > 0 && rw.async_trait_kept == 0 {
        for r in std::mem::take(&mut rw.async_trait_uses) {
            let end = rw.skip_ws(r.end);
            rw.edits.delete(r.start..end);
        }
    }
    let Rw { edits, mut out, .. } = rw;
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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Region {
    Sync,
    Direct,
    Async,
}

struct Rw<'a> {
    src: &'a str,
    file: &'a str,
    table: &'a Table,
    an: &'a Analysis,
    sel: &'a Selection,
    opts: &'a Options,
    edits: Edits,
    /// Local name -> full path, for names imported from tokio, futures
    /// and async_trait.
    imports: HashMap<String, Vec<String>>,
    /// Local names whose use item was rewritten to the weft target.
    rewritten_imports: HashSet<String>,
    file_selected: bool,
    region: Region,
    paths_on: bool,
    locals: HashMap<String, Held>,
    impl_convertible: bool,
    uses_tokio: bool,
    stmt_needs_semi: bool,
    out: FileRewrite,
    async_trait_removed: usize,
    async_trait_kept: usize,
    async_trait_uses: Vec<Range<usize>>,
    /// tokio paths already reported as having no counterpart.
    unmapped_noted: HashSet<String>,
    /// Start offsets of the use items already recorded in their scope.
    handled_uses: HashSet<usize>,
    /// Locals holding a tokio runtime used only for `block_on` (their
    /// `let` is gone).
    runtimes: HashSet<String>,
    /// Runtimes kept as values (a struct field, a local moved somewhere)
    /// that are only driven with `block_on`: their names, when the file's
    /// runtimes all become `weft::Runtime` (`None`: they stay tokio's).
    kept_runtimes: Option<HashSet<String>>,
    /// Inside an `async_stream::stream!` (`Some(false)`) or `try_stream!`
    /// (`Some(true)`) body being rewritten: `yield` sends.
    stream_yield: Option<bool>,
    /// In a method: whether its `self` is a reference, and whether it can
    /// be borrowed mutably (`&mut self`, `mut self`).
    self_mut: Option<(bool, bool)>,
    /// Arguments (by byte range) that become closures, and whether their
    /// parameter names its output (see `mark_future_args`).
    future_args: HashMap<(usize, usize), bool>,
    /// Start offsets of statements deleted whole (not visited).
    deleted_stmts: HashSet<usize>,
    /// The type an enclosing impl block is for (`impl S` / `impl T for S`).
    impl_self: Option<String>,
}

/// Saved visitor state around a function.
struct Saved {
    region: Region,
    self_mut: Option<(bool, bool)>,
    paths_on: bool,
    locals: HashMap<String, Held>,
    scope: ImportScope,
}

/// The imports in scope (saved and restored around a module or a block).
struct ImportScope {
    imports: HashMap<String, Vec<String>>,
    rewritten: HashSet<String>,
}

impl<'a> Rw<'a> {
    fn r(&self, s: &impl Spanned) -> Range<usize> {
        let r = s.span().byte_range();
        r.start.min(self.src.len())..r.end.min(self.src.len())
    }

    fn rs(&self, s: Span) -> Range<usize> {
        let r = s.byte_range();
        r.start.min(self.src.len())..r.end.min(self.src.len())
    }

    fn text(&self, r: Range<usize>) -> &'a str {
        &self.src[r]
    }

    /// The first byte at or after `at` that is not whitespace.
    fn skip_ws(&self, at: usize) -> usize {
        let rest = &self.src[at..];
        at + (rest.len() - rest.trim_start().len())
    }

    fn note(&mut self, span: Span, message: impl Into<String>) {
        let at = span.start();
        self.out.notes.push(Note {
            line: at.line,
            column: at.column + 1,
            message: message.into(),
        });
    }

    fn count(&mut self, kind: &str) {
        *self.out.conversions.entry(kind.to_string()).or_insert(0) += 1;
    }

    fn bridged(&mut self, span: Span, why: &str) {
        self.out.bridged += 1;
        self.note(span, format!("bridged: {why}"));
    }

    fn save(&mut self) -> Saved {
        Saved {
            region: self.region,
            self_mut: self.self_mut,
            paths_on: self.paths_on,
            locals: std::mem::take(&mut self.locals),
            scope: self.save_scope(),
        }
    }

    fn restore(&mut self, s: Saved) {
        self.region = s.region;
        self.self_mut = s.self_mut;
        self.paths_on = s.paths_on;
        self.locals = s.locals;
        self.restore_scope(s.scope);
    }

    fn save_scope(&self) -> ImportScope {
        ImportScope {
            imports: self.imports.clone(),
            rewritten: self.rewritten_imports.clone(),
        }
    }

    fn restore_scope(&mut self, s: ImportScope) {
        self.imports = s.imports;
        self.rewritten_imports = s.rewritten;
    }

    /// Records (and where paths are rewritten, rewrites) the use items of
    /// one scope before the code of the scope is visited.
    fn scope_uses<'u>(&mut self, uses: impl IntoIterator<Item = &'u syn::ItemUse>) {
        for u in uses {
            if self.handled_uses.insert(self.r(u).start) {
                self.use_item(u);
            }
        }
    }

    /// Runs `f` with the region set to `region` (paths rewritten unless the
    /// region stays async).
    fn within(&mut self, region: Region, f: impl FnOnce(&mut Self)) {
        let (r, p) = (self.region, self.paths_on);
        self.region = region;
        if region == Region::Async {
            self.paths_on = false;
        }
        f(self);
        self.region = r;
        self.paths_on = p;
    }

    /// The full path a path names, through this file's imports; `None`
    /// for paths that name nothing imported from a mapped crate.
    fn resolve(&self, path: &syn::Path) -> Option<Vec<String>> {
        let segs: Vec<String> = path_idents(path);
        let first = segs.first()?;
        if path.leading_colon.is_none() {
            if let Some(full) = self.imports.get(first) {
                if path.segments.len() == 1 && self.locals.contains_key(first) {
                    return None;
                }
                let mut v = full.clone();
                v.extend(segs[1..].iter().cloned());
                return Some(v);
            }
        }
        if first == "tokio" || first == "futures" || self.table.lookup(&segs).is_some() {
            return Some(segs);
        }
        None
    }

    /// Rewrites `path` (resolved to `full`) to its mapped target where the
    /// text does not already mean it (through a rewritten import). Returns
    /// whether the path has a target.
    fn rewrite_path(&mut self, path: &syn::Path, full: &[String]) -> bool {
        let Some((target, _)) = self.table.target(full) else {
            return false;
        };
        let segs = &path.segments;
        let first = segs[0].ident.to_string();
        let imported = path.leading_colon.is_none() && self.imports.contains_key(&first);
        if imported && self.rewritten_imports.contains(&first) {
            // The alias now names the target of the import; the path means
            // its target unless a deeper row maps it elsewhere.
            let import = &self.imports[&first];
            let alias_meaning = self
                .table
                .target(import)
                .map(|(t, _)| {
                    let mut s = t;
                    for seg in &full[import.len()..] {
                        s.push_str("::");
                        s.push_str(seg);
                    }
                    s
                })
                .unwrap_or_default();
            if alias_meaning == target {
                return true;
            }
        }
        // Replace up to the last segment without generic arguments so
        // `mpsc::channel::<u8>` keeps its turbofish.
        let offset = if imported {
            self.imports[&first].len() as isize - 1
        } else {
            0
        };
        let covered_by = |last: usize| (last as isize + offset + 1) as usize;
        let mut last = segs.len() - 1;
        while last > 0 && !matches!(segs[last].arguments, syn::PathArguments::None) {
            last -= 1;
        }
        let prefix_target = self.table.target(&full[..covered_by(last).min(full.len())]);
        // Where only the whole path has a row (`tcp::WriteHalf<'_>`, whose
        // module `tokio::net::tcp` has none), replace up to the last
        // segment's name: its arguments stay after it.
        let whole = segs.len() - 1;
        let Some((text, _)) = prefix_target.or_else(|| {
            last = whole;
            self.table
                .target(&full[..covered_by(whole).min(full.len())])
        }) else {
            return false;
        };
        let start = self.r(path).start;
        let end = self.rs(segs[last].ident.span()).end;
        if self.edits.touches(&(start..end)) {
            return true;
        }
        if self.text(start..end) != text {
            self.edits.replace(start..end, text);
        }
        true
    }

    /// Deletes an attribute and the whitespace after it.
    fn delete_attr(&mut self, a: &syn::Attribute) {
        let r = self.r(a);
        let end = self.skip_ws(r.end);
        self.edits.delete(r.start..end);
    }

    /// Deletes the `async` keyword of a signature.
    fn delete_async(&mut self, tok: &syn::token::Async) {
        let r = self.rs(tok.span);
        let end = self.skip_ws(r.end);
        self.edits.delete(r.start..end);
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
        self.self_mut = sig.receiver().map(|r| {
            let by_ref = matches!(&*r.ty, syn::Type::Reference(_));
            let mutable = r.mutability.is_some()
                || matches!(&*r.ty, syn::Type::Reference(t) if t.mutability.is_some());
            (by_ref, mutable)
        });
        let name = sig.ident.to_string();
        let selected = convertible && self.sel.function(self.file, &name);
        if selected && !self.file_selected {
            self.paths_on = true;
        }
        let entry = attrs.iter().find_map(|a| entry_kind(a).map(|k| (a, k)));
        if sig.asyncness.is_some() && attrs.iter().any(is_weft_attr) {
            // Already weft's: the macro converts the body.
            self.region = Region::Async;
            self.paths_on = false;
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
                let keep = entry.is_some() && self.opts.keep_async_entry && !run_in_body;
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
                self.count("async fn");
                self.region = Region::Direct;
            } else {
                if attrs.iter().any(is_foreign_entry_attr) {
                    self.note(
                        tok.span,
                        format!(
                            "`async fn {name}` kept: another runtime's entry attribute runs it"
                        ),
                    );
                } else if !convertible {
                    self.note(
                        tok.span,
                        format!(
                            "`async fn {name}` kept: it implements a trait not declared in the \
                             migrated files"
                        ),
                    );
                }
                self.region = Region::Async;
                self.paths_on = false;
            }
        } else if let (Some((ty, inner)), true) = (impl_future, selected) {
            let ret = self.r(&sig.output);
            let ty_text = self.text(self.r(ty)).to_string();
            self.edits.replace(ret, format!("-> {ty_text}"));
            if let Some(b) = block {
                let outer = self.r(b);
                let inner_r = self.r(&inner.block);
                self.count("impl Future fn");
                self.region = Region::Direct;
                for input in &sig.inputs {
                    self.visit_fn_arg(input);
                }
                self.scope_uses(uses::block_use_items(&inner.block));
                self.scan_locals(&inner.block);
                self.visit_block(&inner.block);
                // The async block's body becomes the function's, one
                // level of indentation less when that is safe.
                let body = self
                    .edits
                    .take_rendered(self.src, inner_r.clone())
                    .unwrap_or_else(|_| self.text(inner_r.clone()).to_string());
                let indent = |at: usize| -> String {
                    let ls = self.src[..at].rfind('\n').map_or(0, |i| i + 1);
                    self.src[ls..]
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
                self.edits.replace(outer, body);
                self.restore(saved);
                return;
            }
        } else if let (None, Some(ty), true) = (block, impl_future_output(sig), selected) {
            // A trait method declared `-> impl Future<Output = T> + Send`:
            // its implementations become direct, so it returns `T`.
            self.region = Region::Sync;
            self.direct_output(&sig.output, ty);
            output_done = true;
        } else {
            self.region = Region::Sync;
        }
        if self.region != Region::Async {
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
            if self.region != Region::Async && self.paths_on {
                self.scan_locals(b);
                for input in &sig.inputs {
                    if let syn::FnArg::Typed(t) = input {
                        self.param_local(t);
                    }
                }
                if sig.asyncness.is_some() && self.region == Region::Direct {
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
        let ty_r = self.r(ty);
        self.visit_type(ty);
        let text = self
            .edits
            .take_rendered(self.src, ty_r.clone())
            .unwrap_or_else(|_| self.text(ty_r).to_string());
        let ret = self.r(output);
        self.edits.replace(ret, format!("-> {text}"));
        self.count("impl Future method declaration");
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
        let r = self.r(&b.stmts[0]);
        let whole = self.whole_line(r.clone());
        self.edits.delete(whole);
        self.deleted_stmts.insert(r.start);
        true
    }

    /// `#[tokio::main]` on a function other than `main`: the attribute
    /// goes and the body runs in `weft::run` (`weft_compat::tokio::run`
    /// while bridges remain, so their futures find tokio).
    fn entry_run(&mut self, attr: &syn::Attribute, body: &syn::Block) {
        let r = self.r(attr);
        let end = self.skip_ws(r.end);
        self.edits.delete(r.start..end);
        let run = if self.opts.keep_async_entry {
            "weft_compat::tokio::run"
        } else {
            "weft::run"
        };
        let b = self.r(body);
        self.edits.insert(b.start + 1, format!(" {run}(|_env| {{"));
        self.edits.insert(b.end - 1, "}) ");
        self.count("#[tokio::main]");
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
                self.note(
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
        let r = self.r(attr);
        self.edits.replace(r, text);
        self.count(if kind == "main" {
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
        let Some(key) = analysis::future_fn_key(self.file, sig, self.impl_self.is_some()) else {
            return;
        };
        let Some(params) = self.an.future_params.get(&key) else {
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
                                        Some(self.text(self.r(&at.ty)).to_string())
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
                    other => bounds.push(self.text(self.r(other)).to_string()),
                }
            }
            let r = self.r(&*t.ty);
            // Edits inside the type (none expected) give way to it.
            let _ = self.edits.take_rendered(self.src, r.clone());
            self.edits
                .replace(r, format!("impl {}", bounds.join(" + ")));
            self.locals.insert(pi.ident.to_string(), Held::FutureFn);
            self.count("impl Future parameter -> impl FnOnce");
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
                        1 => analysis::file_module(self.file),
                        n => match segs[n - 2].as_str() {
                            "self" => analysis::file_module(self.file),
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
        let params = match self.an.future_params.get(&key) {
            Some(p) => p,
            None if !key.starts_with('.') => {
                let mut of_name = self
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
        if !self.an.is_direct(&name) {
            return;
        }
        for &(i, has_output) in params {
            if let Some(a) = args.iter().nth(i) {
                let r = self.r(a);
                self.future_args.insert((r.start, r.end), has_output);
            }
        }
    }

    /// An argument marked by `mark_future_args`: `|| <its direct value>`
    /// (`|| { let _ = ..; }` where the output was left open). Returns
    /// whether `e` was one.
    fn future_arg(&mut self, e: &syn::Expr) -> bool {
        let r = self.r(e);
        let Some(has_output) = self.future_args.remove(&(r.start, r.end)) else {
            return false;
        };
        self.within(Region::Direct, |s| s.direct_value(e, None));
        let Ok(v) = self.edits.take_rendered(self.src, r.clone()) else {
            return false;
        };
        let text = if has_output {
            format!("move || {v}")
        } else {
            format!("move || {{ let _ = {v}; }}")
        };
        self.edits.replace(r, text);
        self.count("future argument -> closure");
        true
    }

    fn param_local(&mut self, t: &syn::PatType) {
        if let syn::Pat::Ident(pi) = &*t.pat {
            if let Some(kind) = Held::of_type(&t.ty).and_then(|k| k.as_local(self.oneshot_mapped()))
            {
                self.locals.insert(pi.ident.to_string(), kind);
            }
        }
    }

    /// Records what locals of a body hold (flow-insensitively).
    fn scan_locals(&mut self, b: &syn::Block) {
        let mut s = LocalScan {
            rw: self,
            found: Vec::new(),
            loops: Vec::new(),
        };
        s.visit_block(b);
        let (found, loops) = (s.found, s.loops);
        let mut resets = Vec::new();
        deadline::reset_targets(quote::ToTokens::to_token_stream(b), &mut resets);
        for (name, kind) in found {
            let kind = match kind {
                Held::Deadline if resets.contains(&name) => Held::DeadlineReset,
                k => k,
            };
            self.locals.insert(name, kind);
        }
        for (vec, var) in loops {
            if self.locals.get(&vec) == Some(&Held::HandleVec) {
                self.locals.insert(var, Held::JoinHandle);
            }
        }
    }

    /// The element kinds a call of a function of the run returns (through
    /// `.await`, `?` and `.unwrap()`).
    fn returned_kinds(&self, mut e: &syn::Expr) -> Option<&Vec<Option<Held>>> {
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
        self.an.returns.get(&name)
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
                self.table.target(&full),
                Some((_, crate::mapping::Kind::AsyncFn))
            )
        {
            return false;
        }
        let name = full.join("::");
        let r = self.r(&p.path);
        if self.text(r.clone()) != name {
            self.edits.replace(r, name.clone());
        }
        self.note(
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
                        self.an.is_direct_free_fn(&n)
                    } else {
                        self.an.is_direct(&n)
                    }
                }),
                _ => false,
            },
            syn::Expr::MethodCall(m) => self.an.is_direct(&m.method.to_string()),
            _ => false,
        }
    }

    /// Whether tokio's oneshot channel becomes weft's (the compiler loop
    /// may have kept it): only then is a receiver awaited as `.recv()`.
    fn oneshot_mapped(&self) -> bool {
        self.table
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
        if full[0] == "tokio" && self.table.lookup(&full).is_none() {
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
    /// not awaited (a future handed to a combinator), they become a ready
    /// future of their value.
    fn async_expr(&mut self, e: &syn::Expr) {
        match e {
            syn::Expr::Await(a) if self.is_converted_call(&a.base) => {
                let r = self.r(&a.base);
                self.edits
                    .insert(r.start, "weft_compat::run_fiber(move || ");
                self.edits.insert(r.end, ")");
                self.bridged(
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
                        if self.rewritten_imports.contains(&first) {
                            if let Some(full) = self.resolve(&p.path) {
                                let r = self.r(&p.path);
                                self.edits.replace(r, full.join("::"));
                            }
                        }
                    }
                }
                syn::visit::visit_expr(self, e);
            }
            syn::Expr::Call(_) | syn::Expr::MethodCall(_) if self.is_converted_call(e) => {
                let r = self.r(e);
                self.edits.insert(r.start, "std::future::ready(");
                self.edits.insert(r.end, ")");
                self.count("ready future of a direct call");
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
                self.an.is_direct(&n) && !crate::mapping::methods::is_std_name(&n)
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
        if self.region == Region::Direct && self.paths_on && self.deadline_let(l) {
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
        let saved = self.save_scope();
        if !uses::globs_super(items) {
            self.imports.clear();
            self.rewritten_imports.clear();
        }
        self.scope_uses(uses::scope_use_items(items));
        for item in items {
            self.visit_item(item);
        }
        self.restore_scope(saved);
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
        if self.an.local_traits.contains(&t.ident.to_string()) {
            for a in &t.attrs {
                if analysis::is_async_trait_attr(a) {
                    if self.file_selected {
                        self.delete_attr(a);
                        self.async_trait_removed += 1;
                        self.count("#[async_trait]");
                    } else {
                        self.async_trait_kept += 1;
                    }
                }
            }
        }
        // A held trait (analysis `settle`) keeps its async methods.
        let held = self.an.held_traits.contains(&t.ident.to_string());
        let saved = std::mem::replace(&mut self.impl_convertible, !held);
        syn::visit::visit_item_trait(self, t);
        self.impl_convertible = saved;
    }

    fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
        let conv = self.impl_convertible;
        self.function(&f.attrs, &f.sig, f.default.as_ref(), conv);
    }

    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        let convertible = match &i.trait_ {
            None => true,
            Some((_, path, _)) => path
                .segments
                .last()
                .is_some_and(|s| self.an.local_traits.contains(&s.ident.to_string())),
        };
        for a in &i.attrs {
            if analysis::is_async_trait_attr(a) {
                if convertible {
                    self.delete_attr(a);
                    self.async_trait_removed += 1;
                    self.count("#[async_trait]");
                } else {
                    self.async_trait_kept += 1;
                }
            }
        }
        let saved = std::mem::replace(&mut self.impl_convertible, convertible);
        let self_name = match &*i.self_ty {
            syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
            _ => None,
        };
        let saved_self = std::mem::replace(&mut self.impl_self, self_name);
        let paths = self.paths_on;
        // Paths in the impl header (its generics' bounds, its self type).
        self.visit_generics(&i.generics);
        self.visit_type(&i.self_ty);
        for item in &i.items {
            self.visit_impl_item(item);
        }
        self.paths_on = paths;
        self.impl_convertible = saved;
        self.impl_self = saved_self;
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        let conv = self.impl_convertible;
        self.function(&f.attrs, &f.sig, Some(&f.block), conv);
    }

    fn visit_block(&mut self, b: &'ast syn::Block) {
        // A block's own imports end with it (a function body's were
        // recorded by `function`, which restores the scope).
        let own: Vec<&syn::ItemUse> = uses::block_use_items(b)
            .filter(|u| !self.handled_uses.contains(&self.r(*u).start))
            .collect();
        let saved = (!own.is_empty()).then(|| self.save_scope());
        self.scope_uses(own);
        let runtimes = self.runtimes.clone();
        if self.region != Region::Async && self.paths_on {
            for (name, i) in self.runtime_lets(b) {
                self.runtimes.insert(name);
                let at = self.r(&b.stmts[i]).start;
                self.deleted_stmts.insert(at);
            }
        }
        self.visit_block_stmts(b);
        self.runtimes = runtimes;
        if let Some(s) = saved {
            self.restore_scope(s);
        }
    }
    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        let needs_semi = std::mem::replace(&mut self.stmt_needs_semi, false);
        self.macro_call(m, needs_semi);
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        if self.paths_on && self.region != Region::Async {
            if let Some(full) = self.resolve(p) {
                match self.table.target(&full) {
                    Some((_, kind))
                        if kind != crate::mapping::Kind::AsyncFn
                            && crate::mapping::rewrites_crate(&full[0]) =>
                    {
                        self.rewrite_path(p, &full);
                    }
                    Some(_) => {}
                    None if full[0] == "tokio" && full.len() > 1 => {
                        let name = full.join("::");
                        if self.unmapped_noted.insert(name.clone()) {
                            self.note(
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
        if self.region == Region::Async {
            return self.async_expr(e);
        }
        if self.paths_on {
            if !self.future_args.is_empty() && self.future_arg(e) {
                return;
            }
            self.mark_future_args(e);
        }
        match e {
            // What an earlier run bridged stays as it is: its argument is
            // still async code.
            syn::Expr::Call(c) if is_bridge_call(c) => {
                self.within(Region::Async, |s| {
                    for a in &c.args {
                        s.visit_expr(a);
                    }
                });
            }
            syn::Expr::Try(_) | syn::Expr::MethodCall(_)
                if self.region == Region::Direct && self.paths_on && self.blocking_unwrapped(e) => {
            }
            syn::Expr::Await(a) if self.region == Region::Direct => {
                let r = self.rs(a.dot_token.span).start..self.rs(a.await_token.span).end;
                self.direct_value(&a.base, Some(r));
            }
            syn::Expr::Call(_) if self.paths_on && self.call_kind(e).is_some() => {
                self.plain_call(e)
            }
            syn::Expr::Call(c) if self.paths_on && self.unawaited_async_call(c) => {
                for a in &c.args {
                    self.visit_expr(a);
                }
            }
            syn::Expr::MethodCall(m) if self.paths_on && self.set_method(m) => {}
            syn::Expr::Yield(y) if self.stream_yield(y) => {}
            syn::Expr::MethodCall(m) if self.paths_on && self.block_on(m) => {}
            syn::Expr::MethodCall(m) if self.paths_on && self.kept_block_on(m) => {}
            syn::Expr::MethodCall(m) if self.paths_on && self.kept_runtime_build(m) => {}
            syn::Expr::MethodCall(m)
                if self.region == Region::Direct && self.paths_on && self.deadline_method(m) => {}
            syn::Expr::Async(b) => {
                if self.region == Region::Direct {
                    self.note(
                        b.async_token.span,
                        "async block kept (not handed to spawn/join/select); it is awaited \
                         through the bridge where it is awaited",
                    );
                }
                self.within(Region::Async, |s| syn::visit::visit_expr_async(s, b));
            }
            syn::Expr::Closure(c) if c.asyncness.is_some() => {
                self.within(Region::Async, |s| syn::visit::visit_expr_closure(s, c));
            }
            _ => syn::visit::visit_expr(self, e),
        }
    }
}

impl Rw<'_> {
    /// The statements of a block, each knowing whether a macro statement
    /// needs a `;` once rewritten.
    fn visit_block_stmts(&mut self, b: &syn::Block) {
        let n = b.stmts.len();
        for (i, s) in b.stmts.iter().enumerate() {
            if self.deleted_stmts.contains(&self.r(s).start) {
                continue;
            }
            let needs = matches!(s, syn::Stmt::Macro(m) if m.semi_token.is_none()) && i + 1 < n;
            let saved = std::mem::replace(&mut self.stmt_needs_semi, needs);
            self.visit_stmt(s);
            self.stmt_needs_semi = saved;
        }
    }
}
