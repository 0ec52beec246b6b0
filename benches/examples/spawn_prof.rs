//! The `spawn_join` row's weft side alone: `Switch::run` with one forked
//! empty fiber, `200_000` times per round; prints the median ns per op.
//!
//! `cargo run --release -p weft-benches --example spawn_prof -- [ROUNDS]`

mod common;

fn main() {
    let n = 200_000;
    let rounds = common::arg(1, 30);
    let ns = common::on_weft(|| {
        common::median_per_op(rounds, n, || {
            for _ in 0..n {
                weft::Switch::run(|sw| {
                    sw.fork(|| std::hint::black_box(()));
                    Ok(())
                })
                .expect("an empty fiber succeeds");
            }
        })
    });
    println!("median {ns:.1} ns/op");
}
