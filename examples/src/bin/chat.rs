//! A line-based chat server (see `weft_examples::chat` for the rules):
//! each line from one client goes to all the others with the sender's
//! name; `/nick NAME` renames, `/quit` leaves; a client too slow to read
//! its messages is disconnected instead of slowing anyone down.
//!
//! `cargo run --release -p weft-examples --bin chat -- [ADDR]` (default
//! `127.0.0.1:7002`), then connect two terminals with `nc 127.0.0.1 7002`.

use std::io::Write;

use weft::net::TcpListener;
use weft_examples::chat::{serve, ChatOptions};

fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7002".to_string());
    let result = weft::run(|_env| -> weft::Result<()> {
        let listener = TcpListener::bind(addr.as_str())?;
        let local = listener.local_addr()?;
        let mut out = weft::io::stdout();
        writeln!(out, "chat server listening on {local}")?;
        writeln!(
            out,
            "join with: nc {} {} (from two terminals; /nick NAME, /quit)",
            local.ip(),
            local.port()
        )?;
        serve(&listener, ChatOptions::default())
    });
    if let Err(e) = result {
        eprintln!("chat: {e}");
        std::process::exit(1);
    }
}
