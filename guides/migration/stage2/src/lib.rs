//! Part II of the weft guide, stage 2: stage 0 migrated by `weft-migrate rewrite --only`, step by step.
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
//! use kv_stage2::client::Client;
//!
//! let server = kv_stage2::testing::start(Default::default()).unwrap();
//! tokio::runtime::Runtime::new().unwrap().block_on(async {
//!     let mut client = Client::connect(server.addr()).await.unwrap();
//!     assert_eq!(client.incr("visits", 1).await.unwrap(), 1);
//! });
//! server.stop().unwrap();
//! ```

pub mod client;
pub mod db;
pub mod protocol;
pub mod server;
pub mod testing;
