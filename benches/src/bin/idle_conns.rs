//! `idle_conns PID ADDR N`: the resident memory an echo server (process
//! PID, listening on ADDR) takes per idle connection. Opens one connection
//! and does one round trip (warm-up), reads PID's VmRSS, opens N more
//! connections with one 1-byte round trip each (so every connection has been
//! served once and is now blocked in a read), reads VmRSS again and prints
//! the difference per connection. Used by `benches/echo_idle_rss.sh`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

fn rss_kib(pid: &str) -> Result<u64, String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("cannot read /proc/{pid}/status: {e}"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("no VmRSS in /proc/{pid}/status"))
}

fn round_trip(addr: &str) -> std::io::Result<TcpStream> {
    let mut conn = TcpStream::connect(addr)?;
    conn.write_all(b"x")?;
    let mut byte = [0u8; 1];
    conn.read_exact(&mut byte)?;
    Ok(conn)
}

fn run(args: &[String]) -> Result<(), String> {
    let [pid, addr, n] = args else {
        return Err("usage: idle_conns PID ADDR N".into());
    };
    let n: usize = n.parse().map_err(|e| format!("N: {e}"))?;
    let _warm = round_trip(addr).map_err(|e| format!("connect {addr}: {e}"))?;
    std::thread::sleep(Duration::from_millis(300));
    let before = rss_kib(pid)?;
    let mut conns = Vec::with_capacity(n);
    for i in 0..n {
        conns.push(round_trip(addr).map_err(|e| format!("connection {i}: {e}"))?);
    }
    std::thread::sleep(Duration::from_millis(500));
    let after = rss_kib(pid)?;
    let per = after.saturating_sub(before) as f64 * 1024.0 / n as f64;
    println!(
        "{n} idle connections: RSS {before} KiB -> {after} KiB, {per:.0} bytes per connection"
    );
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Err(e) = run(&args) {
        eprintln!("idle_conns: {e}");
        std::process::exit(2);
    }
}
