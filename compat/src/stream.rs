//! `futures::Stream` as an iterator in a fiber.

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
