//! Part II of the weft guide, stage 1: the tokio service running inside
//! weft, nothing rewritten.
//!
//! The service is `kv-stage0`, unchanged (this crate depends on it). What
//! changes is who is in charge: the program's main function is a weft
//! fiber ([`weft_compat::tokio::run`] starts weft with a tokio runtime its
//! fibers can use), and the async service is awaited from that fiber with
//! [`weft_compat::await_future`]. New code can now be written in direct
//! style next to the old async code; `tests/from_fibers.rs` does exactly
//! that. See `guides/tutorial/10-stage1-inside-weft.md`.
//!
//! ```
//! use kv_stage1::{serve_until, Config};
//! use weft_compat::await_future;
//!
//! weft_compat::tokio::run(|_env| {
//!     let listener = await_future(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
//!     let addr = listener.local_addr().unwrap();
//!     let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//!     weft::Switch::run(|sw| {
//!         sw.fork(|| serve_until(listener, Config::default(), stopped).expect("served"));
//!         let mut client = await_future(kv_stage1::Client::connect(addr))?;
//!         assert_eq!(await_future(client.incr("visits", 1)).unwrap(), 1);
//!         drop(stop); // the server shuts down gracefully; the switch waits for it
//!         Ok(())
//!     })
//!     .unwrap();
//! });
//! ```

use std::io;

pub mod testing;

pub use kv_stage0::client::{Client, ClientError};
pub use kv_stage0::db::Db;
pub use kv_stage0::server::Config;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use weft_compat::await_future;

/// Runs stage 0's `server::run` from the calling fiber, with a fresh
/// store, until `stop` is sent or dropped; returns once the server has
/// shut down gracefully. Must run under [`weft_compat::tokio::run`]
/// (stage 0 spawns its connection tasks on tokio).
///
/// ```no_run
/// weft_compat::tokio::run(|_env| {
///     let listener = weft_compat::await_future(tokio::net::TcpListener::bind("127.0.0.1:7379")).unwrap();
///     let (_stop, stopped) = tokio::sync::oneshot::channel::<()>();
///     kv_stage1::serve_until(listener, kv_stage1::Config::default(), stopped)
/// })
/// .unwrap();
/// ```
pub fn serve_until(
    listener: TcpListener,
    config: Config,
    stop: oneshot::Receiver<()>,
) -> io::Result<()> {
    await_future(kv_stage0::server::run(listener, Db::new(), config, async {
        let _ = stop.await;
    }))
}
