//! A FIFO of suspended fibers with O(1) withdrawal, used by every blocking
//! primitive under its own lock.
//!
//! The pattern (lock held from the check to the registration, so no wake-up
//! is lost):
//!
//! ```text
//! let mut state = self.state.lock();
//! if ready(&state) { return ... }
//! let mut key = None;
//! let r = fiber::suspend(|resumer| { key = Some(state.waiters.push(resumer)); drop(state) });
//! match r {
//!     Ok(())  => /* woken: the waker did its part (and may have left a value) */,
//!     Err(c)  => { self.state.lock().waiters.remove(key); c.unwind() }
//! }
//! ```
//!
//! A waker pops waiters until one accepts ([`Resumer::resume`] returns
//! `true`); waiters that were cancelled meanwhile are dropped, so an item or
//! permit is never handed to a fiber that is gone.

use slab::Slab;

use crate::fiber::Resumer;

/// Identifies one registration in a [`WaitQueue`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitKey {
    slot: usize,
    seq: u64,
}

struct Node<T> {
    seq: u64,
    resumer: Option<Resumer>,
    delivered: Option<T>,
    prev: Option<usize>,
    next: Option<usize>,
    linked: bool,
}

/// FIFO of waiting fibers; `T` is the value a waker may hand over.
pub struct WaitQueue<T = ()> {
    nodes: Slab<Node<T>>,
    head: Option<usize>,
    tail: Option<usize>,
    len: usize,
    next_seq: u64,
}

impl<T> Default for WaitQueue<T> {
    fn default() -> Self {
        WaitQueue {
            nodes: Slab::new(),
            head: None,
            tail: None,
            len: 0,
            next_seq: 0,
        }
    }
}

#[allow(dead_code)] // the full surface serves the primitives built on it
impl<T> WaitQueue<T> {
    /// An empty queue.
    pub fn new() -> Self {
        Self::new_const()
    }

    /// An empty queue, in const contexts.
    pub const fn new_const() -> Self {
        WaitQueue {
            nodes: Slab::new(),
            head: None,
            tail: None,
            len: 0,
            next_seq: 0,
        }
    }

    /// Number of fibers queued (some may have been cancelled meanwhile).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nobody waits.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Queues a waiter at the back.
    pub fn push(&mut self, resumer: Resumer) -> WaitKey {
        self.insert(resumer, None)
    }

    /// Queues a waiter that carries `value` (an item it offers, or what it
    /// asks for). A waker reads it with [`WaitQueue::front_mut`].
    pub fn push_with(&mut self, resumer: Resumer, value: T) -> WaitKey {
        self.insert(resumer, Some(value))
    }

    fn insert(&mut self, resumer: Resumer, value: Option<T>) -> WaitKey {
        let seq = self.next_seq;
        self.next_seq += 1;
        let slot = self.nodes.insert(Node {
            seq,
            resumer: Some(resumer),
            delivered: value,
            prev: self.tail,
            next: None,
            linked: true,
        });
        match self.tail {
            Some(t) => self.nodes[t].next = Some(slot),
            None => self.head = Some(slot),
        }
        self.tail = Some(slot);
        self.len += 1;
        WaitKey { slot, seq }
    }

    fn unlink(&mut self, slot: usize) {
        let (prev, next) = {
            let n = &mut self.nodes[slot];
            if !n.linked {
                return;
            }
            n.linked = false;
            (n.prev.take(), n.next.take())
        };
        match prev {
            Some(p) => self.nodes[p].next = next,
            None => self.head = next,
        }
        match next {
            Some(n) => self.nodes[n].prev = prev,
            None => self.tail = prev,
        }
        self.len -= 1;
    }

    fn owns(&self, key: WaitKey) -> bool {
        self.nodes.get(key.slot).is_some_and(|n| n.seq == key.seq)
    }

    /// Withdraws a registration (after a cancelled wait). Returns a value
    /// that was delivered to it, if any.
    pub fn remove(&mut self, key: WaitKey) -> Option<T> {
        if !self.owns(key) {
            return None;
        }
        self.unlink(key.slot);
        self.nodes.remove(key.slot).delivered
    }

    /// Takes the value a waker left for `key` (after a successful wait).
    pub fn take(&mut self, key: WaitKey) -> Option<T> {
        self.remove(key)
    }

    /// Pops the front node's resumer.
    fn pop_front(&mut self) -> Option<(usize, Resumer)> {
        let slot = self.head?;
        self.unlink(slot);
        let resumer = self.nodes[slot]
            .resumer
            .take()
            .expect("a linked node has a resumer");
        Some((slot, resumer))
    }

    /// Wakes the first waiter still waiting. Returns whether one woke.
    pub fn wake_one(&mut self) -> bool {
        while let Some((slot, resumer)) = self.pop_front() {
            self.nodes.remove(slot);
            if resumer.resume() {
                return true;
            }
        }
        false
    }

    /// Hands `value` to the first waiter still waiting and wakes it; it
    /// collects the value with [`WaitQueue::take`]. Gives the value back
    /// when nobody accepts it.
    pub fn wake_one_with(&mut self, value: T) -> Result<(), T> {
        let mut value = value;
        while let Some((slot, resumer)) = self.pop_front() {
            if !resumer.is_waiting() {
                self.nodes.remove(slot);
                continue;
            }
            self.nodes[slot].delivered = Some(value);
            if resumer.resume() {
                return Ok(());
            }
            // Cancelled between the check and the resume: take it back.
            value = self
                .nodes
                .remove(slot)
                .delivered
                .expect("the value was stored just above");
        }
        Err(value)
    }

    /// Unlinks front nodes whose fiber no longer waits (cancelled). They
    /// stay in the slab, value included, until their owner removes them.
    fn skip_stale(&mut self) {
        while let Some(slot) = self.head {
            let waiting = self.nodes[slot]
                .resumer
                .as_ref()
                .is_some_and(Resumer::is_waiting);
            if waiting {
                return;
            }
            self.unlink(slot);
        }
    }

    /// Unlinks every node whose fiber no longer waits (cancelled), so
    /// [`WaitQueue::len`] counts live waiters only. O(n).
    pub fn purge_stale(&mut self) {
        let mut cursor = self.head;
        while let Some(slot) = cursor {
            cursor = self.nodes[slot].next;
            let waiting = self.nodes[slot]
                .resumer
                .as_ref()
                .is_some_and(Resumer::is_waiting);
            if !waiting {
                self.unlink(slot);
            }
        }
    }

    /// The value carried by the first waiter still waiting.
    pub fn front_mut(&mut self) -> Option<&mut T> {
        self.skip_stale();
        let slot = self.head?;
        self.nodes[slot].delivered.as_mut()
    }

    /// Wakes the first waiter still waiting, leaving its node (and value)
    /// for it to [`WaitQueue::take`]. Returns `false` if nobody woke (the
    /// front waiter was cancelled at the last moment: look again).
    pub fn wake_front(&mut self) -> bool {
        self.skip_stale();
        let Some(slot) = self.head else { return false };
        self.unlink(slot);
        let resumer = self.nodes[slot]
            .resumer
            .take()
            .expect("a linked node has a resumer");
        resumer.resume()
    }

    /// Takes the value of the first waiter still waiting and wakes it
    /// (its wait completes); for waiters that offered an item. A waiter
    /// cancelled meanwhile keeps its value and is skipped.
    pub fn claim_front_value(&mut self) -> Option<T> {
        loop {
            self.skip_stale();
            let slot = self.head?;
            self.unlink(slot);
            let resumer = self.nodes[slot]
                .resumer
                .take()
                .expect("a linked node has a resumer");
            if resumer.resume() {
                return self.nodes.remove(slot).delivered;
            }
            // Cancelled between the check and the resume: its owner will
            // remove the node and get its value back.
        }
    }

    /// Wakes the most recent waiter still waiting. Returns whether one woke.
    pub fn wake_last(&mut self) -> bool {
        while let Some(slot) = self.tail {
            self.unlink(slot);
            let resumer = self.nodes[slot]
                .resumer
                .take()
                .expect("a linked node has a resumer");
            self.nodes.remove(slot);
            if resumer.resume() {
                return true;
            }
        }
        false
    }

    /// Wakes every waiter. Returns how many woke.
    pub fn wake_all(&mut self) -> usize {
        let mut woke = 0;
        while self.wake_one() {
            woke += 1;
        }
        woke
    }
}
