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
        common::median_per_op(rounds, n, || {
            let (tx, mut rx) = weft::sync::mpsc::unbounded_channel::<weft::Resolver<u32>>();
            weft::fiber::both(
                move || {
                    for _ in 0..n {
                        let (p, r) = weft::Promise::new();
                        tx.send(r).expect("the resolving fiber is alive");
                        std::hint::black_box(p.await_());
                    }
                },
                move || {
                    let mut i = 0;
                    while let Some(r) = rx.recv() {
                        r.resolve(i);
                        i += 1;
                    }
                },
            );
        })
    });
    println!("median {ns:.1} ns/op");
}
