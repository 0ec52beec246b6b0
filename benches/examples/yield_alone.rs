//! The `yield` row's weft side alone, in a small binary: two fibers
//! alternating `yield_now`, median ns per yield over 15 batches.
//!
//! Before the fiber side of the switch path was always inlined, the same
//! code measured 7 ns per yield here and 25 ns inside `weft-benches`
//! (LLVM inlined it in one binary and not the other; see `switch_out`).
//! Compare the two when changing the switch path.
//!
//! `cargo run --release -p weft-benches --example yield_alone`

mod common;

fn main() {
    let n = 1_000_000;
    let ns = common::on_weft(|| common::median_per_op(15, n, || common::weft_work::yield_turns(n)));
    println!("median {ns:.1} ns/op");
}
