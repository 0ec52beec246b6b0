//! A small client library: one connection, one request at a time.

use std::io;

use std::io::{BufRead, BufReader, Lines, Write};

use weft::net::{OwnedReadHalf, OwnedWriteHalf, TcpStream, ToSocketAddrs};

use crate::protocol::{Command, Reply};

/// What went wrong with a request.
///
/// ```
/// let e = kv_stage3::client::ClientError::Closed;
/// assert_eq!(e.to_string(), "the server closed the connection");
/// ```
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The connection failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// The server closed the connection before replying.
    #[error("the server closed the connection")]
    Closed,
    /// The server answered `ERR`.
    #[error("the server refused: {0}")]
    Server(String),
    /// The server answered something this request does not expect.
    #[error("unexpected reply {0:?}")]
    Unexpected(String),
    /// The key or value cannot be sent (a key is one word, a value one line).
    #[error("invalid request: {0}")]
    Invalid(&'static str),
}

/// A connection to a key-value server.
///
/// ```no_run
/// # weft::run(|_env| {
/// let mut client = kv_stage3::client::Client::connect("127.0.0.1:7379")?;
/// client.set("greeting", "hello")?;
/// assert_eq!(client.get("greeting")?.as_deref(), Some("hello"));
/// # Ok::<(), kv_stage3::client::ClientError>(())
/// # });
/// ```
#[derive(Debug)]
pub struct Client {
    replies: Lines<BufReader<OwnedReadHalf>>,
    requests: OwnedWriteHalf,
}

impl Client {
    /// Connects to the server at `addr`.
    ///
    /// ```no_run
    /// # weft::run(|_env| {
    /// let client = kv_stage3::client::Client::connect("127.0.0.1:7379");
    /// # });
    /// ```
    pub fn connect(addr: impl ToSocketAddrs) -> io::Result<Client> {
        let (read, write) = TcpStream::connect(addr)?.into_split();
        Ok(Client {
            replies: BufReader::new(read).lines(),
            requests: write,
        })
    }

    /// Sends one command and reads its reply (`ERR` becomes
    /// [`ClientError::Server`]).
    ///
    /// ```no_run
    /// use kv_stage3::protocol::{Command, Reply};
    /// # weft::run(|_env| {
    /// let mut client = kv_stage3::client::Client::connect("127.0.0.1:7379")?;
    /// assert_eq!(client.call(&Command::Ping)?, Reply::Pong);
    /// # Ok::<(), kv_stage3::client::ClientError>(())
    /// # });
    /// ```
    pub fn call(&mut self, command: &Command) -> Result<Reply, ClientError> {
        self.requests.write_all(format!("{command}\n").as_bytes())?;
        let line = self
            .replies
            .next()
            .transpose()?
            .ok_or(ClientError::Closed)?;
        match Reply::parse(&line) {
            Some(Reply::Error(why)) => Err(ClientError::Server(why)),
            Some(reply) => Ok(reply),
            None => Err(ClientError::Unexpected(line)),
        }
    }

    /// The value of `key`, if any.
    ///
    /// ```no_run
    /// # weft::run(|_env| {
    /// let mut client = kv_stage3::client::Client::connect("127.0.0.1:7379")?;
    /// let v: Option<String> = client.get("k")?;
    /// # Ok::<(), kv_stage3::client::ClientError>(())
    /// # });
    /// ```
    pub fn get(&mut self, key: &str) -> Result<Option<String>, ClientError> {
        match self.call(&Command::Get(check_key(key)?))? {
            Reply::Value(v) => Ok(Some(v)),
            Reply::Nil => Ok(None),
            other => Err(ClientError::Unexpected(other.to_string())),
        }
    }

    /// Stores `value` under `key`.
    ///
    /// ```no_run
    /// # weft::run(|_env| {
    /// let mut client = kv_stage3::client::Client::connect("127.0.0.1:7379")?;
    /// client.set("k", "a value with spaces")?;
    /// # Ok::<(), kv_stage3::client::ClientError>(())
    /// # });
    /// ```
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), ClientError> {
        if value.contains(['\n', '\r']) {
            return Err(ClientError::Invalid("a value is one line"));
        }
        match self.call(&Command::Set(check_key(key)?, value.to_string()))? {
            Reply::Ok => Ok(()),
            other => Err(ClientError::Unexpected(other.to_string())),
        }
    }

    /// Removes `key`; true if it was there.
    ///
    /// ```no_run
    /// # weft::run(|_env| {
    /// let mut client = kv_stage3::client::Client::connect("127.0.0.1:7379")?;
    /// let was_there = client.del("k")?;
    /// # Ok::<(), kv_stage3::client::ClientError>(())
    /// # });
    /// ```
    pub fn del(&mut self, key: &str) -> Result<bool, ClientError> {
        match self.call(&Command::Del(check_key(key)?))? {
            Reply::Deleted => Ok(true),
            Reply::Nil => Ok(false),
            other => Err(ClientError::Unexpected(other.to_string())),
        }
    }

    /// Adds `by` to the integer under `key` and returns the new value.
    ///
    /// ```no_run
    /// # weft::run(|_env| {
    /// let mut client = kv_stage3::client::Client::connect("127.0.0.1:7379")?;
    /// let hits = client.incr("hits", 1)?;
    /// # Ok::<(), kv_stage3::client::ClientError>(())
    /// # });
    /// ```
    pub fn incr(&mut self, key: &str, by: i64) -> Result<i64, ClientError> {
        match self.call(&Command::Incr(check_key(key)?, by))? {
            Reply::Integer(n) => Ok(n),
            other => Err(ClientError::Unexpected(other.to_string())),
        }
    }
}

/// A key is one word: no whitespace, not empty.
fn check_key(key: &str) -> Result<String, ClientError> {
    if key.is_empty() || key.contains(char::is_whitespace) {
        Err(ClientError::Invalid("a key is one word"))
    } else {
        Ok(key.to_string())
    }
}
