//! Part II of the weft guide, stage 2: stage 0 converted by
//! `weft-migrate rewrite --only`, a part at a time.
//!
//! The server ([`server`], with [`testing`] and the binary) and the store
//! ([`db`], now behind `weft::sync::Mutex`) are direct; the client library
//! ([`client`]) is still tokio code, and the server still takes its
//! shutdown signal as a future, awaited once through the bridge. Each step
//! is a commit; the tool's own diffs and reports are in `steps/`, and
//! `guides/tutorial/11-stage2-weft-migrate.md` explains them and the hand
//! fixes they needed.
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
