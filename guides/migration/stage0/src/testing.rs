//! A server on a background thread, for tests and the load client: the
//! only runtime-specific code they need from a stage.

use std::io;
use std::net::SocketAddr;
use std::sync::mpsc as std_mpsc;
use std::thread;

use tokio::sync::oneshot;

use crate::db::Db;
use crate::server::{self, Config};

/// A server running on its own thread (and its own tokio runtime).
///
/// ```
/// let server = kv_stage0::testing::start(Default::default()).unwrap();
/// let conn = std::net::TcpStream::connect(server.addr()).unwrap();
/// server.stop().unwrap();
/// ```
#[derive(Debug)]
pub struct Running {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<io::Result<()>>>,
}

/// Starts a server on a free loopback port, with a fresh store.
///
/// ```
/// let server = kv_stage0::testing::start(kv_stage0::server::Config { max_connections: 4 }).unwrap();
/// assert!(server.addr().ip().is_loopback());
/// ```
pub fn start(config: Config) -> io::Result<Running> {
    let (ready_tx, ready_rx) = std_mpsc::channel::<io::Result<SocketAddr>>();
    let (stop, stopped) = oneshot::channel::<()>();
    let thread = thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new()?;
        runtime.block_on(async move {
            let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
                Ok(l) => l,
                Err(e) => {
                    let _ = ready_tx.send(Err(io::Error::new(e.kind(), e.to_string())));
                    return Err(e);
                }
            };
            let _ = ready_tx.send(listener.local_addr());
            server::run(listener, Db::new(), config, async {
                let _ = stopped.await;
            })
            .await
        })
    });
    let addr = ready_rx
        .recv()
        .map_err(|_| io::Error::other("the server thread ended before it listened"))??;
    Ok(Running {
        addr,
        stop: Some(stop),
        thread: Some(thread),
    })
}

impl Running {
    /// Where it listens.
    ///
    /// ```
    /// let server = kv_stage0::testing::start(Default::default()).unwrap();
    /// println!("listening on {}", server.addr());
    /// ```
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Shuts the server down gracefully and waits for its thread; returns
    /// what the server returned.
    ///
    /// ```
    /// kv_stage0::testing::start(Default::default()).unwrap().stop().unwrap();
    /// ```
    pub fn stop(mut self) -> io::Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take() {
            Some(t) => t
                .join()
                .map_err(|_| io::Error::other("the server thread panicked"))?,
            None => Ok(()),
        }
    }
}

impl Drop for Running {
    /// Stops the server if [`Running::stop`] was not called.
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}
