//! Library parts of the examples, shared by their binaries and tests.

pub mod chat;
pub mod cli;
