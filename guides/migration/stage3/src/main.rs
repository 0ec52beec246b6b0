//! `kv-stage3 [ADDR] [CORES]`: serves the key-value protocol on ADDR
//! (default 127.0.0.1:7379) on CORES threads (default: every core) until
//! Ctrl-C, then shuts down gracefully.

use std::net::SocketAddr;

use kv_stage3::{db::Db, server};
use weft::sync::Promise;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr: SocketAddr = args
        .next()
        .unwrap_or_else(|| "127.0.0.1:7379".to_string())
        .parse()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("ADDR: {e}")))?;
    let cores = match args.next() {
        Some(n) => n.parse().map_err(|e| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("CORES: {e}"))
        })?,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let (stop, stop_now) = Promise::new();
    // Ctrl-C, watched by a thread of its own with its own runtime.
    std::thread::spawn(move || {
        weft::run(|_env| {
            let _ = weft::signal::ctrl_c();
        });
        stop_now.resolve(());
    });
    server::run_on_cores(
        cores,
        addr,
        &Db::new(),
        server::Config::default(),
        &stop,
        |bound| {
            println!("kv-stage3 (weft, {cores} cores) on {bound}");
        },
    )
}
