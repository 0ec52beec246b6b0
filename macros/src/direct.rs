//! `#[weft::direct]`: an `async fn` becomes a plain `fn` with the same
//! signature minus `async`; every `.await` in its body becomes a
//! fiber-blocking await.
//!
//! Rules, chosen so the function means what it meant:
//! - `x.await` becomes `await_future(x)` (or plain `x` in `native` mode).
//! - `async { .. }.await` (an async block awaited at once) becomes a
//!   closure called at once, so `return` and `?` inside it still leave the
//!   block, not the function; `async move` becomes `move ||`.
//! - Async blocks and async closures that are *not* awaited at once stay
//!   futures (they are handed to spawn/join/select), and the `.await`s
//!   inside them stay, since they are still async code.
//! - Nested `fn` items are left alone.

use proc_macro2::TokenStream;
use quote::{quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::visit_mut::{self, VisitMut};
use syn::{parse_quote, Expr, ExprAwait, ImplItemFn, ItemFn, TraitItemFn};

/// How `.await` is rewritten.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Through weft-compat's `await_future` (callee is still async).
    Bridge,
    /// Dropped (callee is already direct).
    Native,
}

pub(crate) fn parse_mode(attr: TokenStream) -> syn::Result<Mode> {
    if attr.is_empty() {
        return Ok(Mode::Bridge);
    }
    let ident: syn::Ident = syn::parse2(attr.clone()).map_err(|_| {
        syn::Error::new(
            attr.span(),
            "expected `#[weft::direct]` or `#[weft::direct(native)]`",
        )
    })?;
    if ident == "native" {
        Ok(Mode::Native)
    } else {
        Err(syn::Error::new(
            ident.span(),
            format!("unknown option `{ident}`: the only option is `native` (drop `.await` instead of bridging it)"),
        ))
    }
}

/// Rewrites the `.await`s of a body.
pub(crate) struct Rewriter {
    pub(crate) mode: Mode,
    pub(crate) compat: TokenStream,
}

impl Rewriter {
    fn awaited(&self, inner: Expr) -> Expr {
        match self.mode {
            Mode::Native => inner,
            Mode::Bridge => {
                let compat = &self.compat;
                let span = inner.span();
                syn::parse2(quote_spanned!(span=> #compat::await_future(#inner)))
                    .expect("a call expression parses")
            }
        }
    }
}

impl VisitMut for Rewriter {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        if let Expr::Await(ExprAwait { base, .. }) = expr {
            // `async { .. }.await`: run the block's code right here.
            if let Expr::Async(block) = &mut **base {
                let mut body = block.block.clone();
                self.visit_block_mut(&mut body);
                let capture = block.capture;
                *expr = parse_quote!((#capture || #body)());
                return;
            }
            let mut inner = (**base).clone();
            self.visit_expr_mut(&mut inner);
            *expr = self.awaited(inner);
            return;
        }
        match expr {
            // Still-async code keeps its `.await`s.
            Expr::Async(_) => {}
            Expr::Closure(c) if c.asyncness.is_some() => {}
            _ => visit_mut::visit_expr_mut(self, expr),
        }
    }

    /// Macro arguments are opaque tokens to syn; rewrite them when they
    /// are expression lists (`assert_eq!(x.await, 1)`, `println!`,
    /// `format!`, `vec![a, b]`, `vec![x; n]`), and leave other macros as
    /// they are.
    fn visit_macro_mut(&mut self, mac: &mut syn::Macro) {
        use syn::parse::Parser;
        use syn::punctuated::Punctuated;
        let tokens = mac.tokens.clone();
        if let Ok(mut list) =
            Punctuated::<Expr, syn::Token![,]>::parse_terminated.parse2(tokens.clone())
        {
            for e in list.iter_mut() {
                self.visit_expr_mut(e);
            }
            mac.tokens = list.into_token_stream();
            return;
        }
        let repeat = |input: syn::parse::ParseStream| -> syn::Result<(Expr, syn::Token![;], Expr)> {
            Ok((input.parse()?, input.parse()?, input.parse()?))
        };
        if let Ok((mut elem, semi, mut count)) = repeat.parse2(tokens) {
            self.visit_expr_mut(&mut elem);
            self.visit_expr_mut(&mut count);
            mac.tokens = quote::quote!(#elem #semi #count);
        }
    }

    fn visit_item_mut(&mut self, _item: &mut syn::Item) {
        // A nested item is its own function: not ours to rewrite.
    }
}

fn not_async(span: proc_macro2::Span) -> syn::Error {
    syn::Error::new(
        span,
        "#[weft::direct] turns an `async fn` into a direct one, but this fn is not async; \
         remove the attribute, or make it `async fn`",
    )
}

/// Expands `#[weft::direct]` on a free fn, an impl method or a trait method.
pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let mode = parse_mode(attr)?;
    let span = item.span();
    let compat = match mode {
        Mode::Bridge => crate::paths::compat("#[weft::direct]", span)?,
        Mode::Native => TokenStream::new(),
    };
    let mut rewriter = Rewriter { mode, compat };
    if let Ok(mut f) = syn::parse2::<ItemFn>(item.clone()) {
        if f.sig.asyncness.take().is_none() {
            return Err(not_async(f.sig.fn_token.span));
        }
        rewriter.visit_block_mut(&mut f.block);
        return Ok(f.into_token_stream());
    }
    if let Ok(mut f) = syn::parse2::<ImplItemFn>(item.clone()) {
        if f.sig.asyncness.take().is_none() {
            return Err(not_async(f.sig.fn_token.span));
        }
        rewriter.visit_block_mut(&mut f.block);
        return Ok(f.into_token_stream());
    }
    if let Ok(mut f) = syn::parse2::<TraitItemFn>(item.clone()) {
        if f.sig.asyncness.take().is_none() {
            return Err(not_async(f.sig.fn_token.span));
        }
        if let Some(body) = &mut f.default {
            rewriter.visit_block_mut(body);
        }
        return Ok(f.into_token_stream());
    }
    Err(syn::Error::new(
        span,
        "#[weft::direct] goes on an `async fn` (free, inherent or trait method)",
    ))
}

/// Rewrites a whole function body (used by `#[weft::main]` on `async fn`).
pub(crate) fn rewrite_block(block: &mut syn::Block, compat: TokenStream) {
    Rewriter {
        mode: Mode::Bridge,
        compat,
    }
    .visit_block_mut(block);
}
