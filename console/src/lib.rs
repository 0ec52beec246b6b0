//! weft-console: a live monitor for running weft programs.
//!
//! A weft program started with `WEFT_CONSOLE=1` (or built with
//! `weft::Builder::console(true)`) writes runtime events and a table of
//! its live fibers into a shared file (see `weft::console`). This crate
//! reads it from another process: [`Snapshot`] (every live fiber, where it
//! waits and for how long), [`record`] (events into a JSON-lines file),
//! [`to_perfetto`] (a timeline), and the `top` TUI of the binary.
//!
//! ```no_run
//! let attached = weft_console::Attached::open(1234)?;
//! print!("{}", weft_console::Snapshot::take(&attached).to_text());
//! # Ok::<(), weft_console::ConsoleError>(())
//! ```

mod ascii;
mod attach;
mod error;
mod export;
mod record;
mod snapshot;
pub mod top;

pub use ascii::to_ascii;
pub use attach::Attached;
pub use error::ConsoleError;
pub use export::to_perfetto;
pub use record::{read_recording, record, Line, RecordSummary, RecordedEvent};
pub use snapshot::{FiberInfo, Snapshot, ThreadInfo};
