//! Function items of a file by name and by position: what `--only` can
//! name, and which item a compiler error falls in (for the rollback of
//! the compiler loop).

use std::ops::Range;

use syn::spanned::Spanned;
use syn::visit::Visit;

/// A function item (free, inherent or trait method, nested included).
///
/// ```
/// let ast = syn::parse_file("mod m { fn f() { fn g() {} } }").unwrap();
/// let names: Vec<String> = weft_migrate::rewrite::fn_items(&ast).into_iter().map(|f| f.name).collect();
/// assert_eq!(names, ["f", "g"]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FnItem {
    /// Its name.
    pub name: String,
    /// Its bytes in the file (attributes included).
    pub range: Range<usize>,
}

/// Every function item of `ast`, in source order.
///
/// ```
/// let ast = syn::parse_file("struct S; impl S { async fn m(&self) {} }").unwrap();
/// assert_eq!(weft_migrate::rewrite::fn_items(&ast)[0].name, "m");
/// ```
pub fn fn_items(ast: &syn::File) -> Vec<FnItem> {
    let mut c = Collect(Vec::new());
    c.visit_file(ast);
    c.0
}

/// The names of every function item of `ast`.
///
/// ```
/// let ast = syn::parse_file("fn a() {} trait T { fn b(); }").unwrap();
/// assert_eq!(weft_migrate::rewrite::fn_names(&ast), ["a", "b"]);
/// ```
pub fn fn_names(ast: &syn::File) -> Vec<String> {
    fn_items(ast).into_iter().map(|f| f.name).collect()
}

/// The innermost function item whose bytes hold `offset`.
///
/// ```
/// let src = "fn outer() {\n    fn inner() { let x = 1; }\n}\n";
/// let ast = syn::parse_file(src).unwrap();
/// let at = src.find("let x").unwrap();
/// assert_eq!(weft_migrate::rewrite::enclosing_fn(&ast, at).unwrap().name, "inner");
/// assert!(weft_migrate::rewrite::enclosing_fn(&ast, src.len()).is_none());
/// ```
pub fn enclosing_fn(ast: &syn::File, offset: usize) -> Option<FnItem> {
    fn_items(ast)
        .into_iter()
        .filter(|f| f.range.start <= offset && offset < f.range.end)
        .min_by_key(|f| f.range.end - f.range.start)
}

struct Collect(Vec<FnItem>);

impl Collect {
    fn add(&mut self, name: &syn::Ident, node: &impl Spanned) {
        self.0.push(FnItem {
            name: name.to_string(),
            range: node.span().byte_range(),
        });
    }
}

impl<'ast> Visit<'ast> for Collect {
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        self.add(&f.sig.ident, f);
        syn::visit::visit_item_fn(self, f);
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        self.add(&f.sig.ident, f);
        syn::visit::visit_impl_item_fn(self, f);
    }

    fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
        self.add(&f.sig.ident, f);
        syn::visit::visit_trait_item_fn(self, f);
    }
}

/// The bytes of the statements that hold `offset`, innermost first (the
/// whole expression an error sits in, across its lines, then the ones
/// around it).
///
/// ```
/// let src = "fn f() {\n    let x = a\n        .b(|| { g(); })\n        .c();\n}\n";
/// let ast = syn::parse_file(src).unwrap();
/// let r = weft_migrate::rewrite::enclosing_stmts(&ast, src.find("g()").unwrap());
/// assert_eq!(&src[r[0].clone()], "g();");
/// assert!(src[r[1].clone()].starts_with("let x = a"));
/// ```
pub fn enclosing_stmts(ast: &syn::File, offset: usize) -> Vec<Range<usize>> {
    struct Stmts(Vec<Range<usize>>);
    impl<'ast> Visit<'ast> for Stmts {
        fn visit_stmt(&mut self, s: &'ast syn::Stmt) {
            self.0.push(s.span().byte_range());
            syn::visit::visit_stmt(self, s);
        }
    }
    let mut v = Stmts(Vec::new());
    v.visit_file(ast);
    let mut out: Vec<Range<usize>> =
        v.0.into_iter()
            .filter(|r| r.start <= offset && offset < r.end)
            .collect();
    out.sort_by_key(|r| r.end - r.start);
    out
}
