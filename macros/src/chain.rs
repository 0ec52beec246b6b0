//! `weft::chain!(fut.then(..).map(..)...)`: a future combinator chain as
//! sequential direct-style code.
//!
//! The chain is read from its innermost receiver outwards. The receiver is
//! awaited once; then each combinator becomes the statement that does the
//! same thing to the value in hand. A combinator that takes a closure
//! returning a future (`then`, `and_then`, `or_else`) awaits what the
//! closure returns. The closure is called, never inlined, so `move`,
//! patterns and `return` inside it keep their meaning.
//!
//! | combinator | becomes |
//! |---|---|
//! | `then(f)` | `await(f(v))` |
//! | `and_then(f)` | `match v { Ok(x) => await(f(x)), Err(e) => Err(e) }` |
//! | `or_else(f)` | `match v { Ok(x) => Ok(x), Err(e) => await(f(e)) }` |
//! | `map(f)` | `f(v)` |
//! | `map_ok(f)` / `map_err(f)` | `v.map(f)` / `v.map_err(f)` |
//! | `err_into()` / `ok_into()` | `v.map_err(Into::into)` / `v.map(Into::into)` |
//! | `inspect(f)` | `{ f(&v); v }` |
//! | `inspect_ok(f)` / `inspect_err(f)` | `{ if let Ok(x) / Err(e) = &v { f(x) } v }` |
//! | `unwrap_or_else(f)` | `match v { Ok(x) => x, Err(e) => f(e) }` |
//! | `boxed()`, `boxed_local()`, `fuse()` | `v` |
//! | `join(a, b)`, `a.join(b)` | `fiber::both(\|\| await(a), \|\| await(b))` |
//! | `try_join(a, b)` | `both(..)` then `Ok((a?, b?))` |
//! | `select(a, b)` | `fiber::first(..)` giving `Either::Left(a) / Right(b)`; the loser is cancelled |
//! | `join_all(it)` / `try_join_all(it)` | `fiber::all(..)` (then `collect::<Result<Vec<_>, _>>()`) |
//! | anything else | awaited as a whole through weft-compat |

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::spanned::Spanned;
use syn::{Expr, ExprCall, ExprMethodCall};

pub(crate) fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let expr: Expr = syn::parse2(input)?;
    let compat = crate::paths::compat("weft::chain!", expr.span())?;
    let weft = crate::paths::weft();
    let mut g = Gen {
        compat,
        weft,
        stmts: Vec::new(),
        next: 0,
    };
    let last = g.value_of(&expr)?;
    let stmts = &g.stmts;
    Ok(quote!({ #(#stmts)* #last }))
}

struct Gen {
    compat: TokenStream,
    weft: TokenStream,
    stmts: Vec<TokenStream>,
    next: usize,
}

/// The last segment of a call's function path (`join` in
/// `futures::future::join(a, b)`).
fn fn_name(call: &ExprCall) -> Option<String> {
    match &*call.func {
        Expr::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

impl Gen {
    fn bind(&mut self, value: TokenStream) -> TokenStream {
        let name = format_ident!("__chain_{}", self.next);
        self.next += 1;
        self.stmts.push(quote!(let #name = #value;));
        quote!(#name)
    }

    /// Calls closure `f` with `arg` through a helper whose signature lets
    /// the compiler infer the closure's parameter type from `arg`.
    fn call_(&self, f: &Expr, arg: &TokenStream) -> TokenStream {
        let compat = &self.compat;
        quote!(#compat::__private::call(#arg, #f))
    }

    fn await_(&self, fut: &TokenStream) -> TokenStream {
        let compat = &self.compat;
        quote!(#compat::await_future(#fut))
    }

    /// Emits statements computing the *output* of future `expr`; returns
    /// the variable that holds it.
    fn value_of(&mut self, expr: &Expr) -> syn::Result<TokenStream> {
        match expr {
            Expr::MethodCall(m) => self.method(m),
            Expr::Call(c) => self.call(c),
            Expr::Paren(p) => self.value_of(&p.expr),
            other => {
                let awaited = self.await_(&quote!(#other));
                Ok(self.bind(awaited))
            }
        }
    }

    fn one_arg<'a>(&self, m: &'a ExprMethodCall, n: usize) -> syn::Result<Vec<&'a Expr>> {
        if m.args.len() != n {
            return Err(syn::Error::new(
                m.method.span(),
                format!("`{}` takes {n} argument(s) here", m.method),
            ));
        }
        Ok(m.args.iter().collect())
    }

    fn method(&mut self, m: &ExprMethodCall) -> syn::Result<TokenStream> {
        let name = m.method.to_string();
        let known = [
            "then",
            "and_then",
            "or_else",
            "map",
            "map_ok",
            "map_err",
            "err_into",
            "ok_into",
            "inspect",
            "inspect_ok",
            "inspect_err",
            "unwrap_or_else",
            "boxed",
            "boxed_local",
            "fuse",
            "join",
        ];
        if !known.contains(&name.as_str())
            || m.turbofish.is_some() && name != "err_into" && name != "ok_into"
        {
            // Not a combinator we know: the whole expression is a future.
            let awaited = self.await_(&quote!(#m));
            return Ok(self.bind(awaited));
        }
        if name == "join" {
            let [other] = self.one_arg(m, 1)?[..] else {
                unreachable!()
            };
            return self.join(&m.receiver, other);
        }
        let v = self.value_of(&m.receiver)?;
        let out = match name.as_str() {
            "then" => {
                let [f] = self.one_arg(m, 1)?[..] else {
                    unreachable!()
                };
                {
                    let c = self.call_(f, &quote!(#v));
                    self.await_(&c)
                }
            }
            "and_then" => {
                let [f] = self.one_arg(m, 1)?[..] else {
                    unreachable!()
                };
                let c = self.call_(f, &quote!(__ok));
                let awaited = self.await_(&c);
                quote!(match #v { ::core::result::Result::Ok(__ok) => #awaited, ::core::result::Result::Err(__err) => ::core::result::Result::Err(__err) })
            }
            "or_else" => {
                let [f] = self.one_arg(m, 1)?[..] else {
                    unreachable!()
                };
                let c = self.call_(f, &quote!(__err));
                let awaited = self.await_(&c);
                quote!(match #v { ::core::result::Result::Ok(__ok) => ::core::result::Result::Ok(__ok), ::core::result::Result::Err(__err) => #awaited })
            }
            "map" => {
                let [f] = self.one_arg(m, 1)?[..] else {
                    unreachable!()
                };
                self.call_(f, &quote!(#v))
            }
            "map_ok" => {
                let [f] = self.one_arg(m, 1)?[..] else {
                    unreachable!()
                };
                quote!(::core::result::Result::map(#v, #f))
            }
            "map_err" => {
                let [f] = self.one_arg(m, 1)?[..] else {
                    unreachable!()
                };
                quote!(::core::result::Result::map_err(#v, #f))
            }
            "err_into" => {
                self.one_arg(m, 0)?;
                quote!(::core::result::Result::map_err(#v, ::core::convert::Into::into))
            }
            "ok_into" => {
                self.one_arg(m, 0)?;
                quote!(::core::result::Result::map(#v, ::core::convert::Into::into))
            }
            "inspect" => {
                let [f] = self.one_arg(m, 1)?[..] else {
                    unreachable!()
                };
                let c = self.call_(f, &quote!(&#v));
                quote!({ #c; #v })
            }
            "inspect_ok" => {
                let [f] = self.one_arg(m, 1)?[..] else {
                    unreachable!()
                };
                let c = self.call_(f, &quote!(__ok));
                quote!({ if let ::core::result::Result::Ok(__ok) = &#v { #c; } #v })
            }
            "inspect_err" => {
                let [f] = self.one_arg(m, 1)?[..] else {
                    unreachable!()
                };
                let c = self.call_(f, &quote!(__err));
                quote!({ if let ::core::result::Result::Err(__err) = &#v { #c; } #v })
            }
            "unwrap_or_else" => {
                let [f] = self.one_arg(m, 1)?[..] else {
                    unreachable!()
                };
                let c = self.call_(f, &quote!(__err));
                quote!(match #v { ::core::result::Result::Ok(__ok) => __ok, ::core::result::Result::Err(__err) => #c })
            }
            "boxed" | "boxed_local" | "fuse" => {
                self.one_arg(m, 0)?;
                return Ok(v);
            }
            _ => unreachable!("filtered by `known` above"),
        };
        Ok(self.bind(out))
    }

    fn join(&mut self, a: &Expr, b: &Expr) -> syn::Result<TokenStream> {
        let weft = &self.weft;
        let (aw, bw) = (self.await_(&quote!(#a)), self.await_(&quote!(#b)));
        Ok(self.bind(quote!(#weft::fiber::both(move || #aw, move || #bw))))
    }

    fn call(&mut self, c: &ExprCall) -> syn::Result<TokenStream> {
        let weft = self.weft.clone();
        let compat = self.compat.clone();
        let args: Vec<&Expr> = c.args.iter().collect();
        match (fn_name(c).as_deref(), args.as_slice()) {
            (Some("join"), [a, b]) => self.join(a, b),
            (Some("try_join"), [a, b]) => {
                let pair = self.join(a, b)?;
                Ok(self.bind(quote!(match #pair {
                    (::core::result::Result::Ok(__a), ::core::result::Result::Ok(__b)) => ::core::result::Result::Ok((__a, __b)),
                    (::core::result::Result::Err(__err), _) | (_, ::core::result::Result::Err(__err)) => ::core::result::Result::Err(__err),
                })))
            }
            (Some("select"), [a, b]) => {
                let (aw, bw) = (self.await_(&quote!(#a)), self.await_(&quote!(#b)));
                Ok(self.bind(quote!(#weft::fiber::first(
                    move || #compat::Either::Left(#aw),
                    move || #compat::Either::Right(#bw),
                ))))
            }
            (Some("join_all"), [it]) => {
                let each = self.await_(&quote!(__fut));
                Ok(self.bind(quote!(#weft::fiber::all(::core::iter::IntoIterator::into_iter(#it).map(|__fut| move || #each)))))
            }
            (Some("try_join_all"), [it]) => {
                let each = self.await_(&quote!(__fut));
                Ok(self.bind(quote!(
                    ::core::iter::Iterator::collect::<::core::result::Result<::std::vec::Vec<_>, _>>(
                        ::core::iter::IntoIterator::into_iter(
                            #weft::fiber::all(::core::iter::IntoIterator::into_iter(#it).map(|__fut| move || #each))
                        )
                    )
                )))
            }
            _ => {
                let awaited = self.await_(&quote!(#c));
                Ok(self.bind(awaited))
            }
        }
    }
}
