//! `#[weft::main]` and `#[weft::test]`: run a function's body as the main
//! fiber of a fresh runtime.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, ItemFn, Lit, Meta, Token};

/// The options both attributes accept.
#[derive(Default)]
struct Options {
    backend: Option<(String, Span)>,
    mock_clock: bool,
    stack_size: Option<Expr>,
    watchdog_ms: Option<Expr>,
    executor_threads: Option<Expr>,
}

fn parse_options(attr: TokenStream, is_test: bool) -> syn::Result<Options> {
    let what = if is_test {
        "#[weft::test]"
    } else {
        "#[weft::main]"
    };
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(attr)?;
    let mut o = Options::default();
    for meta in metas {
        let name = meta
            .path()
            .get_ident()
            .map(|i| i.to_string())
            .unwrap_or_default();
        match (name.as_str(), &meta) {
            ("mock_clock", Meta::Path(_)) => o.mock_clock = true,
            ("backend", Meta::NameValue(nv)) => match &nv.value {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(s), ..
                }) => {
                    let v = s.value();
                    let allowed: &[&str] = if is_test {
                        &["posix", "uring", "both"]
                    } else {
                        &["posix", "uring"]
                    };
                    if !allowed.contains(&v.as_str()) {
                        return Err(syn::Error::new(
                            s.span(),
                            format!("unknown backend {v:?}: expected one of {allowed:?}"),
                        ));
                    }
                    o.backend = Some((v, s.span()));
                }
                other => {
                    return Err(syn::Error::new(
                        other.span(),
                        "backend takes a string, e.g. backend = \"uring\"",
                    ))
                }
            },
            ("stack_size", Meta::NameValue(nv)) => o.stack_size = Some(nv.value.clone()),
            ("watchdog_ms", Meta::NameValue(nv)) => o.watchdog_ms = Some(nv.value.clone()),
            ("executor_threads", Meta::NameValue(nv)) => {
                o.executor_threads = Some(nv.value.clone())
            }
            _ => {
                let valid = if is_test {
                    "backend = \"posix\"|\"uring\"|\"both\", mock_clock, stack_size = N, watchdog_ms = N, executor_threads = N"
                } else {
                    "backend = \"posix\"|\"uring\", mock_clock, stack_size = N, watchdog_ms = N, executor_threads = N"
                };
                return Err(syn::Error::new(
                    meta.span(),
                    format!("{what} does not know this option; it takes: {valid}"),
                ));
            }
        }
    }
    Ok(o)
}

/// `Runtime::builder()` with the options applied, for one backend.
fn builder(weft: &TokenStream, o: &Options, backend: Option<&str>) -> TokenStream {
    let mut b = quote!(#weft::Runtime::builder());
    match backend {
        Some("posix") => b = quote!(#b.backend(#weft::BackendKind::Posix)),
        Some("uring") => b = quote!(#b.backend(#weft::BackendKind::Uring)),
        _ => {}
    }
    if o.mock_clock {
        b = quote!(#b.mock_clock(true));
    }
    if let Some(s) = &o.stack_size {
        b = quote!(#b.stack_size(#s));
    }
    if let Some(ms) = &o.watchdog_ms {
        b = quote!(#b.watchdog(::std::time::Duration::from_millis(#ms)));
    }
    if let Some(n) = &o.executor_threads {
        b = quote!(#b.executor_threads(#n));
    }
    b
}

/// Checks the signature and returns the name of the `&Env` argument, if
/// the function takes one.
fn env_arg(f: &ItemFn, what: &str) -> syn::Result<Option<syn::PatType>> {
    let inputs: Vec<_> = f.sig.inputs.iter().collect();
    match inputs.as_slice() {
        [] => Ok(None),
        [syn::FnArg::Typed(t)] if matches!(&*t.ty, syn::Type::Reference(_)) => Ok(Some((*t).clone())),
        _ => Err(syn::Error::new(
            f.sig.inputs.span(),
            format!("{what} can only supply one argument, the runtime's `env: &weft::Env`; take no arguments or just that one"),
        )),
    }
}

fn expand_body(f: &mut ItemFn, what: &str) -> syn::Result<(TokenStream, bool)> {
    if !f.sig.generics.params.is_empty() {
        return Err(syn::Error::new(
            f.sig.generics.span(),
            format!("{what} cannot be generic"),
        ));
    }
    let is_async = f.sig.asyncness.take().is_some();
    if is_async {
        let compat = crate::paths::compat(&format!("{what} on an async fn"), f.sig.fn_token.span)?;
        crate::direct::rewrite_block(&mut f.block, compat);
    }
    let env = env_arg(f, what)?;
    f.sig.inputs.clear();
    let block = &f.block;
    let closure = match env {
        Some(arg) => quote!(move |#arg| #block),
        None => quote!(move |_: &_| #block),
    };
    Ok((closure, is_async))
}

/// Runs `closure` on a runtime built by `b` (through the tokio bridge for
/// async bodies, so tokio APIs keep working).
fn run_with(
    b: TokenStream,
    closure: &TokenStream,
    is_async: bool,
    span: Span,
) -> syn::Result<TokenStream> {
    let build_err = "weft: cannot start the runtime";
    if is_async {
        let compat = crate::paths::compat("an async main or test", span)?;
        Ok(quote!(#compat::tokio::Builder::new().weft(#b).run(#closure)))
    } else {
        Ok(quote!(#b.build().expect(#build_err).run(#closure)))
    }
}

pub(crate) fn main(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let options = parse_options(attr, false)?;
    let mut f: ItemFn = syn::parse2(item)?;
    if f.sig.ident != "main" {
        return Err(syn::Error::new(
            f.sig.ident.span(),
            "#[weft::main] goes on `fn main`; for other functions call weft::run(|env| ..) inside them",
        ));
    }
    let weft = crate::paths::weft();
    let (closure, is_async) = expand_body(&mut f, "#[weft::main]")?;
    let b = builder(
        &weft,
        &options,
        options.backend.as_ref().map(|(b, _)| b.as_str()),
    );
    let run = run_with(b, &closure, is_async, f.sig.fn_token.span)?;
    let attrs = &f.attrs;
    let vis = &f.vis;
    let sig = &f.sig;
    Ok(quote!(#(#attrs)* #vis #sig { #run }))
}

pub(crate) fn test(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let options = parse_options(attr, true)?;
    let mut f: ItemFn = syn::parse2(item)?;
    let weft = crate::paths::weft();
    let (closure, is_async) = expand_body(&mut f, "#[weft::test]")?;
    let backends: Vec<Option<&str>> = match options.backend.as_ref().map(|(b, _)| b.as_str()) {
        Some("both") => vec![Some("posix"), Some("uring")],
        other => vec![other],
    };
    let span = f.sig.fn_token.span;
    let mut runs = Vec::new();
    for backend in &backends {
        let b = builder(&weft, &options, *backend);
        let run = run_with(b, &closure, is_async, span)?;
        runs.push(run);
    }
    let attrs = &f.attrs;
    let vis = &f.vis;
    let sig = &f.sig;
    let body = if runs.len() == 1 {
        let run = &runs[0];
        quote!(#run)
    } else {
        // Every backend must pass; the value of the last run is returned.
        let last = runs.pop().expect("two runs");
        let names = backends
            .iter()
            .take(runs.len())
            .map(|b| b.unwrap_or("default"));
        quote_spanned!(span=> #( #weft::__private::must_pass(#runs, #names); )* #last)
    };
    Ok(quote!(#[::core::prelude::v1::test] #(#attrs)* #vis #sig { #body }))
}
