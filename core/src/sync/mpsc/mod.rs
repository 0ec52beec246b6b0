//! Multi-producer, single-consumer channels with tokio's meaning: bounded
//! ([`channel`]) and unbounded ([`unbounded_channel`]). Methods that are
//! `async` in tokio suspend the fiber here.
//!
//! The channel closes when every [`Sender`] is dropped (the receiver then
//! drains what is buffered and gets `None`), or when the [`Receiver`] is
//! dropped or closed (sends fail and give the value back).

//!
//! One file per part, as tokio splits its own: [`error`], the shared
//! state (`chan.rs`) with the receiver's handoff slot (`rx_slot.rs`), the bounded halves (`bounded.rs`) and the unbounded
//! ones (`unbounded.rs`).

mod bounded;
mod chan;
pub mod error;
mod rx_slot;
mod unbounded;

pub use bounded::{Permit, Receiver, Sender, WeakSender};
pub use unbounded::{UnboundedReceiver, UnboundedSender, WeakUnboundedSender};

use chan::Chan;

/// Creates a bounded channel holding at most `buffer` messages (≥ 1).
///
/// ```
/// weft::run(|_env| {
///     let (tx, mut rx) = weft::sync::mpsc::channel(8);
///     weft::Switch::run(|sw| {
///         sw.fork(move || for i in 0..3 { tx.send(i).unwrap() });
///         let mut got = vec![];
///         while let Some(v) = rx.recv() { got.push(v) }
///         assert_eq!(got, [0, 1, 2]);
///         Ok(())
///     })
///     .unwrap();
/// });
/// ```
pub fn channel<T>(buffer: usize) -> (Sender<T>, Receiver<T>) {
    assert!(buffer > 0, "mpsc bounded channel requires buffer > 0");
    let chan = Chan::new(Some(buffer));
    (Sender { chan: chan.clone() }, Receiver { chan })
}

/// Creates an unbounded channel: `send` never waits.
///
/// ```
/// weft::run(|_env| {
///     let (tx, mut rx) = weft::sync::mpsc::unbounded_channel();
///     tx.send("hi").unwrap();
///     drop(tx);
///     assert_eq!(rx.recv(), Some("hi"));
///     assert_eq!(rx.recv(), None);
/// });
/// ```
pub fn unbounded_channel<T>() -> (UnboundedSender<T>, UnboundedReceiver<T>) {
    let chan = Chan::new(None);
    (
        UnboundedSender {
            inner: Sender { chan: chan.clone() },
        },
        UnboundedReceiver {
            inner: Receiver { chan },
        },
    )
}
