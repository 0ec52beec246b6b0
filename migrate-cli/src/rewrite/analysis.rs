//! Pass 0: what the run will convert, across every file, so a call site in
//! one file knows whether its callee in another becomes direct.

use std::collections::BTreeSet;

use syn::visit::Visit;

use super::Held;

/// Which functions become direct, which stay async, which traits are local.
///
/// ```
/// let f = syn::parse_file("async fn a() {} fn b() {} trait T { async fn m(&self); }").unwrap();
/// let mut an = weft_migrate::rewrite::Analysis::default();
/// an.add_file("src/lib.rs", &f, &weft_migrate::rewrite::Selection::all());
/// assert!(an.is_direct("a") && an.is_direct("m") && !an.is_direct("b"));
/// assert!(an.local_traits.contains("T"));
/// ```
#[derive(Clone, Debug, Default)]
pub struct Analysis {
    /// Async functions and methods converted by this run.
    pub converted: BTreeSet<String>,
    /// Async functions and methods that stay async.
    pub kept: BTreeSet<String>,
    /// Traits declared in the run's files that have async methods.
    pub local_traits: BTreeSet<String>,
    /// What the functions of the run return, element by element for a
    /// tuple ([`Held::of_type`]; `None`: anything else).
    pub returns: std::collections::BTreeMap<String, Vec<Option<Held>>>,
    /// Named struct fields by what they hold ([`Held::of_field_type`]), by
    /// name across the run's structs (a name held with two kinds maps to
    /// `None`) and by `Struct.name`.
    pub fields: std::collections::BTreeMap<String, Option<Held>>,
    /// Converted functions with `impl Future` parameters that the body
    /// only awaits (or selects on): the parameter's place among the typed
    /// parameters, and whether it names its `Output`. They become
    /// `impl FnOnce() -> T`, and callers pass a closure.
    pub future_params: std::collections::BTreeMap<String, Vec<(usize, bool)>>,
    /// The async methods of each trait declared in the run's files.
    pub trait_fns: std::collections::BTreeMap<String, BTreeSet<String>>,
    /// Traits declared or implemented in a file the compiler loop gave
    /// back whole: that file keeps its `#[async_trait]`, so the trait
    /// must too (see [`Analysis::settle`]).
    pub traits_in_kept_files: BTreeSet<String>,
    /// Local traits kept async as a whole after [`Analysis::settle`]: the
    /// declaration and every impl keep `#[async_trait]` and async methods.
    pub held_traits: BTreeSet<String>,
    /// The async methods of the held traits: awaited method calls of
    /// these names stay awaited (a free function of the same name, called
    /// by a one-segment path, is not one of them).
    pub held_methods: BTreeSet<String>,
    /// Async methods of impls of a trait not declared in their own file
    /// (by trait): converted by [`Analysis::settle`] when the trait turns
    /// out local to the run, kept otherwise.
    pub impl_fns_pending: std::collections::BTreeMap<String, BTreeSet<String>>,
}

fn return_kinds(sig: &syn::Signature) -> Vec<Option<Held>> {
    match &sig.output {
        syn::ReturnType::Default => Vec::new(),
        syn::ReturnType::Type(_, ty) => match &**ty {
            syn::Type::Tuple(t) => t.elems.iter().map(Held::of_type).collect(),
            ty => vec![Held::of_type(ty)],
        },
    }
}

/// Which files or functions `--only` selects (all when empty).
///
/// ```
/// let s = weft_migrate::rewrite::Selection::new(vec!["src/a.rs".into(), "helper".into()]);
/// assert!(s.file("src/a.rs"));
/// assert!(!s.file("src/b.rs"));
/// assert!(s.function("src/b.rs", "helper"));
/// ```
#[derive(Clone, Debug, Default)]
pub struct Selection {
    only: Vec<String>,
    /// Functions kept async whatever `only` says (rolled back by the
    /// compiler loop).
    kept_fns: std::collections::BTreeSet<String>,
    /// Files kept as they are whatever `only` says.
    kept_files: std::collections::BTreeSet<String>,
    /// Doc examples left as they were, `file#n` (the n-th Rust example of
    /// the file, from 0): the compiler loop's rollback of a doctest that
    /// no longer compiles.
    kept_docs: std::collections::BTreeSet<String>,
    /// Doc examples kept async, `file#n`: their own functions stay async
    /// and only their calls of the crate's functions made direct are
    /// bridged (the compiler loop's first answer to a doctest that no
    /// longer compiles).
    async_docs: std::collections::BTreeSet<String>,
}

impl Selection {
    /// Everything.
    ///
    /// ```
    /// assert!(weft_migrate::rewrite::Selection::all().file("x.rs"));
    /// ```
    pub fn all() -> Selection {
        Selection::default()
    }

    /// Only the given paths (a file or a directory prefix) or function names.
    ///
    /// ```
    /// assert!(weft_migrate::rewrite::Selection::new(vec!["src".into()]).file("src/x.rs"));
    /// ```
    pub fn new(only: Vec<String>) -> Selection {
        Selection {
            only: only
                .into_iter()
                .map(|s| s.trim_start_matches("./").trim_end_matches('/').to_string())
                .filter(|s| !s.is_empty())
                .collect(),
            ..Selection::default()
        }
    }

    /// This selection, with functions named `fns` kept async and files
    /// `files` kept as they are (the rollback of the compiler loop).
    ///
    /// ```
    /// use weft_migrate::rewrite::Selection;
    /// let s = Selection::all().without(["f".to_string()], ["src/b.rs".to_string()]);
    /// assert!(!s.function("src/a.rs", "f"));
    /// assert!(s.function("src/a.rs", "g"));
    /// assert!(!s.file("src/b.rs"));
    /// ```
    pub fn without(
        mut self,
        fns: impl IntoIterator<Item = String>,
        files: impl IntoIterator<Item = String>,
    ) -> Selection {
        self.kept_fns.extend(fns);
        self.kept_files.extend(files);
        self
    }

    /// This selection, with the doc examples `examples` (`(file, n)`: the
    /// n-th Rust example of the file, from 0) left as they were.
    ///
    /// ```
    /// use weft_migrate::rewrite::Selection;
    /// let s = Selection::all().without_doc_examples([("src/lib.rs".to_string(), 1)]);
    /// assert!(!s.doc_example("src/lib.rs", 1));
    /// assert!(s.doc_example("src/lib.rs", 0));
    /// ```
    pub fn without_doc_examples(
        mut self,
        examples: impl IntoIterator<Item = (String, usize)>,
    ) -> Selection {
        self.kept_docs
            .extend(examples.into_iter().map(|(f, n)| format!("{f}#{n}")));
        self
    }

    /// This selection, with the doc examples `examples` (`(file, n)`)
    /// kept async: their code stays as it was except that calls of the
    /// crate's functions this run makes direct are bridged (as code that
    /// `--only` leaves out).
    ///
    /// ```
    /// use weft_migrate::rewrite::Selection;
    /// let s = Selection::all().with_async_doc_examples([("src/lib.rs".to_string(), 1)]);
    /// assert!(s.doc_example_async("src/lib.rs", 1));
    /// assert!(!s.doc_example_async("src/lib.rs", 0));
    /// ```
    pub fn with_async_doc_examples(
        mut self,
        examples: impl IntoIterator<Item = (String, usize)>,
    ) -> Selection {
        self.async_docs
            .extend(examples.into_iter().map(|(f, n)| format!("{f}#{n}")));
        self
    }

    /// Whether the n-th Rust doc example of `file` is kept async (see
    /// [`Selection::with_async_doc_examples`]).
    ///
    /// ```
    /// assert!(!weft_migrate::rewrite::Selection::all().doc_example_async("a.rs", 0));
    /// ```
    pub fn doc_example_async(&self, file: &str, n: usize) -> bool {
        let file = file.trim_start_matches("./");
        self.async_docs.contains(&format!("{file}#{n}"))
    }

    /// Whether the n-th Rust doc example of `file` is rewritten.
    ///
    /// ```
    /// assert!(weft_migrate::rewrite::Selection::all().doc_example("a.rs", 0));
    /// ```
    pub fn doc_example(&self, file: &str, n: usize) -> bool {
        let file = file.trim_start_matches("./");
        !self.kept_docs.contains(&format!("{file}#{n}"))
    }

    /// The entries of `--only` that name none of `files` (nor a file
    /// under a directory entry) and none of `fns`.
    ///
    /// ```
    /// use weft_migrate::rewrite::Selection;
    /// let s = Selection::new(vec!["src".into(), "nope".into(), "f".into()]);
    /// assert_eq!(s.unmatched(&["src/a.rs"], &["f".to_string()]), ["nope"]);
    /// ```
    pub fn unmatched(&self, files: &[&str], fns: &[String]) -> Vec<String> {
        self.only
            .iter()
            .filter(|o| {
                let one = Selection::new(vec![(*o).clone()]);
                !files.iter().any(|f| one.file(f)) && !fns.iter().any(|f| f == *o)
            })
            .cloned()
            .collect()
    }

    /// Whether the compiler loop gave `file` back whole.
    ///
    /// ```
    /// use weft_migrate::rewrite::Selection;
    /// assert!(Selection::all().without([], ["src/a.rs".to_string()]).file_kept("./src/a.rs"));
    /// ```
    pub fn file_kept(&self, file: &str) -> bool {
        self.kept_files.contains(file.trim_start_matches("./"))
    }

    /// Whether the compiler loop keeps functions named `name` async.
    ///
    /// ```
    /// use weft_migrate::rewrite::Selection;
    /// assert!(Selection::all().without(["f".to_string()], []).fn_kept("f"));
    /// ```
    pub fn fn_kept(&self, name: &str) -> bool {
        self.kept_fns.contains(name)
    }

    /// Whether the whole file is selected.
    ///
    /// ```
    /// assert!(weft_migrate::rewrite::Selection::new(vec!["a.rs".into()]).file("./a.rs"));
    /// ```
    pub fn file(&self, file: &str) -> bool {
        let file = file.trim_start_matches("./");
        if self.kept_files.contains(file) {
            return false;
        }
        if self.only.is_empty() {
            return true;
        }
        self.only.iter().any(|o| {
            file == o
                || std::path::Path::new(file).starts_with(o)
                || file.ends_with(&format!("/{o}"))
        })
    }

    /// Whether function `name` of `file` is selected.
    ///
    /// ```
    /// assert!(weft_migrate::rewrite::Selection::new(vec!["f".into()]).function("x.rs", "f"));
    /// ```
    pub fn function(&self, file: &str, name: &str) -> bool {
        if self.kept_fns.contains(name) || self.kept_files.contains(file.trim_start_matches("./")) {
            return false;
        }
        self.file(file) || self.only.iter().any(|o| o == name)
    }
}

impl Analysis {
    /// Adds one file's functions and traits.
    ///
    /// ```
    /// let f = syn::parse_file("async fn x() {}").unwrap();
    /// let mut an = weft_migrate::rewrite::Analysis::default();
    /// an.add_file("a.rs", &f, &weft_migrate::rewrite::Selection::new(vec!["b.rs".into()]));
    /// assert!(!an.is_direct("x"));
    /// ```
    pub fn add_file(&mut self, file: &str, ast: &syn::File, sel: &Selection) {
        // Traits first: impls anywhere in the file need to know them.
        let mut traits = TraitScan::default();
        traits.visit_file(ast);
        self.local_traits.extend(traits.names);
        for (t, fns) in traits.fns {
            self.trait_fns.entry(t).or_default().extend(fns);
        }
        if sel.file_kept(file) {
            self.traits_in_kept_files
                .extend(traits.declared_or_implemented);
        }
        let mut scan = Scan {
            an: self,
            file,
            sel,
            impl_ok: true,
            impl_trait: None,
            strukt: None,
        };
        scan.visit_file(ast);
    }

    /// Adds what another file's analysis found.
    ///
    /// ```
    /// use weft_migrate::rewrite::{Analysis, Selection};
    /// let mut all = Analysis::default();
    /// for src in ["struct A { rx: tokio::sync::oneshot::Receiver<u8> } async fn a() {}", "struct B { rx: u8 }"] {
    ///     let mut an = Analysis::default();
    ///     an.add_file("x.rs", &syn::parse_file(src).unwrap(), &Selection::all());
    ///     all.merge(&an);
    /// }
    /// assert!(all.is_direct("a"));
    /// assert_eq!(all.field_kind("rx"), None); // two kinds: unknown
    /// ```
    pub fn merge(&mut self, other: &Analysis) {
        self.converted.extend(other.converted.iter().cloned());
        self.kept.extend(other.kept.iter().cloned());
        self.local_traits.extend(other.local_traits.iter().cloned());
        for (t, fns) in &other.trait_fns {
            self.trait_fns
                .entry(t.clone())
                .or_default()
                .extend(fns.iter().cloned());
        }
        self.traits_in_kept_files
            .extend(other.traits_in_kept_files.iter().cloned());
        self.held_traits.extend(other.held_traits.iter().cloned());
        self.held_methods.extend(other.held_methods.iter().cloned());
        for (t, fns) in &other.impl_fns_pending {
            self.impl_fns_pending
                .entry(t.clone())
                .or_default()
                .extend(fns.iter().cloned());
        }
        self.returns
            .extend(other.returns.iter().map(|(k, v)| (k.clone(), v.clone())));
        for (name, kind) in &other.fields {
            self.add_field(name, *kind);
        }
        for (name, params) in &other.future_params {
            match self.future_params.get(name) {
                // Two functions of one name that differ: neither is known.
                Some(p) if p != params => {
                    self.future_params.insert(name.clone(), Vec::new());
                }
                _ => {
                    self.future_params.insert(name.clone(), params.clone());
                }
            }
        }
    }

    fn add_field(&mut self, name: &str, kind: Option<Held>) {
        self.fields
            .entry(name.to_string())
            .and_modify(|k| {
                if *k != kind {
                    *k = None;
                }
            })
            .or_insert(kind);
    }

    /// What field `name` of struct `ty` holds; where the struct is not
    /// known, what every field so named holds (`None`: unknown, ambiguous).
    ///
    /// ```
    /// use weft_migrate::rewrite::Held;
    /// let f = syn::parse_file("struct A { w: Vec<tokio::task::JoinHandle<()>> } struct B { w: usize }").unwrap();
    /// let mut an = weft_migrate::rewrite::Analysis::default();
    /// an.add_file("a.rs", &f, &weft_migrate::rewrite::Selection::all());
    /// assert_eq!(an.struct_field_kind("A", "w"), Some(Held::HandleVec));
    /// assert_eq!(an.struct_field_kind("C", "w"), None); // A's and B's differ
    /// ```
    pub fn struct_field_kind(&self, ty: &str, name: &str) -> Option<Held> {
        match self.fields.get(&format!("{ty}.{name}")) {
            Some(k) => *k,
            None => self.field_kind(name),
        }
    }

    /// What struct fields named `name` hold (`None`: unknown or ambiguous).
    ///
    /// ```
    /// use weft_migrate::rewrite::Held;
    /// let f = syn::parse_file("struct S { stop: tokio::sync::oneshot::Receiver<()> }").unwrap();
    /// let mut an = weft_migrate::rewrite::Analysis::default();
    /// an.add_file("a.rs", &f, &weft_migrate::rewrite::Selection::all());
    /// assert_eq!(an.field_kind("stop"), Some(Held::OneshotRx));
    /// assert_eq!(an.field_kind("other"), None);
    /// ```
    pub fn field_kind(&self, name: &str) -> Option<Held> {
        self.fields.get(name).copied().flatten()
    }

    /// Once every file is added: a local trait converts as a whole or not
    /// at all. One declared or implemented in a file given back whole (an
    /// impl there keeps `#[async_trait]`), or one of whose async methods
    /// the selection keeps async (its futures must stay `Send` boxes for
    /// the callers left async), is held: it leaves `local_traits`, and
    /// its methods stay async everywhere (declaration, every impl, and
    /// what an awaited call of them is).
    ///
    /// ```
    /// use weft_migrate::rewrite::{Analysis, Selection};
    /// let f = syn::parse_file("#[async_trait] trait M { async fn connect(&self); }").unwrap();
    /// let sel = Selection::all().without(["connect".to_string()], []);
    /// let mut an = Analysis::default();
    /// an.add_file("src/lib.rs", &f, &sel);
    /// an.settle(&sel);
    /// assert!(an.held_traits.contains("M") && !an.local_traits.contains("M"));
    /// assert!(!an.is_direct("connect"));
    /// ```
    pub fn settle(&mut self, sel: &Selection) {
        let held: Vec<String> = self
            .local_traits
            .iter()
            .filter(|t| {
                self.traits_in_kept_files.contains(*t)
                    || self
                        .trait_fns
                        .get(*t)
                        .is_some_and(|fns| fns.iter().any(|f| sel.fn_kept(f)))
            })
            .cloned()
            .collect();
        for t in held {
            self.local_traits.remove(&t);
            if let Some(fns) = self.trait_fns.get(&t) {
                self.held_methods.extend(fns.iter().cloned());
            }
            self.held_traits.insert(t);
        }
        // Impls in another file than their trait: the trait's fate.
        for (t, fns) in std::mem::take(&mut self.impl_fns_pending) {
            if self.local_traits.contains(&t) {
                self.converted.extend(fns);
            } else if !self.held_traits.contains(&t) {
                self.kept.extend(fns);
            }
        }
    }

    /// Whether an awaited call of `name` is a direct call after the run.
    ///
    /// ```
    /// let an = weft_migrate::rewrite::Analysis::default();
    /// assert!(!an.is_direct("anything"));
    /// ```
    pub fn is_direct(&self, name: &str) -> bool {
        self.is_direct_free_fn(name) && !self.held_methods.contains(name)
    }

    /// Whether a call of `name` by a one-segment path (a free function,
    /// not a method of a held trait) is direct after the run.
    ///
    /// ```
    /// use weft_migrate::rewrite::{Analysis, Selection};
    /// let f = syn::parse_file("#[async_trait] trait M { async fn check(&self); } async fn check() {}").unwrap();
    /// let sel = Selection::all().without(["check".to_string()], []);
    /// let mut an = Analysis::default();
    /// an.add_file("src/lib.rs", &f, &Selection::all());
    /// an.settle(&sel);
    /// assert!(an.is_direct_free_fn("check") && !an.is_direct("check"));
    /// ```
    pub fn is_direct_free_fn(&self, name: &str) -> bool {
        self.converted.contains(name) && !self.kept.contains(name)
    }
}

#[derive(Default)]
struct TraitScan {
    names: Vec<String>,
    /// Each trait's async methods.
    fns: Vec<(String, Vec<String>)>,
    /// Traits declared, and traits of `impl Trait for ..`, in the file.
    declared_or_implemented: Vec<String>,
}

impl<'ast> Visit<'ast> for TraitScan {
    fn visit_item_trait(&mut self, t: &'ast syn::ItemTrait) {
        let has_async = t.items.iter().any(|i| match i {
            syn::TraitItem::Fn(f) => {
                f.sig.asyncness.is_some() || super::impl_future_output(&f.sig).is_some()
            }
            _ => false,
        });
        if has_async || has_async_trait_attr(&t.attrs) {
            self.names.push(t.ident.to_string());
            let fns = t.items.iter().filter_map(|i| match i {
                syn::TraitItem::Fn(f)
                    if f.sig.asyncness.is_some() || super::impl_future_output(&f.sig).is_some() =>
                {
                    Some(f.sig.ident.to_string())
                }
                _ => None,
            });
            self.fns.push((t.ident.to_string(), fns.collect()));
        }
        self.declared_or_implemented.push(t.ident.to_string());
        syn::visit::visit_item_trait(self, t);
    }

    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        if let Some(s) = i.trait_.as_ref().and_then(|(_, p, _)| p.segments.last()) {
            self.declared_or_implemented.push(s.ident.to_string());
        }
        syn::visit::visit_item_impl(self, i);
    }
}

struct Scan<'a> {
    an: &'a mut Analysis,
    file: &'a str,
    sel: &'a Selection,
    impl_ok: bool,
    /// The trait of the impl being visited, when it is not declared in
    /// this file (it may be in another of the run).
    impl_trait: Option<String>,
    /// The struct whose fields are being visited.
    strukt: Option<String>,
}

impl Scan<'_> {
    /// Records the `impl Future` parameters of a converted `async fn`
    /// that its body only awaits (`p.await`) or selects on (`_ = p =>`),
    /// under [`future_fn_key`] (none found is recorded too, so that two
    /// functions of one key that differ are both left alone).
    fn record_future_params(&mut self, sig: &syn::Signature, block: &syn::Block, in_impl: bool) {
        let name = sig.ident.to_string();
        if sig.asyncness.is_none() || !self.sel.function(self.file, &name) {
            return;
        }
        let Some(key) = future_fn_key(self.file, sig, in_impl) else {
            return;
        };
        let body = quote::ToTokens::to_token_stream(block);
        let mut found = Vec::new();
        let typed = sig.inputs.iter().filter_map(|i| match i {
            syn::FnArg::Typed(t) => Some(t),
            syn::FnArg::Receiver(_) => None,
        });
        for (i, t) in typed.enumerate() {
            let (syn::Pat::Ident(pi), Some(has_output)) = (&*t.pat, future_bound(&t.ty)) else {
                continue;
            };
            if only_awaited(body.clone(), &pi.ident.to_string()) {
                found.push((i, has_output));
            }
        }
        match self.an.future_params.get(&key) {
            Some(p) if *p != found => {
                self.an.future_params.insert(key, Vec::new());
            }
            _ => {
                self.an.future_params.insert(key, found);
            }
        }
    }

    fn record(&mut self, sig: &syn::Signature, has_block_future: bool) {
        let kinds = return_kinds(sig);
        if kinds.iter().any(|k| k.is_some()) {
            self.an.returns.insert(sig.ident.to_string(), kinds);
        }
        if sig.asyncness.is_none() && !has_block_future {
            return;
        }
        let name = sig.ident.to_string();
        if self.impl_ok && self.sel.function(self.file, &name) {
            self.an.converted.insert(name);
        } else if let (Some(t), true) = (&self.impl_trait, self.sel.function(self.file, &name)) {
            self.an
                .impl_fns_pending
                .entry(t.clone())
                .or_default()
                .insert(name);
        } else {
            self.an.kept.insert(name);
        }
    }
}

impl<'ast> Visit<'ast> for Scan<'_> {
    fn visit_item_struct(&mut self, s: &'ast syn::ItemStruct) {
        let saved = self.strukt.replace(s.ident.to_string());
        syn::visit::visit_item_struct(self, s);
        self.strukt = saved;
    }

    fn visit_field(&mut self, f: &'ast syn::Field) {
        if let Some(id) = &f.ident {
            let kind = Held::of_field_type(&f.ty);
            self.an.add_field(&id.to_string(), kind);
            if let Some(s) = &self.strukt {
                self.an.add_field(&format!("{s}.{id}"), kind);
            }
        }
        syn::visit::visit_field(self, f);
    }

    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        // Another runtime's `#[async_std::test]` wants its `async fn`.
        let foreign = f.attrs.iter().any(super::is_foreign_entry_attr);
        let saved = std::mem::replace(&mut self.impl_ok, !foreign);
        let weft = f.attrs.iter().any(super::is_weft_attr);
        if weft
            && f.attrs.iter().any(|a| {
                a.path()
                    .segments
                    .last()
                    .is_some_and(|s| s.ident == "direct")
            })
        {
            self.an.converted.insert(f.sig.ident.to_string());
        } else if !weft {
            self.record(&f.sig, super::impl_future_body(&f.sig, &f.block).is_some());
            if self.impl_ok {
                self.record_future_params(&f.sig, &f.block, false);
            }
        }
        syn::visit::visit_item_fn(self, f);
        self.impl_ok = saved;
    }

    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        let ok = match &i.trait_ {
            None => true,
            Some((_, path, _)) => path
                .segments
                .last()
                .is_some_and(|s| self.an.local_traits.contains(&s.ident.to_string())),
        };
        let saved = std::mem::replace(&mut self.impl_ok, ok);
        let trait_name = i
            .trait_
            .as_ref()
            .and_then(|(_, p, _)| p.segments.last())
            .map(|s| s.ident.to_string())
            .filter(|_| !ok);
        let saved_trait = std::mem::replace(&mut self.impl_trait, trait_name);
        syn::visit::visit_item_impl(self, i);
        self.impl_ok = saved;
        self.impl_trait = saved_trait;
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        self.record(&f.sig, super::impl_future_body(&f.sig, &f.block).is_some());
        if self.impl_ok {
            self.record_future_params(&f.sig, &f.block, true);
        }
        let saved = std::mem::replace(&mut self.impl_ok, true);
        let saved_trait = self.impl_trait.take();
        syn::visit::visit_impl_item_fn(self, f);
        self.impl_ok = saved;
        self.impl_trait = saved_trait;
    }

    fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
        let saved = std::mem::replace(&mut self.impl_ok, true);
        // `fn m(&self) -> impl Future<Output = T> + Send;` is an async
        // method (a default body must be one async block to convert).
        let future = match &f.default {
            None => super::impl_future_output(&f.sig).is_some(),
            Some(b) => super::impl_future_body(&f.sig, b).is_some(),
        };
        self.record(&f.sig, future);
        syn::visit::visit_trait_item_fn(self, f);
        self.impl_ok = saved;
    }
}

/// Whether the attributes hold `#[async_trait]` (any path ending so).
pub(crate) fn has_async_trait_attr(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(is_async_trait_attr)
}

pub(crate) fn is_async_trait_attr(a: &syn::Attribute) -> bool {
    a.path()
        .segments
        .last()
        .is_some_and(|s| s.ident == "async_trait")
}

/// For `impl Future<..> + ..`: whether the `Future` bound names its
/// `Output` (`None`: not an `impl Future` type).
pub(crate) fn future_bound(ty: &syn::Type) -> Option<bool> {
    let syn::Type::ImplTrait(it) = ty else {
        return None;
    };
    it.bounds.iter().find_map(|b| {
        let syn::TypeParamBound::Trait(t) = b else {
            return None;
        };
        let last = t.path.segments.last()?;
        if last.ident != "Future" {
            return None;
        }
        Some(matches!(&last.arguments, syn::PathArguments::AngleBracketed(a)
            if a.args.iter().any(|g| matches!(g, syn::GenericArgument::AssocType(at) if at.ident == "Output"))))
    })
}

/// Whether every `name` in `ts` is awaited (`name.await`) or is a
/// `select!` branch's future (`_ = name =>`), and there is one at least.
fn only_awaited(ts: proc_macro2::TokenStream, name: &str) -> bool {
    use proc_macro2::TokenTree;
    fn walk(ts: proc_macro2::TokenStream, name: &str, seen: &mut usize) -> bool {
        let toks: Vec<TokenTree> = ts.into_iter().collect();
        for (i, t) in toks.iter().enumerate() {
            match t {
                TokenTree::Group(g) if !walk(g.stream(), name, seen) => return false,
                TokenTree::Ident(id) if id == name => {
                    let punct = |k: usize, c: char| matches!(toks.get(i + k), Some(TokenTree::Punct(p)) if p.as_char() == c);
                    let awaited = punct(1, '.')
                        && matches!(toks.get(i + 2), Some(TokenTree::Ident(a)) if a == "await");
                    let branch = punct(1, '=') && punct(2, '>') && i >= 1 && {
                        matches!(&toks[i - 1], TokenTree::Punct(p) if p.as_char() == '=')
                    };
                    if !(awaited || branch) {
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
    walk(ts, name, &mut seen) && seen > 0
}

/// The module a file is (`src/server.rs` -> `server`, `src/cmd/mod.rs` ->
/// `cmd`, `src/lib.rs` -> `crate`).
pub(crate) fn file_module(file: &str) -> String {
    let path = std::path::Path::new(file);
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    match stem {
        "mod" => path
            .parent()
            .and_then(|p| p.file_name())
            .and_then(|s| s.to_str())
            .unwrap_or("")
            .to_string(),
        "lib" | "main" => "crate".to_string(),
        s => s.to_string(),
    }
}

/// How [`Analysis::future_params`] knows a function: `module::name` for a
/// free function (as `module::name(..)` calls it), `.name` for a method;
/// associated functions without `self` are not tracked (`None`).
pub(crate) fn future_fn_key(file: &str, sig: &syn::Signature, in_impl: bool) -> Option<String> {
    let name = sig.ident.to_string();
    match (sig.receiver().is_some(), in_impl) {
        (true, _) => Some(format!(".{name}")),
        (false, true) => None,
        (false, false) => Some(format!("{}::{name}", file_module(file))),
    }
}
