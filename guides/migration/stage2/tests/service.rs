//! The service's own tests: real clients over loopback TCP against a
//! server on port 0. Every test is bounded by `LIMIT`, so a hang fails.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use kv_stage2::client::{Client, ClientError};
use kv_stage2::db::Db;
use kv_stage2::server::{self, Config};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A correct server answers in milliseconds; this turns a hang into a failure.
const LIMIT: Duration = Duration::from_secs(10);

/// A server on a free port, and the means to stop it.
struct Running {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    server: JoinHandle<std::io::Result<()>>,
}

async fn start(config: Config) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(server::run(listener, Db::new(), config, async {
        let _ = stopped.await;
    }));
    Running { addr, stop, server }
}

async fn bounded<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(LIMIT, f)
        .await
        .expect("finished within LIMIT")
}

#[tokio::test]
async fn get_set_del_incr() {
    bounded(async {
        let s = start(Config::default()).await;
        let mut c = Client::connect(s.addr).await.unwrap();
        assert_eq!(c.get("k").await.unwrap(), None);
        c.set("k", "a value with spaces").await.unwrap();
        assert_eq!(
            c.get("k").await.unwrap().as_deref(),
            Some("a value with spaces")
        );
        assert!(c.del("k").await.unwrap());
        assert!(!c.del("k").await.unwrap());
        assert_eq!(c.incr("n", 5).await.unwrap(), 5);
        assert_eq!(c.incr("n", -7).await.unwrap(), -2);
        assert_eq!(c.get("n").await.unwrap().as_deref(), Some("-2"));
    })
    .await;
}

#[tokio::test]
async fn errors_are_replies_and_the_connection_goes_on() {
    bounded(async {
        let s = start(Config::default()).await;
        let mut c = Client::connect(s.addr).await.unwrap();
        c.set("word", "hello").await.unwrap();
        match c.incr("word", 1).await {
            Err(ClientError::Server(why)) => assert!(why.contains("not an integer"), "{why}"),
            other => panic!("expected a server error, got {other:?}"),
        }
        assert!(matches!(
            c.get("two words").await,
            Err(ClientError::Invalid(_))
        ));
        // Raw lines the client library would never send.
        let conn = TcpStream::connect(s.addr).await.unwrap();
        let (read, mut write) = conn.into_split();
        let mut replies = BufReader::new(read).lines();
        for (line, want) in [
            ("FLY away", "ERR unknown command \"FLY\""),
            ("GET", "ERR GET needs a key"),
            ("", "ERR empty command"),
            ("PING", "PONG"),
        ] {
            write
                .write_all(format!("{line}\n").as_bytes())
                .await
                .unwrap();
            assert_eq!(replies.next_line().await.unwrap().as_deref(), Some(want));
        }
        assert_eq!(c.get("word").await.unwrap().as_deref(), Some("hello"));
    })
    .await;
}

#[tokio::test]
async fn quit_says_bye_and_closes() {
    bounded(async {
        let s = start(Config::default()).await;
        let mut conn = TcpStream::connect(s.addr).await.unwrap();
        conn.write_all(b"PING\nQUIT\nPING\n").await.unwrap();
        let mut all = String::new();
        conn.read_to_string(&mut all).await.unwrap();
        assert_eq!(all, "PONG\nBYE\n", "nothing is answered after QUIT");
    })
    .await;
}

#[tokio::test]
async fn concurrent_increments_are_never_lost() {
    bounded(async {
        let s = start(Config::default()).await;
        let clients: Vec<_> = (0..20)
            .map(|_| {
                let addr = s.addr;
                tokio::spawn(async move {
                    let mut c = Client::connect(addr).await.unwrap();
                    for _ in 0..50 {
                        c.incr("hits", 1).await.unwrap();
                    }
                })
            })
            .collect();
        for c in clients {
            c.await.unwrap();
        }
        let mut c = Client::connect(s.addr).await.unwrap();
        assert_eq!(c.get("hits").await.unwrap().as_deref(), Some("1000"));
    })
    .await;
}

#[tokio::test]
async fn the_connection_limit_holds_the_next_client_until_one_leaves() {
    bounded(async {
        let s = start(Config { max_connections: 2 }).await;
        let mut a = Client::connect(s.addr).await.unwrap();
        let mut b = Client::connect(s.addr).await.unwrap();
        a.incr("n", 1).await.unwrap();
        b.incr("n", 1).await.unwrap();
        // The third connection is made (the kernel queues it), but the
        // server does not accept it while two are open.
        let mut c = Client::connect(s.addr).await.unwrap();
        let third = tokio::spawn(async move { c.incr("n", 1).await.map(|n| (n, c)) });
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            !third.is_finished(),
            "a third client was served while two were connected"
        );
        assert_eq!(a.incr("n", 1).await.unwrap(), 3);
        drop(a); // frees a place
        let (n, _c) = third.await.unwrap().unwrap();
        assert_eq!(n, 4);
    })
    .await;
}

#[tokio::test]
async fn shutdown_closes_every_connection_and_refuses_new_ones() {
    bounded(async {
        let s = start(Config::default()).await;
        let mut idle = TcpStream::connect(s.addr).await.unwrap();
        let mut c = Client::connect(s.addr).await.unwrap();
        c.set("k", "v").await.unwrap();
        s.stop.send(()).unwrap();
        s.server.await.unwrap().unwrap(); // returns once every connection is closed
        let mut rest = Vec::new();
        assert_eq!(
            idle.read_to_end(&mut rest).await.unwrap(),
            0,
            "closed by the server"
        );
        assert!(matches!(
            c.get("k").await,
            Err(ClientError::Closed | ClientError::Io(_))
        ));
        assert!(
            TcpStream::connect(s.addr).await.is_err(),
            "the listener is closed"
        );
    })
    .await;
}
