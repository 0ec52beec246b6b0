//! A line-based chat server (see `weft_examples::chat` for the rules):
//! each line from one client goes to all the others with the sender's
//! name; `/nick NAME` renames, `/quit` leaves; a client too slow to read
//! its messages is disconnected instead of slowing anyone down.
//!
//! `cargo run --release -p weft-examples --bin chat -- [ADDR]` (default
//! `127.0.0.1:7002`), then connect two terminals with `nc 127.0.0.1 7002`.
//! Ctrl-C (SIGINT) closes every connection and exits with success.

use std::io::Write;

use weft::net::TcpListener;
use weft_examples::chat::{serve, ChatOptions};
use weft_examples::cli::{parse_args, usage, Args};

const DEFAULT_ADDR: &str = "127.0.0.1:7002";
const ABOUT: &str = "A line-based chat server: each line goes to every other client \
                     (/nick NAME renames, /quit leaves); Ctrl-C stops it";

fn main() {
    let addr = match parse_args(std::env::args().skip(1), DEFAULT_ADDR) {
        Ok(Args::Listen(addr)) => addr,
        Ok(Args::Help) => {
            print!("{}", usage("chat", DEFAULT_ADDR, ABOUT));
            return;
        }
        Err(e) => {
            eprint!("chat: {e}\n\n{}", usage("chat", DEFAULT_ADDR, ABOUT));
            std::process::exit(2);
        }
    };
    let result = weft::run(|_env| -> weft::Result<()> {
        let listener = TcpListener::bind(addr.as_str())
            .map_err(|e| weft::Error::msg(format!("cannot listen on {addr}: {e}")))?;
        let local = listener.local_addr()?;
        let mut out = weft::io::stdout();
        writeln!(out, "chat server listening on {local}")?;
        writeln!(
            out,
            "join with: nc {} {} (from two terminals; /nick NAME, /quit; Ctrl-C stops the server)",
            local.ip(),
            local.port()
        )?;
        // Whichever finishes first wins and the other is cancelled: on
        // Ctrl-C that is the server, with every connection fiber in it.
        let interrupted = weft::fiber::first(
            || serve(&listener, ChatOptions::default()).map(|()| false),
            || {
                weft::signal::ctrl_c()
                    .map(|()| true)
                    .map_err(weft::Error::from)
            },
        )?;
        if interrupted {
            writeln!(out, "chat: interrupted; every connection is closed")?;
        }
        Ok(())
    });
    if let Err(e) = result {
        eprintln!("chat: {e}");
        std::process::exit(1);
    }
}
