//! weft vs tokio on the same work, in the same run.
//!
//! `cargo run --release -p weft-benches [-- [--quick] [FILTER]]` prints a
//! table of medians (and the speedup tokio/weft) and writes the rows as
//! JSON lines to `target/bench/results.jsonl`.

mod harness;
mod rows;
mod weft_work;

use harness::{Row, Scale};

type RowFn = fn(Scale) -> Vec<Row>;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--idle-child") {
        let n = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(10_000);
        println!("{:.1}", rows::core::idle_child(&args[1], n));
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let filter = args.iter().find(|a| !a.starts_with("--")).cloned();
    let scale = if quick {
        Scale {
            samples: 5,
            factor: 0.1,
        }
    } else {
        Scale {
            samples: 15,
            factor: 1.0,
        }
    };
    let all: &[(&str, RowFn)] = &[
        ("spawn_join", rows::core::spawn_join),
        ("yield", rows::core::yield_now),
        ("promise_pingpong", rows::core::promise_pingpong),
        ("stream_throughput", rows::core::stream_throughput),
        ("mutex_contended", rows::core::mutex_contended),
        ("timers_100k", rows::core::timers_100k),
        ("idle_memory", rows::core::idle_memory),
        ("tcp_echo", rows::io::tcp_echo),
        ("file_read", rows::fs::file_read),
        ("file_read_cold", rows::fs::file_read_cold),
        ("file_to_socket", rows::fs::file_to_socket),
        ("xthread_pingpong", rows::multicore::xthread_pingpong),
        ("parallel_sum", rows::multicore::parallel_sum),
        ("pool_round_trip", rows::multicore::pool_round_trip),
        ("tcp_echo_mc", rows::multicore::tcp_echo_mc),
        ("compat_ready", rows::io::compat_ready),
        ("compat_yield", rows::io::compat_yield),
        ("compat_tokio_echo", rows::io::compat_tokio_echo),
        ("compat_hyper", rows::http::compat_hyper),
    ];
    harness::print_header();
    let mut results = Vec::new();
    for (name, row) in all {
        if filter.as_deref().is_some_and(|f| !name.contains(f)) {
            continue;
        }
        for r in row(scale) {
            harness::print_row(&r);
            results.push(r);
        }
    }
    match harness::write_jsonl(&results) {
        Ok(path) => println!("\nrows written to {}", path.display()),
        Err(e) => eprintln!("could not write the JSON lines: {e}"),
    }
}
