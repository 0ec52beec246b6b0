//! Expansion snapshots: what a user reads when something goes wrong.

use proc_macro2::TokenStream;
use quote::quote;

fn pretty_items(ts: TokenStream) -> String {
    let file: syn::File = syn::parse2(ts).expect("the expansion parses as items");
    prettyplease::unparse(&file)
}

fn pretty_expr(ts: TokenStream) -> String {
    pretty_items(quote!(fn __expansion() { #ts }))
}

#[test]
fn direct_free_fn() {
    let out = crate::direct::expand(
        quote!(),
        quote! {
            /// Docs stay.
            pub async fn handler(req: &Request) -> Result<Response, Error> {
                let user = db::load(req.user_id).await?;
                if user.banned {
                    return Err(Error::Banned);
                }
                let body = async move { render(&user).await }.await;
                assert_eq!(cache::get(&body).await, None, "fresh {}", body.len());
                let task = tokio::spawn(async move { audit(&user).await });
                Ok(Response::new(body))
            }
        },
    )
    .unwrap();
    insta::assert_snapshot!(pretty_items(out));
}

#[test]
fn direct_methods_and_native() {
    let inherent = crate::direct::expand(
        quote!(),
        quote! {
            async fn get<'a, K: Hash>(&'a self, key: &K) -> Option<&'a V> {
                self.fill(key).await;
                self.map.get(key)
            }
        },
    )
    .unwrap();
    let native = crate::direct::expand(
        quote!(native),
        quote! {
            async fn total(&self) -> u64 {
                self.a().await + self.b().await
            }
        },
    )
    .unwrap();
    let trait_default = crate::direct::expand(
        quote!(),
        quote! {
            async fn describe(&self) -> String {
                format!("{}", self.name().await)
            }
        },
    )
    .unwrap();
    insta::assert_snapshot!(pretty_items(
        quote!(impl X { #inherent #native } trait T { #trait_default })
    ));
}

#[test]
fn main_sync_async_and_options() {
    let sync = crate::entry::main(
        quote!(),
        quote! {
            fn main(env: &weft::Env) -> std::io::Result<()> {
                serve(env)?;
                Ok(())
            }
        },
    )
    .unwrap();
    let with_options = crate::entry::main(
        quote!(backend = "uring", mock_clock, stack_size = 1 << 20),
        quote! { fn main() { run(); } },
    )
    .unwrap();
    insta::assert_snapshot!(pretty_items(
        quote!(mod a { #sync } mod b { #with_options })
    ));
}

#[test]
fn main_async() {
    let out = crate::entry::main(
        quote!(),
        quote! {
            async fn main() {
                let v = fetch().await;
                println!("{v}");
            }
        },
    )
    .unwrap();
    insta::assert_snapshot!(pretty_items(out));
}

#[test]
fn test_on_both_backends() {
    let out = crate::entry::test(
        quote!(backend = "both", mock_clock),
        quote! {
            fn echoes() -> Result<(), Error> {
                check()?;
                Ok(())
            }
        },
    )
    .unwrap();
    insta::assert_snapshot!(pretty_items(out));
}

#[test]
fn chain_try_combinators() {
    let out = crate::chain::expand(quote! {
        client.get(url).send()
            .and_then(|resp| resp.text())
            .map_ok(|body| body.len())
            .map_err(|e| Error::Http(e))
            .inspect_err(|e| log(e))
            .or_else(|e| fallback(e))
    })
    .unwrap();
    insta::assert_snapshot!(pretty_expr(out));
}

#[test]
fn chain_then_map_unwrap_or_else_boxed() {
    let out = crate::chain::expand(quote! {
        load(id).boxed().then(move |row| decode(row)).map(|v| v.name).fuse()
    })
    .unwrap();
    let out2 =
        crate::chain::expand(quote! { fetch().err_into().unwrap_or_else(|e| default(e)) }).unwrap();
    insta::assert_snapshot!(pretty_expr(quote!(let a = #out; let b = #out2;)));
}

#[test]
fn chain_join_select_join_all() {
    let join = crate::chain::expand(quote!(futures::future::join(a(), b()))).unwrap();
    let try_join = crate::chain::expand(quote!(try_join(a(), b()))).unwrap();
    let select = crate::chain::expand(quote!(select(a(), b()))).unwrap();
    let all = crate::chain::expand(quote!(future::join_all(urls.iter().map(get)))).unwrap();
    let try_all = crate::chain::expand(quote!(try_join_all(jobs))).unwrap();
    let unknown = crate::chain::expand(quote!(tokio::time::timeout(d, work()))).unwrap();
    insta::assert_snapshot!(pretty_expr(quote! {
        let j = #join; let tj = #try_join; let s = #select; let a = #all; let ta = #try_all; let u = #unknown;
    }));
}
