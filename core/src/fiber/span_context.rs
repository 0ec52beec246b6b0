//! Each fiber keeps its own `tracing` span context.
//!
//! A subscriber such as `tracing-subscriber`'s registry keeps the entered
//! spans in a per-thread stack, and every fiber of a scheduler shares that
//! thread. Direct-style code holds span guards across blocking calls as a
//! matter of course (`#[tracing::instrument]` on a fiber function enters
//! its span for the whole body), so without care a fiber that suspends
//! inside its span would leave it entered for whichever fiber runs next,
//! and that fiber's events and spans would be filed under it.
//!
//! So the scheduler does around every resume what tokio's `Instrumented`
//! does around every poll: before the switch in, it notes the thread's
//! current span and re-enters the spans the fiber held when it last
//! switched out (outermost first); after the switch out, it exits every
//! span the fiber left entered on top of that base (innermost first) and
//! keeps them with the fiber. The fiber's guards then exit them for real
//! when they drop, with the spans entered again as they expect.
//!
//! With no dispatcher ever set the cost is two relaxed atomic loads per
//! resume; with one, two `current_span` lookups when the fiber holds no
//! span (about 20 ns per resume with `tracing-subscriber`'s registry).

use std::cell::RefCell;

use tracing::dispatcher::{self, Dispatch};
use tracing::span::Id;

/// More nested spans than any real fiber holds: a bound that keeps a
/// subscriber whose `current_span` ignores `exit` from looping forever.
const MAX_NESTED: usize = 1024;

/// The thread's current span before a switch in.
pub(crate) struct Base(Option<Id>);

/// Re-enters the spans `saved` holds (outermost first) and returns the
/// span that was current before. With no dispatcher ever set there is
/// nothing to re-enter and no current span.
pub(crate) fn switch_in(saved: &RefCell<Vec<Id>>) -> Base {
    if !dispatcher::has_been_set() {
        return Base(None);
    }
    dispatcher::get_default(|d| {
        let base = current(d);
        for id in saved.borrow_mut().drain(..) {
            d.enter(&id);
        }
        Base(base)
    })
}

/// Exits every span entered on top of `base` (innermost first) and keeps
/// them in `saved`, outermost first, for the next [`switch_in`]. When the
/// fiber has finished, its control block clears `saved` when reused: a
/// guard it forgot cannot leave its span entered on the scheduler's
/// thread. (The dispatcher may have been set during the resume, by the
/// fiber itself: that is checked here again.)
pub(crate) fn switch_out(Base(base): Base, saved: &RefCell<Vec<Id>>) {
    if !dispatcher::has_been_set() {
        return;
    }
    dispatcher::get_default(|d| {
        let mut saved = saved.borrow_mut();
        debug_assert!(saved.is_empty(), "spans saved twice");
        for _ in 0..MAX_NESTED {
            let Some(top) = current(d) else { break };
            if Some(&top) == base.as_ref() {
                break;
            }
            d.exit(&top);
            let moved = current(d).as_ref() != Some(&top);
            saved.push(top);
            if !moved {
                break;
            }
        }
        saved.reverse();
    });
}

fn current(d: &Dispatch) -> Option<Id> {
    d.current_span().id().cloned()
}
