//! hyper and reqwest across the bridge, on loopback.

use std::convert::Infallible;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use weft::Switch;
use weft_compat::{await_future, io::AsyncBridge, run_fiber};

/// A direct-style handler: blocking calls, no async.
fn handle(path: String, body: Bytes) -> String {
    weft::time::sleep(Duration::from_millis(1));
    format!("{path} got {} bytes", body.len())
}

async fn service(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_string();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let reply = run_fiber(move || handle(path, body)).await;
    Ok(Response::new(Full::new(Bytes::from(reply))))
}

#[test]
fn hyper_server_on_weft_sockets_with_direct_handlers_and_reqwest_clients() {
    weft_compat::tokio::run(|_env| {
        let listener = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        Switch::run(|sw| {
            sw.fork_daemon(|| -> weft::Result<()> {
                Switch::run(|conns| loop {
                    let (conn, _) = listener.accept()?;
                    conns.fork(move || {
                        let io = TokioIo::new(AsyncBridge::new(conn).unwrap());
                        let served = await_future(
                            hyper::server::conn::http1::Builder::new()
                                .serve_connection(io, hyper::service::service_fn(service)),
                        );
                        if let Err(e) = served {
                            panic!("connection failed: {e}");
                        }
                    });
                })
            });
            let client = reqwest::Client::new();
            let bodies = weft::fiber::all((0..20).map(|i| {
                let client = client.clone();
                move || {
                    let url = format!("http://{addr}/item/{i}");
                    let resp = await_future(client.post(url).body(vec![b'x'; i]).send()).unwrap();
                    assert!(resp.status().is_success());
                    await_future(resp.text()).unwrap()
                }
            }));
            for (i, b) in bodies.iter().enumerate() {
                assert_eq!(b, &format!("/item/{i} got {i} bytes"));
            }
            Ok(())
        })
        .unwrap();
    });
}

#[test]
fn reqwest_from_fibers_against_a_hyper_server_in_plain_tokio() {
    weft_compat::tokio::run(|_env| {
        let listener = await_future(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        let _server = weft_compat::tokio::spawn(async move {
            loop {
                let (s, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(|req: Request<Incoming>| async move {
                        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(format!(
                            "tokio saw {}",
                            req.uri().path()
                        )))))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(s), svc)
                        .await;
                });
            }
        });
        let client = reqwest::Client::new();
        let texts = weft::fiber::map_concurrent(8, 0..40, |i| {
            let resp = await_future(client.get(format!("http://{addr}/{i}")).send()).unwrap();
            await_future(resp.text()).unwrap()
        });
        for (i, t) in texts.iter().enumerate() {
            assert_eq!(t, &format!("tokio saw /{i}"));
        }
    });
}

#[test]
fn serde_json_from_reader_over_a_bridged_tokio_stream() {
    weft_compat::tokio::run(|_env| {
        let (client, server) = tokio::io::duplex(16);
        let _writer = weft_compat::tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            let mut server = server;
            // Written in small pieces so the reader must wait in between.
            for chunk in br#"{"name": "weft", "fibers": [1, 2, 3]}"#.chunks(5) {
                server.write_all(chunk).await.unwrap();
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        });
        let v: serde_json::Value =
            serde_json::from_reader(weft_compat::io::SyncBridge::new(client)).unwrap();
        assert_eq!(v["name"], "weft");
        assert_eq!(v["fibers"][2], 3);
    });
}

/// A futures-io stream that is pending every other poll, read with
/// blocking-style `BufRead` in a fiber while another fiber keeps running.
#[test]
fn futures_io_streams_read_blocking_style_in_a_fiber() {
    use std::io::BufRead;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    struct Trickle {
        data: Vec<u8>,
        ready: bool,
    }

    impl futures_io::AsyncRead for Trickle {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut [u8],
        ) -> Poll<std::io::Result<usize>> {
            if !self.ready {
                self.ready = true;
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            self.ready = false;
            if self.data.is_empty() || buf.is_empty() {
                return Poll::Ready(Ok(0));
            }
            buf[0] = self.data.remove(0);
            Poll::Ready(Ok(1))
        }
    }

    weft::run(|_env| {
        let ticks = std::cell::Cell::new(0);
        let (lines, ()) = weft::fiber::both(
            || {
                let r = std::io::BufReader::new(weft_compat::io::FuturesBridge::new(Trickle {
                    data: b"one\ntwo\n".to_vec(),
                    ready: false,
                }));
                r.lines().map(Result::unwrap).collect::<Vec<_>>()
            },
            || {
                for _ in 0..5 {
                    ticks.set(ticks.get() + 1);
                    weft::fiber::yield_now();
                }
            },
        );
        assert_eq!(lines, ["one", "two"]);
        assert_eq!(ticks.get(), 5);
    });
}
