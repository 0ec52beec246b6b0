//! The server: an accept loop under a connection limit, a task per
//! connection, and a graceful shutdown.

use std::future::Future;
use std::io;
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, Semaphore};

use crate::db::{execute, Db};
use crate::protocol::{Command, Reply};

/// How the server behaves.
///
/// ```
/// let config = kv_stage0::server::Config { max_connections: 64 };
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
    /// assert_eq!(kv_stage0::server::Config::default().max_connections, 256);
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
/// use kv_stage0::{db::Db, server};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:7379").await?;
/// server::run(listener, Db::new(), server::Config::default(), async {
///     let _ = tokio::signal::ctrl_c().await;
/// })
/// .await
/// # });
/// ```
pub async fn run(
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
    tokio::pin!(shutdown);
    let result = loop {
        let permit = tokio::select! {
            _ = &mut shutdown => break Ok(()),
            permit = limit.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
        };
        let socket = tokio::select! {
            _ = &mut shutdown => break Ok(()),
            accepted = listener.accept() => match accepted {
                Ok((socket, _peer)) => socket,
                Err(e) => break Err(e),
            },
        };
        let (db, stop, done) = (db.clone(), stop_rx.clone(), done_tx.clone());
        tokio::spawn(async move {
            // An error ends this connection only; the permit and `done`
            // are released when the task ends.
            let _ = serve_connection(socket, &db, stop).await;
            drop((permit, done));
        });
    };
    drop(listener); // new clients are refused from here on
    let _ = stop_tx.send(true);
    drop(done_tx);
    let _ = done_rx.recv().await; // None once every connection is gone
    result
}

/// Answers one client's commands, line by line, until it quits, closes its
/// side, or the server stops.
async fn serve_connection(
    socket: TcpStream,
    db: &Db,
    mut stop: watch::Receiver<bool>,
) -> io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    loop {
        // `next_line` is cancel-safe: losing the race to `stop` loses no
        // data we would have answered.
        let line = tokio::select! {
            line = lines.next_line() => line?,
            _ = stop.changed() => return Ok(()),
        };
        let Some(line) = line else {
            return Ok(()); // the client closed its side
        };
        let reply = match Command::parse(&line) {
            Ok(Command::Quit) => Reply::Bye,
            Ok(command) => execute(db, command).await,
            Err(e) => Reply::Error(e.to_string()),
        };
        write.write_all(format!("{reply}\n").as_bytes()).await?;
        if reply == Reply::Bye {
            return Ok(());
        }
    }
}
