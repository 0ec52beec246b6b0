//! `cargo run --release -p kv-load -- [--connections C] [--requests R] [--rounds N] [--cores K]`
//!
//! Starts each stage's server in this process (on its own threads), drives
//! it with the same workload N times, and prints a markdown table: the
//! median round's throughput, and its latency percentiles.

use std::io;
use std::net::SocketAddr;

use kv_load::{drive, Measured, Workload};

struct Options {
    workload: Workload,
    rounds: usize,
    cores: usize,
}

fn parse() -> Result<Options, String> {
    let mut o = Options {
        workload: Workload {
            connections: 32,
            requests: 2000,
        },
        rounds: 3,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        let n: usize = value
            .parse()
            .ok()
            .filter(|&n| n > 0)
            .ok_or(format!("{flag}: {value:?} is not a whole number above 0"))?;
        match flag.as_str() {
            "--connections" => o.workload.connections = n,
            "--requests" => o.workload.requests = n,
            "--rounds" => o.rounds = n,
            "--cores" => o.cores = n,
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    Ok(o)
}

/// A running server of some stage: its address and how to stop it.
struct Server {
    addr: SocketAddr,
    stop: Box<dyn FnOnce() -> io::Result<()>>,
}

fn start(stage: &str, max_connections: usize, cores: usize) -> io::Result<Server> {
    macro_rules! server {
        ($s:expr) => {{
            let s = $s?;
            Server {
                addr: s.addr(),
                stop: Box::new(move || s.stop()),
            }
        }};
    }
    Ok(match stage {
        "0" => server!(kv_stage0::testing::start(kv_stage0::server::Config {
            max_connections
        })),
        "1" => server!(kv_stage1::testing::start(kv_stage1::Config {
            max_connections
        })),
        "2" => server!(kv_stage2::testing::start(kv_stage2::server::Config {
            max_connections
        })),
        "3" => server!(kv_stage3::testing::start(kv_stage3::server::Config {
            max_connections
        })),
        _ => server!(kv_stage3::testing::start_on_cores(
            kv_stage3::server::Config { max_connections },
            cores
        )),
    })
}

fn main() {
    let o = match parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("kv-load: {e}\nusage: kv-load [--connections C] [--requests R] [--rounds N] [--cores K]");
            std::process::exit(2);
        }
    };
    let stages = [
        ("0", "tokio (multi-thread runtime)".to_string()),
        ("1", "tokio inside weft (weft-compat)".to_string()),
        (
            "2",
            "weft, server migrated (weft-migrate --only)".to_string(),
        ),
        ("3", "weft, all direct, 1 core".to_string()),
        (
            "3m",
            format!("weft, all direct, {} cores (run_on_cores)", o.cores),
        ),
    ];
    println!(
        "{} connections x {} requests, median of {} rounds\n",
        o.workload.connections, o.workload.requests, o.rounds
    );
    println!("| stage | server | requests/s | vs stage 0 | p50 µs | p99 µs |");
    println!("|---|---|---:|---:|---:|---:|");
    let mut baseline = None;
    for (stage, label) in stages {
        let m = match measure(stage, &o) {
            Ok(m) => m,
            Err(e) => {
                eprintln!("kv-load: stage {stage}: {e}");
                std::process::exit(1);
            }
        };
        let rate = m.per_second();
        let base = *baseline.get_or_insert(rate);
        println!(
            "| {stage} | {label} | {rate:.0} | {:.2}x | {} | {} |",
            rate / base,
            m.percentile(50.0),
            m.percentile(99.0)
        );
    }
}

/// Runs the rounds against a fresh server of `stage`; the median round.
fn measure(stage: &str, o: &Options) -> io::Result<Measured> {
    let server = start(stage, o.workload.connections, o.cores)?;
    // Warm up: connections, allocator, caches.
    drive(
        server.addr,
        Workload {
            connections: o.workload.connections,
            requests: 50,
        },
    )?;
    let mut rounds = Vec::with_capacity(o.rounds);
    for _ in 0..o.rounds {
        rounds.push(drive(server.addr, o.workload)?);
    }
    (server.stop)()?;
    rounds.sort_by(|a, b| a.per_second().total_cmp(&b.per_second()));
    Ok(rounds.swap_remove(rounds.len() / 2))
}
