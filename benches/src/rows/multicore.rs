//! Multicore rows: cross-thread promise ping-pong, CPU jobs on the
//! executor pool, and scaling from one to two workers.

use crate::harness::{median_ns, timed, Row, Scale};

pub fn xthread_pingpong(s: Scale) -> Vec<Row> {
    let n = s.ops(100_000);
    let weft_ns = weft::Runtime::builder()
        .executor_threads(1)
        .build()
        .unwrap()
        .run(|env| {
            let pool = env.executor_pool();
            median_ns(s.samples, n, || {
                timed(|| {
                    let (tx, rx) = std::sync::mpsc::sync_channel::<(
                        weft::Resolver<u32>,
                        weft::Promise<u32>,
                    )>(0);
                    // The other side runs on a worker thread: it answers each
                    // ping by resolving the pong promise.
                    let answering = pool.submit_promise(move || {
                        for (r, _keep) in rx {
                            r.resolve(1);
                        }
                    });
                    for _ in 0..n {
                        let (p, r) = weft::Promise::new();
                        tx.send((r, p.clone())).unwrap();
                        std::hint::black_box(p.await_());
                    }
                    drop(tx);
                    let _ = answering.await_();
                })
            })
        });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let tokio_ns = median_ns(s.samples, n, || {
        rt.block_on(async {
            let t = std::time::Instant::now();
            let (tx, mut rx) = tokio::sync::mpsc::channel::<tokio::sync::oneshot::Sender<u32>>(1);
            let other = tokio::spawn(async move {
                while let Some(r) = rx.recv().await {
                    let _ = r.send(1);
                }
            });
            for _ in 0..n {
                let (r, p) = tokio::sync::oneshot::channel();
                tx.send(r).await.unwrap();
                std::hint::black_box(p.await.unwrap());
            }
            drop(tx);
            other.await.unwrap();
            t.elapsed()
        })
    });
    vec![Row {
        name: "xthread_pingpong".into(),
        weft: weft_ns,
        tokio: tokio_ns,
        unit: "ns/op",
    }]
}

fn work(seed: u64) -> u64 {
    let mut x = seed;
    for _ in 0..20_000 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
    }
    x
}

pub fn parallel_sum(s: Scale) -> Vec<Row> {
    let jobs = s.ops(400);
    let mut rows = Vec::new();
    for workers in [1usize, 2] {
        let weft_ns = weft::Runtime::builder()
            .executor_threads(workers)
            .build()
            .unwrap()
            .run(|env| {
                let pool = env.executor_pool();
                median_ns(s.samples, jobs, || {
                    timed(|| {
                        let parts = weft::fiber::map_concurrent(workers * 2, 0..jobs as u64, |j| {
                            pool.submit(move || work(j))
                        });
                        std::hint::black_box(parts.iter().fold(0u64, |a, b| a.wrapping_add(*b)));
                    })
                })
            });
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .max_blocking_threads(workers)
            .build()
            .unwrap();
        let tokio_ns = median_ns(s.samples, jobs, || {
            rt.block_on(async {
                let t = std::time::Instant::now();
                let handles: Vec<_> = (0..jobs as u64)
                    .map(|j| tokio::task::spawn_blocking(move || work(j)))
                    .collect();
                let mut acc = 0u64;
                for h in handles {
                    acc = acc.wrapping_add(h.await.unwrap());
                }
                std::hint::black_box(acc);
                t.elapsed()
            })
        });
        rows.push(Row {
            name: format!("parallel_sum_{workers}w"),
            weft: weft_ns,
            tokio: tokio_ns,
            unit: "ns/job",
        });
    }
    rows
}
