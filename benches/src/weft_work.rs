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

/// The CPU job of the `parallel_sum` rows: about 20,000 dependent
/// multiply-adds, a few microseconds.
pub fn cpu_job(seed: u64) -> u64 {
    let mut x = seed;
    for _ in 0..20_000 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
    }
    x
}

/// `jobs` runs of `job` through `pool`, all in flight at once (as the
/// tokio side spawns them all before awaiting any); returns their sum.
pub fn pool_jobs(pool: &weft::ExecutorPool, jobs: usize, job: fn(u64) -> u64) -> u64 {
    let parts = weft::fiber::map_concurrent(jobs, 0..jobs as u64, |j| pool.submit(move || job(j)));
    parts.iter().fold(0u64, |a, b| a.wrapping_add(*b))
}
