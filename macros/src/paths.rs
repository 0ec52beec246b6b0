//! Paths to the runtime crates as the user's crate names them (they may
//! be renamed in its Cargo.toml).

use proc_macro2::{Span, TokenStream};
use proc_macro_crate::{crate_name, FoundCrate};
use quote::quote;

/// `::weft` (or the user's rename of it).
pub(crate) fn weft() -> TokenStream {
    path_of("weft").unwrap_or_else(|| quote!(::weft))
}

/// `::weft_compat` (or the user's rename), or an error telling the user to
/// add the dependency.
pub(crate) fn compat(what: &str, span: Span) -> Result<TokenStream, syn::Error> {
    if let Some(p) = path_of("weft-compat") {
        return Ok(p);
    }
    // Not in Cargo.toml (or no manifest to read, as in unit tests): assume
    // the default name when the manifest cannot be read at all.
    match std::env::var("CARGO_MANIFEST_DIR") {
        Err(_) => Ok(quote!(::weft_compat)),
        Ok(_) => Err(syn::Error::new(
            span,
            format!(
                "{what} awaits futures through the weft-compat crate: add `weft-compat` to \
                 [dependencies] in Cargo.toml (or use #[weft::direct(native)] when every \
                 awaited callee is already a direct function)"
            ),
        )),
    }
}

fn path_of(package: &str) -> Option<TokenStream> {
    match crate_name(package) {
        Ok(FoundCrate::Itself) => {
            // Doctests, integration tests and examples of the crate itself
            // are separate crates that see it under its own name.
            let ident = syn::Ident::new(&package.replace('-', "_"), Span::call_site());
            Some(quote!(::#ident))
        }
        Ok(FoundCrate::Name(name)) => {
            let ident = syn::Ident::new(&name, Span::call_site());
            Some(quote!(::#ident))
        }
        Err(_) => None,
    }
}
