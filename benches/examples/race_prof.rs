//! What a race costs around work that blocks once: `yield_now` alone, then
//! inside `fiber::first_watch` against a branch waiting on a broadcast
//! (what weft-migrate makes of a request loop's `select!` on a shutdown
//! signal), then inside `fiber::first` (whose loser starts and must be
//! unwound). Prints the median ns per op of each.
//!
//! `cargo run --release -p weft-benches --example race_prof -- [ROUNDS]`

mod common;
fn main() {
    let n = 200_000;
    let rounds = common::arg(1, 15);
    let (plain, raced, unwatched) = common::on_weft(|| {
        let (_tx, rx) = weft::sync::broadcast::channel::<()>(1);
        let plain = common::median_per_op(rounds, n, || {
            for _ in 0..n {
                weft::fiber::yield_now();
            }
        });
        let raced = common::median_per_op(rounds, n, || {
            for _ in 0..n {
                let mut rx = rx.resubscribe();
                let r: Result<u32, ()> = weft::fiber::first_watch(
                    || {
                        weft::fiber::yield_now();
                        Ok(1)
                    },
                    || {
                        let _ = rx.recv();
                        Err(())
                    },
                );
                std::hint::black_box(r).unwrap();
            }
        });
        let unwatched = common::median_per_op(rounds, n, || {
            for _ in 0..n {
                let mut rx = rx.resubscribe();
                let r: Result<u32, ()> = weft::fiber::first(
                    || {
                        weft::fiber::yield_now();
                        Ok(1)
                    },
                    || {
                        let _ = rx.recv();
                        Err(())
                    },
                );
                std::hint::black_box(r).unwrap();
            }
        });
        (plain, raced, unwatched)
    });
    println!(
        "yield alone {plain:.1} ns, first_watch around it {raced:.1} ns, first {unwatched:.1} ns"
    );
}
