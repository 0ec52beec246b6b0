//! A short, self-tuning spin before an idle scheduler sleeps on its futex.
//!
//! Two threads that pass work back and forth (a fiber awaiting an executor
//! job, the job's worker waiting for the next one) each went to sleep
//! after every hand-over, and each wake-up of a sleeping thread on another
//! CPU costs an inter-processor interrupt; on a VM, where a halted virtual
//! CPU must be woken by the hypervisor, a round trip of `xthread_pingpong`
//! took 40 µs (28 µs of CPU) on an otherwise idle 2-vCPU machine, against
//! tokio's 11 µs. Watching the remote queue for a few microseconds first
//! lets a reply already on its way be taken without either thread
//! sleeping (about 2 µs a round trip then).
//!
//! A spin pays only when the other thread answers within it. The budget
//! adapts: it doubles (up to [`MAX_SPINS`]) after a spin that found work
//! and halves after one that did not, down to none. With none, one park in
//! [`RETRY_EVERY`] spins the whole [`MAX_SPINS`] again: a shorter retry
//! could never see a reply from a peer that is itself asleep (waking it
//! takes longer than a short spin), and the two would stay asleep for good.
//! A thread whose parks never see remote work (timers only) spends about
//! one full spin per [`RETRY_EVERY`] parks, and none before a timer due
//! sooner than a spin lasts (see the scheduler).
//!
//! The spin only reads the handoff's word: the park protocol (and its loom
//! model) is unchanged. A push during the spin sees the consumer awake and
//! wakes nothing.

use std::cell::Cell;

/// The most spins before one park, each a `spin_loop` hint and a load
/// (23 ns here: about 25 µs in all, a little more than waking a sleeping
/// peer takes on the VMs this was measured on).
const MAX_SPINS: u32 = 1024;

/// How long a whole spin may last at most, for the scheduler to skip it
/// before a timer due sooner (a spin hint costs at most about 40 ns on
/// current x86 and ARM cores).
pub(crate) const LONGEST_SPIN: std::time::Duration =
    std::time::Duration::from_nanos(MAX_SPINS as u64 * 40);

/// Below this many spins the budget counts as none.
const MIN_SPINS: u32 = 16;

/// With no budget left, one park in this many spins [`MAX_SPINS`] again.
const RETRY_EVERY: u32 = 16;

/// One scheduler's spin budget (see the module docs).
#[derive(Debug)]
pub(crate) struct ParkSpin {
    budget: Cell<u32>,
    parks_since_retry: Cell<u32>,
}

impl ParkSpin {
    pub(crate) fn new() -> Self {
        ParkSpin {
            budget: Cell::new(MAX_SPINS),
            parks_since_retry: Cell::new(0),
        }
    }

    /// Spins while `ready` is false, within the budget; returns whether
    /// `ready` turned true (then the caller takes the work instead of
    /// parking), and adapts the budget to the outcome.
    pub(crate) fn spin(&self, ready: impl Fn() -> bool) -> bool {
        let mut budget = self.budget.get();
        if budget == 0 {
            let parks = self.parks_since_retry.get() + 1;
            if parks < RETRY_EVERY {
                self.parks_since_retry.set(parks);
                return false;
            }
            self.parks_since_retry.set(0);
            budget = MAX_SPINS;
        }
        for _ in 0..budget {
            if ready() {
                self.budget.set((budget * 2).min(MAX_SPINS));
                return true;
            }
            std::hint::spin_loop();
        }
        let halved = budget / 2;
        self.budget.set(if halved < MIN_SPINS { 0 } else { halved });
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spin_that_finds_work_keeps_the_budget() {
        let s = ParkSpin::new();
        assert!(s.spin(|| true));
        assert_eq!(s.budget.get(), MAX_SPINS);
    }

    #[test]
    fn the_spin_stops_as_soon_as_work_is_there() {
        let s = ParkSpin::new();
        let looks = Cell::new(0u32);
        assert!(s.spin(|| {
            looks.set(looks.get() + 1);
            looks.get() == 3
        }));
        assert_eq!(looks.get(), 3);
    }

    #[test]
    fn spins_that_find_nothing_run_out_then_retry_whole() {
        let s = ParkSpin::new();
        let looks = Cell::new(0u32);
        let never = || {
            looks.set(looks.get() + 1);
            false
        };
        // 1024, 512, ..., 16 spins, then none.
        let mut expected = 0;
        let mut budget = MAX_SPINS;
        while budget >= MIN_SPINS {
            assert!(!s.spin(never));
            expected += budget;
            budget /= 2;
        }
        assert_eq!(looks.get(), expected);
        assert_eq!(s.budget.get(), 0);
        looks.set(0);
        for _ in 0..RETRY_EVERY - 1 {
            assert!(!s.spin(never));
        }
        assert_eq!(looks.get(), 0, "no spin while the budget is out");
        assert!(!s.spin(never));
        assert_eq!(looks.get(), MAX_SPINS, "the retry spins the whole budget");
    }

    #[test]
    fn a_retry_that_finds_work_brings_the_spin_back() {
        let s = ParkSpin::new();
        while s.budget.get() > 0 {
            s.spin(|| false);
        }
        for _ in 0..RETRY_EVERY - 1 {
            s.spin(|| false);
        }
        assert!(s.spin(|| true));
        assert_eq!(s.budget.get(), MAX_SPINS);
    }
}
