//! The state both halves of a channel share: the buffer, the counts of
//! senders and permits, and the queues of blocked senders and receivers.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::sync::wait_queue::WaitQueue;

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
    pub(super) receiver: WaitQueue<T>,
    pub(super) blocked_senders: WaitQueue<Offer<T>>,
    pub(super) closed_watchers: WaitQueue,
}

pub(super) struct Chan<T> {
    pub(super) state: Mutex<State<T>>,
}

impl<T> Chan<T> {
    pub(super) fn new(capacity: Option<usize>) -> Arc<Self> {
        Arc::new(Chan {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                capacity,
                reserved: 0,
                senders: 1,
                weak_senders: 0,
                rx_closed: false,
                receiver: WaitQueue::new(),
                blocked_senders: WaitQueue::new(),
                closed_watchers: WaitQueue::new(),
            }),
        })
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl<T> State<T> {
    /// No message can arrive any more: every sender is gone, or the
    /// receiver closed the channel and no permit reserved before that is
    /// outstanding (tokio's meaning: such permits may still send).
    pub(super) fn finished(&self) -> bool {
        self.senders == 0 || (self.rx_closed && self.reserved == 0)
    }

    /// A permit was used or dropped.
    pub(super) fn release_permit(&mut self) {
        self.reserved -= 1;
        if self.finished() {
            // A receiver blocked after `close` wakes to see the end.
            self.receiver.wake_all();
        } else {
            self.admit_blocked();
        }
    }

    pub(super) fn has_room(&self) -> bool {
        self.capacity
            .is_none_or(|c| self.queue.len() + self.reserved < c)
    }

    /// Delivers `v`: to a waiting receiver, else into the buffer.
    pub(super) fn deliver(&mut self, v: T) {
        if let Err(v) = self.receiver.wake_one_with(v) {
            self.queue.push_back(v);
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

    pub(super) fn close_rx(&mut self) {
        self.rx_closed = true;
        // Blocked senders fail; they keep their values (woken without
        // taking anything).
        while self.blocked_senders.wake_front() {}
        self.closed_watchers.wake_all();
    }
}
