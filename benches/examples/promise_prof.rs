//! The `promise_pingpong` row's weft side alone: per round trip a fresh
//! `Promise`, its resolver sent over an unbounded channel to a second
//! fiber that resolves it; prints the median ns per round trip.
//!
//! `cargo run --release -p weft-benches --example promise_prof -- [ROUNDS]`

mod common;

fn main() {
    let n = 200_000;
    let rounds = common::arg(1, 30);
    let ns = common::on_weft(|| {
        common::median_per_op(rounds, n, || common::weft_work::promise_round_trips(n))
    });
    println!("median {ns:.1} ns/op");
}
