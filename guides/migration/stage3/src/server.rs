//! The server, all direct: a switch owns every connection fiber, a
//! promise says when to stop, and the same loop runs on one core or on
//! many (`run_on_cores`).

use std::io::{self, BufRead, BufReader, Write};
use std::net::SocketAddr;

use weft::net::{ListenOptions, TcpListener, TcpStream};
use weft::sync::{Promise, Semaphore};
use weft::{fiber, Switch};

use crate::db::{execute, Db};
use crate::protocol::{Command, Reply};

/// How the server behaves.
///
/// ```
/// let config = kv_stage3::server::Config { max_connections: 64 };
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Connections served at once; a client accepted beyond that waits,
    /// unanswered, until one of them closes.
    pub max_connections: usize,
}

impl Default for Config {
    /// 256 connections.
    ///
    /// ```
    /// assert_eq!(kv_stage3::server::Config::default().max_connections, 256);
    /// ```
    fn default() -> Self {
        Config {
            max_connections: 256,
        }
    }
}

/// Serves `listener` until `stop` is resolved (or accepting fails), then
/// shuts down gracefully: it stops accepting, every connection stops after
/// the command it is carrying out, and `run` returns once they have all
/// closed (the switch waits for its fibers: no bookkeeping needed).
///
/// ```
/// use kv_stage3::{db::Db, server::{self, Config}};
/// use weft::sync::{Promise, Semaphore};
///
/// weft::run(|_env| {
///     let listener = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
///     let (stop, stop_now) = Promise::new();
///     stop_now.resolve(()); // stop at once
///     let limit = Semaphore::new(Config::default().max_connections);
///     server::run(listener, &Db::new(), &limit, &stop).unwrap();
/// });
/// ```
pub fn run(
    listener: TcpListener,
    db: &Db,
    limit: &Semaphore,
    stop: &Promise<()>,
) -> io::Result<()> {
    let served = Switch::run(|sw| {
        let accepted = loop {
            // `first` runs both and keeps the first to finish; waiting on a
            // promise is level-triggered, so a lost race loses nothing.
            let conn = match fiber::first(|| Err(stop.await_()), || Ok(listener.accept())) {
                Err(_stopping) => break Ok(()),
                Ok(Ok((conn, _peer))) => conn,
                Ok(Err(e)) => break Err(e),
            };
            sw.fork(move || {
                // Accepted, then limited: the permit is taken here, so a
                // connection over the limit waits unanswered.
                let Ok(_permit) = limit.acquire() else { return };
                let _ = serve_connection(conn, db, stop); // an error ends this connection only
            });
        };
        drop(listener); // new clients are refused from here on
        Ok(accepted)
    });
    // The body never fails and the fibers catch their errors, so the
    // switch only fails if a fiber panicked: re-raise that as an error.
    served.unwrap_or_else(|e| Err(io::Error::other(e.to_string())))
}

/// Answers one client's commands, line by line, until it quits, closes its
/// side, or the server stops.
fn serve_connection(conn: TcpStream, db: &Db, stop: &Promise<()>) -> io::Result<()> {
    let mut lines = BufReader::new(&conn).lines();
    let mut out = &conn;
    loop {
        // A line that arrives as the server stops may be dropped unanswered,
        // as tokio's select! in stage 0 would drop it.
        let line = match fiber::first(|| Err(stop.await_()), || Ok(lines.next())) {
            Err(_stopping) => return Ok(()),
            Ok(None) => return Ok(()), // the client closed its side
            Ok(Some(line)) => line?,
        };
        let reply = match Command::parse(&line) {
            Ok(Command::Quit) => Reply::Bye,
            Ok(command) => execute(db, command),
            Err(e) => Reply::Error(e.to_string()),
        };
        out.write_all(format!("{reply}\n").as_bytes())?;
        if reply == Reply::Bye {
            return Ok(());
        }
    }
}

/// Runs the server on `cores` threads, each with its own weft runtime and
/// its own listener on `addr` (`SO_REUSEPORT`: the kernel spreads the
/// connections), sharing one store, one connection limit and one stop
/// signal. Returns once every core has shut down. Call it outside any
/// runtime (it starts them); `ready` is called with the address as soon
/// as the first listener is bound (connections queue on it until the
/// other cores listen).
///
/// ```
/// use kv_stage3::{db::Db, server::{self, Config}};
/// use weft::sync::Promise;
///
/// let (stop, stop_now) = Promise::new();
/// stop_now.resolve(());
/// server::run_on_cores(2, "127.0.0.1:0".parse().unwrap(), &Db::new(), Config::default(), &stop, |_addr| {})
///     .unwrap();
/// ```
pub fn run_on_cores(
    cores: usize,
    addr: SocketAddr,
    db: &Db,
    config: Config,
    stop: &Promise<()>,
    ready: impl FnOnce(SocketAddr),
) -> io::Result<()> {
    // Bind the first listener here to learn the port (addr may say port
    // 0); the other cores bind the same port with SO_REUSEPORT. Until they
    // do, the kernel queues every connection on this one.
    let options = ListenOptions::default().reuse_port(true);
    let (bound, first) = weft::run(|_env| -> io::Result<_> {
        let l = TcpListener::bind_with(addr, options)?;
        Ok((l.local_addr()?, l.into_std()?))
    })?;
    ready(bound);
    let first = std::sync::Mutex::new(Some(first));
    let limit = Semaphore::new(config.max_connections);
    let results = weft::run_on_cores(cores.max(1), |_env, _core| {
        let taken = first.lock().unwrap_or_else(|p| p.into_inner()).take();
        let listener = match taken {
            Some(std_listener) => TcpListener::from_std(std_listener)?,
            None => TcpListener::bind_with(bound, options)?,
        };
        run(listener, db, &limit, stop)
    });
    results.into_iter().collect()
}
