//! The `mutex_contended` row's weft side alone: 100 fibers taking one
//! `Mutex` 2,000 times each, holding it across a yield every 8th time;
//! prints the median ns per lock.
//!
//! `cargo run --release -p weft-benches --example mutex_prof -- [ROUNDS]`

mod common;

fn main() {
    const FIBERS: usize = 100;
    let per = 2_000;
    let n = FIBERS * per;
    let rounds = common::arg(1, 30);
    let ns = common::on_weft(|| {
        common::median_per_op(rounds, n, || {
            common::weft_work::contended_mutex(FIBERS, per)
        })
    });
    println!("median {ns:.1} ns/op");
}
