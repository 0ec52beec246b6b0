//! A TCP echo server: every connection is served by its own fiber inside
//! one switch (`run_server`), on one thread. A client that resets its
//! connection ends only its own fiber. Ctrl-C (SIGINT) cancels the server:
//! every connection fiber unwinds, closing its socket, and the process
//! exits with success.
//!
//! `cargo run --release -p weft-examples --bin echo -- [ADDR]` (default
//! `127.0.0.1:7000`), then talk to it with `nc 127.0.0.1 7000`: every line
//! you type comes back.

use std::io::{Read, Write};

use weft::net::{run_server, ServerOptions, TcpListener, TcpStream};
use weft_examples::cli::{parse_args, usage, Args};

const ABOUT: &str = "An echo server: every line a client sends comes back to it; Ctrl-C stops it";

/// Copies everything the client sends back to it until it hangs up.
fn echo(mut conn: TcpStream) -> weft::Result<()> {
    // 4 KiB on the heap, not 16 KiB on the fiber's stack: an idle
    // connection costs the top pages of its stack and this allocation.
    let mut buf = vec![0u8; 4 * 1024];
    loop {
        let n = conn.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        conn.write_all(&buf[..n])?;
    }
}

const DEFAULT_ADDR: &str = "127.0.0.1:7000";

fn main() {
    let addr = match parse_args(std::env::args().skip(1), DEFAULT_ADDR) {
        Ok(Args::Listen(addr)) => addr,
        Ok(Args::Help) => {
            print!("{}", usage("echo", DEFAULT_ADDR, ABOUT));
            return;
        }
        Err(e) => {
            eprint!("echo: {e}\n\n{}", usage("echo", DEFAULT_ADDR, ABOUT));
            std::process::exit(2);
        }
    };
    let result = weft::run(|_env| -> weft::Result<()> {
        let listener = TcpListener::bind(addr.as_str())
            .map_err(|e| weft::Error::msg(format!("cannot listen on {addr}: {e}")))?;
        let local = listener.local_addr()?;
        let mut out = weft::io::stdout();
        writeln!(out, "echo server listening on {local}")?;
        writeln!(
            out,
            "talk to it with: nc {} {} (every line comes back; Ctrl-C stops the server)",
            local.ip(),
            local.port()
        )?;
        let options = ServerOptions::new().on_error(|e| {
            // A reset client: report it and keep serving the others.
            let _ = writeln!(weft::io::stderr(), "echo: a connection ended: {e}");
        });
        // Whichever finishes first wins and the other is cancelled: on
        // Ctrl-C that is the server, with every connection fiber in it.
        let interrupted = weft::fiber::first(
            || run_server(&listener, options, |conn, _peer| echo(conn)).map(|()| false),
            || {
                weft::signal::ctrl_c()
                    .map(|()| true)
                    .map_err(weft::Error::from)
            },
        )?;
        if interrupted {
            writeln!(out, "echo: interrupted; every connection is closed")?;
        }
        Ok(())
    });
    if let Err(e) = result {
        eprintln!("echo: {e}");
        std::process::exit(1);
    }
}
