//! Streams across the bridge: a `futures::Stream` as an iterator in a
//! fiber ([`iter`]), and a fiber producer as a `Stream` ([`from_fiber`]).

use std::pin::Pin;

use futures_core::Stream;

use crate::await_future;

/// Iterates a `Stream` from a fiber: each `next()` awaits the stream's
/// next item, blocking only the fiber.
///
/// ```
/// weft::run(|_env| {
///     let s = Counter(0);
///     let items: Vec<u32> = weft_compat::stream::iter(s).collect();
///     assert_eq!(items, [1, 2, 3]);
/// });
///
/// struct Counter(u32);
/// impl futures_core::Stream for Counter {
///     type Item = u32;
///     fn poll_next(mut self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<Option<u32>> {
///         self.0 += 1;
///         std::task::Poll::Ready((self.0 <= 3).then_some(self.0))
///     }
/// }
/// ```
pub fn iter<S: Stream + Unpin>(stream: S) -> Iter<S> {
    Iter { stream }
}

/// The iterator returned by [`iter`].
#[derive(Debug)]
pub struct Iter<S> {
    stream: S,
}

impl<S: Stream + Unpin> Iterator for Iter<S> {
    type Item = S::Item;

    #[track_caller]
    fn next(&mut self) -> Option<S::Item> {
        let stream = &mut self.stream;
        await_future(std::future::poll_fn(|cx| {
            Pin::new(&mut *stream).poll_next(cx)
        }))
    }
}

/// The sending side given to a [`from_fiber`] producer.
#[cfg(feature = "tokio")]
#[derive(Debug)]
pub struct Sender<T> {
    tx: tokio::sync::mpsc::Sender<T>,
}

#[cfg(feature = "tokio")]
impl<T> Sender<T> {
    /// Sends an item, suspending the fiber while the stream's buffer is
    /// full (back-pressure). Returns the item back if the stream was
    /// dropped.
    ///
    /// ```
    /// # weft::run(|_env| {
    /// let s = weft_compat::stream::from_fiber(1, |tx| { let _ = tx.send(5); });
    /// # drop(s);
    /// # });
    /// ```
    #[track_caller]
    pub fn send(&self, item: T) -> Result<(), T> {
        await_future(self.tx.send(item)).map_err(|e| e.0)
    }
}

/// A `Stream` fed by a fiber; see [`from_fiber`]. Dropping it cancels the
/// producer fiber.
#[cfg(feature = "tokio")]
#[must_use = "streams do nothing unless polled"]
pub struct FiberStream<T> {
    rx: tokio::sync::mpsc::Receiver<T>,
    _producer: crate::FiberTask<()>,
}

/// Runs `produce` in a fiber that sends items into a bounded buffer of
/// `capacity` (at least 1), and returns the buffer's other end as a
/// `futures::Stream` for async code. The stream ends when the producer
/// returns; dropping the stream cancels the producer.
///
/// ```
/// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// let items = rt.block_on(async {
///     let mut s = weft_compat::stream::from_fiber(2, |tx| {
///         for i in 0..5 {
///             weft::fiber::yield_now();
///             if tx.send(i).is_err() { return; }
///         }
///     });
///     let mut got = vec![];
///     while let Some(i) = std::future::poll_fn(|cx| std::pin::Pin::new(&mut s).poll_next(cx)).await {
///         got.push(i);
///     }
///     got
/// });
/// assert_eq!(items, [0, 1, 2, 3, 4]);
/// # use futures_core::Stream;
/// ```
#[cfg(feature = "tokio")]
pub fn from_fiber<T, F>(capacity: usize, produce: F) -> FiberStream<T>
where
    T: Send + 'static,
    F: FnOnce(Sender<T>) + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(capacity.max(1));
    let producer = crate::run_fiber(move || produce(Sender { tx }));
    FiberStream {
        rx,
        _producer: producer,
    }
}

#[cfg(feature = "tokio")]
impl<T> Stream for FiberStream<T> {
    type Item = T;

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<T>> {
        self.rx.poll_recv(cx)
    }
}

#[cfg(feature = "tokio")]
impl<T> std::fmt::Debug for FiberStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FiberStream")
    }
}
