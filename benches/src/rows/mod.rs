//! The benchmark rows, grouped by area.

pub mod core;
pub mod fs;
pub mod http;
pub mod io;
pub mod multicore;
