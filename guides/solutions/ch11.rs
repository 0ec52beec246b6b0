//! Chapter 11: migration exercises. [`incr_all`]: convert a tokio function
//! to direct style; [`sum_values`]: remove a bridge.
//!
//! The reference answer (compiled with `--features solutions`); the
//! learner's starter is `guides/src/exercises/ch11.rs`, with the same contract.

use std::net::SocketAddr;

use kv_stage3::client::{Client, ClientError};
use weft::fiber;

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
    fiber::try_all(keys.iter().map(|key| {
        move || {
            let mut client = Client::connect(addr)?;
            client.incr(key, 1)
        }
    }))
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
    let mut client = Client::connect(addr)?;
    let mut sum = 0;
    for key in keys {
        if let Some(value) = client.get(key)? {
            sum += value
                .parse::<i64>()
                .map_err(|_| ClientError::Unexpected(value))?;
        }
    }
    Ok(sum)
}
