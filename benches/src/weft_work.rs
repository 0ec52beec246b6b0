//! The weft side of the rows whose work is also run alone by the one-row
//! examples (`benches/examples/`, which include this file): one body, so
//! an example measures exactly what its row does. Each runs in a fiber.

/// Two fibers taking turns with `yield_now`, `n` yields in all.
pub fn yield_turns(n: usize) {
    weft::fiber::both(
        || {
            for _ in 0..n / 2 {
                weft::fiber::yield_now();
            }
        },
        || {
            for _ in 0..n / 2 {
                weft::fiber::yield_now();
            }
        },
    );
}

/// `n` round trips: a fresh `Promise` whose resolver is sent over an
/// unbounded channel to a second fiber, which resolves it.
pub fn promise_round_trips(n: usize) {
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
}

/// `fibers` fibers taking one `Mutex` `per` times each, holding it across
/// a yield every 8th time; checks the count.
pub fn contended_mutex(fibers: usize, per: usize) {
    let m = weft::sync::Mutex::new(0u64);
    weft::fiber::all((0..fibers).map(|f| {
        let m = &m;
        move || {
            for i in 0..per {
                let mut g = m.lock();
                *g += 1;
                if (i + f) % 8 == 0 {
                    weft::fiber::yield_now(); // hold it across a switch sometimes
                }
            }
        }
    }));
    assert_eq!(m.into_inner(), (fibers * per) as u64);
}
