//! Stage 0's service, driven from weft fibers: the service is the
//! unchanged async code, awaited through `weft_compat::await_future`, and
//! the test code around it is direct style (fibers, switches, weft's
//! timeouts). Every test is bounded by `LIMIT`, so a hang fails.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use kv_stage1::{serve_until, Client, ClientError, Config};
use tokio::sync::oneshot;
use weft::{fiber, Switch};
use weft_compat::await_future;

/// A correct server answers in milliseconds; this turns a hang into a failure.
const LIMIT: Duration = Duration::from_secs(10);

/// Runs `body` against a server on a free port; the server stops when
/// `body` sends or drops its `stop`, and the test returns once it has.
fn with_server(config: Config, body: impl FnOnce(SocketAddr, oneshot::Sender<()>)) {
    weft_compat::tokio::run(|_env| {
        let listener = await_future(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        Switch::run(|sw| {
            sw.fork(|| serve_until(listener, config, stopped).expect("the server ran"));
            weft::time::timeout(LIMIT, || body(addr, stop)).expect("finished within LIMIT");
            Ok(())
        })
        .unwrap();
    });
}

fn connect(addr: SocketAddr) -> Client {
    await_future(Client::connect(addr)).unwrap()
}

#[test]
fn get_set_del_incr() {
    with_server(Config::default(), |addr, _stop| {
        let mut c = connect(addr);
        assert_eq!(await_future(c.get("k")).unwrap(), None);
        await_future(c.set("k", "a value with spaces")).unwrap();
        assert_eq!(
            await_future(c.get("k")).unwrap().as_deref(),
            Some("a value with spaces")
        );
        assert!(await_future(c.del("k")).unwrap());
        assert!(!await_future(c.del("k")).unwrap());
        assert_eq!(await_future(c.incr("n", 5)).unwrap(), 5);
        assert_eq!(await_future(c.incr("n", -7)).unwrap(), -2);
    });
}

#[test]
fn errors_are_replies_and_the_connection_goes_on() {
    with_server(Config::default(), |addr, _stop| {
        let mut c = connect(addr);
        await_future(c.set("word", "hello")).unwrap();
        match await_future(c.incr("word", 1)) {
            Err(ClientError::Server(why)) => assert!(why.contains("not an integer"), "{why}"),
            other => panic!("expected a server error, got {other:?}"),
        }
        // Raw lines, from a weft socket: both runtimes speak TCP.
        let conn = weft::net::TcpStream::connect(addr).unwrap();
        let mut replies = BufReader::new(&conn);
        for (line, want) in [
            ("FLY away", "ERR unknown command \"FLY\"\n"),
            ("GET", "ERR GET needs a key\n"),
            ("PING", "PONG\n"),
        ] {
            (&conn).write_all(format!("{line}\n").as_bytes()).unwrap();
            let mut got = String::new();
            replies.read_line(&mut got).unwrap();
            assert_eq!(got, want);
        }
    });
}

#[test]
fn quit_says_bye_and_closes() {
    with_server(Config::default(), |addr, _stop| {
        let mut conn = weft::net::TcpStream::connect(addr).unwrap();
        conn.write_all(b"PING\nQUIT\nPING\n").unwrap();
        let mut all = String::new();
        conn.read_to_string(&mut all).unwrap();
        assert_eq!(all, "PONG\nBYE\n", "nothing is answered after QUIT");
    });
}

#[test]
fn concurrent_increments_are_never_lost() {
    with_server(Config::default(), |addr, _stop| {
        // 20 fibers, each with its own (async) client.
        fiber::all((0..20).map(|_| {
            move || {
                let mut c = connect(addr);
                for _ in 0..50 {
                    await_future(c.incr("hits", 1)).unwrap();
                }
            }
        }));
        let mut c = connect(addr);
        assert_eq!(
            await_future(c.get("hits")).unwrap().as_deref(),
            Some("1000")
        );
    });
}

#[test]
fn the_connection_limit_holds_the_next_client_until_one_leaves() {
    with_server(Config { max_connections: 2 }, |addr, _stop| {
        let mut a = connect(addr);
        let mut b = connect(addr);
        await_future(a.incr("n", 1)).unwrap();
        await_future(b.incr("n", 1)).unwrap();
        Switch::run(|sw| {
            let mut c = connect(addr); // queued by the kernel, not accepted
            let third = sw.fork_promise(move || await_future(c.incr("n", 1)).map(|n| (n, c)));
            weft::time::sleep(Duration::from_millis(200));
            assert!(
                third.peek().is_none(),
                "a third client was served while two were connected"
            );
            assert_eq!(await_future(a.incr("n", 1)).unwrap(), 3);
            drop(a); // frees a place
            let (n, _c) = third.await_().as_ref().unwrap().as_ref().unwrap();
            assert_eq!(*n, 4);
            Ok(())
        })
        .unwrap();
    });
}

#[test]
fn shutdown_closes_every_connection_and_refuses_new_ones() {
    with_server(Config::default(), |addr, stop| {
        let mut idle = weft::net::TcpStream::connect(addr).unwrap();
        let mut c = connect(addr);
        await_future(c.set("k", "v")).unwrap();
        stop.send(()).unwrap();
        let mut rest = Vec::new();
        assert_eq!(
            idle.read_to_end(&mut rest).unwrap(),
            0,
            "closed by the server"
        );
        assert!(matches!(
            await_future(c.get("k")),
            Err(ClientError::Closed | ClientError::Io(_))
        ));
        assert!(
            weft::net::TcpStream::connect(addr).is_err(),
            "the listener is closed"
        );
    });
}
