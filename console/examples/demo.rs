//! A small weft program to look at with weft-console: an echo server, three
//! clients of it that talk every half second, and a few workers waiting on
//! a stream. Runs with monitoring on (`Builder::console`), until Ctrl-C.
//!
//! `cargo run -p weft-console --example demo`, then, with the PID it prints:
//! `weft-console top PID`, `weft-console snapshot PID`.

use std::io::{Read, Write};
use std::time::Duration;

use weft::net::{TcpListener, TcpStream};

fn echo(mut conn: TcpStream) -> weft::Result<()> {
    let mut buf = [0u8; 1024];
    loop {
        let n = conn.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        conn.write_all(&buf[..n])?;
    }
}

fn client(addr: std::net::SocketAddr) -> weft::Result<()> {
    let mut conn = TcpStream::connect(addr)?;
    let mut buf = [0u8; 5];
    loop {
        conn.write_all(b"ping\n")?;
        conn.read_exact(&mut buf)?;
        weft::console::event("pings", 1);
        weft::time::sleep(Duration::from_millis(500));
    }
}

fn main() {
    weft::Runtime::builder()
        .console(true)
        .build()
        .expect("a runtime")
        .run(|_env| -> weft::Result<()> {
            let listener = TcpListener::bind("127.0.0.1:0")?;
            let addr = listener.local_addr()?;
            println!(
                "demo: PID {} (echo server on {addr}); Ctrl-C stops it",
                std::process::id()
            );
            let jobs = weft::sync::Stream::<u32>::new(0);
            weft::fiber::first(
                || {
                    weft::Switch::run(|sw| {
                        sw.fork_named("accept", || -> weft::Result<()> {
                            weft::Switch::run(|conns| -> weft::Result<()> {
                                loop {
                                    let (conn, _) = listener.accept()?;
                                    conns.fork_named("conn", move || echo(conn));
                                }
                            })
                        });
                        for _ in 0..3 {
                            sw.fork_named("client", move || client(addr));
                        }
                        for _ in 0..2 {
                            sw.fork_named("worker", || -> weft::Result<()> {
                                loop {
                                    let _job = jobs.take();
                                }
                            });
                        }
                        Ok(())
                    })
                },
                || weft::signal::ctrl_c().map_err(weft::Error::from),
            )
        })
        .expect("the demo ran");
}
