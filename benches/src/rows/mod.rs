//! The benchmark rows, grouped by area.

pub mod core;
