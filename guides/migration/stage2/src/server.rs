//! The server: an accept loop under a connection limit, a task per
//! connection, and a graceful shutdown.

use std::future::Future;
use std::io;
use std::sync::Arc;

use std::io::BufRead as AsyncBufReadExt;
use std::io::BufReader;
use std::io::Write as AsyncWriteExt;
use weft::net::TcpListener;
use weft::net::TcpStream;
use weft::sync::mpsc;
use weft::sync::watch;
use weft::sync::Semaphore;

use crate::db::{execute, Db};
use crate::protocol::{Command, Reply};

/// How the server behaves.
///
/// ```
/// let config = kv_stage2::server::Config { max_connections: 64 };
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Connections served at once; the next client is accepted when one
    /// of them closes.
    pub max_connections: usize,
}

impl Default for Config {
    /// 256 connections.
    ///
    /// ```
    /// assert_eq!(kv_stage2::server::Config::default().max_connections, 256);
    /// ```
    fn default() -> Self {
        Config {
            max_connections: 256,
        }
    }
}

/// Serves `listener` until `shutdown` completes (or accepting fails), then
/// shuts down gracefully: it stops accepting, tells every connection to
/// stop after the command it is carrying out, and returns once they have
/// all closed.
///
/// ```no_run
/// use kv_stage2::{db::Db, server};
/// weft_compat::tokio::run(|_env| {
///     let listener = weft::net::TcpListener::bind("127.0.0.1:7379")?;
///     server::run(listener, Db::new(), server::Config::default(), async {
///         let _ = tokio::signal::ctrl_c().await;
///     })
/// })
/// .unwrap();
/// ```
pub fn run(
    listener: TcpListener,
    db: Db,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let limit = Arc::new(Semaphore::new(config.max_connections));
    // Connections watch `stop`; each holds a clone of `done_tx`, so
    // `done_rx` reports end-of-channel once the last one has finished.
    let (stop_tx, stop_rx) = watch::channel(false);
    let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
    // Hand fix (see the chapter): the races below used to poll
    // `&mut shutdown` in each branch, and a branch that completed the
    // future but lost its race consumed it, so the next race polled a
    // finished future. Now one fiber awaits the future and resolves a
    // promise, and the races wait on the promise, which a lost race
    // cannot consume.
    let (stopping, stop_now) = weft::sync::Promise::new();
    let serving = weft::Switch::run(|sw| {
        sw.fork_daemon(move || {
            weft_compat::await_future(shutdown);
            stop_now.resolve(());
        });
        Ok(loop {
            let permit = match weft::fiber::first(
                || {
                    stopping.await_();
                    Ok(())
                },
                || Err(limit.clone().acquire_owned()),
            ) {
                Ok(_) => break Ok(()),
                Err(permit) => permit.expect("the semaphore is never closed"),
            };
            let socket = match weft::fiber::first(
                || {
                    stopping.await_();
                    Ok(())
                },
                || Err(listener.accept()),
            ) {
                Ok(_) => break Ok(()),
                Err(accepted) => match accepted {
                    Ok((socket, _peer)) => socket,
                    Err(e) => break Err(e),
                },
            };
            let (db, stop, done) = (db.clone(), stop_rx.clone(), done_tx.clone());
            weft::spawn(move || {
                // An error ends this connection only; the permit and `done`
                // are released when the task ends.
                let _ = serve_connection(socket, &db, stop);
                drop((permit, done));
            });
        })
    });
    let result = serving.unwrap_or_else(|e| Err(io::Error::other(e.to_string())));
    drop(listener); // new clients are refused from here on
    let _ = stop_tx.send(true);
    drop(done_tx);
    let _ = done_rx.recv(); // None once every connection is gone
    result
}

/// Answers one client's commands, line by line, until it quits, closes its
/// side, or the server stops.
fn serve_connection(socket: TcpStream, db: &Db, mut stop: watch::Receiver<bool>) -> io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    loop {
        // `next_line` is cancel-safe: losing the race to `stop` loses no
        // data we would have answered.
        // Hand fix: `changed()` marks the change seen even when its branch
        // loses the race, so the next race would miss the stop; `wait_for`
        // looks at the value and cannot miss it.
        let line = match weft::fiber::first(
            || Ok(lines.next().transpose()),
            || Err(stop.wait_for(|stopping| *stopping).map(|_| ())),
        ) {
            Ok(line) => line?,
            Err(_) => return Ok(()),
        };
        let Some(line) = line else {
            return Ok(()); // the client closed its side
        };
        let reply = match Command::parse(&line) {
            Ok(Command::Quit) => Reply::Bye,
            Ok(command) => execute(db, command),
            Err(e) => Reply::Error(e.to_string()),
        };
        write.write_all(format!("{reply}\n").as_bytes())?;
        if reply == Reply::Bye {
            return Ok(());
        }
    }
}
