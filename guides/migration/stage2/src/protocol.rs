//! The wire protocol: one command per line, one reply per line. Pure
//! parsing and printing, no I/O, so every stage shares it unchanged.
//!
//! ```text
//! GET key          -> VALUE <value> | NIL
//! SET key value..  -> OK              (the value is the rest of the line)
//! DEL key          -> DELETED | NIL
//! INCR key [by]    -> INT <n> | ERR ...
//! PING             -> PONG
//! QUIT             -> BYE, then the server closes the connection
//! anything else    -> ERR <why>       (the connection stays usable)
//! ```

use std::fmt;

/// A request from a client.
///
/// ```
/// use kv_stage2::protocol::Command;
/// assert_eq!(Command::parse("SET k a b").unwrap(), Command::Set("k".into(), "a b".into()));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `GET key`
    Get(String),
    /// `SET key value`
    Set(String, String),
    /// `DEL key`
    Del(String),
    /// `INCR key [by]` (by defaults to 1)
    Incr(String, i64),
    /// `PING`
    Ping,
    /// `QUIT`
    Quit,
}

/// Why a line is not a command.
///
/// ```
/// use kv_stage2::protocol::{Command, ParseError};
/// assert_eq!(Command::parse("FLY"), Err(ParseError::Unknown("FLY".into())));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The line is empty.
    #[error("empty command")]
    Empty,
    /// The first word is not a command.
    #[error("unknown command {0:?}")]
    Unknown(String),
    /// Too few or too many words for the command.
    #[error("{0} needs {1}")]
    Arity(&'static str, &'static str),
    /// `INCR`'s amount is not an integer.
    #[error("not an integer: {0:?}")]
    NotAnInteger(String),
}

impl Command {
    /// Parses one line (without its newline). Command names are
    /// case-insensitive; keys are single words.
    ///
    /// ```
    /// use kv_stage2::protocol::Command;
    /// assert_eq!(Command::parse("incr hits 5").unwrap(), Command::Incr("hits".into(), 5));
    /// ```
    pub fn parse(line: &str) -> Result<Command, ParseError> {
        let line = line.trim_start();
        let (name, rest) = match line.split_once(' ') {
            Some((name, rest)) => (name, rest.trim_start()),
            None => (line.trim_end(), ""),
        };
        let words: Vec<&str> = rest.split_whitespace().collect();
        match name.to_ascii_uppercase().as_str() {
            "" => Err(ParseError::Empty),
            "GET" => match words[..] {
                [key] => Ok(Command::Get(key.to_string())),
                _ => Err(ParseError::Arity("GET", "a key")),
            },
            "DEL" => match words[..] {
                [key] => Ok(Command::Del(key.to_string())),
                _ => Err(ParseError::Arity("DEL", "a key")),
            },
            "SET" => match rest.split_once(' ') {
                Some((key, value)) if !key.is_empty() => {
                    Ok(Command::Set(key.to_string(), value.to_string()))
                }
                _ => Err(ParseError::Arity("SET", "a key and a value")),
            },
            "INCR" => match words[..] {
                [key] => Ok(Command::Incr(key.to_string(), 1)),
                [key, by] => by
                    .parse()
                    .map(|by| Command::Incr(key.to_string(), by))
                    .map_err(|_| ParseError::NotAnInteger(by.to_string())),
                _ => Err(ParseError::Arity("INCR", "a key and an optional amount")),
            },
            "PING" if words.is_empty() => Ok(Command::Ping),
            "QUIT" if words.is_empty() => Ok(Command::Quit),
            "PING" | "QUIT" => Err(ParseError::Arity("PING and QUIT", "nothing")),
            _ => Err(ParseError::Unknown(name.to_string())),
        }
    }
}

impl fmt::Display for Command {
    /// The line a client sends (without its newline).
    ///
    /// ```
    /// use kv_stage2::protocol::Command;
    /// assert_eq!(Command::Incr("n".into(), -2).to_string(), "INCR n -2");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Get(k) => write!(f, "GET {k}"),
            Command::Set(k, v) => write!(f, "SET {k} {v}"),
            Command::Del(k) => write!(f, "DEL {k}"),
            Command::Incr(k, by) => write!(f, "INCR {k} {by}"),
            Command::Ping => write!(f, "PING"),
            Command::Quit => write!(f, "QUIT"),
        }
    }
}

/// A response from the server.
///
/// ```
/// use kv_stage2::protocol::Reply;
/// assert_eq!(Reply::parse("INT 3").unwrap(), Reply::Integer(3));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// `OK`: a SET was stored.
    Ok,
    /// `VALUE <v>`
    Value(String),
    /// `NIL`: no such key.
    Nil,
    /// `DELETED`
    Deleted,
    /// `INT <n>`
    Integer(i64),
    /// `PONG`
    Pong,
    /// `BYE`: the server closes the connection after it.
    Bye,
    /// `ERR <why>`
    Error(String),
}

impl Reply {
    /// Parses a reply line (without its newline); `None` if it is not one.
    ///
    /// ```
    /// use kv_stage2::protocol::Reply;
    /// assert_eq!(Reply::parse("VALUE a b"), Some(Reply::Value("a b".into())));
    /// assert_eq!(Reply::parse("WHAT"), None);
    /// ```
    pub fn parse(line: &str) -> Option<Reply> {
        let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
        Some(match (word, rest) {
            ("OK", "") => Reply::Ok,
            ("NIL", "") => Reply::Nil,
            ("DELETED", "") => Reply::Deleted,
            ("PONG", "") => Reply::Pong,
            ("BYE", "") => Reply::Bye,
            ("VALUE", v) => Reply::Value(v.to_string()),
            ("INT", n) => Reply::Integer(n.parse().ok()?),
            ("ERR", why) => Reply::Error(why.to_string()),
            _ => return None,
        })
    }
}

impl fmt::Display for Reply {
    /// The line the server sends (without its newline).
    ///
    /// ```
    /// use kv_stage2::protocol::Reply;
    /// assert_eq!(Reply::Error("no".into()).to_string(), "ERR no");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reply::Ok => write!(f, "OK"),
            Reply::Value(v) => write!(f, "VALUE {v}"),
            Reply::Nil => write!(f, "NIL"),
            Reply::Deleted => write!(f, "DELETED"),
            Reply::Integer(n) => write!(f, "INT {n}"),
            Reply::Pong => write!(f, "PONG"),
            Reply::Bye => write!(f, "BYE"),
            Reply::Error(why) => write!(f, "ERR {why}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_command() {
        assert_eq!(Command::parse("GET a"), Ok(Command::Get("a".into())));
        assert_eq!(Command::parse("get a"), Ok(Command::Get("a".into())));
        assert_eq!(
            Command::parse("SET a  x y "),
            Ok(Command::Set("a".into(), " x y ".into()))
        );
        assert_eq!(Command::parse("DEL a"), Ok(Command::Del("a".into())));
        assert_eq!(Command::parse("INCR a"), Ok(Command::Incr("a".into(), 1)));
        assert_eq!(
            Command::parse("INCR a -7"),
            Ok(Command::Incr("a".into(), -7))
        );
        assert_eq!(Command::parse("PING"), Ok(Command::Ping));
        assert_eq!(Command::parse("QUIT"), Ok(Command::Quit));
    }

    #[test]
    fn rejects_bad_lines_with_a_reason() {
        assert_eq!(Command::parse(""), Err(ParseError::Empty));
        assert_eq!(
            Command::parse("GET"),
            Err(ParseError::Arity("GET", "a key"))
        );
        assert_eq!(
            Command::parse("GET a b").map_err(|e| e.to_string()),
            Err("GET needs a key".into())
        );
        assert_eq!(
            Command::parse("SET a"),
            Err(ParseError::Arity("SET", "a key and a value"))
        );
        assert_eq!(
            Command::parse("INCR a x"),
            Err(ParseError::NotAnInteger("x".into()))
        );
        assert_eq!(
            Command::parse("PING me"),
            Err(ParseError::Arity("PING and QUIT", "nothing"))
        );
        assert_eq!(
            Command::parse("NOPE a"),
            Err(ParseError::Unknown("NOPE".into()))
        );
    }

    #[test]
    fn commands_and_replies_round_trip_through_text() {
        for c in [
            Command::Get("k".into()),
            Command::Set("k".into(), "v w".into()),
            Command::Del("k".into()),
            Command::Incr("k".into(), 3),
            Command::Ping,
            Command::Quit,
        ] {
            assert_eq!(Command::parse(&c.to_string()), Ok(c));
        }
        for r in [
            Reply::Ok,
            Reply::Value("a b".into()),
            Reply::Nil,
            Reply::Deleted,
            Reply::Integer(-4),
            Reply::Pong,
            Reply::Bye,
            Reply::Error("bad".into()),
        ] {
            assert_eq!(Reply::parse(&r.to_string()), Some(r));
        }
    }
}
