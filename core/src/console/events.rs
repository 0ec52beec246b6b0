//! The typed records: event kinds and their payload words, and the fields
//! of a live-table entry. Writer (`mod.rs`) and readers (`weft-console`)
//! share these definitions.
//!
//! An event payload is `[kind, time, fiber, a, b, c, d]`: `time` is in the
//! file's clock (`clock.rs`: TSC ticks or `CLOCK_MONOTONIC` ns, which a
//! reader turns into `CLOCK_MONOTONIC` ns), `fiber` the fiber id
//! (0 for none). A *location* word packs a string id (the file) in its high
//! 32 bits and the line in its low 32.

use super::ring::{Entry, Payload};

/// What happened, with what it names.
///
/// ```
/// use weft::console::events::Event;
/// let e = Event::Run { fiber: 3, after_wait: true };
/// assert_eq!(Event::decode(&e.encode(10)), Some((10, e)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A fiber was created in `switch` by fiber `parent` (0: none) at
    /// `spawn_at` (a location word), named `name` (string id, 0: none).
    Created {
        /// The new fiber.
        fiber: u64,
        /// The fiber that created it (0 outside a fiber).
        parent: u64,
        /// Its switch (cancellation context) id.
        switch: u64,
        /// Where it was forked or spawned (location word, 0: unknown).
        spawn_at: u64,
        /// Its name (string id, 0: none).
        name: u64,
    },
    /// The scheduler started running `fiber`; `after_wait` when it had been
    /// suspended in a blocking call (a resumption).
    Run {
        /// The fiber.
        fiber: u64,
        /// Whether it was resumed from a blocking wait.
        after_wait: bool,
    },
    /// `fiber` suspended in a blocking call made at `at` (location word),
    /// waiting on `on` (a [`WaitKind`] word).
    Suspended {
        /// The fiber.
        fiber: u64,
        /// Where it blocks.
        at: u64,
        /// What it waits on ([`WaitKind::from_word`]).
        on: u64,
    },
    /// `fiber` yielded (it stays runnable).
    Yielded {
        /// The fiber.
        fiber: u64,
    },
    /// `fiber` finished.
    Exited {
        /// The fiber.
        fiber: u64,
    },
    /// Fiber `fiber` opened switch `switch` at `at` (location word).
    SwitchCreated {
        /// The fiber running `Switch::run`.
        fiber: u64,
        /// The switch id.
        switch: u64,
        /// Where `Switch::run` was called.
        at: u64,
    },
    /// Switch `switch` finished (all its fibers ended); `failed` when a
    /// fiber or the body failed it.
    SwitchFinished {
        /// The fiber running `Switch::run`.
        fiber: u64,
        /// The switch id.
        switch: u64,
        /// Whether the switch failed.
        failed: bool,
    },
    /// Cancellation was requested for context (switch) `switch`.
    CancelRequested {
        /// The running fiber (0 outside a fiber).
        fiber: u64,
        /// The context id.
        switch: u64,
    },
    /// `fiber` handed a job to the blocking pool at `at`.
    BlockingJob {
        /// The fiber.
        fiber: u64,
        /// Where `weft::blocking` was called.
        at: u64,
    },
    /// Fiber `fiber` (0: the scheduler itself, for I/O and timers, or a
    /// thread outside fibers) made fiber `woken` runnable.
    Wake {
        /// The waker (0: none).
        fiber: u64,
        /// The fiber it woke.
        woken: u64,
    },
    /// `fiber` submitted an io_uring operation `op` (a [`WaitKind`] word)
    /// with slab key `key`.
    OpSubmitted {
        /// The fiber.
        fiber: u64,
        /// What the operation is ([`WaitKind::from_word`]).
        op: u64,
        /// Its key in the driver (matches `OpCompleted`).
        key: u64,
    },
    /// The operation `key` of `fiber` completed with `result` (the CQE's
    /// result: bytes or a negative errno), seen by the fiber.
    OpCompleted {
        /// The fiber.
        fiber: u64,
        /// What the operation was.
        op: u64,
        /// Its key in the driver.
        key: u64,
        /// The completion's result.
        result: i64,
    },
    /// `fiber`'s blocking-pool job (handed over at `at`) finished and the
    /// fiber runs on.
    BlockingDone {
        /// The fiber.
        fiber: u64,
        /// Where `weft::blocking` was called.
        at: u64,
    },
    /// The watchdog saw `fiber` keep scheduler `scheduler`'s thread for
    /// `ran_ns` without suspending (`ongoing`: it still runs).
    Stall {
        /// The fiber that ran.
        fiber: u64,
        /// The scheduler id of the blocked thread.
        scheduler: u64,
        /// How long it ran (ns, to within a watchdog sample).
        ran_ns: u64,
        /// Whether it still ran when reported.
        ongoing: bool,
    },
    /// A batch ended: from `start` (in the file's clock) to the event's
    /// time, the thread ran `runs` short fiber runs that have no records
    /// of their own (see `weft::console`, "Batches"); `fibers` fibers and
    /// `switches` switches began and ended inside it and have no records
    /// either.
    Batch {
        /// When the batch began.
        start: u64,
        /// Fiber runs in it.
        runs: u64,
        /// Fibers created and finished inside it.
        fibers: u64,
        /// Switches opened and finished (without failing) inside it.
        switches: u64,
    },
    /// A user event (`weft::console::event`): `name` (string id), `value`.
    User {
        /// The running fiber (0 outside a fiber).
        fiber: u64,
        /// The event's name (string id).
        name: u64,
        /// Its value.
        value: i64,
    },
}

mod kind {
    pub const CREATED: u64 = 1;
    pub const RUN: u64 = 2;
    pub const SUSPENDED: u64 = 3;
    pub const YIELDED: u64 = 4;
    pub const EXITED: u64 = 5;
    pub const SWITCH_CREATED: u64 = 6;
    pub const SWITCH_FINISHED: u64 = 7;
    pub const CANCEL_REQUESTED: u64 = 8;
    pub const BLOCKING_JOB: u64 = 9;
    pub const USER: u64 = 10;
    pub const WAKE: u64 = 11;
    pub const OP_SUBMITTED: u64 = 12;
    pub const OP_COMPLETED: u64 = 13;
    pub const BLOCKING_DONE: u64 = 14;
    pub const STALL: u64 = 15;
    pub const BATCH: u64 = 16;
}

impl Event {
    /// The payload words of this event at time `time_ns`.
    ///
    /// ```
    /// use weft::console::events::Event;
    /// assert_eq!(Event::Exited { fiber: 9 }.encode(5)[1..3], [5, 9]);
    /// ```
    #[inline]
    pub fn encode(&self, time_ns: u64) -> Payload {
        use kind::*;
        let (k, fiber, a, b, c, d) = match *self {
            Event::Created {
                fiber,
                parent,
                switch,
                spawn_at,
                name,
            } => (CREATED, fiber, parent, switch, spawn_at, name),
            Event::Run { fiber, after_wait } => (RUN, fiber, after_wait as u64, 0, 0, 0),
            Event::Suspended { fiber, at, on } => (SUSPENDED, fiber, at, on, 0, 0),
            Event::Yielded { fiber } => (YIELDED, fiber, 0, 0, 0, 0),
            Event::Exited { fiber } => (EXITED, fiber, 0, 0, 0, 0),
            Event::SwitchCreated { fiber, switch, at } => (SWITCH_CREATED, fiber, switch, at, 0, 0),
            Event::SwitchFinished {
                fiber,
                switch,
                failed,
            } => (SWITCH_FINISHED, fiber, switch, failed as u64, 0, 0),
            Event::CancelRequested { fiber, switch } => (CANCEL_REQUESTED, fiber, switch, 0, 0, 0),
            Event::BlockingJob { fiber, at } => (BLOCKING_JOB, fiber, at, 0, 0, 0),
            Event::User { fiber, name, value } => (USER, fiber, name, value as u64, 0, 0),
            Event::Wake { fiber, woken } => (WAKE, fiber, woken, 0, 0, 0),
            Event::OpSubmitted { fiber, op, key } => (OP_SUBMITTED, fiber, op, key, 0, 0),
            Event::OpCompleted {
                fiber,
                op,
                key,
                result,
            } => (OP_COMPLETED, fiber, op, key, result as u64, 0),
            Event::BlockingDone { fiber, at } => (BLOCKING_DONE, fiber, at, 0, 0, 0),
            Event::Stall {
                fiber,
                scheduler,
                ran_ns,
                ongoing,
            } => (STALL, fiber, scheduler, ran_ns, ongoing as u64, 0),
            Event::Batch {
                start,
                runs,
                fibers,
                switches,
            } => (BATCH, 0, start, runs, fibers, switches),
        };
        [k, time_ns, fiber, a, b, c, d]
    }

    /// The time and event a payload holds, or `None` for an unknown kind.
    ///
    /// ```
    /// use weft::console::events::Event;
    /// assert_eq!(Event::decode(&[0; 7]), None);
    /// ```
    pub fn decode(p: &Payload) -> Option<(u64, Event)> {
        use kind::*;
        let [k, t, fiber, a, b, c, d] = *p;
        let e = match k {
            CREATED => Event::Created {
                fiber,
                parent: a,
                switch: b,
                spawn_at: c,
                name: d,
            },
            RUN => Event::Run {
                fiber,
                after_wait: a != 0,
            },
            SUSPENDED => Event::Suspended {
                fiber,
                at: a,
                on: b,
            },
            YIELDED => Event::Yielded { fiber },
            EXITED => Event::Exited { fiber },
            SWITCH_CREATED => Event::SwitchCreated {
                fiber,
                switch: a,
                at: b,
            },
            SWITCH_FINISHED => Event::SwitchFinished {
                fiber,
                switch: a,
                failed: b != 0,
            },
            CANCEL_REQUESTED => Event::CancelRequested { fiber, switch: a },
            BLOCKING_JOB => Event::BlockingJob { fiber, at: a },
            USER => Event::User {
                fiber,
                name: a,
                value: b as i64,
            },
            WAKE => Event::Wake { fiber, woken: a },
            OP_SUBMITTED => Event::OpSubmitted {
                fiber,
                op: a,
                key: b,
            },
            OP_COMPLETED => Event::OpCompleted {
                fiber,
                op: a,
                key: b,
                result: c as i64,
            },
            BLOCKING_DONE => Event::BlockingDone { fiber, at: a },
            STALL => Event::Stall {
                fiber,
                scheduler: a,
                ran_ns: b,
                ongoing: c != 0,
            },
            BATCH => Event::Batch {
                start: a,
                runs: b,
                fibers: c,
                switches: d,
            },
            _ => return None,
        };
        Some((t, e))
    }
}

/// A location word: string id of the file and the line.
///
/// ```
/// let w = weft::console::events::location_word(3, 41);
/// assert_eq!(weft::console::events::split_location(w), (3, 41));
/// ```
pub fn location_word(file: u32, line: u32) -> u64 {
    ((file as u64) << 32) | line as u64
}

/// The (file string id, line) of a location word.
///
/// ```
/// assert_eq!(weft::console::events::split_location(0), (0, 0));
/// ```
pub fn split_location(word: u64) -> (u32, u32) {
    ((word >> 32) as u32, word as u32)
}

/// Indexes of a live-table entry's fields (see `ring::LiveTable` for how
/// they are written and read).
pub mod field {
    /// The fiber id (0: the entry is free); the entry's key.
    pub const FIBER: usize = super::super::ring::KEY_FIELD;
    /// The fiber that created it.
    pub const PARENT: usize = 1;
    /// Its switch id.
    pub const SWITCH: usize = 2;
    /// Its state word: state, what it waits on, since when (see
    /// [`super::state_word`]); the entry's version.
    pub const STATE: usize = super::super::ring::VERSION_FIELD;
    /// Where it blocks (location word; meaningful while it waits).
    pub const BLOCKED_AT: usize = 5;
    /// Where it was created (location word).
    pub const SPAWN_AT: usize = 6;
    /// Its name (string id).
    pub const NAME: usize = 7;
    /// How many times it ran.
    pub const RUNS: usize = 8;
    /// Total time of its timed runs (in the file's clock's ticks; runs
    /// inside a batch are counted in `RUNS` only).
    pub const BUSY_TICKS: usize = 9;
}

/// Bits of a state word that keep the time.
const SINCE_BITS: u32 = 56;
const SINCE_MASK: u64 = (1 << SINCE_BITS) - 1;

/// A live-table state word: `state` (bits 62-63), what a waiting fiber
/// waits on (`on`, a [`WaitKind`] word, bits 56-61; 0 otherwise) and since
/// when (`since`, in the file's clock, its low 56 bits: 2^56 TSC ticks are
/// months). One store changes all three at once.
///
/// ```
/// use weft::console::events::{split_state_word, state_word, State, WaitKind};
/// let w = state_word(State::Waiting, WaitKind::Recv as u64, 1_000_123);
/// assert_eq!(split_state_word(w, 1_000_000), (Some(State::Waiting), WaitKind::Recv as u64, 1_000_123));
/// ```
#[inline(always)]
pub fn state_word(state: State, on: u64, since: u64) -> u64 {
    ((state as u64) << 62) | ((on & 0x3f) << SINCE_BITS) | (since & SINCE_MASK)
}

/// The (state, wait kind word, since) of a state word, with `since` put
/// back in the file's clock after `origin` (the header's first reading:
/// every time in the file is later).
///
/// ```
/// use weft::console::events::{split_state_word, state_word, State};
/// assert_eq!(split_state_word(state_word(State::Running, 0, 7), 5), (Some(State::Running), 0, 7));
/// // Times past a 2^56 boundary after the origin come back whole.
/// let origin = (1 << 56) - 2;
/// let w = state_word(State::Runnable, 0, (1 << 56) + 3);
/// assert_eq!(split_state_word(w, origin).2, (1 << 56) + 3);
/// ```
pub fn split_state_word(word: u64, origin: u64) -> (Option<State>, u64, u64) {
    let state = State::from_word(word >> 62);
    let on = (word >> SINCE_BITS) & 0x3f;
    let since = origin.wrapping_add((word & SINCE_MASK).wrapping_sub(origin) & SINCE_MASK);
    (state, on, since)
}

/// What a suspended fiber waits on: one static kind per wait site of the
/// runtime (the primitive, or the I/O operation in flight).
///
/// ```
/// use weft::console::events::WaitKind;
/// assert_eq!(WaitKind::from_word(WaitKind::Lock as u64), Some(WaitKind::Lock));
/// assert_eq!(WaitKind::Sleep.name(), "sleep");
/// assert_eq!(WaitKind::from_word(0), None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum WaitKind {
    /// `weft::fiber::suspend` called directly (by user code or a bridge).
    Suspend = 1,
    /// A `Mutex` lock.
    Lock,
    /// An `RwLock` read or write lock.
    RwLock,
    /// `Semaphore` permits.
    Semaphore,
    /// A `Condition` (condition variable).
    Condition,
    /// A `Notify`.
    Notify,
    /// A `Barrier`.
    Barrier,
    /// A `Pool` resource.
    Pool,
    /// A lazy/once cell being initialised by another fiber.
    Once,
    /// A `CancellationToken`.
    Token,
    /// A value from a channel (mpsc, oneshot, broadcast, watch, stream).
    Recv,
    /// Room in a full channel.
    Send,
    /// The other side of a channel to close (`closed()`).
    Closed,
    /// A `Promise`'s value.
    Promise,
    /// A task's (or a `TaskSet`'s) outcome.
    Join,
    /// The fibers of a switch, at the end of `Switch::run`.
    Switch,
    /// A timer (`sleep`, `timeout`, intervals).
    Sleep,
    /// A job on the blocking pool (`weft::blocking`).
    Blocking,
    /// Cancellation (`fiber::await_cancel`).
    Cancel,
    /// A free slot of a connection server.
    Slot,
    /// Accepting a connection.
    Accept,
    /// Connecting a socket.
    Connect,
    /// Reading a file or stream (`read`, `readv`).
    Read,
    /// Writing a file or stream (`write`, `writev`).
    Write,
    /// Receiving on a socket (`recv`, `recvmsg`).
    SocketRecv,
    /// Sending on a socket (`send`, `sendmsg`).
    SocketSend,
    /// A descriptor becoming readable (readiness wait).
    Readable,
    /// A descriptor becoming writable (readiness wait).
    Writable,
    /// Opening a file.
    Open,
    /// Closing a descriptor.
    Close,
    /// `fsync`.
    Fsync,
    /// `statx`.
    Stat,
    /// `splice` (sendfile).
    Splice,
    /// A readiness poll (`POLL_ADD`) of a descriptor.
    Poll,
    /// The completion of an I/O operation being cancelled.
    CancelOp,
    /// Another I/O operation.
    Io,
}

impl WaitKind {
    const ALL: [WaitKind; 36] = [
        WaitKind::Suspend,
        WaitKind::Lock,
        WaitKind::RwLock,
        WaitKind::Semaphore,
        WaitKind::Condition,
        WaitKind::Notify,
        WaitKind::Barrier,
        WaitKind::Pool,
        WaitKind::Once,
        WaitKind::Token,
        WaitKind::Recv,
        WaitKind::Send,
        WaitKind::Closed,
        WaitKind::Promise,
        WaitKind::Join,
        WaitKind::Switch,
        WaitKind::Sleep,
        WaitKind::Blocking,
        WaitKind::Cancel,
        WaitKind::Slot,
        WaitKind::Accept,
        WaitKind::Connect,
        WaitKind::Read,
        WaitKind::Write,
        WaitKind::SocketRecv,
        WaitKind::SocketSend,
        WaitKind::Readable,
        WaitKind::Writable,
        WaitKind::Open,
        WaitKind::Close,
        WaitKind::Fsync,
        WaitKind::Stat,
        WaitKind::Splice,
        WaitKind::Poll,
        WaitKind::CancelOp,
        WaitKind::Io,
    ];

    /// The kind a word stores, if valid.
    ///
    /// ```
    /// use weft::console::events::WaitKind;
    /// assert_eq!(WaitKind::from_word(WaitKind::Io as u64), Some(WaitKind::Io));
    /// assert_eq!(WaitKind::from_word(999), None);
    /// ```
    pub fn from_word(w: u64) -> Option<WaitKind> {
        let i = usize::try_from(w).ok()?.checked_sub(1)?;
        WaitKind::ALL.get(i).copied()
    }

    /// The kind's name in snapshots and recordings.
    ///
    /// ```
    /// assert_eq!(weft::console::events::WaitKind::SocketRecv.name(), "socket_recv");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            WaitKind::Suspend => "suspend",
            WaitKind::Lock => "lock",
            WaitKind::RwLock => "rwlock",
            WaitKind::Semaphore => "semaphore",
            WaitKind::Condition => "condition",
            WaitKind::Notify => "notify",
            WaitKind::Barrier => "barrier",
            WaitKind::Pool => "pool",
            WaitKind::Once => "once",
            WaitKind::Token => "cancellation_token",
            WaitKind::Recv => "recv",
            WaitKind::Send => "send",
            WaitKind::Closed => "closed",
            WaitKind::Promise => "promise",
            WaitKind::Join => "join",
            WaitKind::Switch => "switch",
            WaitKind::Sleep => "sleep",
            WaitKind::Blocking => "blocking",
            WaitKind::Cancel => "cancel",
            WaitKind::Slot => "slot",
            WaitKind::Accept => "accept",
            WaitKind::Connect => "connect",
            WaitKind::Read => "read",
            WaitKind::Write => "write",
            WaitKind::SocketRecv => "socket_recv",
            WaitKind::SocketSend => "socket_send",
            WaitKind::Readable => "readable",
            WaitKind::Writable => "writable",
            WaitKind::Open => "open",
            WaitKind::Close => "close",
            WaitKind::Fsync => "fsync",
            WaitKind::Stat => "stat",
            WaitKind::Splice => "splice",
            WaitKind::Poll => "poll",
            WaitKind::CancelOp => "cancel_op",
            WaitKind::Io => "io",
        }
    }
}

/// A live fiber's state, as the live table stores it.
///
/// ```
/// use weft::console::events::State;
/// assert_eq!(State::from_word(State::Waiting as u64), Some(State::Waiting));
/// assert_eq!(State::Waiting.name(), "waiting");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum State {
    /// In the run queue (created or yielded).
    Runnable = 1,
    /// Running on its thread now.
    Running = 2,
    /// Suspended in a blocking call (until it runs again, even once woken).
    Waiting = 3,
}

impl State {
    /// The state a word stores, if valid.
    ///
    /// ```
    /// assert_eq!(weft::console::events::State::from_word(0), None);
    /// ```
    pub fn from_word(w: u64) -> Option<State> {
        match w {
            1 => Some(State::Runnable),
            2 => Some(State::Running),
            3 => Some(State::Waiting),
            _ => None,
        }
    }

    /// The state's name in snapshots.
    ///
    /// ```
    /// assert_eq!(weft::console::events::State::Running.name(), "running");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            State::Runnable => "runnable",
            State::Running => "running",
            State::Waiting => "waiting",
        }
    }
}

/// Whether a live-table entry holds a fiber.
///
/// ```
/// assert!(!weft::console::events::is_live(&[0; 15]));
/// ```
pub fn is_live(e: &Entry) -> bool {
    e[field::FIBER] != 0
}
