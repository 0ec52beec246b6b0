//! The state both halves of a channel share: the buffer, the counts of
//! senders and permits, the parked receiver and the queue of blocked
//! senders.

use std::collections::VecDeque;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use crate::fiber::Resumer;
use crate::sync::short_lock::{ShortGuard, ShortLock};
use crate::sync::wait_queue::WaitQueue;

use super::rx_slot::RxSlot;

/// A blocked sender: the value it offers, or a reservation request.
pub(super) enum Offer<T> {
    Value(T),
    Reserve,
    /// Set by the receiver when it takes a reservation request's slot.
    Reserved,
}

pub(super) struct State<T> {
    pub(super) queue: VecDeque<T>,
    /// `None`: unbounded.
    pub(super) capacity: Option<usize>,
    /// Slots held by outstanding `Permit`s.
    pub(super) reserved: usize,
    pub(super) senders: usize,
    pub(super) weak_senders: usize,
    pub(super) rx_closed: bool,
    /// The receiver parked in `recv` (there is one receiver).
    pub(super) rx_waiter: Option<Resumer>,
    pub(super) blocked_senders: WaitQueue<Offer<T>>,
    pub(super) closed_watchers: WaitQueue,
}

pub(super) struct Chan<T> {
    pub(super) state: ShortLock<State<T>>,
    /// A message handed to the parked receiver (see `rx_slot`).
    pub(super) rx_slot: RxSlot<T>,
}

/// The locked state, with the slot a delivery may fill.
pub(super) struct Locked<'a, T> {
    state: ShortGuard<'a, State<T>>,
    rx_slot: &'a RxSlot<T>,
}

impl<T> Deref for Locked<'_, T> {
    type Target = State<T>;

    fn deref(&self) -> &State<T> {
        &self.state
    }
}

impl<T> DerefMut for Locked<'_, T> {
    fn deref_mut(&mut self) -> &mut State<T> {
        &mut self.state
    }
}

impl<T> Chan<T> {
    pub(super) fn new(capacity: Option<usize>) -> Arc<Self> {
        Arc::new(Chan {
            state: ShortLock::new(State {
                queue: VecDeque::new(),
                capacity,
                reserved: 0,
                senders: 1,
                weak_senders: 0,
                rx_closed: false,
                rx_waiter: None,
                blocked_senders: WaitQueue::new(),
                closed_watchers: WaitQueue::new(),
            }),
            rx_slot: RxSlot::new(),
        })
    }

    pub(super) fn lock(&self) -> Locked<'_, T> {
        Locked {
            state: self.state.lock(),
            rx_slot: &self.rx_slot,
        }
    }
}

impl<T> State<T> {
    /// No message can arrive any more: every sender is gone, or the
    /// receiver closed the channel and no permit reserved before that is
    /// outstanding (tokio's meaning: such permits may still send).
    pub(super) fn finished(&self) -> bool {
        self.senders == 0 || (self.rx_closed && self.reserved == 0)
    }

    pub(super) fn has_room(&self) -> bool {
        self.capacity
            .is_none_or(|c| self.queue.len() + self.reserved < c)
    }

    /// Wakes the parked receiver, if any, with nothing handed over (it
    /// looks at the channel again).
    pub(super) fn wake_receiver(&mut self) {
        if let Some(r) = self.rx_waiter.take() {
            r.resume();
        }
    }

    pub(super) fn close_rx(&mut self) {
        self.rx_closed = true;
        // Blocked senders fail; they keep their values (woken without
        // taking anything).
        while self.blocked_senders.wake_front() {}
        self.closed_watchers.wake_all();
    }
}

impl<T> Locked<'_, T> {
    /// Delivers `v`: to the parked receiver, else into the buffer.
    pub(super) fn deliver(&mut self, v: T) {
        let v = match self.state.rx_waiter.take() {
            Some(receiver) if receiver.is_waiting() => {
                // SAFETY: we hold the lock and took the parked receiver's
                // resumer (`rx_slot`'s protocol).
                unsafe { self.rx_slot.put(v) };
                if receiver.resume() {
                    return;
                }
                // Cancelled at the last moment: the message stays ours.
                // SAFETY: we put it and still hold the lock.
                unsafe { self.rx_slot.take() }.expect("put just above")
            }
            _ => v,
        };
        self.state.queue.push_back(v);
    }

    /// A permit was used or dropped.
    pub(super) fn release_permit(&mut self) {
        self.reserved -= 1;
        if self.finished() {
            // A receiver blocked after `close` wakes to see the end.
            self.wake_receiver();
        } else {
            self.admit_blocked();
        }
    }

    /// Lets blocked senders in while there is room.
    pub(super) fn admit_blocked(&mut self) {
        while self.has_room() {
            let Some(front) = self.blocked_senders.front_mut() else {
                return;
            };
            match front {
                Offer::Reserve => {
                    *front = Offer::Reserved;
                    if self.blocked_senders.wake_front() {
                        self.reserved += 1;
                    }
                }
                Offer::Value(_) => {
                    if let Some(Offer::Value(v)) = self.blocked_senders.claim_front_value() {
                        self.deliver(v);
                    }
                }
                Offer::Reserved => unreachable!("a reserved offer is no longer queued"),
            }
        }
    }
}
