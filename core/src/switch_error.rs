//! [`SwitchError`]: what `Switch::get_error` reports about a switch that is
//! no longer on, without taking its failure away from `Switch::run`.

use crate::cancel::Cancelled;

/// Why a switch is off, as seen by [`crate::Switch::get_error`]: a summary
/// that can be cloned and shown, while the failure itself stays in the
/// switch for `Switch::run` to return.
///
/// ```
/// weft::run(|_env| {
///     let _ = weft::Switch::run(|sw| {
///         sw.fail(weft::Error::msg("disk full"));
///         let e = sw.get_error().unwrap();
///         assert_eq!(e.to_string(), "disk full");
///         assert!(matches!(e, weft::switch::SwitchError::Failed { panicked: false, .. }));
///         Ok(())
///     });
/// });
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SwitchError {
    /// A fiber or the body failed (returned `Err`, panicked, or called
    /// `fail`); the switch is cancelled because of it.
    #[error("{message}")]
    Failed {
        /// The first failure's `Display` text.
        message: String,
        /// Whether the first failure was a panic.
        panicked: bool,
        /// How many later failures are attached to it so far.
        later: usize,
    },
    /// The switch was cancelled without failing (its caller was cancelled,
    /// or a combinator stopped it).
    #[error(transparent)]
    Cancelled(Cancelled),
}
