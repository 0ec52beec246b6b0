//! I/O rows: TCP echo over loopback (weft on each backend vs tokio), and
//! the compat bridge's cost.

use std::io::{Read, Write};

use std::time::Duration;

use crate::harness::{interleaved_medians, median_ns, timed, Row, Scale};

const CONNECTIONS: usize = 64;

/// One batch on weft: a fresh listener, `CONNECTIONS` server fibers and
/// `CONNECTIONS` client fibers in a fresh runtime on `backend`, each
/// client echoing `msgs` messages of `size` bytes; returns the time of
/// the exchange.
fn weft_echo_batch(backend: weft::BackendKind, size: usize, msgs: usize) -> Duration {
    let rt = weft::Runtime::builder().backend(backend).build().unwrap();
    rt.run(|_env| {
        let listener = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let listener = &listener;
        timed(|| {
            weft::Switch::run(|sw| {
                sw.fork(move || {
                    for _ in 0..CONNECTIONS {
                        let (mut c, _) = listener.accept().unwrap();
                        c.set_nodelay(true).unwrap();
                        sw.fork(move || {
                            let mut buf = vec![0u8; size];
                            for _ in 0..msgs {
                                c.read_exact(&mut buf).unwrap();
                                c.write_all(&buf).unwrap();
                            }
                        });
                    }
                });
                for _ in 0..CONNECTIONS {
                    sw.fork(move || {
                        let mut c = weft::net::TcpStream::connect(addr).unwrap();
                        c.set_nodelay(true).unwrap();
                        let msg = vec![7u8; size];
                        let mut back = vec![0u8; size];
                        for _ in 0..msgs {
                            c.write_all(&msg).unwrap();
                            c.read_exact(&mut back).unwrap();
                        }
                    });
                }
                Ok(())
            })
            .unwrap();
        })
    })
}

/// The same batch on a tokio current_thread runtime.
fn tokio_echo_batch(rt: &tokio::runtime::Runtime, size: usize, msgs: usize) -> Duration {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let t = std::time::Instant::now();
        let server = tokio::spawn(async move {
            let mut conns = Vec::new();
            for _ in 0..CONNECTIONS {
                let (mut c, _) = listener.accept().await.unwrap();
                c.set_nodelay(true).unwrap();
                conns.push(tokio::spawn(async move {
                    let mut buf = vec![0u8; size];
                    for _ in 0..msgs {
                        c.read_exact(&mut buf).await.unwrap();
                        c.write_all(&buf).await.unwrap();
                    }
                }));
            }
            for c in conns {
                c.await.unwrap();
            }
        });
        let clients: Vec<_> = (0..CONNECTIONS)
            .map(|_| {
                tokio::spawn(async move {
                    let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
                    c.set_nodelay(true).unwrap();
                    let msg = vec![7u8; size];
                    let mut back = vec![0u8; size];
                    for _ in 0..msgs {
                        c.write_all(&msg).await.unwrap();
                        c.read_exact(&mut back).await.unwrap();
                    }
                })
            })
            .collect();
        for c in clients {
            c.await.unwrap();
        }
        server.await.unwrap();
        t.elapsed()
    })
}

/// Echo over loopback: tokio, weft on posix and weft on io_uring (where
/// the kernel allows it), their batches interleaved round by round.
pub fn tcp_echo(s: Scale) -> Vec<Row> {
    let samples = s.samples.min(9);
    let tokio_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let uring = weft::Runtime::builder()
        .backend(weft::BackendKind::Uring)
        .build()
        .is_ok();
    let mut rows = Vec::new();
    for (size, label) in [(16usize, "16B"), (4096, "4KiB")] {
        let msgs = s.ops(if size == 16 { 2000 } else { 500 });
        let total = CONNECTIONS * msgs;
        let mut on_tokio = || tokio_echo_batch(&tokio_rt, size, msgs);
        let mut on_posix = || weft_echo_batch(weft::BackendKind::Posix, size, msgs);
        let mut sides: Vec<&mut dyn FnMut() -> Duration> = vec![&mut on_tokio, &mut on_posix];
        let mut on_uring = || weft_echo_batch(weft::BackendKind::Uring, size, msgs);
        if uring {
            sides.push(&mut on_uring);
        }
        let medians = interleaved_medians(samples, total, &mut sides);
        let tokio_ns = medians[0];
        for (ns, backend) in medians[1..].iter().zip(["posix", "uring"]) {
            rows.push(Row {
                name: format!("tcp_echo_{label}_{backend}"),
                weft: *ns,
                tokio: tokio_ns,
                unit: "ns/msg",
            });
        }
    }
    rows
}

/// The tokio side of `compat_tokio_echo`: median of `samples` batches.
fn tokio_echo(size: usize, msgs: usize, samples: usize) -> f64 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    median_ns(samples, CONNECTIONS * msgs, || {
        tokio_echo_batch(&rt, size, msgs)
    })
}

/// The `yield` row's work (two fibers taking turns) under
/// `weft_compat::tokio::run`: what driving tokio from the scheduler costs
/// fibers that never touch tokio (compare with the `yield` row, which
/// `weft-benches yield` runs beside it).
pub fn compat_yield(s: Scale) -> Vec<Row> {
    let n = s.ops(1_000_000);
    let weft_ns = weft_compat::tokio::run(|_env| {
        median_ns(s.samples, n, || timed(|| crate::weft_work::yield_turns(n)))
    });
    // As the `yield` row's tokio side.
    let ct = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let tokio_ns = median_ns(s.samples, n, || {
        ct.block_on(async {
            let t = std::time::Instant::now();
            super::core::tokio_yield_turns(n).await;
            t.elapsed()
        })
    });
    vec![Row {
        name: "compat_yield".into(),
        weft: weft_ns,
        tokio: tokio_ns,
        unit: "ns/op",
    }]
}

pub fn compat_ready(s: Scale) -> Vec<Row> {
    let n = s.ops(2_000_000);
    let weft_ns = weft::run(|_env| {
        median_ns(s.samples, n, || {
            timed(|| {
                for i in 0..n {
                    std::hint::black_box(weft_compat::await_future(std::future::ready(i)));
                }
            })
        })
    });
    // Reference: the same ready future awaited inside one tokio task.
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let tokio_ns = median_ns(s.samples, n, || {
        rt.block_on(async {
            let t = std::time::Instant::now();
            for i in 0..n {
                std::hint::black_box(std::future::ready(i).await);
            }
            t.elapsed()
        })
    });
    vec![Row {
        name: "compat_ready".into(),
        weft: weft_ns,
        tokio: tokio_ns,
        unit: "ns/op",
    }]
}

/// The weft side of `compat_tokio_echo` under `builder`'s topology.
fn compat_echo_weft(
    builder: weft_compat::tokio::Builder,
    size: usize,
    msgs: usize,
    samples: usize,
) -> f64 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use weft_compat::await_future as await_;
    let total = CONNECTIONS * msgs;
    builder.run(|_env| {
        let listener = await_(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        median_ns(samples, total, || {
            timed(|| {
                weft::Switch::run(|sw| {
                    sw.fork(|| {
                        for _ in 0..CONNECTIONS {
                            let (mut c, _) = await_(listener.accept()).unwrap();
                            c.set_nodelay(true).unwrap();
                            sw.fork(move || {
                                let mut buf = vec![0u8; size];
                                for _ in 0..msgs {
                                    await_(c.read_exact(&mut buf)).unwrap();
                                    await_(c.write_all(&buf)).unwrap();
                                }
                            });
                        }
                    });
                    for _ in 0..CONNECTIONS {
                        sw.fork(move || {
                            let mut c = await_(tokio::net::TcpStream::connect(addr)).unwrap();
                            c.set_nodelay(true).unwrap();
                            let msg = vec![7u8; size];
                            let mut back = vec![0u8; size];
                            for _ in 0..msgs {
                                await_(c.write_all(&msg)).unwrap();
                                await_(c.read_exact(&mut back)).unwrap();
                            }
                        });
                    }
                    Ok(())
                })
                .unwrap();
            })
        })
    })
}

pub fn compat_tokio_echo(s: Scale) -> Vec<Row> {
    let size = 16;
    let msgs = s.ops(1000);
    let samples = s.samples.min(7);
    // The default topology: tokio driven on the weft thread.
    let weft_ns = compat_echo_weft(weft_compat::tokio::Builder::new(), size, msgs, samples);
    // tokio's driver on a thread of its own (wake-ups cross threads).
    let weft_mt_ns = compat_echo_weft(
        weft_compat::tokio::Builder::new().worker_threads(1),
        size,
        msgs,
        samples,
    );
    let tokio_ns = tokio_echo(size, msgs, samples);
    vec![
        Row {
            name: "compat_tokio_echo".into(),
            weft: weft_ns,
            tokio: tokio_ns,
            unit: "ns/msg",
        },
        Row {
            name: "compat_tokio_echo_mt".into(),
            weft: weft_mt_ns,
            tokio: tokio_ns,
            unit: "ns/msg",
        },
    ]
}
