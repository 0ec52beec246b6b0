//! Procedural macros for weft: `#[weft::main]`, `#[weft::test]`,
//! `#[weft::direct]` and `weft::chain!`. Use them through the `weft` and
//! `weft-compat` crates, which re-export them.
//!
//! Every error points at the user's code and says what to do.

use proc_macro::TokenStream;

mod chain;
mod direct;
mod entry;
mod paths;
#[cfg(test)]
mod tests;

/// Runs `fn main` as the main fiber of a weft runtime.
///
/// Options: `backend = "posix" | "uring"`, `mock_clock`, `stack_size = N`,
/// `watchdog_ms = N`, `executor_threads = N` (the executor pool's size). `main` may take `env: &weft::Env` and return
/// anything (`()`, `Result<(), E>`, an `impl Termination`). On an
/// `async fn main`, the body is converted as `#[weft::direct]` does and
/// runs with tokio available (needs `weft-compat`).
///
/// ```
/// #[weft::main]
/// fn main(env: &weft::Env) -> std::io::Result<()> {
///     let start = env.clock().now();
///     weft::time::sleep(std::time::Duration::from_millis(1));
///     assert!(env.clock().now() > start);
///     Ok(())
/// }
/// ```
#[proc_macro_attribute]
pub fn main(attr: TokenStream, item: TokenStream) -> TokenStream {
    entry::main(attr.into(), item.into())
        .unwrap_or_else(|e| {
            // Keep a `main` so the crate shows this error and not a second
            // "main function not found".
            let e = e.into_compile_error();
            quote::quote!(#e fn main() {})
        })
        .into()
}

/// Runs a test in a fresh weft runtime. Options: `backend = "posix" |
/// "uring" | "both"` (both: the body runs once on each and must pass on
/// each), `mock_clock`, `stack_size = N`, `watchdog_ms = N`,
/// `executor_threads = N`.
///
/// (A `#[test]` function is compiled only by `cargo test`, so this example
/// is shown as text; `macros/tests/behaviour.rs` runs the same shapes.)
///
/// ```text
/// #[weft::test(mock_clock)]
/// fn times_out() {
///     let r = weft::time::timeout(std::time::Duration::from_secs(5), || weft::fiber::await_cancel());
///     assert!(r.is_err()); // instant: the mock clock jumps
/// }
/// ```
#[proc_macro_attribute]
pub fn test(attr: TokenStream, item: TokenStream) -> TokenStream {
    entry::test(attr.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Turns an `async fn` into a plain `fn` with the same signature minus
/// `async`; each `.await` blocks only the fiber (through weft-compat's
/// `await_future`). `#[weft::direct(native)]` drops `.await` instead, for
/// callees that are already direct.
///
/// ```
/// async fn still_async_download(url: &str) -> String {
///     format!("contents of {url}")
/// }
///
/// #[weft::direct]
/// async fn fetch_len(url: &str) -> usize {
///     still_async_download(url).await.len()
/// }
///
/// // Now a plain `fn fetch_len(url: &str) -> usize`, called from a fiber:
/// weft::run(|_env| assert_eq!(fetch_len("x"), 13));
/// ```
#[proc_macro_attribute]
pub fn direct(attr: TokenStream, item: TokenStream) -> TokenStream {
    direct::expand(attr.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Turns a future combinator chain into sequential direct-style code; see
/// the table in the crate's `chain` module docs. Anything it does not
/// recognise is awaited as a whole through weft-compat.
///
/// ```
/// async fn fetch(url: &str) -> Result<String, String> {
///     Ok(format!("[1,2,3] from {url}"))
/// }
/// async fn parse(body: String) -> Result<Vec<u8>, String> {
///     Ok(body.bytes().filter(u8::is_ascii_digit).collect())
/// }
///
/// weft::run(|_env| {
///     let n: Result<usize, String> = weft::chain!(fetch("x").and_then(|body| parse(body)).map_ok(|v| v.len()));
///     assert_eq!(n, Ok(3));
/// });
/// ```
#[proc_macro]
pub fn chain(input: TokenStream) -> TokenStream {
    chain::expand(input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
