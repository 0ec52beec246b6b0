//! `kv-stage1 [ADDR]`: stage 0's server, run from a weft fiber through
//! weft-compat, until Ctrl-C.

use kv_stage0::{db::Db, server};
use weft_compat::await_future;

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7379".to_string());
    weft_compat::tokio::run(|_env| {
        let listener = await_future(tokio::net::TcpListener::bind(&addr))?;
        println!(
            "kv-stage1 (tokio inside weft) on {}",
            listener.local_addr()?
        );
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        await_future(server::run(
            listener,
            Db::new(),
            server::Config::default(),
            shutdown,
        ))
    })
}
