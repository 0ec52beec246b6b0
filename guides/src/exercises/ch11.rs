//! Chapter 11: migration exercises. [`incr_all`]: convert a tokio function
//! to direct style; [`sum_values`]: remove a bridge.
//!
//! This is your file: every exercise function below starts as `todo!()`.
//! Write its body to meet the contract in its documentation, then check
//! it with `cargo test -p weft-guide --test ch11` (or let
//! `cargo run -p weft-guide --bin exercises -- next` pick the exercise).
//! The reference answer is in `guides/solutions/ch11.rs`: try first.

// Until you write the bodies, their parameters are unused: the allow keeps
// the build quiet. Delete it when you are done; your answer should not need it.
#![allow(unused_variables, unused_mut)]

use std::net::SocketAddr;

use kv_stage3::client::ClientError;

// You will probably want: kv_stage3::client::Client, weft::fiber (`try_all`).

/// Increments every key of `keys` by 1, each over its own connection, all
/// at once, and returns the new values in the order of `keys`.
///
/// The tokio original, from a program that used stage 0's client:
///
/// ```text
/// pub async fn incr_all(addr: SocketAddr, keys: &[&str]) -> Result<Vec<i64>, ClientError> {
///     futures::future::try_join_all(keys.iter().map(|key| async move {
///         let mut client = Client::connect(addr).await?;
///         client.incr(key, 1).await
///     }))
///     .await
/// }
/// ```
///
/// Contract: the same meaning, direct, with `kv_stage3`'s client:
/// - every key's connection is opened and its request sent without
///   waiting for another key's reply (all at once, as `try_join_all`);
/// - the values come back in the order of `keys`;
/// - the first error ends it: the requests still waiting are cancelled
///   (their connections closed) and that error is returned;
/// - no keys: `Ok(vec![])`.
///
/// ```
/// use weft_guide::exercises::ch11::incr_all;
///
/// let server = kv_stage3::testing::start(Default::default()).unwrap();
/// weft::run(|_env| assert_eq!(incr_all(server.addr(), &["a", "b"]).unwrap(), [1, 1]));
/// server.stop().unwrap();
/// ```
pub fn incr_all(addr: SocketAddr, keys: &[&str]) -> Result<Vec<i64>, ClientError> {
    // TODO: one fiber per key (`fiber::try_all`), each connecting and sending its INCR.
    // Stuck? `cargo run -p weft-guide --bin exercises -- hint incr_all`
    todo!()
}

/// The sum of the integer values of `keys` (a missing key counts as 0),
/// read over one connection.
///
/// Today it is written with stage 0's async client, through the bridge:
///
/// ```text
/// pub fn sum_values(addr: SocketAddr, keys: &[&str]) -> Result<i64, ClientError> {
///     let mut client = weft_compat::await_future(kv_stage0::client::Client::connect(addr))?;
///     let mut sum = 0;
///     for key in keys {
///         if let Some(value) = weft_compat::await_future(client.get(key))? {
///             sum += value.parse::<i64>().map_err(|_| ClientError::Unexpected(value))?;
///         }
///     }
///     Ok(sum)
/// }
/// ```
///
/// which needs tokio running beside weft (`weft_compat::tokio::run`).
///
/// Contract: the same, without the bridge, with `kv_stage3`'s client, so
/// that it runs under a plain `weft::run`:
/// - one connection for all the keys;
/// - a value that is not an integer: `Err(ClientError::Unexpected(value))`;
/// - any other error of the client is returned as it is.
///
/// ```
/// use weft_guide::exercises::ch11::sum_values;
///
/// let server = kv_stage3::testing::start(Default::default()).unwrap();
/// weft::run(|_env| assert_eq!(sum_values(server.addr(), &["nothing", "here"]).unwrap(), 0));
/// server.stop().unwrap();
/// ```
pub fn sum_values(addr: SocketAddr, keys: &[&str]) -> Result<i64, ClientError> {
    // TODO: the bridged code above, with kv_stage3's direct client: no `await_future`.
    // Stuck? `cargo run -p weft-guide --bin exercises -- hint sum_values`
    todo!()
}
