//! What a race costs around work that blocks once: `yield_now` alone, then
//! inside `fiber::first_watch` against a branch waiting on a broadcast
//! (what weft-migrate makes of a request loop's `select!` on a shutdown
//! signal), then inside `fiber::first` (whose loser starts and must be
//! unwound). Prints the median ns per op of each.
//!
//! `cargo run --release -p weft-benches --example race_prof -- [ROUNDS]`

mod common;

/// The median ns of `n` races made by `$race` (`first_watch` or `first`):
/// the head yields once and wins; the other waits on `$rx`'s broadcast.
macro_rules! races_around_a_yield {
    ($race:path, $rounds:expr, $n:expr, $rx:expr) => {
        common::median_per_op($rounds, $n, || {
            for _ in 0..$n {
                let mut rx = $rx.resubscribe();
                let r: Result<u32, ()> = $race(
                    || {
                        weft::fiber::yield_now();
                        Ok(1)
                    },
                    || {
                        let _ = rx.recv();
                        Err(())
                    },
                );
                std::hint::black_box(r).expect("the head wins");
            }
        })
    };
}

fn main() {
    let n = 200_000;
    let rounds = common::arg(1, 15);
    let (plain, watched, raced) = common::on_weft(|| {
        let (_tx, rx) = weft::sync::broadcast::channel::<()>(1);
        let plain = common::median_per_op(rounds, n, || {
            for _ in 0..n {
                weft::fiber::yield_now();
            }
        });
        let watched = races_around_a_yield!(weft::fiber::first_watch, rounds, n, rx);
        let raced = races_around_a_yield!(weft::fiber::first, rounds, n, rx);
        (plain, watched, raced)
    });
    println!(
        "yield alone {plain:.1} ns, first_watch around it {watched:.1} ns, first {raced:.1} ns"
    );
}
