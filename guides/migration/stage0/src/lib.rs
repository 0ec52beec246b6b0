//! Part II of the weft guide, stage 0: the tokio original.
//!
//! A key-value service speaking a line protocol ([`protocol`]): a shared
//! store behind an async mutex ([`db`]), a server with a connection limit
//! and a graceful shutdown ([`server`]), and a client library
//! ([`client`]); [`testing`] runs a server on a background thread for the
//! tests and the load client. The later stages (`guides/migration/stage1..3`)
//! port this crate to weft; `guides/tutorial/09-part2-the-service.md` and
//! the chapters after it walk through them.
//!
//! ```
//! use kv_stage0::{client::Client, db::Db, server};
//!
//! tokio::runtime::Runtime::new().unwrap().block_on(async {
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
//!     let addr = listener.local_addr().unwrap();
//!     let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//!     let server = tokio::spawn(server::run(listener, Db::new(), server::Config::default(), async {
//!         let _ = stopped.await;
//!     }));
//!     let mut client = Client::connect(addr).await.unwrap();
//!     assert_eq!(client.incr("visits", 1).await.unwrap(), 1);
//!     stop.send(()).unwrap();
//!     server.await.unwrap().unwrap();
//! });
//! ```

pub mod client;
pub mod db;
pub mod protocol;
pub mod server;
pub mod testing;
