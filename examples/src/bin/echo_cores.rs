//! A thread-per-core TCP echo server: one weft runtime per core, each
//! with its own listener on the same port (SO_REUSEPORT), so the kernel
//! spreads connections across cores and no fiber ever changes thread.
//!
//! `cargo run --release -p weft-examples --bin echo_cores -- [PORT] [CORES]`
//! then talk to it with `nc 127.0.0.1 7001`.

use std::io::{Read, Write};

use weft::net::{ListenOptions, TcpListener, TcpStream};
use weft::Switch;

fn serve(conn: TcpStream) -> std::io::Result<()> {
    let mut conn = conn;
    let mut buf = [0u8; 4096];
    loop {
        let n = conn.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        conn.write_all(&buf[..n])?;
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().and_then(|p| p.parse().ok()).unwrap_or(7001);
    let cores: usize = args
        .next()
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    println!("echo on 127.0.0.1:{port} with {cores} cores (one runtime and listener per core)");
    weft::run_on_cores(cores, |_env, core| {
        let options = ListenOptions::default().reuse_port(true);
        let listener = match TcpListener::bind_with(("127.0.0.1", port), options) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("core {core}: cannot listen on port {port}: {e}");
                return;
            }
        };
        let result: weft::Result<()> = Switch::run(|sw| loop {
            let (conn, peer) = listener.accept()?;
            sw.fork(move || {
                if let Err(e) = serve(conn) {
                    eprintln!("core {core}: connection from {peer} ended: {e}");
                }
            });
        });
        if let Err(e) = result {
            eprintln!("core {core}: stopped: {e}");
        }
    });
}
