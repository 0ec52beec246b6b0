//! A server on a background thread, for the shared service tests and the
//! load client.

use std::io;
use std::net::SocketAddr;
use std::sync::mpsc as std_mpsc;
use std::thread;

use weft::sync::{Promise, Resolver};

use crate::db::Db;
use crate::server::{self, Config};

/// A server running on its own thread(s).
///
/// ```
/// let server = kv_stage3::testing::start(Default::default()).unwrap();
/// let conn = std::net::TcpStream::connect(server.addr()).unwrap();
/// server.stop().unwrap();
/// ```
#[derive(Debug)]
pub struct Running {
    addr: SocketAddr,
    stop: Option<Resolver<()>>,
    thread: Option<thread::JoinHandle<io::Result<()>>>,
}

/// Starts a server on one core (one weft runtime) on a free loopback
/// port, with a fresh store.
///
/// ```
/// let server = kv_stage3::testing::start(kv_stage3::server::Config { max_connections: 4 }).unwrap();
/// assert!(server.addr().ip().is_loopback());
/// ```
pub fn start(config: Config) -> io::Result<Running> {
    spawn(move |ready, stop| {
        weft::run(|_env| {
            let listener = weft::net::TcpListener::bind("127.0.0.1:0")?;
            ready(listener.local_addr()?);
            let limit = weft::sync::Semaphore::new(config.max_connections);
            server::run(listener, &Db::new(), &limit, &stop)
        })
    })
}

/// Starts a server on `cores` threads ([`server::run_on_cores`]) on a free
/// loopback port, with a fresh store.
///
/// ```
/// let server = kv_stage3::testing::start_on_cores(Default::default(), 2).unwrap();
/// server.stop().unwrap();
/// ```
pub fn start_on_cores(config: Config, cores: usize) -> io::Result<Running> {
    spawn(move |ready, stop| {
        let addr = SocketAddr::from(([127, 0, 0, 1], 0));
        server::run_on_cores(cores, addr, &Db::new(), config, &stop, ready)
    })
}

/// Runs `serve` on a new thread; it calls `ready` with its address once it
/// listens, and stops when the promise it is given is resolved.
fn spawn(
    serve: impl FnOnce(&dyn Fn(SocketAddr), Promise<()>) -> io::Result<()> + Send + 'static,
) -> io::Result<Running> {
    let (ready_tx, ready_rx) = std_mpsc::channel::<SocketAddr>();
    let (stopped, stop) = Promise::new();
    let thread = thread::spawn(move || {
        serve(
            &|addr| {
                let _ = ready_tx.send(addr);
            },
            stopped,
        )
    });
    match ready_rx.recv() {
        Ok(addr) => Ok(Running {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }),
        // It ended before it listened: its result says why.
        Err(_) => match thread.join() {
            Ok(Err(e)) => Err(e),
            _ => Err(io::Error::other(
                "the server thread ended before it listened",
            )),
        },
    }
}

impl Running {
    /// Where it listens.
    ///
    /// ```
    /// let server = kv_stage3::testing::start(Default::default()).unwrap();
    /// println!("listening on {}", server.addr());
    /// ```
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Shuts the server down gracefully and waits for its thread; returns
    /// what the server returned.
    ///
    /// ```
    /// kv_stage3::testing::start(Default::default()).unwrap().stop().unwrap();
    /// ```
    pub fn stop(mut self) -> io::Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> io::Result<()> {
        if let Some(stop) = self.stop.take() {
            stop.resolve(());
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
