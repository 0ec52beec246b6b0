//! A tour of weft's core: fibers in a switch, a failing fiber cancelling
//! its siblings, `first` racing two lookups, a timeout, and a fiber dump.
//!
//! Run it with `cargo run --release -p weft-examples --bin fibers`.

use std::cell::Cell;
use std::time::Duration;

use weft::fiber;
use weft::time::{sleep, timeout, Instant};
use weft::Switch;

/// Pretends to fetch `name`, taking `ms` milliseconds.
fn fetch(name: &str, ms: u64) -> String {
    sleep(Duration::from_millis(ms));
    format!("{name} ({ms} ms)")
}

/// Prints when it is dropped, to show that cancellation runs destructors.
struct Announce(&'static str);

impl Drop for Announce {
    fn drop(&mut self) {
        println!("    {} cleaned up", self.0);
    }
}

fn main() {
    weft::run(|_env| {
        let start = Instant::now();

        println!("1. three fibers in one switch; the switch waits for all of them");
        let done = Cell::new(0);
        Switch::run(|sw| {
            for (name, ms) in [("alpha", 30), ("beta", 10), ("gamma", 20)] {
                let done = &done;
                sw.fork(move || {
                    println!("    got {}", fetch(name, ms));
                    done.set(done.get() + 1);
                });
            }
            Ok(())
        })
        .expect("no fiber fails here");
        println!(
            "    all {} finished after {:?}",
            done.get(),
            start.elapsed()
        );

        println!("2. a failing fiber cancels its siblings; the failure is returned");
        let result = Switch::run(|sw| {
            sw.fork(|| {
                let _guard = Announce("slow worker");
                sleep(Duration::from_secs(60));
            });
            sw.fork(|| -> weft::Result<()> {
                sleep(Duration::from_millis(5));
                Err(weft::Error::msg("the database is unreachable"))
            });
            Ok(())
        });
        println!("    Switch::run returned: {}", result.unwrap_err());

        println!("3. first(): the faster lookup wins, the slower one is cancelled");
        let winner = fiber::first(
            || {
                let _guard = Announce("mirror lookup");
                fetch("mirror", 50)
            },
            || fetch("primary", 5),
        );
        println!("    winner: {winner}");

        println!("4. timeout() cancels work that takes too long");
        match timeout(Duration::from_millis(10), || fetch("slow service", 1_000)) {
            Ok(v) => println!("    unexpected: {v}"),
            Err(e) => println!("    {e}"),
        }

        println!("5. a dump of the fibers, as SIGQUIT would print it");
        Switch::run(|sw| {
            sw.fork_named("waiter", || sleep(Duration::from_millis(5)));
            print!("{}", weft::dump());
            Ok(())
        })
        .expect("no fiber fails here");

        println!("done in {:?}", start.elapsed());
    });
}
