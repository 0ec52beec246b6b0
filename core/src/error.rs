//! The error type carried by failing fibers and switches.
//!
//! A fiber fails by returning `Err(weft::Error)` or by panicking. The switch
//! it belongs to records the first failure, cancels its other fibers, and
//! `Switch::run` returns that failure with every later one attached (see
//! [`Error::suppressed`]), so no failure is lost.
//!
//! [`Error`] works like `anyhow::Error`: any `std::error::Error + Send + Sync`
//! converts into it with `?`, and [`Error::downcast_ref`] recovers the
//! original value.

use std::any::Any;
use std::error::Error as StdError;
use std::fmt;

use crate::cancel::Cancelled;

/// A shorthand for `Result<T, weft::Error>`.
///
/// ```
/// fn parse(s: &str) -> weft::Result<u32> {
///     Ok(s.parse::<u32>()?)
/// }
/// assert_eq!(parse("7").unwrap(), 7);
/// assert!(parse("x").is_err());
/// ```
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A failure of a fiber or a switch: an error value or a panic message, with
/// the later failures of the same switch attached.
///
/// ```
/// let err = weft::Error::msg("disk full");
/// assert_eq!(err.to_string(), "disk full");
/// assert!(err.suppressed().is_empty());
/// ```
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: Kind,
    suppressed: Vec<Error>,
}

enum Kind {
    Value(Box<dyn StdError + Send + Sync + 'static>),
    Panic(String),
    Cancelled(Cancelled),
}

/// A plain message used as an error value by [`Error::msg`].
#[derive(Debug)]
struct Message(String);

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for Message {}

impl Error {
    fn from_kind(kind: Kind) -> Self {
        Error {
            inner: Box::new(Inner {
                kind,
                suppressed: Vec::new(),
            }),
        }
    }

    /// An error made of a message alone.
    ///
    /// ```
    /// let e = weft::Error::msg(format!("bad port {}", 70000));
    /// assert_eq!(e.to_string(), "bad port 70000");
    /// ```
    pub fn msg(message: impl Into<String>) -> Self {
        Self::from_kind(Kind::Value(Box::new(Message(message.into()))))
    }

    /// Wraps an error value.
    ///
    /// ```
    /// let io = std::io::Error::other("boom");
    /// let e = weft::Error::new(io);
    /// assert!(e.downcast_ref::<std::io::Error>().is_some());
    /// ```
    pub fn new<E: StdError + Send + Sync + 'static>(error: E) -> Self {
        Self::from_kind(Kind::Value(Box::new(error)))
    }

    /// The failure of a fiber that panicked with `payload`, kept as its
    /// message.
    #[doc(hidden)]
    pub fn from_panic(payload: &(dyn Any + Send)) -> Self {
        Self::from_kind(Kind::Panic(panic_message(payload)))
    }

    /// A failure saying the work was cancelled.
    #[doc(hidden)]
    pub fn cancelled(c: Cancelled) -> Self {
        Self::from_kind(Kind::Cancelled(c))
    }

    /// Whether this failure was a panic (its message is the `Display`).
    ///
    /// ```
    /// assert!(!weft::Error::msg("x").is_panic());
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self.inner.kind, Kind::Panic(_))
    }

    /// Whether this failure means the work was cancelled rather than failed.
    ///
    /// ```
    /// assert!(!weft::Error::msg("x").is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self.inner.kind, Kind::Cancelled(_))
    }

    /// The original error value, if it is an `E`.
    ///
    /// ```
    /// #[derive(Debug, thiserror::Error)]
    /// #[error("no such user {0}")]
    /// struct NoUser(u32);
    ///
    /// let e: weft::Error = NoUser(4).into();
    /// assert_eq!(e.downcast_ref::<NoUser>().unwrap().0, 4);
    /// ```
    pub fn downcast_ref<E: StdError + 'static>(&self) -> Option<&E> {
        match &self.inner.kind {
            Kind::Value(b) => b.downcast_ref::<E>(),
            Kind::Cancelled(c) => (c as &dyn StdError).downcast_ref::<E>(),
            Kind::Panic(_) => None,
        }
    }

    /// Takes the original error value back out, if it is an `E`.
    ///
    /// ```
    /// let e: weft::Error = std::io::Error::other("x").into();
    /// let io: std::io::Error = e.downcast().unwrap();
    /// assert_eq!(io.to_string(), "x");
    /// ```
    pub fn downcast<E: StdError + 'static>(self) -> std::result::Result<E, Self> {
        let Inner { kind, suppressed } = *self.inner;
        match kind {
            Kind::Value(b) if b.is::<E>() => match b.downcast::<E>() {
                Ok(e) => Ok(*e),
                Err(_) => unreachable!("checked with is::<E>() just above"),
            },
            kind => Err(Error {
                inner: Box::new(Inner { kind, suppressed }),
            }),
        }
    }

    /// Failures of the same switch that happened after this one, oldest
    /// first. They are kept rather than lost.
    ///
    /// ```
    /// let e = weft::Error::msg("first");
    /// assert!(e.suppressed().is_empty());
    /// ```
    pub fn suppressed(&self) -> &[Error] {
        &self.inner.suppressed
    }

    #[doc(hidden)]
    pub fn attach(&mut self, later: Error) {
        self.inner.suppressed.push(later);
    }

    /// This error as a `std::error::Error` trait object, for APIs that want
    /// one (the attached failures appear in its `Display` with `{:#}`).
    ///
    /// ```
    /// let e = weft::Error::msg("x");
    /// let b: Box<dyn std::error::Error + Send + Sync> = e.into_std();
    /// assert_eq!(b.to_string(), "x");
    /// ```
    pub fn into_std(self) -> Box<dyn StdError + Send + Sync + 'static> {
        Box::new(StdWrapper(self))
    }
}

/// The text of a panic payload (`&str` or `String`), or a placeholder.
#[doc(hidden)]
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string panic payload>".to_string()
    }
}

impl<E: StdError + Send + Sync + 'static> From<E> for Error {
    fn from(error: E) -> Self {
        Error::new(error)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner.kind {
            Kind::Value(e) => fmt::Display::fmt(e, f)?,
            Kind::Panic(m) => write!(f, "fiber panicked: {m}")?,
            Kind::Cancelled(c) => fmt::Display::fmt(c, f)?,
        }
        if f.alternate() {
            if let Kind::Value(e) = &self.inner.kind {
                let mut source = e.source();
                while let Some(s) = source {
                    write!(f, ": {s}")?;
                    source = s.source();
                }
            }
            for (i, s) in self.inner.suppressed.iter().enumerate() {
                write!(f, "\n  also failed ({}): {s:#}", i + 1)?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner.kind {
            Kind::Value(e) => write!(f, "{e:?}")?,
            Kind::Panic(m) => write!(f, "Panic({m:?})")?,
            Kind::Cancelled(c) => write!(f, "{c:?}")?,
        }
        if !self.inner.suppressed.is_empty() {
            write!(f, " (suppressed: {:?})", self.inner.suppressed)?;
        }
        Ok(())
    }
}

impl From<Error> for Box<dyn StdError + Send + Sync + 'static> {
    fn from(e: Error) -> Self {
        e.into_std()
    }
}

impl From<Error> for Box<dyn StdError + 'static> {
    fn from(e: Error) -> Self {
        e.into_std()
    }
}

impl From<Error> for std::io::Error {
    fn from(e: Error) -> Self {
        match e.downcast::<std::io::Error>() {
            Ok(io) => io,
            Err(e) => std::io::Error::other(e.into_std()),
        }
    }
}

struct StdWrapper(Error);

impl fmt::Display for StdWrapper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for StdWrapper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl StdError for StdWrapper {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match &self.0.inner.kind {
            Kind::Value(e) => e.source(),
            _ => None,
        }
    }
}
