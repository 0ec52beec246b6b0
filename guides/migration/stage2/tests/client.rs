//! The client library against a real server.

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use kv_stage2::client::{Client, ClientError};
use kv_stage2::server::Config;
use kv_stage2::testing::start;

/// Runs `f` on its own thread and fails if it takes longer than this: a
/// correct client and server need milliseconds.
fn within_limit(f: impl FnOnce() + Send + 'static) {
    let (done, finished) = mpsc::channel();
    let t = thread::spawn(move || {
        f();
        let _ = done.send(());
    });
    match finished.recv_timeout(Duration::from_secs(10)) {
        Ok(()) => t.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            std::panic::resume_unwind(t.join().unwrap_err())
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("the client hung"),
    }
}

#[test]
fn the_client_library_speaks_the_protocol() {
    let server = start(Config::default()).unwrap();
    let addr = server.addr();
    within_limit(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async move {
            let mut c = Client::connect(addr).await.unwrap();
            assert_eq!(c.get("k").await.unwrap(), None);
            c.set("k", "a value with spaces").await.unwrap();
            assert_eq!(
                c.get("k").await.unwrap().as_deref(),
                Some("a value with spaces")
            );
            assert!(c.del("k").await.unwrap());
            assert!(!c.del("k").await.unwrap());
            assert_eq!(c.incr("n", 5).await.unwrap(), 5);
            c.set("word", "hello").await.unwrap();
            match c.incr("word", 1).await {
                Err(ClientError::Server(why)) => assert!(why.contains("not an integer"), "{why}"),
                other => panic!("expected a server error, got {other:?}"),
            }
            assert!(matches!(
                c.get("two words").await,
                Err(ClientError::Invalid(_))
            ));
            assert!(matches!(
                c.set("k", "two\nlines").await,
                Err(ClientError::Invalid(_))
            ));
        });
    });
    server.stop().unwrap();
}

#[test]
fn the_client_sees_the_server_go_away() {
    let server = start(Config::default()).unwrap();
    let addr = server.addr();
    let (connected, go_on) = mpsc::channel();
    let (stopped, wait_stop) = mpsc::channel();
    let client = thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async move {
            let mut c = Client::connect(addr).await.unwrap();
            c.set("k", "v").await.unwrap();
            connected.send(()).unwrap();
            wait_stop.recv().unwrap();
            c.get("k").await
        })
    });
    go_on.recv_timeout(Duration::from_secs(10)).unwrap();
    server.stop().unwrap();
    stopped.send(()).unwrap();
    let r = client.join().unwrap();
    assert!(
        matches!(r, Err(ClientError::Closed | ClientError::Io(_))),
        "got {r:?}"
    );
}
