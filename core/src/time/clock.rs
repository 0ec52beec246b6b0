//! The scheduler's time source: the system's monotonic clock, or a mock
//! clock that only moves when every fiber is idle (or when told to).

use std::cell::Cell;
use std::time::Instant as StdInstant;

pub(crate) struct ClockSource {
    start: StdInstant,
    /// `Some(offset)` for a mock clock: nanoseconds since `start`.
    mock: Option<Cell<u64>>,
}

impl ClockSource {
    pub(crate) fn new(mock: bool) -> Self {
        ClockSource {
            start: StdInstant::now(),
            mock: mock.then(|| Cell::new(0)),
        }
    }

    pub(crate) fn is_mock(&self) -> bool {
        self.mock.is_some()
    }

    pub(crate) fn now_nanos(&self) -> u64 {
        match &self.mock {
            Some(t) => t.get(),
            None => self.start.elapsed().as_nanos() as u64,
        }
    }

    pub(crate) fn start(&self) -> StdInstant {
        self.start
    }

    /// Moves a mock clock forward to `nanos` (never backwards).
    pub(crate) fn advance_to(&self, nanos: u64) {
        if let Some(t) = &self.mock {
            if nanos > t.get() {
                t.set(nanos);
            }
        }
    }

    /// Converts an instant to this clock's nanoseconds (saturating at 0).
    pub(crate) fn nanos_of(&self, at: StdInstant) -> u64 {
        at.saturating_duration_since(self.start).as_nanos() as u64
    }
}
