//! `kv-stage0 [ADDR]`: serves the key-value protocol on ADDR (default
//! 127.0.0.1:7379) until Ctrl-C, then shuts down gracefully.

use kv_stage0::{db::Db, server};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7379".to_string());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("kv-stage0 (tokio) on {}", listener.local_addr()?);
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    server::run(listener, Db::new(), server::Config::default(), shutdown).await
}
