//! Multicore rows: cross-thread promise ping-pong, CPU jobs on the
//! executor pool, and scaling from one to two workers.

use crate::harness::{median_cost, median_ns, timed, timed_cpu, Row, Scale};

pub fn xthread_pingpong(s: Scale) -> Vec<Row> {
    let n = s.ops(100_000);
    let (weft_wall, weft_cpu) = weft::Runtime::builder()
        .executor_threads(1)
        .build()
        .unwrap()
        .run(|env| {
            let pool = env.executor_pool();
            median_cost(s.samples, n, || {
                timed_cpu(|| {
                    // As on the tokio side: a bounded channel of resolvers
                    // to a fiber on the other thread, which answers each
                    // ping by resolving the pong promise. Both sides
                    // suspend their fiber (never their thread) to wait.
                    let (tx, mut rx) = weft::sync::mpsc::channel::<weft::Resolver<u32>>(1);
                    let answering = pool.submit_promise(move || {
                        while let Some(r) = rx.recv() {
                            r.resolve(1);
                        }
                    });
                    for _ in 0..n {
                        let (p, r) = weft::Promise::new();
                        tx.send(r).unwrap();
                        std::hint::black_box(*p.await_());
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
    let (tokio_wall, tokio_cpu) = median_cost(s.samples, n, || {
        timed_cpu(|| {
            rt.block_on(async {
                let (tx, mut rx) =
                    tokio::sync::mpsc::channel::<tokio::sync::oneshot::Sender<u32>>(1);
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
            })
        })
    });
    vec![
        Row {
            name: "xthread_pingpong".into(),
            weft: weft_wall,
            tokio: tokio_wall,
            unit: "ns/op",
        },
        Row {
            name: "xthread_pingpong_cpu".into(),
            weft: weft_cpu,
            tokio: tokio_cpu,
            unit: "cpu-ns/op",
        },
    ]
}

pub fn parallel_sum(s: Scale) -> Vec<Row> {
    let jobs = s.ops(400);
    let mut rows = Vec::new();
    for workers in [1usize, 2] {
        let (weft_wall, weft_cpu) = weft::Runtime::builder()
            .executor_threads(workers)
            .build()
            .unwrap()
            .run(|env| {
                let pool = env.executor_pool();
                median_cost(s.samples, jobs, || {
                    timed_cpu(|| {
                        std::hint::black_box(crate::weft_work::pool_jobs(
                            &pool,
                            jobs,
                            crate::weft_work::cpu_job,
                        ));
                    })
                })
            });
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .max_blocking_threads(workers)
            .build()
            .unwrap();
        let (tokio_wall, tokio_cpu) = median_cost(s.samples, jobs, || {
            timed_cpu(|| {
                rt.block_on(async {
                    let handles: Vec<_> = (0..jobs as u64)
                        .map(|j| tokio::task::spawn_blocking(move || crate::weft_work::cpu_job(j)))
                        .collect();
                    let mut acc = 0u64;
                    for h in handles {
                        acc = acc.wrapping_add(h.await.unwrap());
                    }
                    std::hint::black_box(acc);
                })
            })
        });
        rows.push(Row {
            name: format!("parallel_sum_{workers}w"),
            weft: weft_wall,
            tokio: tokio_wall,
            unit: "ns/job",
        });
        rows.push(Row {
            name: format!("parallel_sum_{workers}w_cpu"),
            weft: weft_cpu,
            tokio: tokio_cpu,
            unit: "cpu-ns/job",
        });
    }
    rows
}

/// The executor pool's own cost per job: 400 jobs that return their
/// argument, all in flight at once, on one worker, against tokio's
/// `spawn_blocking` on one blocking thread (what `parallel_sum` pays on
/// top of its work).
pub fn pool_round_trip(s: Scale) -> Vec<Row> {
    let jobs = s.ops(400);
    let weft = weft::Runtime::builder()
        .executor_threads(1)
        .build()
        .unwrap()
        .run(|env| {
            let pool = env.executor_pool();
            median_ns(s.samples, jobs, || {
                timed(|| {
                    std::hint::black_box(crate::weft_work::pool_jobs(&pool, jobs, |j| j));
                })
            })
        });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(1)
        .build()
        .unwrap();
    let tokio = median_ns(s.samples, jobs, || {
        timed(|| {
            rt.block_on(async {
                let handles: Vec<_> = (0..jobs as u64)
                    .map(|j| tokio::task::spawn_blocking(move || j))
                    .collect();
                let mut acc = 0u64;
                for h in handles {
                    acc = acc.wrapping_add(h.await.unwrap());
                }
                std::hint::black_box(acc);
            })
        })
    });
    vec![Row {
        name: "pool_round_trip".into(),
        weft,
        tokio,
        unit: "ns/job",
    }]
}

/// Echoes `msgs` 16-byte messages on each of `conns` connections from a
/// tokio client runtime; returns ns per message.
fn drive_echo(addr: std::net::SocketAddr, conns: usize, msgs: usize) -> f64 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let t = std::time::Instant::now();
        let tasks: Vec<_> = (0..conns)
            .map(|_| {
                tokio::spawn(async move {
                    let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
                    c.set_nodelay(true).unwrap();
                    let mut buf = [0u8; 16];
                    for _ in 0..msgs {
                        c.write_all(&[1u8; 16]).await.unwrap();
                        c.read_exact(&mut buf).await.unwrap();
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        t.elapsed().as_nanos() as f64 / (conns * msgs) as f64
    })
}

/// Thread-per-core weft echo servers (1 and 2 cores) vs a tokio
/// multi_thread server with as many workers, under the same client load.
pub fn tcp_echo_mc(s: Scale) -> Vec<Row> {
    const CONNS: usize = 256;
    let msgs = s.ops(200);
    let samples = s.samples.min(5);
    let mut rows = Vec::new();
    for cores in [1usize, 2] {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let server = std::thread::spawn(move || {
            weft::run_on_cores(cores, |_env, _core| {
                let l = weft::net::TcpListener::bind_with(
                    ("127.0.0.1", port),
                    weft::net::ListenOptions::default().reuse_port(true),
                )
                .unwrap();
                let _ = weft::Switch::run(|sw| loop {
                    let (mut c, _) = l.accept()?;
                    if flag.load(std::sync::atomic::Ordering::SeqCst) {
                        return Ok(());
                    }
                    sw.fork(move || {
                        use std::io::{Read, Write};
                        let _ = c.set_nodelay(true);
                        let mut buf = [0u8; 16];
                        while c.read_exact(&mut buf).is_ok() {
                            if c.write_all(&buf).is_err() {
                                break;
                            }
                        }
                    });
                });
            });
        });
        std::thread::sleep(std::time::Duration::from_millis(50));
        let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
        drive_echo(addr, CONNS, msgs / 4);
        let mut weft_runs: Vec<f64> = (0..samples)
            .map(|_| drive_echo(addr, CONNS, msgs))
            .collect();
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // One connection per core listener wakes each accept loop to stop.
        for _ in 0..cores * 8 {
            let _ = std::net::TcpStream::connect(addr);
        }
        server.join().unwrap();

        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(cores)
            .enable_all()
            .build()
            .unwrap();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let taddr = listener.local_addr().unwrap();
        let acceptor = rt.spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            loop {
                let (mut c, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    let _ = c.set_nodelay(true);
                    let mut buf = [0u8; 16];
                    while c.read_exact(&mut buf).await.is_ok() {
                        if c.write_all(&buf).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        drive_echo(taddr, CONNS, msgs / 4);
        let mut tokio_runs: Vec<f64> = (0..samples)
            .map(|_| drive_echo(taddr, CONNS, msgs))
            .collect();
        acceptor.abort();
        drop(rt);
        weft_runs.sort_by(|a, b| a.partial_cmp(b).unwrap());
        tokio_runs.sort_by(|a, b| a.partial_cmp(b).unwrap());
        rows.push(Row {
            name: format!("tcp_echo_mc_{cores}core"),
            weft: weft_runs[weft_runs.len() / 2],
            tokio: tokio_runs[tokio_runs.len() / 2],
            unit: "ns/msg",
        });
    }
    rows
}
