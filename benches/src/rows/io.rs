//! I/O rows: TCP echo over loopback (weft on each backend vs tokio), and
//! the compat bridge's cost.

use std::io::{Read, Write};

use crate::harness::{median_ns, timed, Row, Scale};

const CONNECTIONS: usize = 64;

/// A weft echo server and `CONNECTIONS` clients in one runtime; returns
/// the time to echo `msgs` messages of `size` bytes on each connection.
fn weft_echo(backend: weft::BackendKind, size: usize, msgs: usize, samples: usize) -> f64 {
    let rt = weft::Runtime::builder().backend(backend).build().unwrap();
    rt.run(|_env| {
        let listener = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let total = CONNECTIONS * msgs;
        median_ns(samples, total, || {
            timed(|| {
                weft::Switch::run(|sw| {
                    sw.fork(|| {
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
    })
}

fn tokio_echo(size: usize, msgs: usize, samples: usize) -> f64 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let listener = std::sync::Arc::new(listener);
        let total = CONNECTIONS * msgs;
        let mut per_op = Vec::new();
        for _ in 0..=samples {
            let t = std::time::Instant::now();
            let l = listener.clone();
            let server = tokio::spawn(async move {
                let mut conns = Vec::new();
                for _ in 0..CONNECTIONS {
                    let (mut c, _) = l.accept().await.unwrap();
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
            per_op.push(t.elapsed().as_nanos() as f64 / total as f64);
        }
        per_op.remove(0); // warm-up
        per_op.sort_by(|a, b| a.partial_cmp(b).unwrap());
        per_op[per_op.len() / 2]
    })
}

pub fn tcp_echo(s: Scale) -> Vec<Row> {
    let samples = s.samples.min(7);
    let mut rows = Vec::new();
    for (size, label) in [(16usize, "16B"), (4096, "4KiB")] {
        let msgs = s.ops(if size == 16 { 2000 } else { 500 });
        let tokio_ns = tokio_echo(size, msgs, samples);
        let posix = weft_echo(weft::BackendKind::Posix, size, msgs, samples);
        rows.push(Row {
            name: format!("tcp_echo_{label}_posix"),
            weft: posix,
            tokio: tokio_ns,
            unit: "ns/msg",
        });
        if weft::Runtime::builder()
            .backend(weft::BackendKind::Uring)
            .build()
            .is_ok()
        {
            let uring = weft_echo(weft::BackendKind::Uring, size, msgs, samples);
            rows.push(Row {
                name: format!("tcp_echo_{label}_uring"),
                weft: uring,
                tokio: tokio_ns,
                unit: "ns/msg",
            });
        }
    }
    rows
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

pub fn compat_tokio_echo(s: Scale) -> Vec<Row> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use weft_compat::await_future as await_;
    let size = 16;
    let msgs = s.ops(1000);
    let samples = s.samples.min(7);
    let total = CONNECTIONS * msgs;
    let weft_ns = weft_compat::tokio::run(|_env| {
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
    });
    let tokio_ns = tokio_echo(size, msgs, samples);
    vec![Row {
        name: "compat_tokio_echo".into(),
        weft: weft_ns,
        tokio: tokio_ns,
        unit: "ns/msg",
    }]
}
