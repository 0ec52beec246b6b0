//! Core rows: fork/spawn + join, yield, promise ping-pong, stream
//! throughput, contended mutex, 100k timers, idle memory. Each row's
//! weft and tokio batches run in alternation on runtimes that stay up
//! (`block_on` on both sides), so a shared machine's drift hits both.

use std::time::Duration;

use crate::harness::{
    interleaved_costs, interleaved_medians, rss_bytes, timed, timed_cpu, Row, Scale,
};

fn tokio_ct() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn tokio_mt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn weft_rt() -> weft::Runtime {
    weft::Runtime::builder().build().unwrap()
}

/// The tokio side of `spawn_join` on `rt`: spawn an empty task and await
/// it, `n` times.
fn tokio_spawn_joins(rt: &tokio::runtime::Runtime, n: usize) -> Duration {
    rt.block_on(async {
        let t = std::time::Instant::now();
        for _ in 0..n {
            tokio::spawn(async { std::hint::black_box(1) })
                .await
                .unwrap();
        }
        t.elapsed()
    })
}

pub fn spawn_join(s: Scale) -> Vec<Row> {
    let n = s.ops(200_000);
    let weft = weft_rt();
    let (ct, mt) = (tokio_ct(), tokio_mt());
    let m = interleaved_medians(
        s.samples,
        n,
        &mut [
            &mut || {
                weft.block_on(|| {
                    timed(|| {
                        for _ in 0..n {
                            weft::Switch::run(|sw| {
                                sw.fork(|| std::hint::black_box(()));
                                Ok(())
                            })
                            .unwrap();
                        }
                    })
                })
            },
            &mut || {
                weft.block_on(|| {
                    timed(|| {
                        for _ in 0..n {
                            weft::spawn(|| std::hint::black_box(1)).join().unwrap();
                        }
                    })
                })
            },
            &mut || tokio_spawn_joins(&ct, n),
            &mut || tokio_spawn_joins(&mt, n),
        ],
    );
    let (weft_fork, weft_task, tokio_ct_ns, tokio_mt_ns) = (m[0], m[1], m[2], m[3]);
    vec![
        Row {
            name: "spawn_join".into(),
            weft: weft_fork,
            tokio: tokio_ct_ns,
            unit: "ns/op",
        },
        Row {
            name: "spawn_join_task".into(),
            weft: weft_task,
            tokio: tokio_ct_ns,
            unit: "ns/op",
        },
        Row {
            name: "spawn_join_mt".into(),
            weft: weft_fork,
            tokio: tokio_mt_ns,
            unit: "ns/op",
        },
    ]
}

/// One row from a weft batch and a tokio batch measured in alternation.
fn paired_row(
    name: &str,
    s: Scale,
    n: usize,
    weft_batch: &mut dyn FnMut() -> Duration,
    tokio_batch: &mut dyn FnMut() -> Duration,
) -> Row {
    let m = interleaved_medians(s.samples, n, &mut [weft_batch, tokio_batch]);
    Row {
        name: name.into(),
        weft: m[0],
        tokio: m[1],
        unit: "ns/op",
    }
}

/// One row measured on a weft runtime and a tokio current_thread runtime
/// of its own: each batch runs `weft_work` in weft's main fiber, or
/// `tokio_work`'s future in tokio's `block_on`, and is timed whole.
fn current_thread_row<F: std::future::Future<Output = ()>>(
    name: &str,
    s: Scale,
    n: usize,
    mut weft_work: impl FnMut(),
    mut tokio_work: impl FnMut() -> F,
) -> Vec<Row> {
    let weft = weft_rt();
    let ct = tokio_ct();
    vec![paired_row(
        name,
        s,
        n,
        &mut || weft.block_on(|| timed(&mut weft_work)),
        &mut || {
            ct.block_on(async {
                let t = std::time::Instant::now();
                tokio_work().await;
                t.elapsed()
            })
        },
    )]
}

pub fn yield_now(s: Scale) -> Vec<Row> {
    let n = s.ops(1_000_000);
    current_thread_row(
        "yield",
        s,
        n,
        || crate::weft_work::yield_turns(n),
        || tokio_yield_turns(n),
    )
}

/// The tokio side of the yield rows: two tasks that yield `n / 2` times
/// each, taking turns.
pub(crate) async fn tokio_yield_turns(n: usize) {
    let a = tokio::spawn(async move {
        for _ in 0..n / 2 {
            tokio::task::yield_now().await;
        }
    });
    for _ in 0..n / 2 {
        tokio::task::yield_now().await;
    }
    a.await.unwrap();
}

pub fn promise_pingpong(s: Scale) -> Vec<Row> {
    let n = s.ops(200_000);
    // Per round trip: a fresh reply slot sent over an unbounded channel,
    // resolved by the other side and awaited (the same shape on both).
    current_thread_row(
        "promise_pingpong",
        s,
        n,
        || crate::weft_work::promise_round_trips(n),
        || async move {
            let (tx, mut rx) =
                tokio::sync::mpsc::unbounded_channel::<tokio::sync::oneshot::Sender<u32>>();
            let b = tokio::spawn(async move {
                let mut i = 0;
                while let Some(r) = rx.recv().await {
                    let _ = r.send(i);
                    i += 1;
                }
            });
            for _ in 0..n {
                let (r, p) = tokio::sync::oneshot::channel();
                tx.send(r).unwrap();
                p.await.unwrap();
            }
            drop(tx);
            b.await.unwrap();
        },
    )
}

pub fn stream_throughput(s: Scale) -> Vec<Row> {
    let n = s.ops(1_000_000);
    current_thread_row(
        "stream_throughput",
        s,
        n,
        || {
            let st = weft::sync::Stream::new(64);
            weft::fiber::both(
                || {
                    for i in 0..n {
                        st.add(i);
                    }
                },
                || {
                    for _ in 0..n {
                        std::hint::black_box(st.take());
                    }
                },
            );
        },
        || async move {
            let (tx, mut rx) = tokio::sync::mpsc::channel(64);
            let p = tokio::spawn(async move {
                for i in 0..n {
                    tx.send(i).await.unwrap();
                }
            });
            for _ in 0..n {
                std::hint::black_box(rx.recv().await.unwrap());
            }
            p.await.unwrap();
        },
    )
}

pub fn mutex_contended(s: Scale) -> Vec<Row> {
    const FIBERS: usize = 100;
    let per = s.ops(2_000);
    let n = FIBERS * per;
    current_thread_row(
        "mutex_contended",
        s,
        n,
        || crate::weft_work::contended_mutex(FIBERS, per),
        || async move {
            let m = std::sync::Arc::new(tokio::sync::Mutex::new(0u64));
            let tasks: Vec<_> = (0..FIBERS)
                .map(|f| {
                    let m = m.clone();
                    tokio::spawn(async move {
                        for i in 0..per {
                            let mut g = m.lock().await;
                            *g += 1;
                            if (i + f) % 8 == 0 {
                                tokio::task::yield_now().await;
                            }
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
            assert_eq!(*m.lock().await, n as u64);
        },
    )
}

fn sleep_times(n: usize) -> Vec<u64> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    (0..n).map(|_| rng.random_range(1..=10)).collect()
}

pub fn timers_100k(s: Scale) -> Vec<Row> {
    let n = s.ops(100_000);
    let times = sleep_times(n);
    let samples = s.samples.min(7);
    // The stack pool is sized for the burst, as a server expecting that
    // many concurrent fibers would configure it (see benches/README.md).
    let weft = weft::Runtime::builder()
        .stack_size(64 * 1024)
        .max_pooled_stacks(n + 1024)
        .build()
        .unwrap();
    let ct = tokio_ct();
    let m = interleaved_costs(
        samples,
        n,
        &mut [
            &mut || {
                weft.block_on(|| {
                    timed_cpu(|| {
                        weft::Switch::run(|sw| {
                            for &ms in &times {
                                sw.fork(move || weft::time::sleep(Duration::from_millis(ms)));
                            }
                            Ok(())
                        })
                        .unwrap();
                    })
                })
            },
            &mut || {
                timed_cpu(|| {
                    ct.block_on(async {
                        let tasks: Vec<_> = times
                            .iter()
                            .map(|&ms| tokio::spawn(tokio::time::sleep(Duration::from_millis(ms))))
                            .collect();
                        for t in tasks {
                            t.await.unwrap();
                        }
                    })
                })
            },
        ],
    );
    let ((weft_wall, weft_cpu), (tokio_wall, tokio_cpu)) = (m[0], m[1]);
    vec![
        Row {
            name: "timers_100k".into(),
            weft: weft_wall,
            tokio: tokio_wall,
            unit: "ns/op",
        },
        // One thread each side: CPU time is what the wall clock would be
        // without the other processes of a shared machine.
        Row {
            name: "timers_100k_cpu".into(),
            weft: weft_cpu,
            tokio: tokio_cpu,
            unit: "cpu-ns/op",
        },
    ]
}

/// Idle memory is measured in a fresh child process per side, so memory
/// freed by earlier rows (and reused by the allocator) does not hide the
/// cost.
pub fn idle_memory(s: Scale) -> Vec<Row> {
    let n = s.ops(10_000);
    let measure = |side: &str| -> f64 {
        let out = std::process::Command::new(std::env::current_exe().expect("own path"))
            .args(["--idle-child", side, &n.to_string()])
            .output()
            .expect("run the measuring child");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .unwrap_or(f64::NAN)
    };
    vec![Row {
        name: "idle_memory".into(),
        weft: measure("weft"),
        tokio: measure("tokio"),
        unit: "bytes/idle",
    }]
}

/// The child side of [`idle_memory`]: prints bytes of RSS per idle fiber
/// or task.
pub fn idle_child(side: &str, n: usize) -> f64 {
    match side {
        "weft" => weft::Runtime::builder()
            .max_pooled_stacks(0)
            .build()
            .unwrap()
            .run(|_env| {
                let (p, r) = weft::Promise::<()>::new();
                let per = std::cell::Cell::new(0.0);
                weft::Switch::run(|sw| {
                    let before = rss_bytes();
                    for _ in 0..n {
                        sw.fork(|| {
                            p.await_();
                        });
                    }
                    per.set((rss_bytes() - before) as f64 / n as f64);
                    r.resolve(());
                    Ok(())
                })
                .unwrap();
                per.get()
            }),
        _ => tokio_ct().block_on(async {
            let (tx, rx) = tokio::sync::watch::channel(false);
            let before = rss_bytes();
            let tasks: Vec<_> = (0..n)
                .map(|_| {
                    let mut rx = rx.clone();
                    tokio::spawn(async move {
                        let _ = rx.changed().await;
                    })
                })
                .collect();
            tokio::task::yield_now().await;
            let per = (rss_bytes() - before) as f64 / n as f64;
            tx.send(true).unwrap();
            for t in tasks {
                t.await.unwrap();
            }
            per
        }),
    }
}
