//! The store: one map from keys to values behind an async mutex, shared
//! by every connection (a stand-in for a real database handle).

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::Mutex;

use crate::protocol::{Command, Reply};

/// A handle on the shared map; clones share it.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let db = kv_stage0::db::Db::new();
/// db.set("k".into(), "v".into()).await;
/// assert_eq!(db.get("k").await.as_deref(), Some("v"));
/// # });
/// ```
#[derive(Clone, Debug, Default)]
pub struct Db {
    map: Arc<Mutex<HashMap<String, String>>>,
}

/// Why an `INCR` failed.
///
/// ```
/// use kv_stage0::db::IncrError;
/// assert_eq!(IncrError::Overflow.to_string(), "the result does not fit in 64 bits");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IncrError {
    /// The stored value is not an integer.
    #[error("the value is not an integer")]
    NotAnInteger,
    /// The sum does not fit in an `i64`.
    #[error("the result does not fit in 64 bits")]
    Overflow,
}

impl Db {
    /// An empty store.
    ///
    /// ```
    /// let db = kv_stage0::db::Db::new();
    /// ```
    pub fn new() -> Db {
        Db::default()
    }

    /// The value of `key`, if any.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// assert_eq!(kv_stage0::db::Db::new().get("nothing").await, None);
    /// # });
    /// ```
    pub async fn get(&self, key: &str) -> Option<String> {
        self.map.lock().await.get(key).cloned()
    }

    /// Stores `value` under `key`, returning the value it replaces.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let db = kv_stage0::db::Db::new();
    /// assert_eq!(db.set("k".into(), "1".into()).await, None);
    /// assert_eq!(db.set("k".into(), "2".into()).await.as_deref(), Some("1"));
    /// # });
    /// ```
    pub async fn set(&self, key: String, value: String) -> Option<String> {
        self.map.lock().await.insert(key, value)
    }

    /// Removes `key`; true if it was there.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let db = kv_stage0::db::Db::new();
    /// db.set("k".into(), "v".into()).await;
    /// assert!(db.del("k").await);
    /// assert!(!db.del("k").await);
    /// # });
    /// ```
    pub async fn del(&self, key: &str) -> bool {
        self.map.lock().await.remove(key).is_some()
    }

    /// Adds `by` to the integer stored under `key` (a missing key counts
    /// as 0) and returns the new value; the read and the write happen
    /// under one lock, so concurrent increments are never lost.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let db = kv_stage0::db::Db::new();
    /// assert_eq!(db.incr("n", 2).await, Ok(2));
    /// assert_eq!(db.incr("n", -5).await, Ok(-3));
    /// # });
    /// ```
    pub async fn incr(&self, key: &str, by: i64) -> Result<i64, IncrError> {
        let mut map = self.map.lock().await;
        let now = match map.get(key) {
            Some(v) => v.parse::<i64>().map_err(|_| IncrError::NotAnInteger)?,
            None => 0,
        };
        let next = now.checked_add(by).ok_or(IncrError::Overflow)?;
        map.insert(key.to_string(), next.to_string());
        Ok(next)
    }
}

/// Carries out one command (other than `QUIT`, which the connection
/// handles) and gives its reply.
///
/// ```
/// use kv_stage0::{db::{execute, Db}, protocol::{Command, Reply}};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let db = Db::new();
/// assert_eq!(execute(&db, Command::Incr("n".into(), 1)).await, Reply::Integer(1));
/// # });
/// ```
pub async fn execute(db: &Db, command: Command) -> Reply {
    match command {
        Command::Get(key) => match db.get(&key).await {
            Some(value) => Reply::Value(value),
            None => Reply::Nil,
        },
        Command::Set(key, value) => {
            db.set(key, value).await;
            Reply::Ok
        }
        Command::Del(key) => {
            if db.del(&key).await {
                Reply::Deleted
            } else {
                Reply::Nil
            }
        }
        Command::Incr(key, by) => match db.incr(&key, by).await {
            Ok(n) => Reply::Integer(n),
            Err(e) => Reply::Error(e.to_string()),
        },
        Command::Ping => Reply::Pong,
        Command::Quit => Reply::Bye,
    }
}
