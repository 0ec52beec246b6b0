//! Part II of the weft guide, stage 3: all direct, and on many cores.
//!
//! Stage 2's code with the last steps done: the client library is direct
//! (weft-migrate converted it), and the server is restructured by hand
//! around a [`weft::Switch`] that owns the connection fibers (so shutdown
//! needs no bookkeeping) and a [`weft::sync::Promise`] that says when to
//! stop. Nothing depends on tokio or weft-compat any more.
//! [`server::run_on_cores`] runs the same server on several threads, one
//! runtime and one `SO_REUSEPORT` listener each, sharing the store. See
//! `guides/tutorial/12-stage3-direct-and-many-cores.md`.
//!
//! ```
//! use kv_stage3::client::Client;
//!
//! let server = kv_stage3::testing::start_on_cores(Default::default(), 2).unwrap();
//! weft::run(|_env| {
//!     let mut client = Client::connect(server.addr()).unwrap();
//!     assert_eq!(client.incr("visits", 1).unwrap(), 1);
//! });
//! server.stop().unwrap();
//! ```

pub mod client;
pub mod db;
pub mod protocol;
pub mod server;
pub mod testing;
