//! `compat_hyper`: a hyper HTTP/1 server whose handlers are direct-style
//! fibers on weft sockets, vs the same server on pure tokio, driven by
//! the same reqwest load from another thread.

use std::convert::Infallible;
use std::net::SocketAddr;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

use crate::harness::Row;
use crate::harness::Scale;

const CLIENTS: usize = 16;

fn reply(path: &str) -> String {
    format!("hello from {path}")
}

/// Sends `per_client` requests from each of `CLIENTS` keep-alive clients;
/// returns ns per request.
fn load(addr: SocketAddr, per_client: usize) -> f64 {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let t = std::time::Instant::now();
        let tasks: Vec<_> = (0..CLIENTS)
            .map(|c| {
                tokio::spawn(async move {
                    let client = reqwest::Client::new();
                    for i in 0..per_client {
                        let body = client
                            .get(format!("http://{addr}/{c}/{i}"))
                            .send()
                            .await
                            .unwrap()
                            .text()
                            .await
                            .unwrap();
                        std::hint::black_box(body);
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        t.elapsed().as_nanos() as f64 / (CLIENTS * per_client) as f64
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn weft_server(samples: usize, per_client: usize) -> f64 {
    let (tx, rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let server = std::thread::spawn(move || {
        weft_compat::tokio::run(|_env| {
            let listener = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let _ = weft::fiber::first(
                || {
                    weft::Switch::run(|conns| loop {
                        let (conn, _) = listener.accept()?;
                        conns.fork(move || {
                            let io = TokioIo::new(weft_compat::io::AsyncBridge::new(conn).unwrap());
                            let svc =
                                hyper::service::service_fn(|req: Request<Incoming>| async move {
                                    let path = req.uri().path().to_string();
                                    let body = weft_compat::run_fiber(move || reply(&path)).await;
                                    Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(body))))
                                });
                            let _ = weft_compat::await_future(
                                hyper::server::conn::http1::Builder::new()
                                    .serve_connection(io, svc),
                            );
                        });
                    })
                },
                || {
                    let _ = weft::blocking(move || stop_rx.recv());
                    Ok(())
                },
            );
        });
    });
    let addr = rx.recv().unwrap();
    load(addr, per_client / 4); // warm-up
    let result = median((0..samples).map(|_| load(addr, per_client)).collect());
    stop_tx.send(()).unwrap();
    server.join().unwrap();
    result
}

fn tokio_server(samples: usize, per_client: usize) -> f64 {
    let (tx, rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let accept = async {
                loop {
                    let (s, _) = listener.accept().await.unwrap();
                    tokio::spawn(async move {
                        let svc = hyper::service::service_fn(|req: Request<Incoming>| async move {
                            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(reply(
                                req.uri().path(),
                            )))))
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(s), svc)
                            .await;
                    });
                }
            };
            tokio::select! {
                _ = accept => {}
                _ = stop_rx => {}
            }
        });
    });
    let addr = rx.recv().unwrap();
    load(addr, per_client / 4);
    let result = median((0..samples).map(|_| load(addr, per_client)).collect());
    stop_tx.send(()).unwrap();
    server.join().unwrap();
    result
}

pub fn compat_hyper(s: Scale) -> Vec<Row> {
    let per_client = s.ops(500);
    let samples = s.samples.min(5);
    let weft_ns = weft_server(samples, per_client);
    let tokio_ns = tokio_server(samples, per_client);
    vec![Row {
        name: "compat_hyper".into(),
        weft: weft_ns,
        tokio: tokio_ns,
        unit: "ns/request",
    }]
}
